"""BackupVault: immutable, soft-deleting backup storage for one placement (shared or dedicated)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from odoo_platform.clouds import CloudAdapter, Foundation
from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
from odoo_platform.tiers import TierSpec


@dataclass(frozen=True)
class BackupVaultArgs:
    estate: Estate
    vault_name: str
    tier: TierSpec
    foundation: Foundation
    adapter: CloudAdapter


class BackupVault(PlatformComponent):
    vault_id: pulumi.Output[str]
    """Cloud resource id (ARM id or ARN) of the vault."""

    def __init__(self, name: str, args: BackupVaultArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        store = args.adapter.create_backup_vault(
            name, self, args.estate, args.vault_name, args.tier, args.foundation, self.stateful()
        )
        self.vault_id = store.vault_id
        self.register_outputs({"vaultId": self.vault_id, "retentionDays": args.tier.backup_retention_days})
