"""The CLI's contract: exit codes, one-line errors, and output that is complete or absent."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from odoo_platform.cli import main
from tests.conftest import ROOT, estate, write_stack


@pytest.fixture(autouse=True)
def _in_project(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_plan_writes_plan_and_manifests_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", "--stack", "dev", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "resources by type:" in printed and "resources by tenant:" in printed
    plan = json.loads((out / "plan.json").read_text())
    assert {"stack", "project", "config", "outputs", "resources"} <= set(plan)
    assert plan["stack"] == "dev" and plan["project"] == "odoo-platform"
    first = plan["resources"][0]
    assert set(first) == {"urn", "type", "name", "parent", "inputs", "protect", "retainOnDelete", "dependsOn", "component"}
    assert (out / "manifests.yaml").read_text().startswith("apiVersion: v1\nkind: Namespace\n")


SMALL = estate(tenants=[{"name": "solo", "tier": 3, "users": 4, "hostname": "solo.erp.example.com"}])


def _small(tmp_path):
    return str(write_stack(tmp_path / "small.yaml", SMALL))


def test_format_json_prints_the_plan(tmp_path, capsys):
    assert main(["plan", "--stack", "dev", "--config", _small(tmp_path), "--out", str(tmp_path / "o"), "--format", "json",
                 "--no-policy"]) == 0
    assert json.loads(capsys.readouterr().out)["stack"] == "dev"


def test_invalid_config_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    bad = estate(tenants=[{"name": "Acme Corp", "tier": 2, "users": 5, "hostname": "a.example.com"}])
    out = tmp_path / "out"
    code = main(["plan", "--stack", "dev", "--config", str(write_stack(tmp_path / "bad.yaml", bad)), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "error: tenants[0].name: 'Acme Corp' is not a DNS label (use lowercase letters, digits and '-')\n"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.yaml"]  # no temporary directory left behind


def test_a_failed_run_leaves_the_previous_plan_untouched(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", "--stack", "dev", "--config", _small(tmp_path), "--out", str(out), "--no-policy"]) == 0
    before = (out / "plan.json").read_text()
    bad = estate(postgres={"maxConnections": 60, "reservedConnections": 50})
    code = main(["plan", "--stack", "dev", "--config", str(write_stack(tmp_path / "b.yaml", bad)), "--out", str(out)])
    assert code == 2
    assert "postgres.maxConnections" in capsys.readouterr().err
    assert (out / "plan.json").read_text() == before


def test_unknown_stack_exits_2_and_lists_known_stacks(capsys):
    assert main(["plan", "--stack", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: stack 'nope' does not exist (known stacks: ")


def test_unreadable_yaml_exits_2(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("config:\n  odoo-platform:cloud: [azure\n")
    assert main(["plan", "--stack", "x", "--config", str(broken)]) == 2
    assert "is not valid YAML" in capsys.readouterr().err


def test_module_entry_point_reports_errors_without_a_traceback(tmp_path):
    bad = write_stack(tmp_path / "bad.yaml", estate(cloud="gcp"))
    result = subprocess.run(
        [sys.executable, "-m", "odoo_platform", "plan", "--stack", "dev", "--config", str(bad), "--out", str(tmp_path / "o")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: cloud: 'gcp' is not allowed")
