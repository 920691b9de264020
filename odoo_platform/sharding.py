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

FOUNDATION = "foundation"


@dataclass(frozen=True)
class Shard:
    name: str
    ring: str
    tenants: tuple[str, ...]


def shards_of(estate: Estate) -> list[Shard]:
    """Shards in ring order; within a ring, tenants fill shards in config order.

    Config order (not name order) keeps a tenant in its shard when tenants are appended: a
    tenant moving between stacks would be deleted from one and created in the other.
    """
    size = estate.sharding.max_tenants_per_shard
    shards = []
    for ring in estate.ring_order:
        members = [t.name for t in estate.tenants if t.ring == ring]
        for start in range(0, len(members), size):
            shards.append(Shard(f"{ring}-{start // size + 1}", ring, tuple(members[start:start + size])))
    return shards


def shard_named(estate: Estate, name: str) -> Shard:
    for shard in shards_of(estate):
        if shard.name == name:
            return shard
    known = ", ".join([FOUNDATION, *(s.name for s in shards_of(estate))])
    raise EstateConfigError(f"shard: {name!r} is not a shard of this estate (use one of {known})")


def check_shard(estate: Estate) -> None:
    """A shard stack's config lists exactly its tenants, all of the shard's ring."""
    ring = estate.shard.rsplit("-", 1)[0]
    if ring not in estate.ring_order or not estate.shard.rsplit("-", 1)[-1].isdigit():
        raise EstateConfigError(f"shard: {estate.shard!r} is not a shard name (use {FOUNDATION} or <ring>-<n>, e.g. "
                                f"{estate.ring_order[0]}-1)")
    for index, tenant in enumerate(estate.tenants):
        if tenant.ring != ring:
            raise EstateConfigError(f"tenants[{index}].ring: {tenant.ring!r} does not belong in shard {estate.shard!r} "
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
