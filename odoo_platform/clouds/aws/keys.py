"""AWS keys: a customer-managed KMS key with yearly rotation per placement; secrets in
Secrets Manager encrypted with it."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from odoo_platform.clouds.base import Foundation, KeyRing
from odoo_platform.config import Estate
from odoo_platform.labels import placement_tags
from odoo_platform.rotation import RotatedSecret
from odoo_platform.sharding import estate_stack

ROTATION_DAYS = 90


def create_key_ring(
    name: str, owner: pulumi.Resource, estate: Estate, placement: str, foundation: Foundation,
    stateful: pulumi.ResourceOptions,
) -> KeyRing:
    key = aws.kms.Key(
        f"{name}-cmk",
        description=f"odoo-platform {estate.environment.value} {placement}: databases, backups, caches, secrets",
        enable_key_rotation=True,
        rotation_period_in_days=ROTATION_DAYS,
        deletion_window_in_days=30,
        tags=placement_tags(estate, placement),
        opts=stateful,
    )
    aws.kms.Alias(
        f"{name}-cmk-alias",
        name=f"alias/odoo-platform/{estate_stack()}/{placement}",
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=owner),
    )
    return KeyRing(key_id=key.arn, store_id=key.arn, handles={"key": key})


def store_secret(
    name: str, owner: pulumi.Resource, key_ring: KeyRing, secret_name: str, secret: RotatedSecret,
    foundation: Foundation, tags: dict[str, str],
) -> pulumi.Output[str]:
    child = pulumi.ResourceOptions(parent=owner)
    stored = aws.secretsmanager.Secret(
        name,
        name=f"odoo-platform/{estate_stack()}/{secret_name}",
        kms_key_id=key_ring.key_id,
        recovery_window_in_days=30,
        # Rotation is driven by the program (a new value at every scheduled `pulumi up`), not by a
        # Secrets Manager Lambda, so the database, the store and the pods always agree.
        tags=tags | {"rotation-days": str(secret.period_days)},
        opts=child,
    )
    aws.secretsmanager.SecretVersion(f"{name}-value", secret_id=stored.id, secret_string=secret.value, opts=child)
    return stored.arn
