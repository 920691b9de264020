"""ManagedRedis: the cloud's Redis for Odoo sessions (TLS only, private, authenticated)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from odoo_platform.clouds import CloudAdapter, Foundation, KeyRing
from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
from odoo_platform.tiers import TierSpec


@dataclass(frozen=True)
class ManagedRedisArgs:
    estate: Estate
    placement: str
    tier: TierSpec
    foundation: Foundation
    key_ring: KeyRing
    adapter: CloudAdapter


CLOUD_MANAGED_KEY = "cloud-managed"


class ManagedRedis(PlatformComponent):
    host: pulumi.Output[str]
    port: int
    password: pulumi.Output[str]
    """Access key / AUTH token; a Pulumi secret."""
    revision: pulumi.Output[str]
    """Changes when the program rotates the password (constant where the cloud owns the key)."""

    def __init__(self, name: str, args: ManagedRedisArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        cache = args.adapter.create_redis_cache(
            name, self, args.estate, args.placement, args.tier, args.foundation, args.key_ring, self.stateful()
        )
        self.host, self.port, self.password = cache.host, cache.port, cache.password
        self.revision = cache.revision or pulumi.Output.from_input(CLOUD_MANAGED_KEY)
        self.register_outputs({"host": self.host, "port": self.port, "resourceId": cache.resource_id})
