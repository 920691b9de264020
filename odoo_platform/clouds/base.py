"""The one interface every cloud adapter implements.

Components are generic: they decide what must exist (a private, encrypted, protected
PostgreSQL server for these tenants) and hand the cloud-specific creation to an adapter.
Only modules in this package import a cloud SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pulumi

from odoo_platform.config import Estate
from odoo_platform.tiers import TierSpec
from odoo_platform.topology import ServerPlan


@dataclass(frozen=True)
class Foundation:
    """What every later resource of the estate is placed into (resource group, network)."""

    location: str
    database_cidrs: tuple[str, ...]
    """Private address ranges PostgreSQL (and managed caches) live in: tenant egress targets."""
    handles: dict[str, Any]


@dataclass(frozen=True)
class PostgresServer:
    host: pulumi.Output[str]
    port: int
    resource_id: pulumi.Output[str]
    admin_login: str


@dataclass(frozen=True)
class BackupStore:
    vault_id: pulumi.Output[str]


class CloudAdapter(Protocol):
    cloud: str

    def create_foundation(self, name: str, owner: pulumi.Resource, estate: Estate) -> Foundation:
        """Resource group or VPC and its private subnets, parented to `owner`."""
        ...

    def create_postgres_server(
        self,
        name: str,
        owner: pulumi.Resource,
        estate: Estate,
        server: ServerPlan,
        foundation: Foundation,
        admin_password: pulumi.Output[str],
        stateful: pulumi.ResourceOptions,
    ) -> PostgresServer:
        """A private, encrypted PostgreSQL server; `stateful` carries parent and protection."""
        ...

    def create_backup_vault(
        self,
        name: str,
        owner: pulumi.Resource,
        estate: Estate,
        vault_name: str,
        tier: TierSpec,
        foundation: Foundation,
        stateful: pulumi.ResourceOptions,
    ) -> BackupStore:
        ...
