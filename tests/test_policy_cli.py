"""The offline policy run end to end: CLI, packs in process or over gRPC, report, exit codes."""

from __future__ import annotations

import json

import pytest

from odoo_platform.cli import main
from tests.conftest import BASE_ESTATE, DIGEST, ROOT, estate
from tests.stack_plans import all_stacks, plan_of

# Production pins every image by digest (RES-04), the platform's own jobs' included: estate() names
# pinned operations images for a production estate, as the shipped prod stacks do.
PROD_HYBRID = estate(
    environment="prod",
    image=DIGEST,
    tenancy="hybrid",
    tenants=[
        {"name": "bank", "tier": 1, "users": 60, "hostname": "bank.erp.example.com", "isolation": "dedicated"},
        {"name": "agency", "tier": 3, "users": 8, "hostname": "agency.erp.example.com", "isolation": "shared"},
    ],
    # In steady state: the archives were locked by an approved change after the first deployment (README).
    azure=BASE_ESTATE["azure"] | {"archiveLockChange": "CHG-2026-0001"},
)


@pytest.fixture(autouse=True)
def _in_project(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def prod_plan(project, tmp_path_factory):
    from odoo_platform.offline.engine import run_program
    from odoo_platform.offline.plan import build_plan
    from odoo_platform.offline.stackfiles import read_stack_config
    from tests.conftest import write_stack

    path = write_stack(tmp_path_factory.mktemp("prod") / "Pulumi.prod.yaml", PROD_HYBRID)
    config = read_stack_config(project, path)
    return build_plan(run_program(project, "prod", config, region="westeurope"), config)


def _policy(tmp_path, plan, *extra):
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    code = main(["policy", "--plan", str(tmp_path / "plan.json"), *extra])
    return code, json.loads((tmp_path / "policy-report.json").read_text())


def test_a_compliant_production_estate_passes(tmp_path, prod_plan, capsys):
    code, report = _policy(tmp_path, prod_plan)
    assert code == 0, capsys.readouterr().out
    assert report["passed"] and report["environment"] == "prod"
    assert report["packs"] == ["cloud", "encryption", "governance", "resilience", "segregation"]


def _weaken(plan, type_, change):
    weakened = json.loads(json.dumps(plan))
    for resource in weakened["resources"]:
        if resource["type"] == type_:
            change(resource)
    return weakened


@pytest.mark.parametrize(
    ("rule", "weaken"),
    [
        ("SEG-06", lambda p: _weaken(p, "azure-native:dbforpostgresql:Server",
                                     lambda r: r["inputs"]["network"].update(publicNetworkAccess="Enabled"))),
        ("SEG-02", lambda p: {**p, "resources": [r for r in p["resources"] if not r["name"].endswith("netpol-default-deny-all")]}),
        ("RES-06", lambda p: _weaken(p, "azure-native:dataprotection:BackupVault",
                                     lambda r: r["inputs"]["properties"]["securitySettings"]["immutabilitySettings"].update(state="Unlocked"))),
        ("RES-02", lambda p: _weaken(p, "azure-native:dbforpostgresql:Server", lambda r: r.update(protect=False))),
    ],
)
def test_weakened_estates_are_caught_with_exit_1(tmp_path, prod_plan, capsys, rule, weaken):
    code, report = _policy(tmp_path, weaken(prod_plan))
    printed = capsys.readouterr().out
    assert code == 1
    assert not report["passed"]
    assert rule in {f["rule"] for f in report["findings"] if f["level"] == "mandatory"}
    assert rule in printed


def test_outside_production_the_same_violation_is_advisory_unless_configured(tmp_path, capsys):
    plan = _weaken(plan_of("dev"), "azure-native:dbforpostgresql:Server",
                   lambda r: r["inputs"]["network"].update(publicNetworkAccess="Enabled"))
    code, report = _policy(tmp_path, plan)
    assert code == 0 and report["advisoryViolations"] == 1
    (tmp_path / "strict.json").write_text(json.dumps({"all": "mandatory"}))
    code, report = _policy(tmp_path, plan, "--policy-config", str(tmp_path / "strict.json"))
    assert code == 1 and report["mandatoryViolations"] == 1
    (tmp_path / "off.json").write_text(json.dumps({"azure-postgres-disallow-public-access": {"enforcementLevel": "disabled"}}))
    code, report = _policy(tmp_path, plan, "--policy-config", str(tmp_path / "off.json"))
    assert code == 0 and report["findings"] == []


@pytest.mark.parametrize("stack", all_stacks())
def test_every_stack_passes_every_mandatory_rule(tmp_path, stack):
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"all": "mandatory"}))
    code, report = _policy(tmp_path, plan_of(stack), "--policy-config", str(strict))
    assert code == 0 and report["findings"] == [], report["findings"]


def test_plan_runs_the_packs_and_no_policy_skips_them(tmp_path, capsys):
    from tests.conftest import write_stack

    small = str(write_stack(tmp_path / "small.yaml", estate(tenants=[
        {"name": "solo", "tier": 3, "users": 4, "hostname": "solo.erp.example.com"}])))
    assert main(["plan", "--stack", "dev", "--config", small, "--out", str(tmp_path / "a")]) == 0
    assert "policy: no violations" in capsys.readouterr().out
    assert json.loads((tmp_path / "a" / "policy-report.json").read_text())["passed"]
    assert main(["plan", "--stack", "dev", "--config", small, "--out", str(tmp_path / "b"), "--no-policy"]) == 0
    assert not (tmp_path / "b" / "policy-report.json").exists()


def test_unknown_pack_and_bad_plan_exit_2(tmp_path, capsys):
    (tmp_path / "plan.json").write_text(json.dumps(plan_of("dev")))
    assert main(["policy", "--plan", str(tmp_path / "plan.json"), "--pack", "nope"]) == 2
    assert "is not a policy pack (known packs: cloud, encryption, governance, resilience, segregation)" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("[]")
    assert main(["policy", "--plan", str(tmp_path / "junk.json")]) == 2


def test_a_config_too_large_for_the_packs_environment_is_named():
    from odoo_platform.errors import ToolFailure
    from odoo_platform.policy.runner import pulumi_config

    plan = {"config": {"odoo-platform:tenants": [{"name": f"t{i:04d}", "hostname": f"t{i:04d}.erp.example.com"}
                                                  for i in range(3000)]}}
    with pytest.raises(ToolFailure, match=r"^the stack config is \d+ KiB: policy packs receive it in one environment .*tenantCatalogue"):
        pulumi_config(plan)
    assert json.loads(pulumi_config({"config": {"odoo-platform:environment": "prod"}})) == {
        "odoo-platform:environment": "prod"}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"azure-postgres-disallow-public-acess": "disabled"},
         "--policy-config: 'azure-postgres-disallow-public-acess' in {path} is not a policy (use 'all' or a policy name"),
        ({"SEG-06": "disabled"},
         "--policy-config: 'SEG-06' in {path} is not a policy ('SEG-06' is a rule id; use its policy name "
         "'azure-postgres-disallow-public-access')"),
        ({"all": "off"}, "--policy-config: all in {path} has the level 'off' (use one of advisory, mandatory, disabled, remediate)"),
        ({"k8s-pod-disallow-host-access": {"enforcementLevel": "warn"}},
         "--policy-config: k8s-pod-disallow-host-access in {path} has the level 'warn'"),
        ({"k8s-pod-disallow-host-access": {"enforcementLevel": "advisory", "allowPrivileged": True}},
         "--policy-config: k8s-pod-disallow-host-access.allowPrivileged in {path} is not configurable"),
        (["all"], "--policy-config: {path} must hold a JSON object"),
    ],
)
def test_a_policy_config_naming_no_policy_or_level_exits_2_before_any_pack_runs(tmp_path, capsys, config, expected):
    (tmp_path / "plan.json").write_text(json.dumps(plan_of("dev")))
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(config))
    assert main(["policy", "--plan", str(tmp_path / "plan.json"), "--policy-config", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: " + expected.format(path=path)) and "\n" not in error
    assert not (tmp_path / "policy-report.json").exists()


def test_overrides_that_weaken_a_production_rule_are_recorded_in_the_report(tmp_path, prod_plan, capsys):
    weakened = _weaken(prod_plan, "azure-native:dbforpostgresql:Server",
                       lambda r: r["inputs"]["network"].update(publicNetworkAccess="Enabled"))
    (tmp_path / "off.json").write_text(json.dumps({
        "azure-postgres-disallow-public-access": {"enforcementLevel": "disabled"}, "k8s-pod-disallow-host-access": "advisory",
        "k8s-container-require-non-root": "mandatory"}))
    # Over gRPC: the levels reach the pack through Configure, as under the CLI.
    code, report = _policy(tmp_path, weakened, "--pack", "segregation", "--policy-config", str(tmp_path / "off.json"), "--grpc")
    assert code == 0 and report["findings"] == []  # the violation is no longer reported ...
    assert report["overrides"] == [  # ... and the report says why
        {"rule": "SEG-04", "policy": "k8s-pod-disallow-host-access", "pack": "segregation", "from": "mandatory",
         "to": "advisory", "weakened": True},
        {"rule": "SEG-06", "policy": "azure-postgres-disallow-public-access", "pack": "segregation", "from": "mandatory",
         "to": "disabled", "weakened": True},
    ]
    printed = capsys.readouterr().out
    assert "policy config weakens SEG-06 (azure-postgres-disallow-public-access): mandatory -> disabled" in printed


def test_a_run_without_policy_config_records_no_overrides(tmp_path, prod_plan):
    code, report = _policy(tmp_path, prod_plan, "--pack", "segregation")
    assert code == 0 and report["overrides"] == []
