"""Offline plans of a sharded estate: the foundation stack first, then every shard stack in
parallel processes, merged into one plan for policy, diff, evidence and cost.

Each stack is the same program with `odoo-platform:shard` set, exactly as `odoo-platform
fleet` configures the real stacks; shard stacks read the foundation's recorded outputs
through their StackReference.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odoo_platform import progress
from odoo_platform.config import Estate
from odoo_platform.errors import ToolFailure
from odoo_platform.offline.cache import Entry, PlanStore, stack_key, unchanged
from odoo_platform.offline.engine import ORGANIZATION
from odoo_platform.offline.stackfiles import StackConfig, load_project
from odoo_platform.program import KUBECONFIG_OUTPUT, PLATFORM_OUTPUT, PLATFORM_SECRETS_OUTPUT
from odoo_platform.sharding import FOUNDATION, shard_named, shards_of
from odoo_platform.stack_reader import estate_from_config

SHARD_KEY = "odoo-platform:shard"
TENANTS_KEY = "odoo-platform:tenants"
FOUNDATION_KEY = "odoo-platform:foundationStack"
ENGINE_TYPES = ("pulumi:pulumi:StackReference",)
"""Resources that only exist because the estate is split; the merged plan leaves them out."""
SHARD_PROVIDER = "cluster-provider"


@dataclass(frozen=True)
class ShardedPlan:
    merged: dict[str, Any]
    stacks: StackPlans
    """Each stack's own plan, by stack name (foundation first)."""
    planned: list[str]
    """The stacks planned in this run; the others' plans came from the cache."""


class StackPlans(Mapping[str, dict[str, Any]]):
    """Stack plans read from their store entries when asked: the parent never holds them all at once."""

    def __init__(self, entries: dict[str, Entry]) -> None:
        self.entries = entries

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self.entries[name].plan()

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def stack_config(config: StackConfig, stack: str, shard: str, estate: Estate) -> StackConfig:
    """The config `odoo-platform fleet` gives a foundation or shard stack of `stack` (`estate`: the whole).

    An inline tenant list is cut to the shard's own tenants: Pulumi hands a stack's whole config
    to policy packs in one environment variable, which Linux limits to 128 KiB. A tenant
    catalogue stays as it is: each shard stack reads the tenants that name it.
    """
    values = dict(config.values) | {SHARD_KEY: shard}
    if shard != FOUNDATION:
        values[FOUNDATION_KEY] = f"{stack}-{FOUNDATION}"
        if TENANTS_KEY in values:
            members = set(shard_named(estate, shard).tenants)
            tenants = json.loads(config.values[TENANTS_KEY])
            values[TENANTS_KEY] = json.dumps([t for t in tenants if t["name"] in members])
    return StackConfig(values=values, secret_keys=list(config.secret_keys))


def plan_sharded(root: Path, stack: str, config: StackConfig, region: str, jobs: int,
                 store: PlanStore | None = None) -> ShardedPlan:
    """Plan every stack, reusing the plans `store` holds under the same key (none given: a cold run)."""
    project = load_project(root)
    estate = estate_from_config(config.values, project.stack_config_dir)
    scratch = None
    if store is None:
        scratch = tempfile.mkdtemp(prefix="odoo-platform-plans-")
        store = PlanStore(Path(scratch))
    foundation = f"{stack}-{FOUNDATION}"
    reference = f"{ORGANIZATION}/{project.name}/{foundation}"
    planned: list[str] = []
    with estate.located():
        shards = shards_of(estate)
    # The stacks run in worker processes, whose progress would not reach the terminal: the
    # parent reports each stack as its plan is in hand (planned, or found in the store).
    report = progress.current()
    report.step(f"planning {stack}")
    done = 0

    def reported(name: str, entry: Entry) -> Entry:
        nonlocal done
        done += 1
        report.stack_planned(name, done, len(shards) + 1)
        return entry
    # Spawned, not forked: each stack gets a fresh Pulumi runtime, as under the CLI.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        def start(name: str, shard: str, references: dict[str, dict[str, Any]] | None) -> Callable[[], Entry]:
            stack_conf = stack_config(config, stack, shard, estate)
            key = stack_key(project, name, stack_conf, region, references)
            entry = store.get(key)
            if entry is not None:
                return lambda: entry
            planned.append(name)
            future = pool.submit(_plan_stack, root, name, stack_conf, region, references, store.directory, key)

            def finish() -> Entry:
                future.result()
                return _stored(store, key, name)
            return finish

        entries = {foundation: reported(foundation, start(foundation, FOUNDATION, None)())}
        waiting = {
            f"{stack}-{shard.name}": start(f"{stack}-{shard.name}", shard.name,
                                           {reference: foundation_outputs_for(entries[foundation].outputs, shard.tenants)})
            for shard in shards
        }
        entries |= {name: reported(name, finish()) for name, finish in waiting.items()}
    stacks = StackPlans(entries)
    if scratch:
        # A cold run's plans live as long as its result.
        weakref.finalize(stacks, shutil.rmtree, scratch, True)
    merged = merge_plans(stack, config, (entry.plan() for entry in entries.values()))
    return ShardedPlan(merged=merged, stacks=stacks, planned=planned)


def foundation_outputs_for(outputs: dict[str, Any], tenants: tuple[str, ...]) -> dict[str, Any]:
    """What a shard stack reads of its foundation's outputs: its own tenants' services and secrets, and the kubeconfig.

    Handing a shard only these makes its cache key exactly what it reads: a tenant added to
    another shard changes the foundation's outputs, not this shard's plan.
    """
    def mine(value: dict[str, Any]) -> dict[str, Any]:
        return {name: value[name] for name in tenants if name in value}

    sliced: dict[str, Any] = {}
    if PLATFORM_OUTPUT in outputs:
        sliced[PLATFORM_OUTPUT] = mine(outputs[PLATFORM_OUTPUT])
    if PLATFORM_SECRETS_OUTPUT in outputs:
        secret = outputs[PLATFORM_SECRETS_OUTPUT]  # recorded as Pulumi's secret envelope: {signature, "value": ...}
        sliced[PLATFORM_SECRETS_OUTPUT] = secret | {"value": mine(secret["value"])}
    if KUBECONFIG_OUTPUT in outputs:
        sliced[KUBECONFIG_OUTPUT] = outputs[KUBECONFIG_OUTPUT]
    return sliced


def _plan_stack(root: Path, stack: str, config: StackConfig, region: str,
                references: dict[str, dict[str, Any]] | None, store: Path, key: str) -> None:
    """Plan one stack in a worker and store its plan: only the key crosses back to the parent, not the plan."""
    from odoo_platform.offline.engine import run_program
    from odoo_platform.offline.plan import build_plan

    project = load_project(root)
    recording = run_program(project, stack, config, region=region, stack_references=references)
    unchanged(project, stack, config, region, references, key)
    PlanStore(store).put(key, build_plan(recording, config), recording.stack_outputs)


def _stored(store: PlanStore, key: str, stack: str) -> Entry:
    entry = store.get(key)
    if entry is None:
        raise ToolFailure(f"the plan of {stack} was written to {store.directory} but cannot be read back "
                          "(check the disk, or plan with --no-cache)")
    return entry


def merge_plans(stack: str, config: StackConfig, plans: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One plan of the whole estate: every stack's resources under the estate's stack name (plans: one at a time)."""
    resources: list[dict[str, Any]] = []
    tenants: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    first: dict[str, Any] = {}
    for plan in plans:
        first = first or {"version": plan["version"], "project": plan["project"]}
        def rename(urn: str | None, source: str = plan["stack"]) -> str | None:
            prefix = f"urn:pulumi:{source}::"
            return f"urn:pulumi:{stack}::{urn[len(prefix):]}" if urn and urn.startswith(prefix) else urn

        dropped = {r["urn"] for r in plan["resources"] if _engine_only(r, plan)}
        for resource in plan["resources"]:
            if resource["urn"] in dropped:
                continue
            resources.append(resource | {
                "urn": rename(resource["urn"]),
                "parent": rename(resource["parent"]),
                "dependsOn": [rename(urn) for urn in resource["dependsOn"] if urn not in dropped],
            })
        tenants |= plan["outputs"].get("tenants") or {}
        if "postgresServers" in plan["outputs"]:
            outputs["postgresServers"] = plan["outputs"]["postgresServers"]
    outputs["tenants"] = dict(sorted(tenants.items()))
    return {
        "version": first["version"],
        "stack": stack,
        "project": first["project"],
        "config": config.masked(),
        "outputs": outputs,
        "resources": sorted(resources, key=lambda r: r["urn"]),
    }


def _engine_only(resource: dict[str, Any], plan: dict[str, Any]) -> bool:
    shard = plan["config"].get(SHARD_KEY) not in (None, FOUNDATION)
    return resource["type"] in ENGINE_TYPES or (
        shard and resource["type"] == "pulumi:providers:kubernetes" and resource["name"] == SHARD_PROVIDER
    )
