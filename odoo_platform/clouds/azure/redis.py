"""Azure Cache for Redis: TLS only, private endpoint, access-key auth, zone-redundant."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import redis

from odoo_platform.clouds.azure.names import redis_name
from odoo_platform.clouds.azure.network import private_endpoint
from odoo_platform.clouds.base import CacheEndpoint, Foundation, KeyRing
from odoo_platform.config import Estate
from odoo_platform.labels import placement_tags
from odoo_platform.tiers import TierSpec

TLS_PORT = 6380


def create_redis_cache(
    name: str, owner: pulumi.Resource, estate: Estate, placement: str, tier: TierSpec, foundation: Foundation, key_ring: KeyRing,
    stateful: pulumi.ResourceOptions,
) -> CacheEndpoint:
    group = foundation.handles["resource_group"]
    tags = placement_tags(estate, placement)
    cache = redis.Redis(
        f"{name}-cache",
        name=redis_name(placement),
        resource_group_name=group.name,
        location=foundation.location,
        # Premium encrypts at rest with platform keys and supports zones and private endpoints.
        sku=redis.SkuArgs(name=redis.SkuName.PREMIUM, family=redis.SkuFamily.P, capacity=1),
        enable_non_ssl_port=False,
        minimum_tls_version=redis.TlsVersion.TLS_VERSION_1_2,
        public_network_access=redis.PublicNetworkAccess.DISABLED,
        redis_version="6",
        replicas_per_primary=2 if tier.high_availability else 1,
        zones=["1", "2", "3"] if tier.high_availability else None,
        redis_configuration=redis.RedisCommonPropertiesRedisConfigurationArgs(maxmemory_policy="volatile-lru"),
        tags=tags,
        opts=stateful,
    )
    private_endpoint(f"{name}-cache", foundation, cache.id, cache.name, "redisCache", "redis", pulumi.ResourceOptions(parent=owner), tags)
    keys = redis.list_redis_keys_output(name=cache.name, resource_group_name=group.name)
    return CacheEndpoint(
        host=cache.host_name,
        port=TLS_PORT,
        password=pulumi.Output.secret(keys.primary_key),
        resource_id=cache.id,
    )
