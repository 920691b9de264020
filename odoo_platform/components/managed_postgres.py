"""ManagedPostgres: one private, encrypted, protected PostgreSQL server and its tenants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from odoo_platform.clouds import CloudAdapter, Foundation, KeyRing
from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
from odoo_platform.labels import cloud_tags, placement_tags
from odoo_platform.rotation import RotatedSecret, rotating_password
from odoo_platform.topology import ServerPlan, TenantPlan


@dataclass(frozen=True)
class ManagedPostgresArgs:
    estate: Estate
    server: ServerPlan
    tenants: tuple[TenantPlan, ...]
    foundation: Foundation
    key_ring: KeyRing
    adapter: CloudAdapter


class ManagedPostgres(PlatformComponent):
    host: pulumi.Output[str]
    """Private DNS name of the server."""
    port: int
    server_id: pulumi.Output[str]
    """Cloud resource id (ARM id or ARN)."""
    admin_login: str
    admin_password: RotatedSecret
    """Generated administrator password, rotating with the server's tier; also kept in the secret store."""
    tenant_passwords: dict[str, RotatedSecret]
    """Each tenant role's password, rotating with the tenant's tier; also kept in the secret store."""

    def __init__(self, name: str, args: ManagedPostgresArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.plan = args.server

        def password(purpose: str, special: bool, tenant: Optional[TenantPlan] = None) -> RotatedSecret:
            tier = tenant.tier if tenant else args.server.tier
            secret = rotating_password(
                self, f"{name}-{purpose}-password", tier.secret_rotation_days, length=32, special=special,
                override_special="-_.~" if special else None, min_lower=2, min_upper=2, min_numeric=2,
            )
            tags = (cloud_tags(args.estate, tenant.tenant) if tenant
                    else placement_tags(args.estate, args.server.key, tier=args.server.tier_number))
            args.adapter.store_secret(f"{name}-{purpose}-secret", self, args.key_ring, f"{name}-{purpose}", secret,
                                      args.foundation, tags)
            return secret

        self.admin_password = password("admin", special=True)
        # One non-superuser role per tenant; the bootstrap Job creates it and sets this password.
        self.tenant_passwords = {
            tenant.name: password(f"{tenant.name}-role", special=False, tenant=tenant) for tenant in args.tenants
        }
        server = args.adapter.create_postgres_server(
            name, self, args.estate, args.server, args.foundation, args.key_ring, self.admin_password.value,
            self.stateful(),
        )
        for tenant in args.tenants:
            args.adapter.create_tenant_database(name, self, server, tenant, args.foundation, self.stateful())
        self.host = server.host
        self.port = server.port
        self.server_id = server.resource_id
        self.admin_login = server.admin_login
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "serverId": self.server_id,
                "tenants": list(args.server.tenants),
                "highAvailability": args.server.high_availability,
                "backupRetentionDays": args.server.backup_retention_days,
                "peakConnections": args.server.peak_connections,
            }
        )
