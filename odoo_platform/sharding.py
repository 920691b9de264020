"""Sharding: a large estate as one foundation stack and shard stacks aligned with release rings.

The foundation stack holds what tenants share or what holds data: network, keys, database
servers, backups, caches, the cluster and its cluster-wide services. Each shard stack holds
the Kubernetes workloads of at most `sharding.maxTenantsPerShard` tenants of one ring, and
reads the foundation through a stack reference. Smaller stacks preview faster, run in
parallel, and a failed change stops at one ring.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from odoo_platform.config import CONFIG_NAMESPACE, Estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.stack_reader import FOUNDATION


@dataclass(frozen=True)
class Shard:
    name: str
    ring: str
    tenants: tuple[str, ...]


def shards_of(estate: Estate) -> list[Shard]:
    """Shards in ring order: `<ring>-<n>`, where n is the tenant's own `shard` (default 1).

    Membership comes from each tenant's entry alone, never from its position: a tenant that
    moved between shard stacks would be deleted from one stack (its namespace and filestore
    volume with it) and created empty in the other. A shard over the size limit is an error
    naming the entry to change.
    """
    size = estate.sharding.max_tenants_per_shard
    members: dict[tuple[str, int], list[str]] = {}
    for tenant in estate.tenants:
        members.setdefault((tenant.ring, tenant.shard or 1), []).append(tenant.name)
    for (ring, number), names in members.items():
        if len(names) > size:
            index = next(i for i, t in enumerate(estate.tenants) if t.name == names[-1])
            free = next(n for n in range(1, len(estate.tenants) + 2) if len(members.get((ring, n), ())) < size)
            raise EstateConfigError(
                f"tenants[{index}].shard: shard {ring}-{number} holds {len(names)} tenants, more than "
                f"sharding.maxTenantsPerShard {size} (set shard: {free} on {names[-1]!r}, the last listed, "
                f"or raise sharding.maxTenantsPerShard; moving an existing tenant between shard stacks recreates "
                f"its namespace, so use `pulumi state move` for it)")
    order = {ring: position for position, ring in enumerate(estate.ring_order)}
    return [Shard(f"{ring}-{number}", ring, tuple(names))
            for (ring, number), names in sorted(members.items(), key=lambda item: (order[item[0][0]], item[0][1]))]


def first_fit_shards(estate: Estate) -> dict[str, int]:
    """A shard number for every tenant whose entry names none: the first of its ring with room.

    For writing new estates (benchmarks, tests): the program never applies it.
    """
    size = estate.sharding.max_tenants_per_shard
    counts: dict[tuple[str, int], int] = {}
    for tenant in estate.tenants:
        if tenant.shard is not None:
            counts[(tenant.ring, tenant.shard)] = counts.get((tenant.ring, tenant.shard), 0) + 1
    chosen = {}
    for tenant in estate.tenants:
        if tenant.shard is None:
            number = next(n for n in range(1, len(estate.tenants) + 2) if counts.get((tenant.ring, n), 0) < size)
            counts[(tenant.ring, number)] = counts.get((tenant.ring, number), 0) + 1
            chosen[tenant.name] = number
    return chosen


def shard_named(estate: Estate, name: str) -> Shard:
    for shard in shards_of(estate):
        if shard.name == name:
            return shard
    known = ", ".join([FOUNDATION, *(s.name for s in shards_of(estate))])
    raise EstateConfigError(f"shard: {name!r} is not a shard of this estate (use one of {known})")


def check_shard(estate: Estate) -> None:
    """A shard stack's config lists exactly its tenants: each names the shard's ring and number."""
    ring = estate.shard.rsplit("-", 1)[0]
    if ring not in estate.ring_order or not estate.shard.rsplit("-", 1)[-1].isdigit():
        raise EstateConfigError(f"shard: {estate.shard!r} is not a shard name (use {FOUNDATION} or <ring>-<n>, e.g. "
                                f"{estate.ring_order[0]}-1)")
    for index, tenant in enumerate(estate.tenants):
        if tenant.ring != ring:
            raise EstateConfigError(f"tenants[{index}].ring: {tenant.ring!r} does not belong in shard {estate.shard!r} "
                                    "(let odoo-platform fleet write shard configs)")
        if f"{tenant.ring}-{tenant.shard or 1}" != estate.shard:
            raise EstateConfigError(f"tenants[{index}].shard: {tenant.shard or 1} does not belong in shard {estate.shard!r} "
                                    "(let odoo-platform fleet write shard configs)")


def waves(estate: Estate) -> list[list[str]]:
    """The order a fleet run takes: the foundation alone, then each ring's shards together."""
    by_ring: dict[str, list[str]] = {}
    for shard in shards_of(estate):
        by_ring.setdefault(shard.ring, []).append(shard.name)
    return [[FOUNDATION], *(by_ring[ring] for ring in estate.ring_order if ring in by_ring)]


def estate_stack() -> str:
    """The name cloud resources are derived from: the estate's, also inside its foundation stack.

    Splitting a single-stack estate into a foundation and shards must not rename (and so
    replace) its storage accounts, vaults or keys.
    """
    stack = pulumi.get_stack()
    if pulumi.Config(CONFIG_NAMESPACE).get("shard") == FOUNDATION:
        return stack.removesuffix(f"-{FOUNDATION}")
    return stack
