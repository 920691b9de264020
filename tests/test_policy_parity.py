"""The in-process evaluation returns what the packs return over gRPC: same findings, same overrides, same report."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from odoo_platform.cli import main
from odoo_platform.offline.engine import run_program
from odoo_platform.offline.plan import build_plan
from odoo_platform.offline.stackfiles import load_project, read_stack_config
from odoo_platform.policy.inprocess import evaluate_packs
from odoo_platform.policy.rule import K8S_WORKLOADS
from odoo_platform.policy.rules import PACKS
from odoo_platform.policy.runner import report, run_packs
from tests.conftest import ROOT
from tests.stack_plans import all_stacks, plan_of

PACK_NAMES = sorted(PACKS)
SECRET = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
LEVELS_CHANGED = {
    # Every way a config changes a level: all at once, then per policy, by name or by object.
    "all": "mandatory",
    "azure-postgres-disallow-public-access": {"enforcementLevel": "advisory"},
    "k8s-pod-disallow-host-access": "remediate",
    "stateful-require-protect": "disabled",
    "ado-production-environment-require-approval": "advisory",
}


@functools.cache
def _delivery_plan() -> str:
    project = load_project(ROOT / "stacks" / "delivery")
    config = read_stack_config(project, project.stack_file("fin-hosting"))
    return json.dumps(build_plan(run_program(project, "fin-hosting", config, region="westeurope"), config))


def _violating(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with resource and stack violations wherever its resources allow them."""
    weakened = json.loads(json.dumps(plan))
    for resource in weakened["resources"]:
        inputs = resource["inputs"]
        resource["protect"] = False
        if resource["type"] in K8S_WORKLOADS:
            spec = inputs["spec"]["jobTemplate"]["spec"] if "jobTemplate" in inputs["spec"] else inputs["spec"]
            spec["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
        if "publicNetworkAccess" in inputs.get("network", {}):
            inputs["network"]["publicNetworkAccess"] = "Enabled"
        if "requesterCanApprove" in inputs:
            inputs["requesterCanApprove"] = True
    weakened["resources"] = [r for r in weakened["resources"] if not r["name"].endswith("netpol-default-deny-all")
                             and r["name"] != "odoo-prod-environment-approval"]
    return weakened


def _both(plan: dict[str, Any], overrides: dict[str, Any]) -> tuple[str, str]:
    """Each path's policy report, as the CLI writes it."""
    grpc = run_packs([ROOT / "policypacks" / name for name in PACK_NAMES], plan, overrides)
    inprocess = evaluate_packs(PACK_NAMES, plan, overrides)
    return (json.dumps(report(grpc, plan, PACK_NAMES), indent=2), json.dumps(report(inprocess, plan, PACK_NAMES), indent=2))


def test_the_cli_writes_the_same_report_in_process_and_over_grpc(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    plan = _violating(plan_of("dev"))
    # A secret reaches the rules unwrapped; a value unknown during preview stops the rule reading it.
    web = next(r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment")
    web["inputs"]["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {
        "privileged": {SECRET: SECRET_SIG, "value": False}}
    server = next(r for r in plan["resources"] if r["type"] == "azure-native:dbforpostgresql:Server")
    server["inputs"]["network"]["publicNetworkAccess"] = UNKNOWN_STRING
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "levels.json").write_text(json.dumps(LEVELS_CHANGED))
    written = {}
    for path in ("grpc", "inprocess"):
        out = tmp_path / path
        out.mkdir()
        (out / "plan.json").write_text(json.dumps(plan))
        flags = ["--grpc"] if path == "grpc" else []
        assert main(["policy", "--plan", str(out / "plan.json"), "--policy-config", str(tmp_path / "levels.json"), *flags]) == 1
        written[path] = (out / "policy-report.json").read_text()
    assert written["inprocess"] == written["grpc"]
    result = json.loads(written["grpc"])
    messages = [f["message"] for f in result["findings"]]
    assert {"SEG-02", "SEG-04"} <= {f["rule"] for f in result["findings"] if f["level"] == "mandatory"}
    assert "RES-02" not in {f["rule"] for f in result["findings"]}
    assert any("during preview: string value at .network.publicNetworkAccess" in m for m in messages)
    assert not any(f["urn"] == web["urn"] and "is privileged" in f["message"] for f in result["findings"])
    assert any("is privileged" in message for message in messages)
    assert {o["policy"] for o in result["overrides"]} >= {"stateful-require-protect", "k8s-pod-disallow-host-access"}


@pytest.mark.slow
@pytest.mark.parametrize("stack", [*all_stacks(), "delivery"])
def test_every_stack_gets_the_same_findings_in_process_and_over_grpc(stack):
    plan = json.loads(_delivery_plan()) if stack == "delivery" else plan_of(stack)
    grpc, inprocess = _both(plan, {})
    assert inprocess == grpc
    grpc, inprocess = _both(_violating(plan), LEVELS_CHANGED)
    assert inprocess == grpc
    result = json.loads(grpc)
    assert result["findings"] and result["overrides"]
