"""Drift: realistic `pulumi stack export` files against the approved plan."""

from __future__ import annotations

import copy
import importlib
import inspect
import json
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
from referencing import Registry, Resource

from odoo_platform.cli import main
from odoo_platform.governance.drift import detect_drift, read_export
from odoo_platform.offline.stackfiles import SECRET_PLACEHOLDER
from tests.conftest import CONTRACTS
from tests.stack_plans import plan_of

SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:Zm9vYmFy"}
REAL_GROUP = "odoo-dev-weu-rg"
MOCK_GROUP = "estate-rg-6f17fb3"


def _real(value: Any) -> Any:
    """What the state holds where the plan has a mock value or a masked secret."""
    if value == SECRET_PLACEHOLDER:
        return SECRET
    if isinstance(value, dict):
        if SECRET_PLACEHOLDER in value.values() and all(v == SECRET_PLACEHOLDER for v in value.values()):
            return SECRET
        return {key: _real(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_real(item) for item in value]
    return REAL_GROUP if value == MOCK_GROUP else value


def _declared_outputs(token: str) -> set[str] | None:
    """The resource class's properties in the provider's Python SDK: what its outputs can hold."""
    package, module, name = token.split(":")
    sdk = {"azure-native": "pulumi_azure_native", "random": "pulumi_random", "time": "pulumiverse_time"}.get(package)
    if sdk is None:
        return None  # Kubernetes objects come back in the shape they were sent
    path = "" if module.startswith("index") else "." + module.split("/")[0]
    cls = getattr(importlib.import_module(sdk + path), name)
    return {getattr(p.fget, "_pulumi_name", None) or n for n, p in inspect.getmembers(cls, lambda m: isinstance(m, property))}


def _live(resource: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs as a provider reports them: the inputs it echoes plus what the cloud or API server adds.

    azure-native outputs have no path parameters (`resourceGroupName`, `serverName`, ...): only the
    properties the SDK declares.
    """
    declared = _declared_outputs(resource["type"])
    outputs = {k: copy.deepcopy(v) for k, v in inputs.items() if declared is None or k in declared}
    if resource["type"].startswith("kubernetes:"):
        outputs.setdefault("metadata", {}).update({"uid": "0d6c4c5e-8d55-4f7b-9a7e", "resourceVersion": "48213",
                                                   "creationTimestamp": "2026-11-02T09:14:03Z"})
        outputs["status"] = {}
    else:
        outputs["provisioningState"] = "Succeeded"
    return outputs


def export_of(plan: dict[str, Any], change: Callable[[dict[str, dict[str, Any]]], None] = lambda _: None) -> dict[str, Any]:
    stack_urn = f"urn:pulumi:{plan['stack']}::{plan['project']}::pulumi:pulumi:Stack::{plan['project']}-{plan['stack']}"
    provider = f"urn:pulumi:{plan['stack']}::{plan['project']}::pulumi:providers:azure-native::default_3_29_0"
    resources = [
        {"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {}},
        {"urn": provider, "custom": True, "id": "1f3e5c9a-0f4b-4a1e-9d2c", "type": "pulumi:providers:azure-native",
         "inputs": {"version": "3.29.0"}, "outputs": {"version": "3.29.0"}},
    ]
    by_name: dict[str, dict[str, Any]] = {}
    for resource in plan["resources"]:
        inputs = _real(resource["inputs"])
        state = {"urn": resource["urn"], "custom": not resource["component"], "type": resource["type"],
                 "parent": resource["parent"] or stack_urn, "dependencies": resource["dependsOn"],
                 "inputs": {} if resource["component"] else inputs,
                 "outputs": {} if resource["component"] else _live(resource, inputs)}
        if not resource["component"]:
            state |= {"id": f"id-{resource['name']}", "provider": f"{provider}::1f3e5c9a-0f4b-4a1e-9d2c"}
        if resource["protect"]:
            state["protect"] = True
        resources.append(state)
        by_name[resource["name"]] = state
    change(by_name)
    resources = [r for r in resources if not r.get("_deleted")]
    return {"version": 3, "deployment": {
        "manifest": {"time": "2026-11-25T06:00:00.000000000Z", "magic": "8d5fdf4e9e3a1c27", "version": "v3.272.0"},
        "secrets_providers": {"type": "service", "state": {"url": "https://api.pulumi.com", "owner": "fin-hosting",
                                                          "project": "odoo-platform", "stack": plan["stack"]}},
        "resources": resources}}


def _validate_against_pulumi_schema(document: dict[str, Any]) -> None:
    schemas = {}
    for name in ("deployments.json", "resources.json", "property-values.json"):
        schema = json.loads((CONTRACTS / "pulumi" / "apitype" / name).read_text())
        schemas[schema["$id"]] = Resource.from_contents(schema)
    registry = Registry().with_resources(schemas.items())
    root = schemas["https://github.com/pulumi/pulumi/blob/master/sdk/go/common/apitype/deployments.json"].contents
    jsonschema.Draft202012Validator(root, registry=registry).validate(document)


@pytest.fixture(scope="module")
def dev_plan():
    return plan_of("dev")


def test_the_test_exports_are_real_deployment_documents(dev_plan):
    _validate_against_pulumi_schema(export_of(dev_plan))
    with pytest.raises(jsonschema.ValidationError):
        _validate_against_pulumi_schema({"version": 3, "deployment": {"resources": []}})  # no manifest


def test_an_unchanged_estate_has_no_drift(dev_plan):
    report = detect_drift(read_export(json.dumps(export_of(dev_plan)), "state.json"), dev_plan)
    assert report.checked == sum(1 for r in dev_plan["resources"] if not r["component"])
    assert (report.drifted, report.unmanaged, report.blocking) == ([], [], [])


def test_the_test_exports_have_azure_native_outputs_without_path_parameters(dev_plan):
    state = {r["urn"].rsplit("::", 1)[-1]: r for r in export_of(dev_plan)["deployment"]["resources"]}
    parameter = state["postgres-shared-param-max-connections"]
    assert "serverName" in parameter["inputs"] and "resourceGroupName" in parameter["inputs"]
    assert "serverName" not in parameter["outputs"] and "resourceGroupName" not in parameter["outputs"]
    assert parameter["outputs"]["value"] == "800"


def test_a_refreshed_export_whose_inputs_and_outputs_both_changed_is_drift(dev_plan):
    """`pulumi refresh` writes the cloud's value into the inputs too: the plan says what was approved."""
    def change(state):
        for side in ("inputs", "outputs"):
            state["postgres-shared-param-max-connections"][side]["value"] = "5000"
            state["estate-rg"][side]["tags"]["cost-centre"] = "marketing"

    report = detect_drift(read_export(json.dumps(export_of(dev_plan, change)), "s"), dev_plan)
    assert [(d.name, [(p.path, p.before, p.after) for p in d.changes]) for d in report.drifted] == [
        ("postgres-shared-param-max-connections", [("value", "800", "5000")]),
        ("estate-rg", [("tags.cost-centre", "hosting-dev", "marketing")])]
    assert [d.name for d in report.blocking] == ["postgres-shared-param-max-connections"]


def test_a_changed_path_parameter_in_the_state_is_drift_and_a_mocked_one_is_not_compared_with_the_plan(dev_plan):
    def change(state):
        state["postgres-shared-param-max-connections"]["inputs"]["configurationName"] = "max_wal_senders"

    (drift,) = detect_drift(read_export(json.dumps(export_of(dev_plan, change)), "s"), dev_plan).drifted
    assert [(p.path, p.before, p.after) for p in drift.changes] == [
        ("configurationName", "max_connections", "max_wal_senders")]
    # The resource group's real name is not the plan's mock auto-name, and is not drift (test_an_unchanged...).
    assert dev_plan_resource(dev_plan, "estate-rg")["inputs"].get("resourceGroupName", MOCK_GROUP) != REAL_GROUP


def dev_plan_resource(plan: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["name"] == name)


def test_a_changed_postgres_parameter_is_high_risk_and_blocks(dev_plan):
    def change(state):
        state["postgres-shared-param-max-connections"]["outputs"]["value"] = "5000"

    report = detect_drift(read_export(json.dumps(export_of(dev_plan, change)), "s"), dev_plan)
    (drift,) = report.drifted
    assert (drift.name, drift.risk.label, drift.action) == ("postgres-shared-param-max-connections", "high", "update")
    assert [(p.path, p.before, p.after) for p in drift.changes] == [("value", "800", "5000")]
    assert drift.reason.startswith("changed outside Pulumi: ")
    assert report.blocking == [drift]


def test_a_deleted_network_policy_is_reported_missing(dev_plan):
    def change(state):
        state["acme-netpol-default-deny-all"]["_deleted"] = True

    report = detect_drift(read_export(json.dumps(export_of(dev_plan, change)), "s"), dev_plan)
    (drift,) = report.drifted
    assert (drift.name, drift.action, drift.risk.label) == ("acme-netpol-default-deny-all", "delete", "high")
    assert drift.reason.startswith("missing from the live estate")
    assert report.blocking


def test_a_tag_edited_by_hand_is_low_risk(dev_plan):
    def change(state):
        state["estate-rg"]["outputs"]["tags"]["cost-centre"] = "marketing"

    report = detect_drift(read_export(json.dumps(export_of(dev_plan, change)), "s"), dev_plan)
    (drift,) = report.drifted
    assert [(p.path, p.before, p.after) for p in drift.changes] == [("tags.cost-centre", "hosting-dev", "marketing")]
    assert drift.risk.label == "low" and not report.blocking


def test_a_stateful_resource_changed_by_hand_blocks(dev_plan):
    def change(state):
        state["postgres-shared-server"]["outputs"]["backup"]["backupRetentionDays"] = 7
        state["postgres-shared-server"]["outputs"]["administratorLoginPassword"] = SECRET | {"ciphertext": "v1:other"}

    report = detect_drift(read_export(json.dumps(export_of(dev_plan, change)), "s"), dev_plan)
    (drift,) = report.drifted
    assert [p.path for p in drift.changes] == ["backup.backupRetentionDays"]  # secrets are never compared
    assert drift.stateful and drift.risk.label == "high" and report.blocking


def test_resources_nobody_declared_are_listed(dev_plan):
    document = export_of(dev_plan)
    document["deployment"]["resources"].append({
        "urn": "urn:pulumi:dev::odoo-platform::kubernetes:core/v1:ConfigMap::debug", "custom": True,
        "type": "kubernetes:core/v1:ConfigMap", "inputs": {}, "outputs": {}})
    report = detect_drift(read_export(json.dumps(document), "s"), dev_plan)
    assert report.unmanaged == ["urn:pulumi:dev::odoo-platform::kubernetes:core/v1:ConfigMap::debug"]


def test_drift_cli_exit_codes_and_report(tmp_path: Path, capsys, dev_plan):
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(dev_plan))
    clean, drifted = tmp_path / "clean.json", tmp_path / "drifted.json"
    clean.write_text(json.dumps(export_of(dev_plan)))
    drifted.write_text(json.dumps(export_of(
        dev_plan, lambda s: s["postgres-shared-param-log-connections"]["outputs"].update(value="off"))))
    assert main(["drift", "--state", str(clean), "--plan", str(plan_path)]) == 0
    assert capsys.readouterr().out.strip().endswith("no drift")
    (tmp_path / "drift").mkdir()
    report = tmp_path / "drift" / "drift.json"
    assert main(["drift", "--state", str(drifted), "--plan", str(plan_path), "--out", str(report)]) == 5
    assert 'value: approved "on" -> live "off"' in capsys.readouterr().out
    saved = json.loads(report.read_text())
    assert (saved["passed"], saved["blocking"], saved["drifted"][0]["risk"]) == (False, 1, "high")
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"version": 2, "deployment": {}}))
    assert main(["drift", "--state", str(old), "--plan", str(plan_path)]) == 2
    assert "is not a version 3 deployment" in capsys.readouterr().err
