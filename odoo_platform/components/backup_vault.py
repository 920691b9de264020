"""BackupVault: immutable, encrypted backups of one placement's database, plus archive storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from odoo_platform.clouds import CloudAdapter, Foundation, KeyRing, PostgresServer
from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
from odoo_platform.tiers import TierSpec


@dataclass(frozen=True)
class BackupVaultArgs:
    estate: Estate
    placement: str
    tier: TierSpec
    foundation: Foundation
    key_ring: KeyRing
    server: PostgresServer
    adapter: CloudAdapter


class BackupVault(PlatformComponent):
    vault_id: pulumi.Output[str]
    """Cloud resource id (ARM id or ARN) of the vault."""
    archive_url: pulumi.Output[str]
    """Where logical dumps and filestore archives go (blob container URL or s3:// bucket)."""

    def __init__(self, name: str, args: BackupVaultArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        store = args.adapter.create_backup_vault(
            name, self, args.estate, args.placement, args.tier, args.foundation, args.key_ring, args.server,
            self.stateful(),
        )
        self.vault_id = store.vault_id
        self.archive_url = store.archive_url
        self.register_outputs(
            {"vaultId": self.vault_id, "archiveUrl": self.archive_url, "retentionDays": args.tier.backup_retention_days,
             "archiveRetentionDays": args.tier.archive_retention_days}
        )
