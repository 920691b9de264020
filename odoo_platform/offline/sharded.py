"""Offline plans of a sharded estate: the foundation stack first, then every shard stack in
parallel processes, merged into one plan for policy, diff, evidence and cost.

Each stack is the same program with `odoo-platform:shard` set, exactly as `odoo-platform
fleet` configures the real stacks; shard stacks read the foundation's recorded outputs
through their StackReference.
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odoo_platform import progress
from odoo_platform.config import Estate
from odoo_platform.offline.engine import ORGANIZATION
from odoo_platform.offline.stackfiles import StackConfig, load_project
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
    stacks: dict[str, dict[str, Any]]
    """Each stack's own plan, by stack name (foundation first)."""


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


def plan_sharded(root: Path, stack: str, config: StackConfig, region: str, jobs: int) -> ShardedPlan:
    project = load_project(root)
    estate = estate_from_config(config.values, project.stack_config_dir)
    shards = shards_of(estate)
    total = len(shards) + 1
    # The stacks run in worker processes, whose progress would not reach the terminal: the
    # parent reports each stack as it finishes, with the resources its plan holds.
    report = progress.current()
    report.step(f"planning {stack}")
    # Spawned, not forked: each stack gets a fresh Pulumi runtime, as under the CLI.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        foundation = f"{stack}-{FOUNDATION}"
        foundation_plan, foundation_outputs = pool.submit(
            _plan_stack, root, foundation, stack_config(config, stack, FOUNDATION, estate), region, None
        ).result()
        report.registered(len(foundation_plan["resources"]))
        report.stack_planned(foundation, 1, total)
        references = {f"{ORGANIZATION}/{project.name}/{foundation}": foundation_outputs}
        futures = {
            pool.submit(
                _plan_stack, root, f"{stack}-{shard.name}", stack_config(config, stack, shard.name, estate), region,
                references
            ): f"{stack}-{shard.name}"
            for shard in shards
        }
        finished: dict[str, dict[str, Any]] = {}
        for future in as_completed(futures):
            finished[futures[future]] = future.result()[0]
            report.registered(len(finished[futures[future]]["resources"]))
            report.stack_planned(futures[future], len(finished) + 1, total)
    # Foundation first, then the shards in their own order, whichever finished first.
    plans = {foundation: foundation_plan} | {name: finished[name] for name in futures.values()}
    return ShardedPlan(merged=merge_plans(stack, config, list(plans.values())), stacks=plans)


def _plan_stack(root: Path, stack: str, config: StackConfig, region: str,
                references: dict[str, dict[str, Any]] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    from odoo_platform.offline.engine import run_program
    from odoo_platform.offline.plan import build_plan

    recording = run_program(load_project(root), stack, config, region=region, stack_references=references)
    return build_plan(recording, config), recording.stack_outputs


def merge_plans(stack: str, config: StackConfig, plans: list[dict[str, Any]]) -> dict[str, Any]:
    """One plan of the whole estate: every stack's resources under the estate's stack name."""
    resources: list[dict[str, Any]] = []
    tenants: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for plan in plans:
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
        "version": plans[0]["version"],
        "stack": stack,
        "project": plans[0]["project"],
        "config": config.masked(),
        "outputs": outputs,
        "resources": sorted(resources, key=lambda r: r["urn"]),
    }


def _engine_only(resource: dict[str, Any], plan: dict[str, Any]) -> bool:
    shard = plan["config"].get(SHARD_KEY) not in (None, FOUNDATION)
    return resource["type"] in ENGINE_TYPES or (
        shard and resource["type"] == "pulumi:providers:kubernetes" and resource["name"] == SHARD_PROVIDER
    )
