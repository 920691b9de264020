"""GitOps: Pulumi Kubernetes Operator objects against the operator's own CRD schemas, and the rule
that the operator only re-applies commits the pipeline deployed."""

from __future__ import annotations

import copy
import re

import jsonschema
import kubernetes_validate
import pytest
import yaml

from odoo_platform.cli import main
from odoo_platform.config import parse_estate
from odoo_platform.delivery.gitops import DEFAULT_BACKENDS, DEPLOYED_REF, MANAGED, PULUMI_VERSION, operator_objects
from tests.conftest import CONTRACTS, DIGEST, ROOT, estate
from tests.stack_plans import all_stacks, plan_of
from tests.test_manifests import _strict

AZURE_IDENTITY = {"deployIdentity": "7d1f3c2a-0b9e-4c1d-8e2f-3a4b5c6d7e8f", "tenantId": "33333333-3333-3333-3333-333333333333",
                  "subscriptionId": "0a1b2c3d-0000-4000-8000-00000000d001"}


def _stack_schema() -> dict:
    crd = yaml.safe_load((CONTRACTS / "pulumi-kubernetes-operator" / "pulumi.com_stacks.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))


STACK_SCHEMA = _stack_schema()


def _validate(obj: dict) -> None:
    if obj["kind"] == "Stack":
        jsonschema.Draft7Validator(STACK_SCHEMA).validate(obj)
    else:
        kubernetes_validate.validate(obj, "1.30", strict=True)


def _dev(**gitops) -> list[dict]:
    return operator_objects(parse_estate(estate(gitops=AZURE_IDENTITY | gitops)), "dev", "odoo-platform")


def test_objects_validate_against_the_operator_crds_and_kubernetes():
    objects = _dev()
    assert [o["kind"] for o in objects] == ["ServiceAccount", "ClusterRoleBinding", "ClusterRole", "ClusterRoleBinding", "Stack"]
    for obj in objects:
        _validate(obj)
    spec = objects[-1]["spec"]
    assert spec["stack"] == "dev" and spec["refresh"] is True and spec["destroyOnFinalize"] is False
    assert spec["gitAuth"]["accessToken"]["secret"] == {"name": "odoo-platform-git", "key": "accessToken"}


def test_the_operator_follows_only_the_ref_the_pipeline_pushes_after_a_deploy():
    spec = _dev()[-1]["spec"]
    assert spec["branch"] == "refs/heads/deployed/dev" and "commit" not in spec
    # The push comes after governance and `pulumi up --plan`, and never after a refusal: the dry run
    # (tests/test_pipeline_dry_run.py) asserts that order and the refused runs' commands.
    deploy = (ROOT / ".azure-pipelines" / "scripts" / "deploy.sh").read_text()
    assert f'git push --force origin "HEAD:{DEPLOYED_REF.format(stack="$STACK")}"' in deploy


def test_the_workspace_has_the_stacks_credentials_backend_and_secrets_provider():
    account, _, _, _, stack = _dev()
    spec = stack["spec"]
    assert spec["backend"] == DEFAULT_BACKENDS[parse_estate(estate()).cloud] == (
        "azblob://pulumi-state?storage_account=stodooplatformstate")
    pipeline = yaml.safe_load((ROOT / "azure-pipelines.yml").read_text())
    variables = {v["name"]: v["value"] for v in pipeline["variables"]}
    assert set(DEFAULT_BACKENDS.values()) == {variables["PULUMI_BACKEND_AZURE"], variables["PULUMI_BACKEND_AWS"]}
    assert variables["PULUMI_VERSION"] == PULUMI_VERSION
    assert spec["secretsProvider"] == yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["secretsprovider"]
    assert {name: ref["literal"]["value"] for name, ref in spec["envRefs"].items()} == {
        "ARM_USE_OIDC": "true", "ARM_CLIENT_ID": AZURE_IDENTITY["deployIdentity"], "ARM_TENANT_ID": AZURE_IDENTITY["tenantId"],
        "ARM_SUBSCRIPTION_ID": AZURE_IDENTITY["subscriptionId"],
        "ARM_OIDC_TOKEN_FILE_PATH": "/var/run/secrets/azure/tokens/azure-identity-token", "AAD_LOGIN_METHOD": "workloadidentity"}
    assert account["metadata"]["annotations"] == {"azure.workload.identity/client-id": AZURE_IDENTITY["deployIdentity"]}
    workspace = spec["workspaceTemplate"]["spec"]
    assert workspace["podTemplate"]["metadata"]["labels"] == {"azure.workload.identity/use": "true"}
    assert workspace["image"] == f"pulumi/pulumi:{PULUMI_VERSION}-nonroot"
    aws = parse_estate(estate(cloud="aws", region="eu-central-1",
                              gitops={"deployIdentity": "arn:aws:iam::123456789012:role/odoo-platform-deploy-dev"}))
    aws_account, _, _, _, aws_stack = operator_objects(aws, "aws-dev", "odoo-platform")
    assert aws_account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/odoo-platform-deploy-dev"}
    assert aws_stack["spec"]["envRefs"] == {"AWS_REGION": {"type": "Literal", "literal": {"value": "eu-central-1"}}}
    assert "podTemplate" not in aws_stack["spec"]["workspaceTemplate"]["spec"]


@pytest.mark.parametrize(("gitops", "missing"), [({}, "deployIdentity"), ({"deployIdentity": "7d1f3c2a-0b9e-4c1d-8e2f-3a4b5c6d7e8f"},
                                                                         "tenantId")])
def test_without_an_identity_no_stack_object_is_written(gitops, missing):
    from odoo_platform.errors import EstateConfigError

    with pytest.raises(EstateConfigError, match=f"gitops.{missing} of dev is not set"):
        operator_objects(parse_estate(estate(gitops=gitops)), "dev", "odoo-platform")


def _resource_of(kind: str) -> str:
    """The API resource (plural) of a kind, as `kubectl api-resources` names it."""
    lower = kind.lower()
    return lower[:-1] + "ies" if lower.endswith("y") else lower + ("es" if re.search(r"(s|x)$", lower) else "s")


@pytest.mark.parametrize("stack", ["dev", "aws-hybrid-prod"])
def test_the_workspace_may_manage_every_kind_the_program_creates(stack):
    _, _, role, binding, _ = _dev()
    allowed = {(group, resource) for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]
               if {"create", "update", "patch", "delete", "get"} <= set(rule["verbs"])}
    assert binding["roleRef"]["name"] == role["metadata"]["name"] and binding["subjects"][0]["name"] == "pulumi-dev"
    kinds = {r["type"] for r in plan_of(stack)["resources"] if r["type"].startswith("kubernetes:") and not r["component"]}
    assert "kubernetes:helm.sh/v3:Release" in kinds  # the Traefik chart: CRDs and cluster-wide RBAC
    for kind in kinds - {"kubernetes:helm.sh/v3:Release"}:
        api, name = kind.split(":")[1], kind.split(":")[2]
        group = "" if api.startswith("core/") else api.split("/")[0]
        assert (group, _resource_of(name)) in allowed, kind
    assert ("apiextensions.k8s.io", "customresourcedefinitions") in allowed
    assert {"escalate", "bind"} <= set(next(r for r in role["rules"] if r["apiGroups"] == ["rbac.authorization.k8s.io"])["verbs"])
    assert set(MANAGED) == {group for group, _ in allowed}


def test_the_program_virtualenv_is_installed_from_the_lock_file():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"]["toolchain"] == "pip"
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert lines == ["-r requirements.lock", "."]


def test_the_schema_has_teeth():
    broken = copy.deepcopy(_dev()[-1])
    broken["spec"]["destroyOnFinalise"] = False
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)
    broken = copy.deepcopy(_dev()[-1])
    broken["spec"]["envRefs"]["ARM_USE_OIDC"] = {"type": "Literal", "literal": {"val": "true"}}
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)


def test_production_reconciles_carefully_and_dev_quickly():
    prod = parse_estate(estate(environment="prod", image=DIGEST, gitops=AZURE_IDENTITY))
    stack = operator_objects(prod, "prod", "odoo-platform")[-1]
    assert stack["spec"]["expectNoRefreshChanges"] is True  # drift stops the run instead of being reverted silently
    assert stack["spec"]["resyncFrequencySeconds"] == 3600
    assert stack["spec"]["secretsProvider"] == "azurekeyvault://kv-odoo-platform.vault.azure.net/keys/pulumi-prod"
    dev = _dev()[-1]
    assert dev["spec"]["expectNoRefreshChanges"] is False and dev["spec"]["resyncFrequencySeconds"] == 600


@pytest.mark.parametrize("stack", all_stacks())
def test_the_cli_refuses_stacks_without_a_workspace_identity(tmp_path, monkeypatch, capsys, stack):
    """None of the committed stacks configures odoo-platform:gitops yet: nothing is written for them."""
    monkeypatch.chdir(ROOT)
    assert main(["gitops", "--stack", stack, "--out", str(tmp_path / "gitops")]) == 2
    assert f"odoo-platform:gitops.deployIdentity of {stack} is not set" in capsys.readouterr().err
    assert not (tmp_path / "gitops").exists()


def test_an_unknown_stack_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["gitops", "--stack", "nope", "--out", str(tmp_path / "g")]) == 2
    assert "stack 'nope' does not exist" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
