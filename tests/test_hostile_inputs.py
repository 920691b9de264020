"""Hostile and careless input, as a new user or a tester would give it.

Every case asserts the same promise: the documented exit code, exactly one line on stderr
naming the flag or field, no traceback, the previous output intact, and nothing written or
deleted anywhere else (the whole sandbox is compared before and after).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from odoo_platform import cli
from odoo_platform.cli import main
from odoo_platform.output import MARKER
from tests.conftest import ROOT, estate, write_stack

SMALL = estate(tenants=[{"name": "solo", "tier": 3, "users": 4, "hostname": "solo.erp.example.com"}])


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> Path:
    """A plan directory an earlier run wrote (with its policy report), to plan over and read from."""
    root = tmp_path_factory.mktemp("earlier")
    os.chdir(ROOT)
    assert main(["plan", "--stack", "dev", "--config", str(write_stack(root / "small.yaml", SMALL)), "--out",
                 str(root / "plan")]) == 0
    return root / "plan"


@pytest.fixture
def sandbox(tmp_path, monkeypatch, earlier):
    """A user's directory with files of their own and a copy of an earlier plan; cwd is the project."""
    monkeypatch.chdir(ROOT)
    (tmp_path / "notes.txt").write_text("the user's own notes\n")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "ledger.csv").write_text("2026-11-30,1000.00\n")
    (tmp_path / "plan").mkdir()
    for entry in earlier.iterdir():
        (tmp_path / "plan" / entry.name).write_bytes(entry.read_bytes())
    (tmp_path / "small.yaml").write_text(write_stack(tmp_path / "small.yaml", SMALL).read_text())
    return tmp_path


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def refused(capsys, argv: list[str], code: int, names: str, sandbox: Path) -> str:
    """Run the CLI and assert the promise; returns the one stderr line."""
    before, project = snapshot(sandbox), snapshot(ROOT / "stacks")
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err and names in err, err
    assert snapshot(sandbox) == before, "files were written or deleted"
    assert snapshot(ROOT / "stacks") == project
    return err


@pytest.mark.parametrize("target", [".", "work", "notes.txt", "/", "missing/out", "plan/../work"])
def test_plan_never_replaces_what_it_did_not_write(sandbox, capsys, monkeypatch, target):
    monkeypatch.chdir(sandbox)  # `--out .` in the user's own directory
    argv = ["plan", "--stack", "dev", "--project", str(ROOT), "--config", str(sandbox / "small.yaml"), "--out", target]
    refused(capsys, argv, 2, "--out", sandbox)


@pytest.mark.parametrize("stack", ["..", ".", "", "team/prod", "a::b", "with space", "../../somewhere", "x" * 101])
def test_stack_names_follow_pulumis_rules_before_anything_runs(sandbox, capsys, stack):
    outputs = sorted(p.name for p in (ROOT / "out").iterdir()) if (ROOT / "out").is_dir() else []
    refused(capsys, ["plan", "--stack", stack, "--config", str(sandbox / "small.yaml")], 2, "--stack", sandbox)
    assert (sorted(p.name for p in (ROOT / "out").iterdir()) if (ROOT / "out").is_dir() else []) == outputs


def test_a_directory_a_run_wrote_is_replaced_whole(sandbox, capsys):
    out = sandbox / "plan"
    (out / "stale.txt").write_text("written by someone else after the run\n")  # refused: no longer only ours ...
    assert main(["plan", "--stack", "dev", "--config", str(sandbox / "small.yaml"), "--out", str(out), "--no-policy"]) == 0
    assert not (out / "stale.txt").exists() and (out / MARKER).is_file()  # ... unless it carries the marker
    assert json.loads((out / MARKER).read_text())["files"] == ["manifests.yaml", "plan.json"]
    assert [p.name for p in sandbox.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_a_directory_without_the_marker_that_holds_more_than_a_plan_is_refused(sandbox, capsys):
    (sandbox / "plan" / MARKER).unlink()
    (sandbox / "plan" / "my-notes.md").write_text("mine\n")
    argv = ["plan", "--stack", "dev", "--config", str(sandbox / "small.yaml"), "--out", str(sandbox / "plan")]
    refused(capsys, argv, 2, "--out", sandbox)


def test_bad_config_leaves_the_earlier_plan_intact(sandbox, capsys):
    bad = write_stack(sandbox / "bad.yaml", estate(postgres={"maxConnections": 60, "reservedConnections": 50}))
    argv = ["plan", "--stack", "dev", "--config", str(bad), "--out", str(sandbox / "plan")]
    refused(capsys, argv, 2, "maxConnections", sandbox)


@pytest.mark.parametrize(("content", "names"), [
    (b"config:\n  odoo-platform:tenants: []\n  odoo-platform:tenants: [{name: a}]\n", "duplicate key 'odoo-platform:tenants'"),
    (b"config:\n  odoo-platform:owner: \"\xff\xfe\"\n", "is not UTF-8"),
    (b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
     b"g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nconfig: {}\n", "aliases expand to more than"),
    (b"config:\n  odoo-platform:owner: " + b"x" * 70_000 + b"\n", "more than 65536"),
    (b"config:\n  odoo-platform:owner: \"" + b"y" * (9 * 1024 * 1024) + b"\"\n", "bytes, more than"),
    (b"config:\n  odoo-platform:cloud: [azure\n", "is not valid YAML"),
    (b"config:\n  ? [a, b]\n  : 1\n", "not a plain value"),
    (b"- just\n- a list\n", "has no 'config:' mapping"),
])
def test_stack_files_are_read_strictly(sandbox, capsys, content, names):
    hostile = sandbox / "hostile.yaml"
    hostile.write_bytes(content)
    argv = ["plan", "--stack", "dev", "--config", str(hostile), "--out", str(sandbox / "plan")]
    refused(capsys, argv, 2, names, sandbox)


NOT_PLANS = {
    "not-json.json": b"{ not json",
    "binary.json": b"\xff\xfe\x00\x01",
    "list.json": b"[]",
    "no-resources.json": json.dumps({"stack": "dev", "project": "p", "config": {}, "outputs": {}}).encode(),
    "bad-resource.json": json.dumps({"stack": "dev", "project": "p", "config": {}, "outputs": {},
                                     "resources": [{"urn": 1}]}).encode(),
    "bad-tenants.json": json.dumps({"stack": "dev", "project": "p", "config": {}, "outputs": {"tenants": [1]},
                                    "resources": []}).encode(),
}


@pytest.mark.parametrize("name", sorted(NOT_PLANS))
@pytest.mark.parametrize("command", ["diff-before", "diff-after", "cost", "policy", "evidence", "drift"])
def test_every_command_refuses_what_is_not_a_plan(sandbox, capsys, name, command):
    bad = sandbox / "work" / name
    bad.write_bytes(NOT_PLANS[name])
    good = str(sandbox / "plan" / "plan.json")
    argv, flag = {
        "diff-before": (["diff", str(bad), good], "BEFORE"),
        "diff-after": (["diff", good, str(bad)], "AFTER"),
        "cost": (["cost", "--plan", str(bad)], "--plan"),
        "policy": (["policy", "--plan", str(bad)], "--plan"),
        "evidence": (["evidence", "--plan", str(bad), "--out", str(sandbox / "bundle"), "--author", "a"], "--plan"),
        "drift": (["drift", "--state", str(bad), "--plan", good], "--state"),
    }[command]
    refused(capsys, argv, 2, flag, sandbox)


@pytest.mark.parametrize(("argv", "names"), [
    (["freeze", "check", "--at", "next tuesday"], "--at"),
    (["freeze", "check", "--risk", "extreme"], "--risk"),
    (["freeze", "check", "--stack", "../x"], "--stack"),
    (["plan", "--stack", "dev", "--sharded", "--jobs", "0"], "--jobs"),
    (["plan", "--stack", "dev", "--sharded", "--jobs", "many"], "--jobs"),
    (["fleet", "preview", "--stack", "dev", "--concurrency", "-1"], "--concurrency"),
    (["gitops", "--out", "{sandbox}/work"], "--out"),
    (["gitops", "--out", "{sandbox}/notes.txt"], "--out"),
    (["gitops", "--out", "/"], "--out"),
    # A directory the file system refuses to write in, even for root (procfs): exit 2, never a crash.
    (["plan", "--stack", "dev", "--config", "{sandbox}/small.yaml", "--out", "/proc/odoo-plan", "--no-policy"], "--out"),
    (["cost", "--plan", "{sandbox}/plan/plan.json", "--svg", "/proc/odoo-cost.svg"], "--svg"),
    (["evidence", "--plan", "{sandbox}/plan/plan.json", "--out", "{sandbox}/work", "--author", "a"], "--out"),
    (["evidence", "--plan", "{sandbox}/plan/plan.json", "--out", "{sandbox}/b", "--author", "a", "--at", "soon"], "--at"),
    (["evidence", "--plan", "{sandbox}/plan/plan.json", "--out", "{sandbox}/b", "--author", "a", "--approver", "bob"],
     "--approver"),
    (["evidence", "--plan", "{sandbox}/plan/plan.json", "--out", "{sandbox}/b", "--author", "a", "--drift",
      "{sandbox}/notes.txt"], "--drift"),
    (["cost", "--plan", "{sandbox}/plan/plan.json", "--svg", "{sandbox}/notes.txt"], "--svg"),
    (["cost", "--plan", "{sandbox}/plan/plan.json", "--svg", "{sandbox}/missing/cost.svg"], "--svg"),
    (["cost", "--plan", "{sandbox}/plan/plan.json", "--prices", "{sandbox}/notes.txt"], "--prices"),
    (["drift", "--state", "{sandbox}/notes.txt", "--plan", "{sandbox}/plan/plan.json"], "--state"),
    (["drift", "--state", "{sandbox}/plan/plan.json", "--plan", "{sandbox}/plan/plan.json", "--out",
      "{sandbox}/notes.txt"], "--out"),
    (["policy", "--plan", "{sandbox}/plan/plan.json", "--policy-config", "{sandbox}/notes.txt"], "--policy-config"),
    (["plan", "--stack", "dev", "--config", "{sandbox}/missing.yaml"], "missing.yaml"),
    (["plan", "--stack", "dev", "--project", "{sandbox}/work"], "--project"),
    (["nonsense"], "invalid choice"),
    (["plan"], "--stack"),
])
def test_flags_and_paths_are_checked(sandbox, capsys, argv, names):
    refused(capsys, [arg.format(sandbox=sandbox) for arg in argv], 2, names, sandbox)


def test_policy_does_not_overwrite_a_report_it_did_not_write(sandbox, capsys):
    (sandbox / "work" / "plan.json").write_bytes((sandbox / "plan" / "plan.json").read_bytes())
    (sandbox / "work" / "policy-report.json").write_text("the user's own report\n")
    refused(capsys, ["policy", "--plan", str(sandbox / "work" / "plan.json")], 2, "--plan", sandbox)


def test_ctrl_c_and_sigterm_during_the_write_leave_no_staging_and_the_old_plan(sandbox, capsys, monkeypatch):
    out = sandbox / "plan"
    before = snapshot(sandbox)
    # Stopped while the new plan is staged, just before it replaces the old one (outside a write the
    # process ends at once: tests/test_hostile_inputs.py's real processes cover that).
    for interrupt, code in ((lambda: (_ for _ in ()).throw(KeyboardInterrupt()), 130),
                            (lambda: os.kill(os.getpid(), signal.SIGTERM), 143)):
        def interrupted(new, target, interrupt=interrupt):
            assert (new / "plan.json").is_file()  # the staging directory is written
            interrupt()
            time.sleep(5)  # the signal handler raises before this ends

        monkeypatch.setattr("odoo_platform.output._replace", interrupted)
        assert main(["plan", "--stack", "dev", "--config", str(sandbox / "small.yaml"), "--out", str(out),
                     "--no-policy"]) == code
        captured = capsys.readouterr()
        assert captured.err == "" and "Traceback" not in captured.out
        assert snapshot(sandbox) == before  # old plan intact, no hidden staging directory
    assert signal.getsignal(signal.SIGTERM) is not cli._stop  # handlers are restored after the command


def _run(argv: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "odoo_platform", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)


def test_a_closed_pipe_ends_quietly(sandbox):
    """`odoo-platform plan --format json | head -c 100`: the reader goes away; no traceback, exit 0 or 141."""
    out = sandbox / "fresh"
    process = _run(["plan", "--stack", "dev", "--config", str(sandbox / "small.yaml"), "--out", str(out), "--no-policy",
                    "--format", "json"])
    assert len(process.stdout.read(100)) == 100  # the plan (far more than a pipe's 64 KiB buffer) is being printed
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) in (0, 141)
    assert err == ""
    assert json.loads((out / "plan.json").read_text())["stack"] == "dev"  # written before printing


LARGER = estate(tenants=[{"name": f"t{i}", "tier": 3, "users": 4, "hostname": f"t{i}.erp.example.com"} for i in range(12)])


@pytest.mark.parametrize(("number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_process_exits_128_plus_the_signal_without_a_traceback_or_output(sandbox, number, code):
    config = write_stack(sandbox / "work" / "larger.yaml", LARGER)  # a plan of well over ten seconds
    process = _run(["plan", "--stack", "dev", "--config", str(config), "--out", str(sandbox / "fresh"), "--no-policy"])
    time.sleep(3)  # imports are done in under a second: this is inside the program run
    process.send_signal(number)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code and err == b"", err
    assert not (sandbox / "fresh").exists()
    assert [p.name for p in sandbox.iterdir() if p.name.startswith(".")] == []
