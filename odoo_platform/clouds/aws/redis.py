"""Amazon ElastiCache for Redis: TLS in transit, KMS at rest, AUTH token, private subnets."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from odoo_platform.clouds.aws.firewall import security_group
from odoo_platform.clouds.aws.names import short_name
from odoo_platform.clouds.base import CacheEndpoint, Foundation, KeyRing
from odoo_platform.config import Estate
from odoo_platform.labels import placement_tags
from odoo_platform.rotation import rotating_password
from odoo_platform.sharding import estate_stack
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
        # 1-40 characters: https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
        replication_group_id=short_name("odoo", estate_stack(), placement, limit=40),
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
        # SET: after a rotation only the new token is valid. ROTATE would leave the old one valid until a later SET,
        # which nothing issues. The pods carry the token's revision, so they roll in the same `pulumi up`.
        # https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html#auth-modifyng-token
        auth_token_update_strategy="SET",
        port=PORT,
        subnet_group_name=foundation.handles["cache_subnet_group"].name,
        security_group_ids=[firewall.id],
        snapshot_retention_limit=1,
        tags=tags,
        opts=stateful,
    )
    return CacheEndpoint(host=group.primary_endpoint_address, port=PORT, password=token.value, resource_id=group.arn,
                         revision=token.revision)
