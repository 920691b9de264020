"""The plan cache: a re-plan reuses every stack a change cannot affect, and the result is a cold plan's, byte for byte."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from odoo_platform.cli import main
from odoo_platform.offline import cache
from tests.conftest import DIGEST, estate

RINGS = ("canary", "early", "broad")


def _tenants(count: int) -> list[dict]:
    """Tenants naming their ring and shard (two per shard), as a team's stack file does."""
    tenants, filled = [], {}
    for i in range(count):
        ring = RINGS[i % 3]
        filled[ring] = filled.get(ring, 0) + 1
        tenants.append({"name": f"t{i:02d}", "tier": 1 + i % 3, "users": 5, "hostname": f"t{i:02d}.example.com",
                        "ring": ring, "isolation": "dedicated" if i == 3 else "shared", "shard": (filled[ring] - 1) // 2 + 1})
    return tenants


def _values(document: dict) -> dict[str, str]:
    return {f"odoo-platform:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in document.items()}


class Estate:
    """A stack file (tenants inline, or in a catalogue) planned through the CLI, cold or with the cache."""

    def __init__(self, directory: Path, tenants: list[dict], catalogue: bool = False, **changes) -> None:
        self.directory, self.catalogue = directory, catalogue
        self.document = estate(tenancy="hybrid", tenants=tenants, sharding={"maxTenantsPerShard": 2}, **changes)
        self.cache = directory / "cache"
        self.runs = 0

    def write(self) -> Path:
        document = dict(self.document)
        if self.catalogue:
            folder = self.directory / "catalogue"
            folder.mkdir(exist_ok=True)
            for old in folder.glob("*.yaml"):
                old.unlink()
            for tenant in document.pop("tenants"):
                (folder / f"{tenant['name']}.yaml").write_text(yaml.safe_dump({k: v for k, v in tenant.items() if k != "name"}))
            document["tenantCatalogue"] = str(folder)
        stack = self.directory / "Pulumi.est.yaml"
        stack.write_text(yaml.safe_dump({"config": _values(document)}))
        return stack

    def plan(self, capsys, *flags: str) -> tuple[Path, str]:
        self.runs += 1
        out = self.directory / f"out-{self.runs}"
        capsys.readouterr()
        code = main(["plan", "--stack", "est", "--config", str(self.write()), "--out", str(out), "--no-policy",
                     "--jobs", "2", *flags])
        printed = capsys.readouterr().out
        assert code == 0, printed
        return out, printed

    def cold_and_warm(self, capsys) -> tuple[Path, Path, list[str]]:
        """A cold sharded plan (--no-cache) and one with the cache; the stacks the latter planned."""
        cold, _ = self.plan(capsys, "--sharded", "--no-cache")
        warm, printed = self.plan(capsys, "--sharded", "--cache-dir", str(self.cache))
        return cold, warm, planned_stacks(warm, printed)


def planned_stacks(out: Path, printed: str) -> list[str]:
    """The stacks a run planned, from its one-line report ("3 stacks: 1 planned (est-early-1), 2 from the cache (...)")."""
    (line,) = [line for line in printed.splitlines() if re.match(r"^\d+ stacks?: \d+ planned", line)]
    match = re.match(r"^(\d+) stacks?: (\d+) planned(?: \(([^)]*)\))?, ", line)
    names = sorted(match.group(3).split(", ")) if match.group(3) else []
    assert len(names) == int(match.group(2))
    return names


def same_files(cold: Path, warm: Path) -> None:
    names = sorted(str(p.relative_to(cold)) for p in cold.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(warm)) for p in warm.rglob("*") if p.is_file())
    for name in names:
        assert (cold / name).read_bytes() == (warm / name).read_bytes(), name


def test_an_unchanged_sharded_estate_comes_whole_from_the_cache_byte_for_byte(tmp_path, capsys):
    # Three stacks: the foundation, canary-1 (t00) and early-1 (t01).
    plans = Estate(tmp_path, _tenants(2))
    first, printed = plans.plan(capsys, "--sharded", "--cache-dir", str(plans.cache))
    assert planned_stacks(first, printed) == ["est-canary-1", "est-early-1", "est-foundation"]
    again, printed = plans.plan(capsys, "--sharded", "--cache-dir", str(plans.cache))
    assert planned_stacks(again, printed) == [] and "3 stacks: 0 planned, 3 from the cache" in printed
    same_files(first, again)


def test_a_cache_written_by_other_code_is_never_used(tmp_path, capsys, monkeypatch):
    plans = Estate(tmp_path, _tenants(1))
    first, printed = plans.plan(capsys, "--cache-dir", str(plans.cache))
    assert planned_stacks(first, printed) == ["est"]
    again, printed = plans.plan(capsys, "--cache-dir", str(plans.cache))
    assert planned_stacks(again, printed) == [] and "1 stack: 0 planned, 1 from the cache" in printed
    same_files(first, again)
    monkeypatch.setattr(cache, "_package_digest", lambda: "another version of odoo_platform")
    changed, printed = plans.plan(capsys, "--cache-dir", str(plans.cache))
    assert planned_stacks(changed, printed) == ["est"]
    same_files(first, changed)


def test_a_damaged_entry_is_planned_again_and_the_cache_deletes_only_its_own_files(tmp_path, capsys):
    plans = Estate(tmp_path, _tenants(1))
    plans.plan(capsys, "--cache-dir", str(plans.cache))
    (entry,) = plans.cache.glob("*.plan")
    entry.write_bytes(entry.read_bytes()[:-100])  # truncated by something else
    (plans.cache / "notes.txt").write_text("mine")
    out, printed = plans.plan(capsys, "--cache-dir", str(plans.cache))
    assert planned_stacks(out, printed) == ["est"]
    store = cache.PlanStore(plans.cache)
    assert store.get(entry.stem) is not None
    store.prune(max_bytes=0)  # the entry was used a moment ago: kept
    assert entry.exists()
    old = 1_000_000_000
    os.utime(entry, (old, old))
    # What a killed run left while writing: removed once old, never while it may still be written.
    abandoned, writing = plans.cache / f".{'a' * 64}.x1.tmp", plans.cache / f".{'b' * 64}.x2.tmp"
    abandoned.write_text("half"), writing.write_text("half")
    os.utime(abandoned, (old, old))
    cache.PlanStore(plans.cache).prune(max_bytes=0)
    assert not entry.exists() and (plans.cache / "notes.txt").read_text() == "mine"
    assert not abandoned.exists() and writing.exists()


def test_a_cache_directory_that_cannot_be_written_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    plans = Estate(tmp_path, _tenants(1))
    code = main(["plan", "--stack", "est", "--config", str(plans.write()), "--out", str(tmp_path / "out"), "--no-policy",
                 "--cache-dir", str(blocker / "cache")])
    error = capsys.readouterr().err.strip()
    assert code == 2 and error.startswith("error: --cache-dir: ") and len(error.splitlines()) == 1


EDITS = {
    "one tenant's users": lambda d: d["tenants"][1].update(users=40),
    "a tenant's hostname": lambda d: d["tenants"][4].update(hostname="renamed.example.com"),
    "adding a tenant": lambda d: d["tenants"].append(_tenants(7)[6]),
    "removing a tenant": lambda d: d["tenants"].pop(5),
    "the estate's image": lambda d: d.update(image=DIGEST),
}
"""Each edit, and the stacks it re-plans. The foundation reads every tenant: any tenant's edit re-plans it; a shard
is re-planned only when its own tenants or the foundation's outputs for them change.
Tenants: canary-1 t00 t03, early-1 t01 t04, broad-1 t02 t05 (t06, added: canary-2)."""
REPLANNED = {
    "one tenant's users": ["est-early-1", "est-foundation"],
    "a tenant's hostname": ["est-early-1", "est-foundation"],
    "adding a tenant": ["est-canary-2", "est-foundation"],
    "removing a tenant": ["est-broad-1", "est-foundation"],
    "the estate's image": ["est-broad-1", "est-canary-1", "est-canary-2", "est-early-1", "est-foundation"],
}


@pytest.mark.slow
@pytest.mark.parametrize("catalogue", [False, True], ids=["inline", "catalogue"])
def test_every_kind_of_edit_re_plans_what_it_affects_and_merges_to_the_cold_plan(tmp_path, capsys, catalogue):
    plans = Estate(tmp_path, _tenants(6), catalogue=catalogue, environment="staging",
                   image=DIGEST.replace("3f6c", "0000"))  # staging takes any digest; the edit below moves it
    plans.plan(capsys, "--sharded", "--cache-dir", str(plans.cache))
    for name, edit in EDITS.items():
        edit(plans.document)
        cold, warm, planned = plans.cold_and_warm(capsys)
        assert planned == REPLANNED[name], name
        same_files(cold, warm)


def test_a_tenant_file_edited_while_the_program_runs_stores_nothing(project, tmp_path, monkeypatch):
    from odoo_platform.errors import ToolFailure
    from odoo_platform.offline import engine
    from odoo_platform.offline.stackfiles import StackConfig

    directory = tmp_path / "catalogue"
    directory.mkdir()
    (directory / "acme.yaml").write_text("tier: 2\nusers: 25\nhostname: acme.erp.example.com\n")
    document = estate(tenantCatalogue=str(directory))
    document.pop("tenants")
    config = StackConfig(values=_values(document))
    running = engine.run_program

    def edited_meanwhile(*args, **kwargs):
        recording = running(*args, **kwargs)
        (directory / "acme.yaml").write_text("tier: 2\nusers: 26\nhostname: acme.erp.example.com\n")
        return recording

    monkeypatch.setattr(engine, "run_program", edited_meanwhile)
    store = cache.PlanStore(tmp_path / "plans")
    with pytest.raises(ToolFailure, match=r"^the inputs of stack t .* changed while it was planned: plan again"):
        cache.plan_stack(project, "t", config, "westeurope", store)
    assert not list((tmp_path / "plans").glob("*.plan"))
