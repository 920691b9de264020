"""Azure backups: a Data Protection vault (immutable, soft delete, CMK) with a PostgreSQL policy
per tier, and a Storage Account for logical dumps and filestore archives."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import dataprotection, storage

from odoo_platform.clouds.azure.keys import grant
from odoo_platform.clouds.azure.names import backup_vault_name, storage_account_name
from odoo_platform.clouds.azure.network import private_endpoint
from odoo_platform.clouds.base import BackupStore, Foundation, KeyRing, PostgresServer
from odoo_platform.config import Environment, Estate
from odoo_platform.labels import placement_tags
from odoo_platform.tiers import TierSpec

POSTGRES_DATASOURCE = "Microsoft.DBforPostgreSQL/flexibleServers"
ARCHIVE_CONTAINER = "odoo-archives"
# Built-in roles Azure Backup needs to protect a flexible server
# (https://learn.microsoft.com/azure/backup/backup-azure-database-postgresql-flex-overview#permissions-for-an-azure-database-for-postgresql-flexible-server-backup):
POSTGRES_LTR_BACKUP_ROLE = "c088a766-074b-43ba-90d4-1fb21feae531"
"""PostgreSQL Flexible Server Long Term Retention Backup Role, on the server."""
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
"""Reader, on the server's resource group."""


def weekly_full_backups(tier: TierSpec) -> str:
    """ISO 8601 repeating interval of the vaulted full backup (PITR covers the RPO in between)."""
    return "R/2025-01-05T01:00:00+00:00/P1D" if tier.backup_interval_minutes <= 1440 else "R/2025-01-05T01:00:00+00:00/P1W"


def create_backup_vault(
    name: str, owner: pulumi.Resource, estate: Estate, placement: str, tier: TierSpec, foundation: Foundation,
    key_ring: KeyRing, server: PostgresServer, stateful: pulumi.ResourceOptions,
) -> BackupStore:
    group = foundation.handles["resource_group"]
    identity = key_ring.handles["identity"]
    production = estate.environment is Environment.PROD
    tags = placement_tags(estate, placement)
    child = pulumi.ResourceOptions(parent=owner)
    vault = dataprotection.BackupVault(
        f"{name}-vault",
        vault_name=backup_vault_name(placement),
        resource_group_name=group.name,
        location=foundation.location,
        # The system identity is the one Azure Backup uses to read the server; the user-assigned one reads the CMK.
        identity=dataprotection.DppIdentityDetailsArgs(type="SystemAssigned,UserAssigned",
                                                       user_assigned_identities=[identity.id]),
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
                    state=dataprotection.ImmutabilityState.LOCKED if production else dataprotection.ImmutabilityState.UNLOCKED
                ),
                soft_delete_settings=dataprotection.SoftDeleteSettingsArgs(
                    state=dataprotection.SoftDeleteState.ALWAYS_ON if production else dataprotection.SoftDeleteState.ON,
                    retention_duration_in_days=float(max(14, tier.backup_retention_days)),
                ),
                encryption_settings=dataprotection.EncryptionSettingsArgs(
                    state="Enabled",
                    infrastructure_encryption="Enabled",
                    key_vault_properties=dataprotection.CmkKeyVaultPropertiesArgs(key_uri=key_ring.key_id),
                    kek_identity=dataprotection.CmkKekIdentityArgs(identity_type="UserAssigned", identity_id=identity.id),
                ),
            ),
        ),
        tags=tags,
        opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[key_ring.handles["grant"]])),
    )
    client = key_ring.handles["client"]
    vault_principal = vault.identity.apply(lambda found: found.principal_id if found else "")
    backup_grants = [
        grant(f"{name}-server-backup-access", server.resource_id, vault_principal, POSTGRES_LTR_BACKUP_ROLE,
              client.subscription_id, stateful),
        grant(f"{name}-group-read-access", group.id, vault_principal, READER, client.subscription_id, stateful),
    ]
    vault_store = dataprotection.DataStoreInfoBaseArgs(data_store_type="VaultStore", object_type="DataStoreInfoBase")
    policy = dataprotection.BackupPolicy(
        f"{name}-policy",
        resource_group_name=group.name,
        vault_name=vault.name,
        backup_policy_name=f"postgres-{tier.label}",
        properties=dataprotection.BackupPolicyArgs(
            object_type="BackupPolicy",
            datasource_types=[POSTGRES_DATASOURCE],
            policy_rules=[
                dataprotection.AzureBackupRuleArgs(
                    name="full",
                    object_type="AzureBackupRule",
                    backup_parameters=dataprotection.AzureBackupParamsArgs(backup_type="Full", object_type="AzureBackupParams"),
                    data_store=vault_store,
                    trigger=dataprotection.ScheduleBasedTriggerContextArgs(
                        object_type="ScheduleBasedTriggerContext",
                        schedule=dataprotection.BackupScheduleArgs(repeating_time_intervals=[weekly_full_backups(tier)]),
                        tagging_criteria=[
                            dataprotection.TaggingCriteriaArgs(
                                is_default=True, tagging_priority=99, tag_info=dataprotection.RetentionTagArgs(tag_name="Default")
                            )
                        ],
                    ),
                ),
                dataprotection.AzureRetentionRuleArgs(
                    name="Default",
                    object_type="AzureRetentionRule",
                    is_default=True,
                    lifecycles=[
                        dataprotection.SourceLifeCycleArgs(
                            delete_after=dataprotection.AbsoluteDeleteOptionArgs(
                                duration=f"P{tier.archive_retention_days}D", object_type="AbsoluteDeleteOption"
                            ),
                            source_data_store=vault_store,
                            target_data_store_copy_settings=[],
                        )
                    ],
                ),
            ],
        ),
        opts=stateful,
    )
    dataprotection.BackupInstance(
        f"{name}-postgres-instance",
        resource_group_name=group.name,
        vault_name=vault.name,
        properties=dataprotection.BackupInstanceArgs(
            object_type="BackupInstance",
            friendly_name=f"{placement}-postgres",
            data_source_info=dataprotection.DatasourceArgs(
                object_type="Datasource",
                datasource_type=POSTGRES_DATASOURCE,
                resource_id=server.resource_id,
                resource_type=POSTGRES_DATASOURCE,
                resource_location=foundation.location,
            ),
            policy_info=dataprotection.PolicyInfoArgs(policy_id=policy.id),
        ),
        tags=tags,
        # Protection fails unless the vault's identity can already read the server.
        opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=backup_grants)),
    )
    account = _archive_account(name, estate, placement, tier, foundation, key_ring, tags, stateful, child)
    return BackupStore(
        vault_id=vault.id,
        archive_url=account.primary_endpoints.apply(lambda endpoints: f"{endpoints.blob}{ARCHIVE_CONTAINER}"),
    )


def _archive_account(
    name: str, estate: Estate, placement: str, tier: TierSpec, foundation: Foundation, key_ring: KeyRing,
    tags: dict[str, str], stateful: pulumi.ResourceOptions, child: pulumi.ResourceOptions,
) -> storage.StorageAccount:
    group = foundation.handles["resource_group"]
    identity = key_ring.handles["identity"]
    production = estate.environment is Environment.PROD
    lock_change = estate.azure.archive_lock_change
    account = storage.StorageAccount(
        f"{name}-archive",
        account_name=storage_account_name(placement),
        resource_group_name=group.name,
        location=foundation.location,
        kind=storage.Kind.STORAGE_V2,
        sku=storage.SkuArgs(name=storage.SkuName.STANDARD_GZRS if production else storage.SkuName.STANDARD_ZRS),
        enable_https_traffic_only=True,
        minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
        allow_blob_public_access=False,
        allow_shared_key_access=False,
        public_network_access=storage.PublicNetworkAccess.DISABLED,
        network_rule_set=storage.NetworkRuleSetArgs(default_action=storage.DefaultAction.DENY, bypass="AzureServices"),
        identity=storage.IdentityArgs(type=storage.IdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]),
        encryption=storage.EncryptionArgs(
            require_infrastructure_encryption=True,
            key_source=storage.KeySource.MICROSOFT_KEYVAULT,
            key_vault_properties=storage.KeyVaultPropertiesArgs(
                key_name=key_ring.handles["key"].name, key_vault_uri=key_ring.handles["vault"].properties.vault_uri
            ),
            encryption_identity=storage.EncryptionIdentityArgs(encryption_user_assigned_identity=identity.id),
            services=storage.EncryptionServicesArgs(
                blob=storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT),
                file=storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT),
            ),
        ),
        immutable_storage_with_versioning=storage.ImmutableStorageAccountArgs(
            enabled=True,
            immutability_policy=storage.AccountImmutabilityPolicyPropertiesArgs(
                immutability_period_since_creation_in_days=tier.archive_retention_days,
                # Azure creates the policy only Disabled or Unlocked and locks it in a later update
                # (https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies#configure-a-version-level-immutability-policy):
                # the lock is a separate, approved change (azure.archiveLockChange), recorded on the account.
                state=(storage.AccountImmutabilityPolicyState.LOCKED if lock_change
                       else storage.AccountImmutabilityPolicyState.UNLOCKED),
                allow_protected_append_writes=False,
            ),
        ),
        tags=tags | ({"immutability-lock-change": lock_change} if lock_change else {}),
        opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[key_ring.handles["grant"]])),
    )
    storage.BlobServiceProperties(
        f"{name}-archive-blob-service",
        resource_group_name=group.name,
        account_name=account.name,
        blob_services_name="default",
        is_versioning_enabled=True,
        delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=max(30, tier.backup_retention_days)),
        container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=30),
        opts=child,
    )
    storage.BlobContainer(
        f"{name}-archive-container",
        resource_group_name=group.name,
        account_name=account.name,
        container_name=ARCHIVE_CONTAINER,
        public_access=storage.PublicAccess.NONE,
        opts=stateful,
    )
    storage.ManagementPolicy(
        f"{name}-archive-lifecycle",
        resource_group_name=group.name,
        account_name=account.name,
        management_policy_name="default",
        policy=storage.ManagementPolicySchemaArgs(
            rules=[
                storage.ManagementPolicyRuleArgs(
                    name="cool-then-archive",
                    type=storage.RuleType.LIFECYCLE,
                    enabled=True,
                    definition=storage.ManagementPolicyDefinitionArgs(
                        filters=storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"], prefix_match=[f"{ARCHIVE_CONTAINER}/"]),
                        actions=storage.ManagementPolicyActionArgs(
                            # Cool only: the account is ZRS/GZRS, where the archive tier does not exist
                            # (https://learn.microsoft.com/azure/storage/blobs/access-tiers-overview#archive-access-tier).
                            base_blob=storage.ManagementPolicyBaseBlobArgs(
                                tier_to_cool=storage.DateAfterModificationArgs(days_after_modification_greater_than=30),
                            )
                        ),
                    ),
                )
            ]
        ),
        opts=child,
    )
    private_endpoint(f"{name}-archive", foundation, account.id, account.name, "blob", "blob", child, tags)
    return account
