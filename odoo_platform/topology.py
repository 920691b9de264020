"""Plan before create: where each tenant lives and how big everything is.

A pure function of the estate. Components only create what this decides, so placement,
sizing and the connection budget are tested without Pulumi and can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from odoo_platform.config import Environment, Estate, EstateConfigError, Isolation, Tenant
from odoo_platform.sizing import OdooSizing, SizingError, server_vcores, size_odoo
from odoo_platform.tiers import TierSpec

SHARED = "shared"
DEDICATED_PREFIX = "dedicated-"
PRODUCTION_MIN_WEB_REPLICAS = 2


@dataclass(frozen=True)
class TenantPlan:
    tenant: Tenant
    tier: TierSpec
    isolation: Isolation
    server_key: str
    sizing: OdooSizing
    database: str
    role: str

    @property
    def name(self) -> str:
        return self.tenant.name

    @property
    def namespace(self) -> str:
        return f"odoo-{self.tenant.name}"


@dataclass(frozen=True)
class ServerPlan:
    """One PostgreSQL server: the shared one, or a dedicated tenant's own."""

    key: str
    tenants: tuple[str, ...]
    tier_number: int
    tier: TierSpec
    vcores: int
    high_availability: bool
    geo_redundant_backup: bool
    backup_retention_days: int
    max_connections: int
    reserved_connections: int
    peak_connections: int
    storage_gb: int
    version: int

    @property
    def dedicated(self) -> bool:
        return self.key.startswith(DEDICATED_PREFIX)


@dataclass(frozen=True)
class EstatePlan:
    estate: Estate
    tenants: tuple[TenantPlan, ...]
    servers: tuple[ServerPlan, ...]

    def server(self, key: str) -> ServerPlan:
        return next(s for s in self.servers if s.key == key)


def plan_estate(estate: Estate) -> EstatePlan:
    tenants = tuple(_plan_tenant(estate, index, t) for index, t in enumerate(estate.tenants))
    groups: dict[str, list[TenantPlan]] = {}
    for plan in tenants:
        groups.setdefault(plan.server_key, []).append(plan)
    servers = tuple(_plan_server(estate, key, members, groups) for key, members in groups.items())
    return EstatePlan(estate=estate, tenants=tenants, servers=servers)


def shared_server_key(number: int) -> str:
    return SHARED if number == 1 else f"{SHARED}-{number}"


def server_of(estate: Estate, tenant: Tenant) -> str:
    """A tenant's database server, from its own entry alone.

    Placement is never computed from the other tenants: an edit to one tenant, reordering the
    list or removing a tenant must not move anybody else's database (a move is a new, empty
    database on another server). A shared tenant lives on `shared` unless its entry names
    another shared server; a full server is an error that says which entry to change.
    """
    if estate.isolation_of(tenant) is Isolation.DEDICATED:
        return f"{DEDICATED_PREFIX}{tenant.name}"
    return tenant.server or SHARED


def room_for(estate: Estate, peak: int, loads: dict[str, int]) -> str:
    """The first shared server (existing, else the next new one) with room for `peak` connections."""
    budget = estate.postgres.max_connections - estate.postgres.reserved_connections
    number = 1
    while shared_server_key(number) in loads and loads[shared_server_key(number)] + peak > budget:
        number += 1
    return shared_server_key(number)

def first_fit_servers(estate: Estate) -> dict[str, str]:
    """A server for every shared tenant whose entry names none, first fit around the pinned ones.

    For writing new estates (benchmarks, tests, a team's first stack file): the program never
    applies it, because recomputing it on every plan would move tenants when others change.
    """
    loads: dict[str, int] = {}
    unpinned = []
    for index, tenant in enumerate(estate.tenants):
        plan = _plan_tenant(estate, index, tenant)
        if plan.isolation is Isolation.SHARED and tenant.server is None:
            unpinned.append(plan)
        else:
            loads[plan.server_key] = loads.get(plan.server_key, 0) + plan.sizing.peak_connections
    chosen = {}
    for plan in unpinned:
        chosen[plan.name] = room_for(estate, plan.sizing.peak_connections, loads)
        loads[chosen[plan.name]] = loads.get(chosen[plan.name], 0) + plan.sizing.peak_connections
    return chosen


def _plan_tenant(estate: Estate, index: int, tenant: Tenant) -> TenantPlan:
    tier = estate.tier(tenant)
    isolation = estate.isolation_of(tenant)
    # Production web always survives the loss of a pod, whatever the tier's own floor.
    replicas_min = max(tier.web_replicas_min, PRODUCTION_MIN_WEB_REPLICAS if estate.environment is Environment.PROD else 1)
    try:
        sizing = size_odoo(tenant.users, replicas_min, tier.web_replicas_max, f"tenants[{index}].users")
    except SizingError as exc:
        raise EstateConfigError(str(exc)) from None
    return TenantPlan(
        tenant=tenant,
        tier=tier,
        isolation=isolation,
        server_key=server_of(estate, tenant),
        sizing=sizing,
        database=tenant.name.replace("-", "_"),
        role=f"odoo_{tenant.name.replace('-', '_')}",
    )


def _plan_server(estate: Estate, key: str, members: list[TenantPlan], groups: dict[str, list[TenantPlan]]) -> ServerPlan:
    strictest = min(members, key=lambda m: m.tenant.tier)
    tier = strictest.tier
    production = estate.environment is Environment.PROD
    pg = estate.postgres
    peak = sum(m.sizing.peak_connections for m in members)
    budget = pg.max_connections - pg.reserved_connections
    if peak > budget:
        raise EstateConfigError(_over_budget(estate, key, members, groups, peak, budget))
    return ServerPlan(
        key=key,
        tenants=tuple(m.name for m in members),
        tier_number=strictest.tenant.tier,
        tier=tier,
        vcores=server_vcores(sum(m.tenant.users for m in members)),
        high_availability=production and tier.high_availability,
        geo_redundant_backup=production and tier.geo_redundant_backup,
        backup_retention_days=tier.backup_retention_days,
        max_connections=pg.max_connections,
        reserved_connections=pg.reserved_connections,
        peak_connections=peak,
        storage_gb=pg.storage_gb,
        version=pg.version,
    )


def _over_budget(estate: Estate, key: str, members: list[TenantPlan], groups: dict[str, list[TenantPlan]], peak: int,
                 budget: int) -> str:
    """What to change when a server's tenants need more connections than it has: never a silent move."""
    pg = estate.postgres
    raise_it = f"raise odoo-platform:postgres.maxConnections to at least {peak + pg.reserved_connections}"
    alone = next((m for m in members if m.sizing.peak_connections > budget), None)
    if alone is not None or key.startswith(DEDICATED_PREFIX):
        tenant = alone or members[0]
        need = tenant.sizing.peak_connections
        return (f"tenants[{estate.tenants.index(tenant.tenant)}].users: tenant {tenant.name!r} alone needs up to {need} "
                f"connections at full scale but maxConnections {pg.max_connections} minus reservedConnections "
                f"{pg.reserved_connections} leaves {budget} (raise odoo-platform:postgres.maxConnections to at least "
                f"{need + pg.reserved_connections}, or lower webReplicasMax of tier {tenant.tenant.tier})")
    index = estate.tenants.index(members[-1].tenant)
    loads = {k: sum(m.sizing.peak_connections for m in group) for k, group in groups.items()}
    loads[key] = budget + 1  # the full server is not a destination
    target = room_for(estate, members[-1].sizing.peak_connections, loads)
    return (f"tenants[{index}].server: the {len(members)} tenants on shared server {key!r} need up to {peak} connections at "
            f"full scale but maxConnections {pg.max_connections} minus reservedConnections {pg.reserved_connections} "
            f"leaves {budget} ({raise_it}, or put a tenant that has no database yet on another server, e.g. "
            f"server: {target} on {members[-1].name!r}, the last listed; an existing tenant's new server starts with an "
            f"empty database, so migrate its data first)")
