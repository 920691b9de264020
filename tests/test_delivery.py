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
from odoo_platform.policy.inprocess import evaluate_packs
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


def _by_owner(plan: dict, kind: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for resource in _of(plan, kind):
        assert _owner(plan, resource) not in found, f"two {kind} in {_owner(plan, resource)}"
        found[_owner(plan, resource)] = resource["inputs"]
    return found


def test_each_environment_is_a_component_with_its_own_gates(plan):
    environments = {r["inputs"]["name"]: r for r in _of(plan, "environment:Environment")}
    assert set(environments) == {"odoo-dev", "odoo-staging", "odoo-prod", "odoo-delivery"}
    for name, environment in environments.items():
        parent = next(r for r in plan["resources"] if r["urn"] == environment["parent"])
        assert (parent["type"], parent["name"]) == (COMPONENT + "DeploymentEnvironment", name)
    approvals = _by_owner(plan, "checkApproval:CheckApproval")
    assert set(approvals) == set(environments)
    assert all(a["requesterCanApprove"] is False for a in approvals.values())
    groups = {r["name"]: r["inputs"]["originId"] for r in _of(plan, "group:Group")}
    # The approval matrix's roles, everywhere: platform leads (medium, high), change board (high, critical),
    # service owners (critical); the evidence step checks which of them a change's risk class needs.
    for approval in approvals.values():
        assert approval["approvers"] == [groups["platform-leads"], groups["change-board"], groups["service-owners"]]
    assert approvals["odoo-prod"]["minimumRequiredApprovers"] == 2
    assert "evidence bundle" in approvals["odoo-prod"]["instructions"]
    hours = _by_owner(plan, "checkBusinessHours:CheckBusinessHours")
    assert set(hours) == {"odoo-staging", "odoo-prod", "odoo-delivery"} and hours["odoo-prod"]["startTime"] == "07:00"
    assert hours["odoo-prod"]["monday"] is True and "saturday" not in hours["odoo-prod"]
    # Friday 19:00 to Monday 07:00 is 60 hours: a run queued on Friday evening still starts on Monday.
    assert hours["odoo-prod"]["timeout"] >= 60 * 60
    locks = _by_owner(plan, "checkExclusiveLock:CheckExclusiveLock")
    assert set(locks) == set(environments)
    assert all(lock["targetResourceType"] == "environment" for lock in locks.values())


def test_business_hours_timeout_covers_the_longest_closed_gap():
    from odoo_platform.components.deployment_environment import business_hours_timeout
    from odoo_platform.delivery.settings import BusinessHours

    assert business_hours_timeout(BusinessHours()) == 60 * 60 + 60
    assert business_hours_timeout(BusinessHours(start="08:00", end="18:00", days=["tuesday", "thursday"])) == (
        (24 * 5 - 10) * 60 + 60)  # Thursday 18:00 to Tuesday 08:00
    assert business_hours_timeout(BusinessHours(days=["monday", "tuesday", "wednesday", "thursday", "friday",
                                                      "saturday", "sunday"])) == 12 * 60 + 60


def test_production_and_its_connections_accept_only_protected_main_and_the_approved_templates(plan):
    branch = [r for r in _of(plan, "checkBranchControl:CheckBranchControl") if _owner(plan, r) == "odoo-prod"]
    assert len(branch) == 5  # the environment and its four connections
    assert all(r["inputs"]["allowedBranches"] == "refs/heads/main" and r["inputs"]["verifyBranchProtection"] for r in branch)
    templates = {r["name"]: [t["templatePath"] for t in r["inputs"]["requiredTemplates"]]
                 for r in _of(plan, "checkRequiredTemplate:CheckRequiredTemplate")}
    assert templates["odoo-prod-environment-required-template"] == [".azure-pipelines/templates/delivery.yml"]
    assert templates["odoo-prod-endpoint-sc-odoo-azure-prod-required-template"] == [".azure-pipelines/templates/delivery.yml"]
    assert templates["odoo-prod-endpoint-sc-odoo-azure-prod-read-required-template"] == [
        ".azure-pipelines/templates/delivery.yml", ".azure-pipelines/templates/drift-stages.yml"]
    assert templates["odoo-delivery-environment-required-template"] == [".azure-pipelines/templates/delivery-stack-stages.yml"]
    for path in set(sum(templates.values(), [])):
        assert (ROOT / path).is_file(), path
    # Pull requests preview dev with its read-only connection: nothing on it asks for main or main's template.
    assert not [r for r in _of(plan, "checkBranchControl:CheckBranchControl") if _owner(plan, r) == "odoo-dev"]
    assert "odoo-dev-endpoint-sc-odoo-azure-dev-read-required-template" not in templates
    assert templates["odoo-dev-endpoint-sc-odoo-azure-dev-required-template"] == [".azure-pipelines/templates/delivery.yml"]


def test_connections_are_federated_per_environment_and_authorized_for_their_pipelines_only(plan):
    connections = {c["inputs"]["serviceEndpointName"]: c for c in _of(plan, "serviceEndpointAzureRM:ServiceEndpointAzureRM")}
    assert len(connections) == 12
    for connection in connections.values():
        assert connection["inputs"]["serviceEndpointAuthenticationScheme"] == "WorkloadIdentityFederation"
        assert set(connection["inputs"]["credentials"]) == {"serviceprincipalid"}  # no key, no certificate
    pipelines = {r["name"]: r for r in _of(plan, "buildDefinition:BuildDefinition")}
    assert {p["inputs"]["repository"]["ymlPath"] for p in pipelines.values()} == {
        "azure-pipelines.yml", ".azure-pipelines/drift.yml", ".azure-pipelines/delivery-stack.yml"}
    for path in ("azure-pipelines.yml", ".azure-pipelines/drift.yml", ".azure-pipelines/delivery-stack.yml"):
        assert (ROOT / path).is_file()
    pipeline_of = {p["urn"]: p["inputs"]["repository"]["ymlPath"] for p in pipelines.values()}
    authorized: dict[str, set[str]] = {}
    for authorization in _of(plan, "pipelineAuthorization:PipelineAuthorization"):
        (target,) = [d for d in authorization["dependsOn"] if d in {c["urn"] for c in connections.values()}
                     or "environment:Environment" in d]
        (pipeline,) = [pipeline_of[d] for d in authorization["dependsOn"] if d in pipeline_of]
        authorized.setdefault(target.rsplit("::", 1)[-1], set()).add(pipeline)
    assert authorized["odoo-prod-sc-odoo-azure-prod"] == {"azure-pipelines.yml"}  # drift never deploys
    assert authorized["odoo-prod-sc-odoo-azure-prod-read"] == {"azure-pipelines.yml", ".azure-pipelines/drift.yml"}
    assert authorized["odoo-prod-environment"] == {"azure-pipelines.yml"}
    assert authorized["odoo-delivery-environment"] == {".azure-pipelines/delivery-stack.yml"}
    assert authorized["odoo-delivery-sc-odoo-delivery"] == {".azure-pipelines/delivery-stack.yml"}


def test_every_connection_identity_trusts_exactly_its_connection(plan):
    connections = {c["name"]: c for c in _of(plan, "serviceEndpointAzureRM:ServiceEndpointAzureRM")}
    credentials = {r["name"].removesuffix("-federation"): r for r in plan["resources"]
                   if r["type"] == "azure-native:managedidentity:FederatedIdentityCredential"}
    assert set(credentials) == set(connections)
    for name, credential in credentials.items():
        connection = connections[name]
        assert connection["urn"] in credential["dependsOn"]  # issuer and subject are the connection's outputs
        assert credential["inputs"]["audiences"] == ["api://AzureADTokenExchange"]
        assert credential["inputs"]["resourceName"] == "id-" + connection["inputs"]["serviceEndpointName"]
    roles = {r["inputs"]["name"]: r for r in plan["resources"] if r["type"] == "aws:iam/role:Role"}
    assert set(roles) == {"odoo-platform-deploy-staging", "odoo-platform-drift-staging",
                          "odoo-platform-deploy-prod", "odoo-platform-drift-prod"}
    (issuer,) = [r for r in plan["resources"] if r["type"] == "aws:iam/openIdConnectProvider:OpenIdConnectProvider"]
    assert {key: issuer["inputs"][key] for key in ("url", "clientIdLists")} == {
        "url": "https://vstoken.dev.azure.com/6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "clientIdLists": ["api://AzureADTokenExchange"]}
    assert issuer["inputs"]["tags"]["tenant"] == "shared"  # cost tags (TAG-01) as every cloud resource
    for role in roles.values():
        assert issuer["urn"] in role["dependsOn"]
        assert connections[role["name"].removesuffix("-role")]["urn"] in role["dependsOn"]
    assert roles["odoo-platform-drift-prod"]["inputs"]["managedPolicyArns"][0] == "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_the_aws_trust_policy_admits_only_the_connections_subject_and_audience():
    from odoo_platform.components.deployment_environment import trust_policy

    policy = json.loads(trust_policy("arn:aws:iam::123456789012:oidc-provider/vstoken.dev.azure.com/6f1e",
                                     "vstoken.dev.azure.com/6f1e", "sc://fin-hosting/odoo-platform/sc-odoo-aws-prod"))
    (statement,) = policy["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": "arn:aws:iam::123456789012:oidc-provider/vstoken.dev.azure.com/6f1e"}
    assert statement["Condition"] == {"StringEquals": {
        "vstoken.dev.azure.com/6f1e:aud": "api://AzureADTokenExchange",
        "vstoken.dev.azure.com/6f1e:sub": "sc://fin-hosting/odoo-platform/sc-odoo-aws-prod"}}
    assert trust_policy("arn", "https://vstoken.dev.azure.com/6f1e", "s") == trust_policy("arn", "vstoken.dev.azure.com/6f1e", "s")


def test_only_deploy_jobs_move_the_branches_gitops_follows(plan):
    from odoo_platform.delivery.gitops import DEPLOYED_REF

    grants = {r["inputs"]["principal"]: r["inputs"] for r in _of(plan, "gitPermissions:GitPermissions")}
    config = yaml.safe_load((DELIVERY / "Pulumi.fin-hosting.yaml").read_text())["config"]
    contributors, build = grants[config["odoo-delivery:contributorsGroup"]], grants[config["odoo-delivery:buildServiceGroup"]]
    for grant in (contributors, build):
        assert DEPLOYED_REF.format(stack="prod").startswith(f"refs/heads/{grant['branchName']}/")
        assert grant["replace"] is False
    assert contributors["permissions"] == {"CreateBranch": "Deny", "GenericContribute": "Deny", "ForcePush": "Deny",
                                           "PolicyExempt": "Deny"}
    assert build["permissions"] == {"CreateBranch": "Allow", "GenericContribute": "Allow", "ForcePush": "Allow"}


def test_no_variable_group_holds_secrets_in_azure_devops(plan):
    # Every step authenticates with workload identity federation: no secret is needed, so none is stored.
    assert not _of(plan, "variableGroup:VariableGroup")


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


PACK = ["governance"]


def test_the_delivery_stack_passes_its_policies_and_each_weakening_is_caught(plan):
    assert evaluate_packs(PACK, plan) == []
    weakened = copy.deepcopy(plan)
    for resource in weakened["resources"]:
        if resource["name"] == "odoo-prod-environment-approval":
            resource["inputs"]["requesterCanApprove"] = True
        if resource["name"] == "odoo-prod-sc-odoo-aws-prod":
            resource["inputs"]["credentials"]["serviceprincipalid"] = "1c2d3e4f-0000-4000-8000-00000000b003"
        if resource["name"] == "odoo-prod-environment-branch-control":
            resource["inputs"]["allowedBranches"] = "refs/heads/*"
    weakened["resources"] = [r for r in weakened["resources"] if r["name"] != "odoo-staging-environment-approval"]
    findings = {(f.rule, f.urn.rsplit("::", 1)[-1], f.level) for f in evaluate_packs(PACK, weakened)}
    assert findings == {
        ("DEL-02", "odoo-prod-environment-approval", "mandatory"),
        ("DEL-03", "odoo-prod-sc-odoo-aws-prod", "mandatory"),
        ("DEL-03", "odoo-staging-sc-odoo-aws-staging", "mandatory"),
        ("DEL-04", "odoo-prod-environment", "mandatory"),
    }
    without_approval = copy.deepcopy(plan)
    without_approval["resources"] = [r for r in without_approval["resources"] if r["name"] != "odoo-prod-environment-approval"]
    assert {(f.rule, f.urn.rsplit("::", 1)[-1]) for f in evaluate_packs(PACK, without_approval)} == {
        ("DEL-01", "odoo-prod-environment")}


def test_a_connection_shared_between_environments_is_a_config_error(tmp_path: Path, capsys):
    document = yaml.safe_load((DELIVERY / "Pulumi.fin-hosting.yaml").read_text())
    environments = document["config"]["odoo-delivery:environments"]
    environments[2]["connections"][0]["clientId"] = environments[1]["connections"][0]["clientId"]
    assert environments[1]["connections"][0]["clientId"] == "1c2d3e4f-0000-4000-8000-00000000b001"
    stack_file = tmp_path / "Pulumi.shared.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    code = main(["plan", "--project", str(DELIVERY), "--stack", "shared", "--config", str(stack_file),
                 "--out", str(tmp_path / "out"), "--no-policy"])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: odoo-delivery:environments[2].connections[0].clientId: '1c2d3e4f-0000-4000-8000-00000000b001' "
                            "is already used by odoo-staging"), error
    assert len(error.splitlines()) == 1 and not (tmp_path / "out").exists()
