"""The one Pulumi program: stack config in, the whole estate out.

`pulumi preview/up` runs it through `stacks/__main__.py`; the offline engine runs that same
file under the SDK's mocks. Nothing here knows which of the two is running it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

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
    FilestoreArchive,
    FilestoreArchiveArgs,
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
from odoo_platform.errors import EstateConfigError
from odoo_platform.releases import LEDGER_NAME, check_rings, load_ledger
from odoo_platform.rotation import RotatedSecret
from odoo_platform.sharding import FOUNDATION, check_shard
from odoo_platform.stack_reader import read_estate
from odoo_platform.topology import EstatePlan, TenantPlan, plan_estate

PLATFORM_OUTPUT = "platform"
PLATFORM_SECRETS_OUTPUT = "platformSecrets"
KUBECONFIG_OUTPUT = "kubeconfig"


@dataclass(frozen=True)
class TenantServices:
    """What one tenant's workloads use of the platform: built here, or read from the foundation stack."""

    server: pulumi.Input[str]
    """Key of the database server the tenant is placed on (the foundation decides: it sees every tenant)."""
    database_host: pulumi.Input[str]
    database_port: int
    database_password: RotatedSecret
    database_ready: Optional[pulumi.Resource]
    """The Job that set the tenant role's password (None across stacks: the foundation runs first)."""
    cache: Optional[ManagedCache]
    archive_url: pulumi.Input[str]
    """Object storage the tenant's dumps and filestore archives are written to."""


@dataclass(frozen=True)
class Platform:
    services: dict[str, TenantServices]
    database_cidrs: tuple[str, ...]
    archive_cidrs: tuple[str, ...]
    rwx_storage_class: str
    on_cluster: Optional[pulumi.ResourceOptions]
    kubeconfig: Optional[pulumi.Output[str]] = None
    """Of the cluster the estate created (a secret), for the shard stacks."""


def build_estate(estate: Estate) -> EstatePlan:
    """The whole estate in one stack."""
    plan = plan_estate(estate)
    platform = _build_platform(estate, plan)
    _build_tenants(estate, plan.tenants, platform)
    _export_tenants(estate, plan.tenants, platform)
    return plan


def build_foundation(estate: Estate) -> EstatePlan:
    """The foundation stack of a sharded estate: everything but the tenants' Kubernetes workloads."""
    plan = plan_estate(estate)
    platform = _build_platform(estate, plan)
    pulumi.export(PLATFORM_OUTPUT, {
        name: {"server": s.server, "host": s.database_host, "passwordRevision": s.database_password.revision,
               "archiveUrl": s.archive_url,
               "cache": {"host": s.cache.host, "port": s.cache.port, "revision": s.cache.revision} if s.cache else None}
        for name, s in platform.services.items()
    })
    pulumi.export(PLATFORM_SECRETS_OUTPUT, pulumi.Output.secret({
        name: {"password": s.database_password.value, "cachePassword": s.cache.password if s.cache else None}
        for name, s in platform.services.items()
    }))
    if platform.kubeconfig is not None:
        pulumi.export(KUBECONFIG_OUTPUT, platform.kubeconfig)
    return plan


def build_shard(estate: Estate) -> EstatePlan:
    """One shard stack: its tenants' workloads, on the platform its foundation stack exports."""
    if not estate.foundation_stack:
        raise EstateConfigError("foundationStack: is required on a shard stack (set it to the foundation stack's name)")
    check_shard(estate)
    plan = plan_estate(estate)
    adapter = adapter_for(estate.cloud)
    members = plan.tenants
    foundation = pulumi.StackReference(
        f"{pulumi.get_organization()}/{pulumi.get_project()}/{estate.foundation_stack}"
    )
    shared = foundation.get_output(PLATFORM_OUTPUT)
    secrets = foundation.get_output(PLATFORM_SECRETS_OUTPUT)
    on_cluster = None
    if estate.kubernetes.create_cluster:
        provider = k8s.Provider("cluster-provider", kubeconfig=foundation.get_output(KUBECONFIG_OUTPUT),
                                enable_server_side_apply=True, delete_unreachable=False)
        on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})

    def services(tenant: TenantPlan) -> TenantServices:
        mine = shared.apply(lambda platform: platform[tenant.name])
        mine_secret = secrets.apply(lambda platform: platform[tenant.name])
        cache = None
        if estate.managed_redis:
            cache = ManagedCache(
                host=mine.apply(lambda m: m["cache"]["host"]), port=adapter.redis_port,
                password=pulumi.Output.secret(mine_secret.apply(lambda m: m["cachePassword"])),
                revision=mine.apply(lambda m: m["cache"]["revision"]),
            )
        return TenantServices(
            server=mine.apply(lambda m: m["server"]),
            database_host=mine.apply(lambda m: m["host"]),
            database_port=adapter.postgres_port,
            database_password=RotatedSecret(
                value=pulumi.Output.secret(mine_secret.apply(lambda m: m["password"])),
                revision=mine.apply(lambda m: m["passwordRevision"]),
                rotates_at=pulumi.Output.from_input(""),
                period_days=tenant.tier.secret_rotation_days,
            ),
            database_ready=None,
            cache=cache,
            archive_url=mine.apply(lambda m: m["archiveUrl"]),
        )

    platform = Platform(services={t.name: services(t) for t in members}, database_cidrs=adapter.database_cidrs,
                        archive_cidrs=adapter.archive_cidrs,
                        rwx_storage_class=adapter.rwx_storage_class, on_cluster=on_cluster)
    _build_tenants(estate, members, platform)
    _export_tenants(estate, members, platform)
    return plan


def _build_platform(estate: Estate, plan: EstatePlan) -> Platform:
    adapter = adapter_for(estate.cloud)
    foundation = CloudFoundation("estate", CloudFoundationArgs(estate=estate, adapter=adapter)).foundation

    # One placement per database server: the shared ones, and one per dedicated tenant. Each
    # has its own keys, server, backups and (where managed) cache: dedicated means nothing shared.
    servers: dict[str, ManagedPostgres] = {}
    caches: dict[str, ManagedRedis] = {}
    archives: dict[str, pulumi.Output[str]] = {}
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
                ManagedRedisArgs(estate=estate, placement=server.key, tier=server.tier, foundation=foundation,
                                 key_ring=keys, adapter=adapter),
            )
        servers[server.key] = database
        archives[server.key] = backups.archive_url
        operations.append(
            ServerOperations(server=server, tenants=members, host=database.host, admin_login=database.admin_login,
                             admin_password=database.admin_password, tenant_passwords=database.tenant_passwords,
                             archive_url=backups.archive_url)
        )

    on_cluster, kubeconfig = _cluster(estate, adapter, foundation)
    ingress = TraefikIngress("traefik", TraefikIngressArgs(estate=estate), on_cluster)
    ImageAdmission("image-admission", ImageAdmissionArgs(estate=estate), on_cluster)
    Observability("observability", ObservabilityArgs(estate=estate, namespace=ingress.namespace), on_cluster)
    database_operations = DatabaseOperations(
        "operations",
        DatabaseOperationsArgs(estate=estate, servers=tuple(operations), database_cidrs=foundation.database_cidrs,
                               archive_cidrs=adapter.archive_cidrs),
        on_cluster,
    )
    pulumi.export("postgresServers", {key: server.host for key, server in servers.items()})

    def services(tenant: TenantPlan) -> TenantServices:
        database, cache = servers[tenant.server_key], caches.get(tenant.server_key)
        return TenantServices(
            server=tenant.server_key, database_host=database.host, database_port=database.port,
            database_password=database.tenant_passwords[tenant.name],
            database_ready=database_operations.bootstraps[tenant.server_key],
            cache=ManagedCache(host=cache.host, port=cache.port, password=cache.password, revision=cache.revision)
            if cache else None,
            archive_url=archives[tenant.server_key],
        )

    return Platform(services={t.name: services(t) for t in plan.tenants}, database_cidrs=foundation.database_cidrs,
                    archive_cidrs=adapter.archive_cidrs,
                    rwx_storage_class=adapter.rwx_storage_class, on_cluster=on_cluster, kubeconfig=kubeconfig)


def _build_tenants(estate: Estate, tenants: tuple[TenantPlan, ...], platform: Platform) -> None:
    on_cluster = platform.on_cluster
    for tenant in tenants:
        services = platform.services[tenant.name]
        namespace = TenantNamespace(
            tenant.name,
            TenantNamespaceArgs(estate=estate, tenant=tenant, database_cidrs=platform.database_cidrs),
            on_cluster,
        )
        redis = RedisCache(
            f"{tenant.name}-redis",
            RedisCacheArgs(estate=estate, tenant=tenant, namespace=namespace.namespace, managed=services.cache),
            on_cluster,
        )
        odoo = OdooCluster(
            tenant.name,
            OdooClusterArgs(
                estate=estate,
                tenant=tenant,
                namespace=namespace.namespace,
                service_account=namespace.service_account,
                database_host=services.database_host,
                database_port=services.database_port,
                database_password=services.database_password,
                database_ready=services.database_ready,
                rwx_storage_class=platform.rwx_storage_class,
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
        FilestoreArchive(
            f"{tenant.name}-filestore-archive",
            FilestoreArchiveArgs(estate=estate, tenant=tenant, namespace=namespace.namespace,
                                 archive_url=services.archive_url, archive_cidrs=platform.archive_cidrs),
            on_cluster,
        )


def _export_tenants(estate: Estate, tenants: tuple[TenantPlan, ...], platform: Platform) -> None:
    pulumi.export(
        "tenants",
        {
            t.name: {
                "namespace": t.namespace,
                "hostname": t.tenant.hostname,
                "tier": t.tenant.tier,
                "isolation": t.isolation.value,
                "ring": t.tenant.ring,
                "postgresServer": platform.services[t.name].server,
                "image": estate.image_for(t.tenant),
                "rpoMinutes": t.tier.rpo_minutes,
                "rtoMinutes": t.tier.rto_minutes,
            }
            for t in tenants
        },
    )


def _cluster(
    estate: Estate, adapter: CloudAdapter, foundation: Foundation
) -> tuple[Optional[pulumi.ResourceOptions], Optional[pulumi.Output[str]]]:
    """Where Kubernetes objects go: a cluster created here, or the ambient kubeconfig's (the default)."""
    if not estate.kubernetes.create_cluster:
        return None, None
    keys = EncryptionKeys(
        "keys-cluster", EncryptionKeysArgs(estate=estate, placement="cluster", foundation=foundation, adapter=adapter)
    ).key_ring
    cluster = KubernetesCluster(
        "cluster", KubernetesClusterArgs(estate=estate, foundation=foundation, key_ring=keys, adapter=adapter)
    )
    return pulumi.ResourceOptions(providers={"kubernetes": cluster.provider}), cluster.kubeconfig


def _server_handle(database: ManagedPostgres) -> PostgresServer:
    return PostgresServer(host=database.host, port=database.port, resource_id=database.server_id,
                          admin_login=database.admin_login)


def main(stack_dir: Path) -> None:
    """`stack_dir`: the directory of the stack files, with the release ledger and any tenant catalogue."""
    estate = read_estate(stack_dir)
    with estate.located():
        check_rings(estate, load_ledger(stack_dir / LEDGER_NAME))
        if estate.shard == FOUNDATION:
            build_foundation(estate)
        elif estate.shard:
            build_shard(estate)
        else:
            build_estate(estate)
