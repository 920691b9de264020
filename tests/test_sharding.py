"""Sharded estates: deterministic, complete shards; merged plans equal to the single stack; fleet runs."""

from __future__ import annotations

import json
import threading
import time

import pytest

from odoo_platform.cli import main
from odoo_platform.config import parse_estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.fleet import run_fleet
from odoo_platform.offline.engine import run_program
from odoo_platform.offline.plan import build_plan
from odoo_platform.offline.sharded import plan_sharded
from odoo_platform.offline.stackfiles import StackConfig, load_project
from odoo_platform.sharding import first_fit_shards, shards_of, waves
from odoo_platform.stack_reader import estate_from_config
from tests.conftest import DIGEST, ROOT, estate

RINGS = ("canary", "early", "broad")


def _tenants(count: int) -> list[dict]:
    return [{"name": f"t{i:02d}", "tier": 1 + i % 3, "users": 5, "hostname": f"t{i:02d}.example.com",
             "ring": RINGS[0] if i % 5 == 0 else RINGS[1] if i % 5 == 1 else RINGS[2],
             "isolation": "dedicated" if i == 3 else "shared"} for i in range(count)]


def _estate(count: int, per_shard: int = 2, **changes) -> dict:
    """An estate whose tenants name their shard, as a team's stack file does (first fit in config order)."""
    document = estate(tenancy="hybrid", tenants=_tenants(count), sharding={"maxTenantsPerShard": per_shard}, **changes)
    numbers = first_fit_shards(parse_estate({k: v for k, v in document.items() if k not in ("shard", "foundationStack")}))
    document["tenants"] = [t | {"shard": numbers[t["name"]]} for t in document["tenants"]]
    return document


def test_shards_are_deterministic_complete_and_aligned_with_rings():
    model = parse_estate(_estate(11))
    shards = shards_of(model)
    assert shards == shards_of(parse_estate(_estate(11)))
    placed = [name for shard in shards for name in shard.tenants]
    assert sorted(placed) == sorted(t.name for t in model.tenants) and len(placed) == len(set(placed))
    by_name = {t.name: t for t in model.tenants}
    for shard in shards:
        assert 1 <= len(shard.tenants) <= 2
        assert {by_name[n].ring for n in shard.tenants} == {shard.ring}
        assert shard.name.startswith(shard.ring + "-")
    assert [s.name for s in shards] == ["canary-1", "canary-2", "early-1", "broad-1", "broad-2", "broad-3"]
    assert waves(model) == [["foundation"], ["canary-1", "canary-2"], ["early-1"], ["broad-1", "broad-2", "broad-3"]]


def test_removing_or_reordering_tenants_never_moves_another_between_shards():
    document = _estate(11)
    before = {n: s.name for s in shards_of(parse_estate(document)) for n in s.tenants}
    document["tenants"] = list(reversed(document["tenants"]))[:-1]  # reordered, and t00 (canary-1) removed
    after = {n: s.name for s in shards_of(parse_estate(document)) for n in s.tenants}
    assert after == {n: shard for n, shard in before.items() if n != "t00"}


def test_a_full_shard_is_an_error_naming_the_entry_to_change():
    document = _estate(11)
    document["tenants"][4]["shard"] = 1  # t04 (broad) joins broad-1, which already holds two
    with pytest.raises(EstateConfigError, match=r"^tenants\[\d+\]\.shard: shard broad-1 holds 3 tenants, more than "
                                                r"sharding.maxTenantsPerShard 2 \(set shard: \d+ on"):
        shards_of(parse_estate(document))


def _config(document: dict) -> StackConfig:
    return StackConfig(values={f"odoo-platform:{key}": json.dumps(value) if not isinstance(value, str) else value
                               for key, value in document.items()})


def _identity(plan: dict) -> dict:
    return {r["urn"]: (r["type"], r["parent"], r["inputs"], r["protect"], r["retainOnDelete"]) for r in plan["resources"]}


@pytest.mark.slow  # the sharded plan runs its stacks in worker processes (jobs=2): an end-to-end run
def test_the_merged_sharded_plan_equals_the_single_stack_plan():
    # Managed Redis and a created cluster: the two paths that cross from foundation to shards.
    document = _estate(7, environment="staging", image=DIGEST, redis="managed",
                       kubernetes={"createCluster": True})
    config = _config(document)
    project = load_project(ROOT)
    single = build_plan(run_program(project, "big", config, region="westeurope"), config)
    sharded = plan_sharded(ROOT, "big", config, region="westeurope", jobs=2)
    assert list(sharded.stacks) == ["big-foundation", "big-canary-1", "big-early-1", "big-broad-1", "big-broad-2"]
    assert _identity(sharded.merged) == _identity(single)
    assert sharded.merged["outputs"] == single["outputs"]
    shard = sharded.stacks["big-canary-1"]
    (reference,) = [r for r in shard["resources"] if r["type"] == "pulumi:pulumi:StackReference"]
    assert reference["inputs"]["name"] == "organization/odoo-platform/big-foundation"
    assert not any(r["type"].startswith(("azure-native:", "aws:")) for r in shard["resources"])
    assert all(r["type"] != "odoo-platform:index:OdooCluster" for r in sharded.stacks["big-foundation"]["resources"])


def test_shard_stack_config_errors_are_one_line(plan_for):
    with pytest.raises(EstateConfigError, match=r"^foundationStack: is required on a shard stack"):
        plan_for(_estate(4, shard="early-1"))
    with pytest.raises(EstateConfigError, match=r"^shard: 'nightly-1' is not a shard name \(use foundation or <ring>-<n>"):
        plan_for(_estate(4, shard="nightly-1", foundationStack="big-foundation"))
    with pytest.raises(EstateConfigError, match=r"^tenants\[0\]\.ring: 'canary' does not belong in shard 'early-1'"):
        plan_for(_estate(4, shard="early-1", foundationStack="big-foundation"))


def test_a_shard_stack_config_lists_only_its_own_tenants():
    from odoo_platform.offline.sharded import stack_config

    config = _config(_estate(11))
    shard = stack_config(config, "prod", "broad-2", estate_from_config(config.values, ROOT / "stacks"))
    assert [t["name"] for t in json.loads(shard.values["odoo-platform:tenants"])] == ["t04", "t07"]
    assert shard.values["odoo-platform:foundationStack"] == "prod-foundation"
    foundation = stack_config(config, "prod", "foundation", estate_from_config(config.values, ROOT / "stacks"))
    assert foundation.values["odoo-platform:tenants"] == config.values["odoo-platform:tenants"]


class FakeStack:
    def __init__(self, name: str, log: list, fail: set[str], gate: threading.Semaphore, peak: list) -> None:
        self.name, self.log, self.fail, self.gate, self.peak = name, log, fail, gate, peak
        self.config: dict = {}

    def get_all_config(self) -> dict:
        return dict(self.config)

    def remove_all_config(self, keys) -> None:
        for key in keys:
            del self.config[key]

    def set_all_config(self, config) -> None:
        self.config |= {key: value.value for key, value in config.items()}  # adds, as `pulumi config set-all` does

    def _run(self, operation: str, options: dict):
        with self.gate:
            self.peak.append(self.gate._value)  # free slots while running: shows the concurrency reached
            self.log.append((operation, self.name, self.config.get("odoo-platform:shard"),
                             self.config.get("odoo-platform:foundationStack"), tuple(options["policy_packs"])))
            time.sleep(0.01)
        if self.name in self.fail:
            raise RuntimeError(f"{operation} failed: policy violations\ndetails")
        return type("Result", (), {"change_summary": {"create": 3}})()

    def preview(self, **options):
        return self._run("preview", options)

    def up(self, **options):
        return self._run("up", options)


def _fleet(operation: str, fail: set[str], concurrency: int):
    config = _config(_estate(11))
    log: list = []
    peak: list = []
    gate = threading.Semaphore(10)
    result = run_fleet("prod", config, ROOT / "stacks", operation, lambda name: FakeStack(name, log, fail, gate, peak),
                       ["policypacks/encryption"], concurrency)
    return result, log, peak


def test_the_fleet_runs_ring_by_ring_with_the_shard_config_and_the_policy_packs():
    result, log, peak = _fleet("up", set(), concurrency=2)
    assert result.ok and not result.skipped
    assert log[0][:3] == ("up", "prod-foundation", "foundation") and log[0][3] is None
    order = [entry[1] for entry in log]
    rings = [name.split("-")[1] for name in order[1:]]
    assert rings == sorted(rings, key=["canary", "early", "broad"].index)  # a ring never starts before the last ends
    assert all(entry[3] == "prod-foundation" and entry[4] == ("policypacks/encryption",) for entry in log[1:])
    assert min(peak) >= 10 - 2  # never more than 2 stacks at once
    assert [r.wave for r in result.results] == [1, 2, 2, 3, 4, 4, 4]


def test_the_fleet_stops_after_the_first_failed_ring():
    result, log, _ = _fleet("preview", {"prod-early-1"}, concurrency=4)
    assert not result.ok
    assert {entry[1] for entry in log} == {"prod-foundation", "prod-canary-1", "prod-canary-2", "prod-early-1"}
    (failed,) = [r for r in result.results if not r.ok]
    assert failed.stack == "prod-early-1" and failed.summary == "RuntimeError: preview failed: policy violations"
    assert result.skipped == ["prod-broad-1", "prod-broad-2", "prod-broad-3"]
    foundation_failed, log, _ = _fleet("up", {"prod-foundation"}, concurrency=4)
    assert [entry[1] for entry in log] == ["prod-foundation"] and len(foundation_failed.skipped) == 6


def test_without_the_pulumi_cli_the_fleet_says_so(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["fleet", "preview", "--stack", "prod"]) == 2
    assert "the Pulumi CLI is not installed here" in capsys.readouterr().err


def test_the_fleet_removes_the_keys_an_earlier_run_wrote_and_the_config_no_longer_has(tmp_path):
    # The shard stacks of an estate that listed its tenants inline, now moved to a tenant catalogue.
    document = _estate(5)
    stacks: dict[str, FakeStack] = {}

    def open_stack(name: str) -> FakeStack:
        if name not in stacks:
            stacks[name] = FakeStack(name, [], set(), threading.Semaphore(10), [])
            stacks[name].config = {"odoo-platform:tenants": "[...]", "azure-native:location": "westeurope"}
        return stacks[name]

    directory = tmp_path / "catalogue"
    directory.mkdir()
    for tenant in document.pop("tenants"):
        (directory / f"{tenant.pop('name')}.yaml").write_text(json.dumps(tenant))
    result = run_fleet("prod", _config(document | {"tenantCatalogue": str(directory)}), ROOT / "stacks", "preview",
                       open_stack, [], 2)
    assert result.ok, [r.summary for r in result.results]
    for stack in stacks.values():
        assert "odoo-platform:tenants" not in stack.config and "odoo-platform:tenantCatalogue" in stack.config
        assert stack.config["azure-native:location"] == "westeurope"  # another namespace's key is not the fleet's
