"""The one Pulumi program: stack config in, the whole estate out.

`pulumi preview/up` runs it through `stacks/__main__.py`; the offline engine runs that same
file under the SDK's mocks. Nothing here knows which of the two is running it.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from odoo_platform.clouds import CloudAdapter, Foundation, PostgresServer, adapter_for
from odoo_platform.components import (
    BackupVault,
    BackupVaultArgs,
    CloudFoundation,
    CloudFoundationArgs,
    DatabaseOperations,
    DatabaseOperationsArgs,
    EncryptionKeys,
    EncryptionKeysArgs,
    ImageAdmission,
    ImageAdmissionArgs,
    KubernetesCluster,
    KubernetesClusterArgs,
    ManagedCache,
    ManagedPostgres,
    ManagedPostgresArgs,
    ManagedRedis,
    ManagedRedisArgs,
    Observability,
    ObservabilityArgs,
    OdooCluster,
    OdooClusterArgs,
    RedisCache,
    RedisCacheArgs,
    ServerOperations,
    TenantIngress,
    TenantIngressArgs,
    TenantNamespace,
    TenantNamespaceArgs,
    TraefikIngress,
    TraefikIngressArgs,
)
from odoo_platform.config import Estate
from odoo_platform.releases import check_rings, load_ledger
from odoo_platform.stack_reader import read_estate
from odoo_platform.topology import EstatePlan, plan_estate


def build_estate(estate: Estate) -> EstatePlan:
    plan = plan_estate(estate)
    adapter = adapter_for(estate.cloud)
    foundation = CloudFoundation("estate", CloudFoundationArgs(estate=estate, adapter=adapter)).foundation

    # One placement per database server: the shared one, and one per dedicated tenant. Each
    # has its own keys, server, backups and (where managed) cache: dedicated means nothing shared.
    servers: dict[str, ManagedPostgres] = {}
    caches: dict[str, ManagedRedis] = {}
    operations: list[ServerOperations] = []
    for server in plan.servers:
        members = tuple(t for t in plan.tenants if t.server_key == server.key)
        keys = EncryptionKeys(
            f"keys-{server.key}",
            EncryptionKeysArgs(estate=estate, placement=server.key, foundation=foundation, adapter=adapter),
        ).key_ring
        database = ManagedPostgres(
            f"postgres-{server.key}",
            ManagedPostgresArgs(estate=estate, server=server, tenants=members, foundation=foundation, key_ring=keys,
                                adapter=adapter),
        )
        backups = BackupVault(
            f"backup-{server.key}",
            BackupVaultArgs(estate=estate, placement=server.key, tier=server.tier, foundation=foundation, key_ring=keys,
                            server=_server_handle(database), adapter=adapter),
        )
        if estate.managed_redis:
            caches[server.key] = ManagedRedis(
                f"redis-{server.key}",
                ManagedRedisArgs(estate=estate, placement=server.key, tier=server.tier, foundation=foundation, key_ring=keys, adapter=adapter),
            )
        servers[server.key] = database
        operations.append(
            ServerOperations(server=server, tenants=members, host=database.host, admin_login=database.admin_login,
                             admin_password=database.admin_password, tenant_passwords=database.tenant_passwords,
                             archive_url=backups.archive_url)
        )

    on_cluster = _cluster_options(estate, adapter, foundation)
    ingress = TraefikIngress("traefik", TraefikIngressArgs(estate=estate), on_cluster)
    ImageAdmission("image-admission", ImageAdmissionArgs(estate=estate), on_cluster)
    Observability("observability", ObservabilityArgs(estate=estate, namespace=ingress.namespace), on_cluster)
    database_operations = DatabaseOperations(
        "operations",
        DatabaseOperationsArgs(estate=estate, servers=tuple(operations), database_cidrs=foundation.database_cidrs),
        on_cluster,
    )

    for tenant in plan.tenants:
        namespace = TenantNamespace(
            tenant.name,
            TenantNamespaceArgs(estate=estate, tenant=tenant, database_cidrs=foundation.database_cidrs),
            on_cluster,
        )
        cache = caches.get(tenant.server_key)
        redis = RedisCache(
            f"{tenant.name}-redis",
            RedisCacheArgs(
                estate=estate, tenant=tenant, namespace=namespace.namespace,
                managed=ManagedCache(host=cache.host, port=cache.port, password=cache.password, revision=cache.revision)
                if cache else None,
            ),
            on_cluster,
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
                database_ready=database_operations.bootstraps[tenant.server_key],
                rwx_storage_class=adapter.rwx_storage_class,
                redis_host=redis.host,
                redis_port=redis.port,
                redis_tls=redis.tls,
                redis_secret=redis.secret_name,
                redis_revision=redis.revision,
            ),
            on_cluster,
        )
        TenantIngress(
            tenant.name,
            TenantIngressArgs(estate=estate, tenant=tenant, namespace=namespace.namespace, service_name=odoo.service_name),
            on_cluster,
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
                "image": estate.image_for(t.tenant),
                "rpoMinutes": t.tier.rpo_minutes,
                "rtoMinutes": t.tier.rto_minutes,
            }
            for t in plan.tenants
        },
    )
    pulumi.export("postgresServers", {key: server.host for key, server in servers.items()})
    return plan


def _cluster_options(estate: Estate, adapter: CloudAdapter, foundation: Foundation) -> pulumi.ResourceOptions | None:
    """Where Kubernetes objects go: a cluster created here, or the ambient kubeconfig's (the default)."""
    if not estate.kubernetes.create_cluster:
        return None
    keys = EncryptionKeys(
        "keys-cluster", EncryptionKeysArgs(estate=estate, placement="cluster", foundation=foundation, adapter=adapter)
    ).key_ring
    cluster = KubernetesCluster(
        "cluster", KubernetesClusterArgs(estate=estate, foundation=foundation, key_ring=keys, adapter=adapter)
    )
    return pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})


def _server_handle(database: ManagedPostgres) -> PostgresServer:
    return PostgresServer(host=database.host, port=database.port, resource_id=database.server_id,
                          admin_login=database.admin_login)


def main(ledger: Path) -> None:
    estate = read_estate()
    check_rings(estate, load_ledger(ledger))
    build_estate(estate)
