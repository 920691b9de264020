"""Plan before create: where each tenant lives and how big everything is.

A pure function of the estate. Components only create what this decides, so placement,
sizing and the connection budget are tested without Pulumi and can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    tenants = _pool_shared_tenants(estate, [_plan_tenant(estate, index, t) for index, t in enumerate(estate.tenants)])
    groups: dict[str, list[TenantPlan]] = {}
    for plan in tenants:
        groups.setdefault(plan.server_key, []).append(plan)
    servers = tuple(_plan_server(estate, key, members) for key, members in groups.items())
    return EstatePlan(estate=estate, tenants=tenants, servers=servers)


def shared_server_key(number: int) -> str:
    return SHARED if number == 1 else f"{SHARED}-{number}"


def _pool_shared_tenants(estate: Estate, tenants: list[TenantPlan]) -> tuple[TenantPlan, ...]:
    """Shared tenants fill shared servers in config order, a new server when the connection budget is full.

    First fit in config order keeps placements stable as tenants are appended: a new tenant
    never moves an existing one to another server (that would be a database move).
    """
    budget = estate.postgres.max_connections - estate.postgres.reserved_connections
    used: list[int] = []
    placed = []
    for plan in tenants:
        if plan.server_key != SHARED:
            placed.append(plan)
            continue
        peak = plan.sizing.peak_connections
        number = next((i + 1 for i, load in enumerate(used) if load + peak <= budget), None)
        if number is None:
            used.append(0)
            number = len(used)
        used[number - 1] += peak
        placed.append(replace(plan, server_key=shared_server_key(number)))
    return tuple(placed)


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
        server_key=f"dedicated-{tenant.name}" if isolation is Isolation.DEDICATED else SHARED,
        sizing=sizing,
        database=tenant.name.replace("-", "_"),
        role=f"odoo_{tenant.name.replace('-', '_')}",
    )


def _plan_server(estate: Estate, key: str, members: list[TenantPlan]) -> ServerPlan:
    strictest = min(members, key=lambda m: m.tenant.tier)
    tier = strictest.tier
    production = estate.environment is Environment.PROD
    pg = estate.postgres
    peak = sum(m.sizing.peak_connections for m in members)
    budget = pg.max_connections - pg.reserved_connections
    if peak > budget:
        raise EstateConfigError(
            f"postgres.maxConnections: the {len(members)} tenant(s) on server {key!r} need up to {peak} connections "
            f"at full scale but maxConnections {pg.max_connections} minus reservedConnections {pg.reserved_connections} "
            f"leaves {budget} (raise odoo-platform:postgres.maxConnections to at least {peak + pg.reserved_connections}, "
            f"lower webReplicasMax of the tier, or make a large tenant dedicated)"
        )
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
