"""Physical names of Azure resources whose names are length-limited or globally unique.

Pulumi's auto-name (logical name + 8 random characters) grows with the placement, and a
dedicated tenant's 30-character name pushes it past Azure's limits (a Key Vault allows 24).
These names are short, stable for a stack and placement, and derived the way
`storage_account_name` always was, so splitting an estate into shard stacks renames nothing.
Limits: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
"""

from __future__ import annotations

import hashlib
import re

import pulumi

from odoo_platform.sharding import estate_stack


def _digest(placement: str, purpose: str = "") -> str:
    seed = f"{pulumi.get_project()}/{estate_stack()}/{placement}"
    return hashlib.sha256(f"{seed}/{purpose}".encode() if purpose else seed.encode()).hexdigest()


def storage_account_name(placement: str) -> str:
    """Globally unique, 3-24 lowercase letters and digits."""
    return f"odoo{_digest(placement)[:18]}"


def key_vault_name(placement: str, purpose: str = "cmk") -> str:
    """Globally unique, 3-24 letters, digits and single hyphens, starting with a letter (vault DNS name)."""
    return f"kv-{_digest(placement, purpose)[:20]}"


def postgres_server_name(placement: str) -> str:
    """Globally unique DNS label (<name>.postgres.database.azure.com), 3-63 lowercase letters, digits and single
    hyphens: the placement (so an operator reads whose server a host is) and a stable suffix, at most 51 characters."""
    return f"{re.sub('-+', '-', placement)}-{_digest(placement, 'postgres')[:10]}"


def backup_vault_name(placement: str) -> str:
    """Data Protection vault: 2-50 letters, digits and hyphens, starting with a letter."""
    return f"odoo-bv-{_digest(placement, 'backup')[:20]}"


def redis_name(placement: str) -> str:
    """Globally unique DNS label (<name>.redis.cache.windows.net), 1-63 letters, digits, single hyphens."""
    return f"odoo-redis-{_digest(placement, 'redis')[:20]}"
