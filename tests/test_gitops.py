"""GitOps: Pulumi Kubernetes Operator objects against the operator's own CRD schemas."""

from __future__ import annotations

import copy

import jsonschema
import kubernetes_validate
import pytest
import yaml

from odoo_platform.cli import main
from odoo_platform.config import parse_estate
from odoo_platform.delivery.gitops import operator_objects
from tests.conftest import CONTRACTS, DIGEST, ROOT, estate
from tests.stack_plans import all_stacks
from tests.test_manifests import _strict


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


@pytest.mark.parametrize("stack", all_stacks())
def test_every_stacks_objects_validate_against_the_operator_crds(tmp_path, monkeypatch, stack):
    monkeypatch.chdir(ROOT)
    assert main(["gitops", "--stack", stack, "--out", str(tmp_path / "gitops")]) == 0
    objects = list(yaml.safe_load_all((tmp_path / "gitops" / f"{stack}.yaml").read_text()))
    assert [o["kind"] for o in objects] == ["ServiceAccount", "ClusterRoleBinding", "Stack"]
    for obj in objects:
        _validate(obj)
    spec = objects[-1]["spec"]
    assert spec["stack"] == stack and spec["branch"] == "refs/heads/main" and spec["refresh"] is True
    assert spec["destroyOnFinalize"] is False
    assert spec["gitAuth"]["accessToken"]["secret"] == {"name": "odoo-platform-git", "key": "accessToken"}


def test_the_schema_has_teeth():
    (stack,) = [o for o in operator_objects(parse_estate(estate()), "dev", "odoo-platform") if o["kind"] == "Stack"]
    broken = copy.deepcopy(stack)
    broken["spec"]["destroyOnFinalise"] = False
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)


def test_production_reconciles_carefully_and_dev_quickly():
    prod = parse_estate(estate(environment="prod", image=DIGEST, gitops={"deployIdentity": "7d1f3c2a-0b9e-4c1d-8e2f-3a4b5c6d7e8f"}))
    account, _, stack = operator_objects(prod, "prod", "odoo-platform")
    assert stack["spec"]["expectNoRefreshChanges"] is True  # drift stops the run instead of being reverted silently
    assert stack["spec"]["resyncFrequencySeconds"] == 3600
    assert stack["spec"]["secretsProvider"] == "azurekeyvault://kv-odoo-platform.vault.azure.net/keys/pulumi-prod"
    assert account["metadata"]["annotations"] == {"azure.workload.identity/client-id": "7d1f3c2a-0b9e-4c1d-8e2f-3a4b5c6d7e8f"}
    assert stack["spec"]["workspaceTemplate"]["spec"]["podTemplate"]["metadata"]["labels"] == {
        "azure.workload.identity/use": "true"}
    _, _, dev = operator_objects(parse_estate(estate()), "dev", "odoo-platform")
    assert dev["spec"]["expectNoRefreshChanges"] is False and dev["spec"]["resyncFrequencySeconds"] == 600
    assert dev["spec"]["workspaceTemplate"]["spec"] == {"securityProfile": "restricted", "serviceAccountName": "pulumi-dev"}


def test_an_unknown_stack_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["gitops", "--stack", "nope", "--out", str(tmp_path / "g")]) == 2
    assert "stack 'nope' does not exist" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()
