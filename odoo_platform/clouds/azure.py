"""Azure: resource group and private network, PostgreSQL flexible server, Data Protection vault."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import dataprotection, dbforpostgresql, network, privatedns, resources

from odoo_platform.clouds.base import BackupStore, Foundation, PostgresServer
from odoo_platform.config import Environment, Estate
from odoo_platform.labels import cloud_tags
from odoo_platform.tiers import TierSpec
from odoo_platform.topology import ServerPlan

POSTGRES_DNS_ZONE = "privatelink.postgres.database.azure.com"
ADMIN_LOGIN = "odooplatformadmin"
DATABASE_SUBNET = "10.40.8.0/24"


class AzureAdapter:
    cloud = "azure"

    def create_foundation(self, name: str, owner: pulumi.Resource, estate: Estate) -> Foundation:
        child = pulumi.ResourceOptions(parent=owner)
        tags = cloud_tags(estate)
        group = resources.ResourceGroup(
            f"{name}-rg",
            location=estate.region,
            tags=tags,
            opts=child,
        )
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=group.name,
            location=estate.region,
            address_space=network.AddressSpaceArgs(address_prefixes=["10.40.0.0/16"]),
            tags=tags,
            opts=child,
        )
        database_subnet = network.Subnet(
            f"{name}-snet-postgres",
            resource_group_name=group.name,
            virtual_network_name=vnet.name,
            address_prefix=DATABASE_SUBNET,
            delegations=[
                network.DelegationArgs(
                    name="postgres-flexible-servers",
                    service_name="Microsoft.DBforPostgreSQL/flexibleServers",
                )
            ],
            default_outbound_access=False,
            opts=child,
        )
        zone = privatedns.PrivateZone(
            f"{name}-pg-dns",
            resource_group_name=group.name,
            private_zone_name=POSTGRES_DNS_ZONE,
            location="Global",
            tags=tags,
            opts=child,
        )
        privatedns.VirtualNetworkLink(
            f"{name}-pg-dns-link",
            resource_group_name=group.name,
            private_zone_name=zone.name,
            virtual_network=privatedns.SubResourceArgs(id=vnet.id),
            registration_enabled=False,
            location="Global",
            tags=tags,
            opts=child,
        )
        return Foundation(
            location=estate.region,
            database_cidrs=(DATABASE_SUBNET,),
            handles={"resource_group": group, "vnet": vnet, "database_subnet": database_subnet, "postgres_dns_zone": zone},
        )

    def create_postgres_server(
        self,
        name: str,
        owner: pulumi.Resource,
        estate: Estate,
        server: ServerPlan,
        foundation: Foundation,
        admin_password: pulumi.Output[str],
        stateful: pulumi.ResourceOptions,
    ) -> PostgresServer:
        group: resources.ResourceGroup = foundation.handles["resource_group"]
        production = estate.environment is Environment.PROD
        sku_name, sku_tier = _postgres_sku(server.vcores, production)
        window = estate.maintenance_window
        pg = dbforpostgresql.Server(
            f"{name}-server",
            resource_group_name=group.name,
            location=foundation.location,
            version=dbforpostgresql.PostgresMajorVersion(str(server.version)),
            sku=dbforpostgresql.SkuArgs(name=sku_name, tier=sku_tier),
            storage=dbforpostgresql.StorageArgs(
                storage_size_gb=server.storage_gb, auto_grow=dbforpostgresql.StorageAutoGrow.ENABLED
            ),
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
                delegated_subnet_resource_id=foundation.handles["database_subnet"].id,
                private_dns_zone_arm_resource_id=foundation.handles["postgres_dns_zone"].id,
            ),
            auth_config=dbforpostgresql.AuthConfigArgs(
                password_auth=dbforpostgresql.PasswordBasedAuth.ENABLED,
                active_directory_auth=dbforpostgresql.MicrosoftEntraAuth.ENABLED,
            ),
            administrator_login=ADMIN_LOGIN,
            administrator_login_password=admin_password,
            maintenance_window=dbforpostgresql.MaintenanceWindowArgs(
                custom_window="Enabled",
                day_of_week=window.day_of_week,
                start_hour=window.start_hour,
                start_minute=0,
            ),
            tags=cloud_tags(estate, tier=server.tier_number) | {"postgres-server": server.key},
            opts=stateful,
        )
        return PostgresServer(
            host=pg.fully_qualified_domain_name.apply(lambda fqdn: fqdn or ""),
            port=5432,
            resource_id=pg.id,
            admin_login=ADMIN_LOGIN,
        )

    def create_backup_vault(
        self,
        name: str,
        owner: pulumi.Resource,
        estate: Estate,
        vault_name: str,
        tier: TierSpec,
        foundation: Foundation,
        stateful: pulumi.ResourceOptions,
    ) -> BackupStore:
        group: resources.ResourceGroup = foundation.handles["resource_group"]
        production = estate.environment is Environment.PROD
        vault = dataprotection.BackupVault(
            f"{name}-vault",
            resource_group_name=group.name,
            location=foundation.location,
            identity=dataprotection.DppIdentityDetailsArgs(type="SystemAssigned"),
            properties=dataprotection.BackupVaultArgs(
                storage_settings=[
                    dataprotection.StorageSettingArgs(
                        datastore_type=dataprotection.StorageSettingStoreTypes.VAULT_STORE,
                        type=(
                            dataprotection.StorageSettingTypes.GEO_REDUNDANT
                            if tier.geo_redundant_backup and production
                            else dataprotection.StorageSettingTypes.ZONE_REDUNDANT
                        ),
                    )
                ],
                security_settings=dataprotection.SecuritySettingsArgs(
                    immutability_settings=dataprotection.ImmutabilitySettingsArgs(
                        state=(
                            dataprotection.ImmutabilityState.LOCKED
                            if production
                            else dataprotection.ImmutabilityState.UNLOCKED
                        )
                    ),
                    soft_delete_settings=dataprotection.SoftDeleteSettingsArgs(
                        state=(
                            dataprotection.SoftDeleteState.ALWAYS_ON if production else dataprotection.SoftDeleteState.ON
                        ),
                        retention_duration_in_days=float(max(14, tier.backup_retention_days)),
                    ),
                ),
            ),
            vault_name=vault_name,
            tags=cloud_tags(estate),
            opts=stateful,
        )
        return BackupStore(vault_id=vault.id)


def _postgres_sku(vcores: int, production: bool) -> tuple[str, dbforpostgresql.SkuTier]:
    if not production and vcores <= 2:
        return "Standard_B2ms", dbforpostgresql.SkuTier.BURSTABLE
    return f"Standard_D{vcores}ds_v5", dbforpostgresql.SkuTier.GENERAL_PURPOSE
