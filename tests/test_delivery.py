"""The delivery stack: Azure DevOps environments, checks, connections and branch policies, planned offline."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import pytest
import yaml

from odoo_platform.cli import main
from odoo_platform.offline.engine import run_program
from odoo_platform.offline.plan import build_plan
from odoo_platform.offline.stackfiles import load_project, read_stack_config
from odoo_platform.policy.runner import run_pack
from tests.conftest import ROOT

DELIVERY = ROOT / "stacks" / "delivery"
ADO = "azuredevops:index/"
COMPONENT = "odoo-platform:index:"


@functools.cache
def _delivery_plan() -> str:
    project = load_project(DELIVERY)
    config = read_stack_config(project, project.stack_file("fin-hosting"))
    return json.dumps(build_plan(run_program(project, "fin-hosting", config, region="westeurope"), config))


@pytest.fixture
def plan() -> dict:
    return json.loads(_delivery_plan())


def _of(plan: dict, kind: str) -> list[dict]:
    return [r for r in plan["resources"] if r["type"] == ADO + kind]


def _owner(plan: dict, resource: dict) -> str:
    return next(r["name"] for r in plan["resources"] if r["urn"] == resource["parent"])


def test_each_environment_is_a_component_with_its_own_gates(plan):
    environments = {r["inputs"]["name"]: r for r in _of(plan, "environment:Environment")}
    assert set(environments) == {"odoo-dev", "odoo-staging", "odoo-prod"}
    for name, environment in environments.items():
        parent = next(r for r in plan["resources"] if r["urn"] == environment["parent"])
        assert (parent["type"], parent["name"]) == (COMPONENT + "DeploymentEnvironment", name)
    approvals = {_owner(plan, r): r["inputs"] for r in _of(plan, "checkApproval:CheckApproval")}
    assert set(approvals) == {"odoo-staging", "odoo-prod"}  # dev deploys without waiting for anyone
    assert all(a["requesterCanApprove"] is False for a in approvals.values())
    groups = {r["name"]: r["inputs"]["originId"] for r in _of(plan, "group:Group")}
    assert approvals["odoo-staging"]["approvers"] == [groups["change-board"]]
    assert approvals["odoo-prod"]["approvers"] == [groups["change-board"], groups["service-owners"]]
    assert approvals["odoo-prod"]["minimumRequiredApprovers"] == 2
    hours = {_owner(plan, r): r["inputs"] for r in _of(plan, "checkBusinessHours:CheckBusinessHours")}
    assert set(hours) == {"odoo-staging", "odoo-prod"} and hours["odoo-prod"]["startTime"] == "07:00"
    assert hours["odoo-prod"]["monday"] is True and "saturday" not in hours["odoo-prod"]


def test_production_and_its_connections_accept_only_protected_main_and_the_approved_templates(plan):
    branch = [r for r in _of(plan, "checkBranchControl:CheckBranchControl") if _owner(plan, r) == "odoo-prod"]
    assert len(branch) == 3  # the environment and its two connections
    assert all(r["inputs"]["allowedBranches"] == "refs/heads/main" and r["inputs"]["verifyBranchProtection"] for r in branch)
    templates = {r["name"]: [t["templatePath"] for t in r["inputs"]["requiredTemplates"]]
                 for r in _of(plan, "checkRequiredTemplate:CheckRequiredTemplate")}
    assert templates["odoo-prod-environment-required-template"] == [".azure-pipelines/templates/delivery.yml"]
    assert templates["odoo-prod-endpoint-sc-odoo-azure-prod-required-template"] == [
        ".azure-pipelines/templates/delivery.yml", ".azure-pipelines/templates/drift-stages.yml"]
    for path in set(sum(templates.values(), [])):
        assert (ROOT / path).is_file(), path


def test_connections_are_federated_per_environment_and_authorized_for_our_pipelines_only(plan):
    connections = _of(plan, "serviceEndpointAzureRM:ServiceEndpointAzureRM")
    assert {c["inputs"]["serviceEndpointName"] for c in connections} == {
        "sc-odoo-azure-dev", "sc-odoo-azure-staging", "sc-odoo-aws-staging", "sc-odoo-azure-prod", "sc-odoo-aws-prod"}
    for connection in connections:
        assert connection["inputs"]["serviceEndpointAuthenticationScheme"] == "WorkloadIdentityFederation"
        assert set(connection["inputs"]["credentials"]) == {"serviceprincipalid"}  # no key, no certificate
    pipelines = {r["inputs"]["name"]: r["inputs"] for r in _of(plan, "buildDefinition:BuildDefinition")}
    assert {p["repository"]["ymlPath"] for p in pipelines.values()} == {"azure-pipelines.yml", ".azure-pipelines/drift.yml"}
    authorizations = _of(plan, "pipelineAuthorization:PipelineAuthorization")
    assert len(authorizations) == 5 * 2 + 3  # each connection: delivery and drift; each environment: delivery
    assert {a["inputs"]["type"] for a in authorizations} == {"endpoint", "environment"}


def test_variable_groups_read_secrets_from_key_vault(plan):
    groups = {r["inputs"]["name"]: r["inputs"] for r in _of(plan, "variableGroup:VariableGroup")}
    prod = groups["odoo-prod-secrets"]
    assert prod["keyVault"]["name"] == "kv-odoo-prod-delivery" and prod["allowAccess"] is False
    azure_prod = next(r for r in _of(plan, "serviceEndpointAzureRM:ServiceEndpointAzureRM")
                      if r["inputs"]["serviceEndpointName"] == "sc-odoo-azure-prod")
    assert azure_prod["urn"] in next(r for r in _of(plan, "variableGroup:VariableGroup")
                                     if r["inputs"]["name"] == "odoo-prod-secrets")["dependsOn"]
    assert [v["name"] for v in prod["variables"]] == ["pulumi-access-token"]


def test_main_needs_two_independent_reviewers_and_a_green_build(plan):
    (reviewers,) = _of(plan, "branchPolicyMinReviewers:BranchPolicyMinReviewers")
    settings = reviewers["inputs"]["settings"]
    assert (settings["reviewerCount"], settings["submitterCanVote"], settings["lastPusherCannotApprove"]) == (2, False, True)
    assert settings["scopes"][0]["repositoryRef"] == "refs/heads/main"
    (validation,) = _of(plan, "branchPolicyBuildValidation:BranchPolicyBuildValidation")
    delivery = next(r for r in _of(plan, "buildDefinition:BuildDefinition") if r["inputs"]["name"] == "odoo-platform delivery")
    assert isinstance(validation["inputs"]["settings"]["buildDefinitionId"], int)
    assert delivery["urn"] in validation["dependsOn"]
    assert validation["inputs"]["blocking"] is True


PACK = ROOT / "policypacks" / "governance"


def test_the_delivery_stack_passes_its_policies_and_each_weakening_is_caught(plan):
    assert run_pack(PACK, plan) == []
    weakened = copy.deepcopy(plan)
    for resource in weakened["resources"]:
        if resource["name"] == "odoo-prod-environment-approval":
            resource["inputs"]["requesterCanApprove"] = True
        if resource["name"] == "odoo-prod-sc-odoo-aws-prod":
            resource["inputs"]["credentials"]["serviceprincipalid"] = "1c2d3e4f-0000-4000-8000-00000000b002"
        if resource["name"] == "odoo-prod-environment-branch-control":
            resource["inputs"]["allowedBranches"] = "refs/heads/*"
    weakened["resources"] = [r for r in weakened["resources"] if r["name"] != "odoo-staging-environment-approval"]
    findings = {(f.rule, f.urn.rsplit("::", 1)[-1], f.level) for f in run_pack(PACK, weakened)}
    assert findings == {
        ("DEL-02", "odoo-prod-environment-approval", "mandatory"),
        ("DEL-03", "odoo-prod-sc-odoo-aws-prod", "mandatory"),
        ("DEL-03", "odoo-staging-sc-odoo-aws-staging", "mandatory"),
        ("DEL-04", "odoo-prod-environment", "mandatory"),
    }
    without_approval = copy.deepcopy(plan)
    without_approval["resources"] = [r for r in without_approval["resources"] if r["name"] != "odoo-prod-environment-approval"]
    assert {(f.rule, f.urn.rsplit("::", 1)[-1]) for f in run_pack(PACK, without_approval)} == {
        ("DEL-01", "odoo-prod-environment")}


def test_a_connection_shared_between_environments_is_a_config_error(tmp_path: Path, capsys):
    document = yaml.safe_load((DELIVERY / "Pulumi.fin-hosting.yaml").read_text())
    environments = document["config"]["odoo-delivery:environments"]
    environments[2]["connections"][0]["clientId"] = environments[1]["connections"][0]["clientId"]
    stack_file = tmp_path / "Pulumi.shared.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    code = main(["plan", "--project", str(DELIVERY), "--stack", "shared", "--config", str(stack_file),
                 "--out", str(tmp_path / "out"), "--no-policy"])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: odoo-delivery:environments[2].connections[0].clientId: '1c2d3e4f-0000-4000-8000-00000000b001' "
                            "is already used by odoo-staging"), error
    assert len(error.splitlines()) == 1 and not (tmp_path / "out").exists()
