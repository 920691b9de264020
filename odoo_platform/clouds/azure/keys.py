"""Azure keys: a Key Vault (RBAC, purge protection, private), a rotating key, and the identity
that lets PostgreSQL, Storage and the backup vault use it."""

from __future__ import annotations

from datetime import datetime

import pulumi
from pulumi_azure_native import authorization, keyvault, managedidentity

from odoo_platform.clouds.azure.network import private_endpoint
from odoo_platform.clouds.base import Foundation, KeyRing
from odoo_platform.config import Estate
from odoo_platform.labels import placement_tags
from odoo_platform.rotation import RotatedSecret

CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KEY_ROTATION = "P90D"
KEY_EXPIRY = "P1Y"


def create_key_ring(
    name: str, owner: pulumi.Resource, estate: Estate, placement: str, foundation: Foundation,
    stateful: pulumi.ResourceOptions,
) -> KeyRing:
    child = pulumi.ResourceOptions(parent=owner)
    group = foundation.handles["resource_group"]
    tags = placement_tags(estate, placement)
    client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=owner))
    vault = keyvault.Vault(
        f"{name}-kv",
        resource_group_name=group.name,
        location=foundation.location,
        properties=keyvault.VaultPropertiesArgs(
            tenant_id=client.tenant_id,
            sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.PREMIUM),
            enable_rbac_authorization=True,
            enable_purge_protection=True,
            enable_soft_delete=True,
            soft_delete_retention_in_days=90,
            # Deployments run from agents inside the virtual network; nothing else reaches the vault.
            public_network_access="Disabled",
            network_acls=keyvault.NetworkRuleSetArgs(
                default_action=keyvault.NetworkRuleAction.DENY, bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES
            ),
        ),
        tags=tags,
        opts=stateful,
    )
    private_endpoint(f"{name}-kv", foundation, vault.id, "vault", "vault", child, tags)
    key = keyvault.Key(
        f"{name}-cmk",
        resource_group_name=group.name,
        vault_name=vault.name,
        key_name="odoo-platform-cmk",
        properties=keyvault.KeyPropertiesArgs(
            kty=keyvault.JsonWebKeyType.RS_A_HSM,
            key_size=3072,
            key_ops=[keyvault.JsonWebKeyOperation.WRAP_KEY, keyvault.JsonWebKeyOperation.UNWRAP_KEY],
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
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-cmk-identity", resource_group_name=group.name, location=foundation.location, tags=tags, opts=child
    )
    authorization.RoleAssignment(
        f"{name}-cmk-access",
        scope=vault.id,
        principal_id=identity.principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        role_definition_id=pulumi.Output.concat(
            "/subscriptions/", client.subscription_id,
            f"/providers/Microsoft.Authorization/roleDefinitions/{CRYPTO_SERVICE_ENCRYPTION_USER}",
        ),
        opts=child,
    )
    return KeyRing(
        key_id=key.key_uri,
        store_id=vault.id,
        handles={"vault": vault, "key": key, "identity": identity},
    )


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
