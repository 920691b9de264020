"""Amazon ElastiCache for Redis: TLS in transit, KMS at rest, AUTH token, private subnets."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from odoo_platform.clouds.aws.network import security_group
from odoo_platform.clouds.base import CacheEndpoint, Foundation, KeyRing
from odoo_platform.config import Estate
from odoo_platform.labels import placement_tags
from odoo_platform.rotation import rotating_password
from odoo_platform.tiers import TierSpec

PORT = 6379


def create_redis_cache(
    name: str, owner: pulumi.Resource, estate: Estate, placement: str, tier: TierSpec, foundation: Foundation, key_ring: KeyRing,
    stateful: pulumi.ResourceOptions,
) -> CacheEndpoint:
    child = pulumi.ResourceOptions(parent=owner)
    tags = placement_tags(estate, placement)
    token = rotating_password(owner, f"{name}-auth-token", tier.secret_rotation_days, length=48, special=False)
    firewall = security_group(f"{name}-cache", foundation, PORT, "Redis", tags, child)
    group = aws.elasticache.ReplicationGroup(
        f"{name}-cache",
        description=f"Odoo sessions for {name}",
        engine="redis",
        engine_version="7.1",
        node_type="cache.m7g.large",
        num_cache_clusters=3 if tier.high_availability else 2,
        automatic_failover_enabled=True,
        multi_az_enabled=tier.high_availability,
        transit_encryption_enabled=True,
        at_rest_encryption_enabled=True,
        kms_key_id=key_ring.key_id,
        auth_token=token.value,
        # ROTATE keeps the previous token valid beside the new one, so connected pods survive a rotation.
        auth_token_update_strategy="ROTATE",
        port=PORT,
        subnet_group_name=foundation.handles["cache_subnet_group"].name,
        security_group_ids=[firewall.id],
        snapshot_retention_limit=1,
        tags=tags,
        opts=stateful,
    )
    return CacheEndpoint(host=group.primary_endpoint_address, port=PORT, password=token.value, resource_id=group.arn,
                         revision=token.revision)
