"""EncryptionKeys: one placement's customer-managed key and secret store.

The estate's shared tenants use one; every dedicated tenant gets its own, so a dedicated
tenant never shares a key (or the secrets it protects) with anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from odoo_platform.clouds import CloudAdapter, Foundation, KeyRing
from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate


@dataclass(frozen=True)
class EncryptionKeysArgs:
    estate: Estate
    placement: str
    foundation: Foundation
    adapter: CloudAdapter


class EncryptionKeys(PlatformComponent):
    key_ring: KeyRing
    """The key (Key Vault key URI / KMS ARN) and the secret store it protects."""

    def __init__(self, name: str, args: EncryptionKeysArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.key_ring = args.adapter.create_key_ring(
            name, self, args.estate, args.placement, args.foundation, self.stateful()
        )
        self.register_outputs({"keyId": self.key_ring.key_id, "storeId": self.key_ring.store_id})
