"""The one Pulumi program: stack config in, the whole estate out.

`pulumi preview/up` runs it through `stacks/__main__.py`; the offline engine runs that same
file under the SDK's mocks. Nothing here knows which of the two is running it.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from odoo_platform.clouds import adapter_for
from odoo_platform.components import (
    BackupVault,
    BackupVaultArgs,
    CloudFoundation,
    CloudFoundationArgs,
    ManagedPostgres,
    ManagedPostgresArgs,
    Observability,
    ObservabilityArgs,
    OdooCluster,
    OdooClusterArgs,
    RedisCache,
    RedisCacheArgs,
    TenantIngress,
    TenantIngressArgs,
    TenantNamespace,
    TenantNamespaceArgs,
    TraefikIngress,
    TraefikIngressArgs,
)
from odoo_platform.config import CONFIG_NAMESPACE, Estate, parse_estate
from odoo_platform.topology import SHARED, EstatePlan, plan_estate


def read_estate() -> Estate:
    """Every `odoo-platform:*` key of the stack, so an unknown or misspelled key is an error."""
    prefix = f"{CONFIG_NAMESPACE}:"
    keys = {key for key in (*CONFIG.get(), *get_config_env()) if key.startswith(prefix)}
    config = pulumi.Config(CONFIG_NAMESPACE)
    raw: dict[str, Any] = {}
    for full_key in sorted(keys):
        key = full_key[len(prefix):]
        raw[key] = _decode(config.get(key))
    return parse_estate(raw)


def _decode(value: str | None) -> Any:
    # Pulumi hands structured values (lists, objects, numbers) to programs as JSON text.
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def build_estate(estate: Estate) -> EstatePlan:
    plan = plan_estate(estate)
    adapter = adapter_for(estate.cloud)
    foundation = CloudFoundation("estate", CloudFoundationArgs(estate=estate, adapter=adapter)).foundation

    servers = {
        server.key: ManagedPostgres(
            f"postgres-{server.key}",
            ManagedPostgresArgs(estate=estate, server=server, foundation=foundation, adapter=adapter),
        )
        for server in plan.servers
    }
    for server in plan.servers:
        BackupVault(
            f"backup-{server.key}",
            BackupVaultArgs(
                estate=estate,
                vault_name=f"bv-{estate.environment.value}-{server.key}",
                tier=server.tier,
                foundation=foundation,
                adapter=adapter,
            ),
        )

    ingress = TraefikIngress("traefik", TraefikIngressArgs(estate=estate))
    Observability("observability", ObservabilityArgs(estate=estate, namespace=ingress.namespace))

    for tenant in plan.tenants:
        namespace = TenantNamespace(
            tenant.name,
            TenantNamespaceArgs(estate=estate, tenant=tenant, database_cidrs=foundation.database_cidrs),
        )
        redis = RedisCache(
            f"{tenant.name}-redis", RedisCacheArgs(estate=estate, tenant=tenant, namespace=namespace.namespace)
        )
        database = servers[tenant.server_key]
        odoo = OdooCluster(
            tenant.name,
            OdooClusterArgs(
                estate=estate,
                tenant=tenant,
                namespace=namespace.namespace,
                service_account=namespace.service_account,
                database_host=database.host,
                database_port=database.port,
                database_password=database.tenant_passwords[tenant.name],
                redis_service=redis.service_name,
                redis_secret=redis.secret_name,
            ),
        )
        TenantIngress(
            tenant.name,
            TenantIngressArgs(estate=estate, tenant=tenant, namespace=namespace.namespace, service_name=odoo.service_name),
        )

    pulumi.export(
        "tenants",
        {
            t.name: {
                "namespace": t.namespace,
                "hostname": t.tenant.hostname,
                "tier": t.tenant.tier,
                "isolation": t.isolation.value,
                "ring": t.tenant.ring,
                "postgresServer": t.server_key,
                "image": estate.image,
            }
            for t in plan.tenants
        },
    )
    pulumi.export("postgresServers", {key: server.host for key, server in servers.items()})
    pulumi.export("sharedServer", SHARED if SHARED in servers else None)
    return plan


def main() -> None:
    build_estate(read_estate())
