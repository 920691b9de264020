"""Azure Database for PostgreSQL flexible server: private, CMK-encrypted, locked, tuned."""

from __future__ import annotations

from typing import Optional

import pulumi
from pulumi_azure_native import authorization, dbforpostgresql

from odoo_platform.clouds.azure.keys import create_geo_backup_key
from odoo_platform.clouds.azure.names import postgres_server_name
from odoo_platform.clouds.base import Foundation, KeyRing, PostgresServer
from odoo_platform.config import Environment, Estate
from odoo_platform.labels import placement_tags
from odoo_platform.topology import ServerPlan, TenantPlan

ADMIN_LOGIN = "odooplatformadmin"


def server_parameters(server: ServerPlan) -> dict[str, str]:
    """Server parameters every Odoo server gets: TLS enforced, connection budget, slow-query logging."""
    return {
        "require_secure_transport": "on",
        "ssl_min_protocol_version": "TLSv1.2",
        # Static: Azure applies it only after a restart
        # (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-server-parameters#static-parameters).
        # Pulumi has no restart resource: an operator restarts the server once after the first `pulumi up` and after
        # each change of maxConnections, in the maintenance window (README, "First deployment on Azure").
        "max_connections": str(server.max_connections),
        "log_min_duration_statement": "2000",
        "log_connections": "on",
        "log_disconnections": "on",
        "log_checkpoints": "on",
        "log_lock_waits": "on",
        "idle_in_transaction_session_timeout": "600000",
        # Flexible server creates only allow-listed extensions; Odoo's trigram indexes need pg_trgm
        # (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-extensions).
        "azure.extensions": "PG_TRGM",
    }


def create_postgres_server(
    name: str, owner: pulumi.Resource, estate: Estate, server: ServerPlan, foundation: Foundation,
    key_ring: KeyRing, admin_password: pulumi.Output[str], stateful: pulumi.ResourceOptions,
) -> PostgresServer:
    group = foundation.handles["resource_group"]
    identity = key_ring.handles["identity"]
    sku_name, sku_tier = _sku(server.vcores, estate.environment is Environment.PROD)
    window = estate.window_for(server.tier_number)
    identities = [identity.id]
    grants: list[pulumi.Resource] = [key_ring.handles["grant"]]
    encryption = dbforpostgresql.DataEncryptionArgs(
        type=dbforpostgresql.DataEncryptionType.AZURE_KEY_VAULT,
        primary_key_uri=key_ring.key_id,
        primary_user_assigned_identity_id=identity.id,
    )
    if server.geo_redundant_backup:
        geo = create_geo_backup_key(name, estate, server.key, foundation, stateful)
        identities.append(geo.identity.id)
        grants.append(geo.grant)
        encryption = dbforpostgresql.DataEncryptionArgs(
            type=dbforpostgresql.DataEncryptionType.AZURE_KEY_VAULT,
            primary_key_uri=key_ring.key_id,
            primary_user_assigned_identity_id=identity.id,
            geo_backup_key_uri=geo.key_uri,
            geo_backup_user_assigned_identity_id=geo.identity.id,
        )
    pg = dbforpostgresql.Server(
        f"{name}-server",
        server_name=postgres_server_name(server.key),
        resource_group_name=group.name,
        location=foundation.location,
        version=dbforpostgresql.PostgresMajorVersion(str(server.version)),
        sku=dbforpostgresql.SkuArgs(name=sku_name, tier=sku_tier),
        storage=dbforpostgresql.StorageArgs(storage_size_gb=server.storage_gb, auto_grow=dbforpostgresql.StorageAutoGrow.ENABLED),
        backup=dbforpostgresql.BackupArgs(
            backup_retention_days=server.backup_retention_days,
            geo_redundant_backup=(
                dbforpostgresql.GeographicallyRedundantBackup.ENABLED
                if server.geo_redundant_backup
                else dbforpostgresql.GeographicallyRedundantBackup.DISABLED
            ),
        ),
        high_availability=dbforpostgresql.HighAvailabilityArgs(
            mode=(
                dbforpostgresql.PostgreSqlFlexibleServerHighAvailabilityMode.ZONE_REDUNDANT
                if server.high_availability
                else dbforpostgresql.PostgreSqlFlexibleServerHighAvailabilityMode.DISABLED
            ),
        ),
        network=dbforpostgresql.NetworkArgs(
            public_network_access=dbforpostgresql.ServerPublicNetworkAccessState.DISABLED,
            delegated_subnet_resource_id=foundation.handles["subnets"]["postgres"].id,
            private_dns_zone_arm_resource_id=foundation.handles["zones"]["postgres"].id,
        ),
        identity=dbforpostgresql.UserAssignedIdentityArgs(
            type=dbforpostgresql.IdentityType.USER_ASSIGNED,
            user_assigned_identities=pulumi.Output.all(*identities).apply(
                lambda ids: {identity_id: dbforpostgresql.UserIdentityArgs() for identity_id in ids}
            ),
        ),
        data_encryption=encryption,
        auth_config=dbforpostgresql.AuthConfigArgs(
            password_auth=dbforpostgresql.PasswordBasedAuth.ENABLED,
            active_directory_auth=dbforpostgresql.MicrosoftEntraAuth.ENABLED,
        ),
        administrator_login=ADMIN_LOGIN,
        administrator_login_password=admin_password,
        maintenance_window=dbforpostgresql.MaintenanceWindowArgs(
            custom_window="Enabled", day_of_week=window.day_of_week, start_hour=window.start_hour, start_minute=0
        ),
        tags=placement_tags(estate, server.key, tier=server.tier_number) | {"postgres-server": server.key},
        # The server reads its keys at creation: wait until the identities' grants have propagated.
        opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=grants)),
    )
    child = pulumi.ResourceOptions(parent=owner)
    previous: list[pulumi.Resource] = [pg]
    # Azure applies one parameter change at a time per server: chain them.
    for parameter, value in server_parameters(server).items():
        previous = [
            dbforpostgresql.Configuration(
                f"{name}-param-{parameter.replace('_', '-')}",
                resource_group_name=group.name,
                server_name=pg.name,
                configuration_name=parameter,
                value=value,
                source="user-override",
                opts=pulumi.ResourceOptions(parent=owner, depends_on=previous),
            )
        ]
    authorization.ManagementLockAtResourceLevel(
        f"{name}-delete-lock",
        level=authorization.LockLevel.CAN_NOT_DELETE,
        api_version="2024-08-01",  # of Microsoft.DBforPostgreSQL/flexibleServers, the locked resource
        resource_group_name=group.name,
        resource_provider_namespace="Microsoft.DBforPostgreSQL",
        parent_resource_path="",
        resource_type="flexibleServers",
        resource_name_=pg.name,
        notes="Odoo tenant data: remove this lock only through an approved change.",
        opts=child,
    )
    return PostgresServer(
        host=pg.fully_qualified_domain_name.apply(lambda fqdn: fqdn or ""),
        port=5432,
        resource_id=pg.id,
        admin_login=ADMIN_LOGIN,
        handles={"server": pg},
    )


def create_tenant_database(
    name: str, owner: pulumi.Resource, server: PostgresServer, tenant: TenantPlan, foundation: Foundation,
    stateful: pulumi.ResourceOptions,
) -> Optional[pulumi.Resource]:
    return dbforpostgresql.Database(
        f"{name}-db-{tenant.name}",
        resource_group_name=foundation.handles["resource_group"].name,
        server_name=server.handles["server"].name,
        database_name=tenant.database,
        charset="UTF8",
        collation="en_US.utf8",
        opts=stateful,
    )


def _sku(vcores: int, production: bool) -> tuple[str, dbforpostgresql.SkuTier]:
    if not production and vcores <= 2:
        return "Standard_B2ms", dbforpostgresql.SkuTier.BURSTABLE
    return f"Standard_D{vcores}ds_v5", dbforpostgresql.SkuTier.GENERAL_PURPOSE
