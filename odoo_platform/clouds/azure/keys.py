"""Azure keys: a Key Vault (RBAC, purge protection, private), a rotating key, and the identity
that lets PostgreSQL, Storage and the backup vault use it; for geo-redundant backups, a second
key and identity in the paired region."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pulumi
import pulumiverse_time as time
from pulumi_azure_native import authorization, keyvault, managedidentity

from odoo_platform.clouds.azure.names import key_vault_name
from odoo_platform.clouds.azure.network import private_endpoint
from odoo_platform.clouds.base import Foundation, KeyRing
from odoo_platform.config import Estate
from odoo_platform.labels import placement_tags
from odoo_platform.rotation import RotatedSecret

# Built-in role ids: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security
CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
"""Read key metadata and wrap/unwrap: what PostgreSQL, Storage and Data Protection need for a CMK."""
CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
"""Encrypt/decrypt with keys: what the AKS KMS plugin calls (https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption)."""
KEY_ROTATION = "P90D"
KEY_EXPIRY = "P1Y"
ROLE_PROPAGATION = "180s"
"""Azure RBAC changes can take several minutes to take effect
(https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected):
every resource that uses a key waits this long after its grant."""
CLUSTER_PLACEMENT = "cluster"
"""The key ring the program creates for the cluster's KMS (program._cluster)."""


def role_definition(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("/subscriptions/", subscription_id, f"/providers/Microsoft.Authorization/roleDefinitions/{role}")


def grant(
    name: str, scope: pulumi.Input[str], principal_id: pulumi.Input[str], role: str, subscription_id: pulumi.Input[str],
    stateful: pulumi.ResourceOptions,
) -> time.Sleep:
    """A role assignment and the wait for it to propagate; users of the role depend on the returned wait.

    The assignment is protected like the data it opens: deleting it makes a CMK-encrypted server inaccessible
    (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-data-encryption#requirements-for-configuring-data-encryption).
    """
    assignment = authorization.RoleAssignment(
        name,
        scope=scope,
        principal_id=principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        role_definition_id=role_definition(subscription_id, role),
        opts=stateful,
    )
    return time.Sleep(
        f"{name}-propagation", create_duration=ROLE_PROPAGATION,
        opts=pulumi.ResourceOptions(parent=stateful.parent, depends_on=[assignment]),
    )


@dataclass(frozen=True)
class GeoBackupKey:
    """The paired region's key and the identity PostgreSQL reads it with (`geoBackupKeyURI`)."""

    key_uri: pulumi.Output[str]
    identity: managedidentity.UserAssignedIdentity
    grant: time.Sleep


def _vault(name: str, group: pulumi.Input[str], location: str, vault_name: str, tenant_id: pulumi.Input[str],
           tags: dict[str, str], stateful: pulumi.ResourceOptions) -> keyvault.Vault:
    return keyvault.Vault(
        name,
        vault_name=vault_name,
        resource_group_name=group,
        location=location,
        properties=keyvault.VaultPropertiesArgs(
            tenant_id=tenant_id,
            sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.PREMIUM),
            enable_rbac_authorization=True,
            enable_purge_protection=True,
            enable_soft_delete=True,
            soft_delete_retention_in_days=90,
            # Keys are created through ARM (no data-plane access needed); the services using them reach the vault
            # as trusted services (https://learn.microsoft.com/azure/key-vault/general/overview-vnet-service-endpoints#trusted-services).
            public_network_access="Disabled",
            network_acls=keyvault.NetworkRuleSetArgs(
                default_action=keyvault.NetworkRuleAction.DENY, bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES
            ),
        ),
        tags=tags,
        opts=stateful,
    )


def _key(name: str, group: pulumi.Input[str], vault: keyvault.Vault, operations: list[keyvault.JsonWebKeyOperation],
         tags: dict[str, str], stateful: pulumi.ResourceOptions) -> keyvault.Key:
    return keyvault.Key(
        name,
        resource_group_name=group,
        vault_name=vault.name,
        key_name="odoo-platform-cmk",
        properties=keyvault.KeyPropertiesArgs(
            kty=keyvault.JsonWebKeyType.RS_A_HSM,
            key_size=3072,
            key_ops=operations,
            rotation_policy=keyvault.RotationPolicyArgs(
                attributes=keyvault.KeyRotationPolicyAttributesArgs(expiry_time=KEY_EXPIRY),
                lifetime_actions=[
                    keyvault.LifetimeActionArgs(
                        action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                        trigger=keyvault.TriggerArgs(time_after_create=KEY_ROTATION),
                    )
                ],
            ),
        ),
        tags=tags,
        opts=stateful,
    )


def create_key_ring(
    name: str, owner: pulumi.Resource, estate: Estate, placement: str, foundation: Foundation,
    stateful: pulumi.ResourceOptions,
) -> KeyRing:
    child = pulumi.ResourceOptions(parent=owner)
    group = foundation.handles["resource_group"]
    tags = placement_tags(estate, placement)
    client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=owner))
    vault = _vault(f"{name}-kv", group.name, foundation.location, key_vault_name(placement), client.tenant_id, tags,
                   stateful)
    private_endpoint(f"{name}-kv", foundation, vault.id, vault.name, "vault", "vault", child, tags)
    operations = [keyvault.JsonWebKeyOperation.WRAP_KEY, keyvault.JsonWebKeyOperation.UNWRAP_KEY]
    if placement == CLUSTER_PLACEMENT:
        # The AKS KMS plugin encrypts and decrypts the data encryption keys with the key itself.
        operations += [keyvault.JsonWebKeyOperation.ENCRYPT, keyvault.JsonWebKeyOperation.DECRYPT]
    key = _key(f"{name}-cmk", group.name, vault, operations, tags, stateful)
    # Deleting the identity makes every CMK-encrypted resource inaccessible: protected like the data.
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-cmk-identity", resource_group_name=group.name, location=foundation.location, tags=tags, opts=stateful
    )
    ready = grant(f"{name}-cmk-access", vault.id, identity.principal_id, CRYPTO_SERVICE_ENCRYPTION_USER,
                  client.subscription_id, stateful)
    return KeyRing(
        key_id=key.key_uri,
        store_id=vault.id,
        handles={"vault": vault, "key": key, "identity": identity, "grant": ready, "client": client},
    )


def create_geo_backup_key(
    name: str, estate: Estate, placement: str, foundation: Foundation, stateful: pulumi.ResourceOptions,
) -> GeoBackupKey:
    """Geo-redundant backups of a CMK-encrypted server need a key in a vault of the paired region and a second
    identity (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-data-encryption#geo-redundant-backup)."""
    group = foundation.handles["resource_group"]
    region = estate.azure.geo_backup_region(estate.region)
    tags = placement_tags(estate, placement)
    client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=stateful.parent))
    vault = _vault(f"{name}-geo-kv", group.name, region, key_vault_name(placement, "geo-backup"), client.tenant_id,
                   tags, stateful)
    key = _key(f"{name}-geo-cmk", group.name, vault,
               [keyvault.JsonWebKeyOperation.WRAP_KEY, keyvault.JsonWebKeyOperation.UNWRAP_KEY], tags, stateful)
    # The identity lives in the paired region too, so a geo-restore there does not depend on the primary region.
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-geo-identity", resource_group_name=group.name, location=region, tags=tags, opts=stateful
    )
    ready = grant(f"{name}-geo-access", vault.id, identity.principal_id, CRYPTO_SERVICE_ENCRYPTION_USER,
                  client.subscription_id, stateful)
    return GeoBackupKey(key_uri=key.key_uri, identity=identity, grant=ready)


def store_secret(
    name: str, owner: pulumi.Resource, key_ring: KeyRing, secret_name: str, secret: RotatedSecret,
    foundation: Foundation, tags: dict[str, str],
) -> pulumi.Output[str]:
    stored = keyvault.Secret(
        name,
        resource_group_name=foundation.handles["resource_group"].name,
        vault_name=key_ring.handles["vault"].name,
        secret_name=secret_name,
        properties=keyvault.SecretPropertiesArgs(
            value=secret.value,
            content_type="text/plain",
            # Key Vault raises SecretNearExpiry/SecretExpired events if a scheduled rotation is missed.
            attributes=keyvault.SecretAttributesArgs(enabled=True, expires=secret.rotates_at.apply(_epoch_seconds)),
        ),
        tags=tags | {"rotation-days": str(secret.period_days)},
        opts=pulumi.ResourceOptions(parent=owner),
    )
    return stored.id


def _epoch_seconds(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp())
