"""ManagedPostgres: one private, encrypted, protected PostgreSQL server and its tenants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_random as random

from odoo_platform.clouds import CloudAdapter, Foundation, KeyRing
from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
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
    admin_password: pulumi.Output[str]
    """Generated administrator password; a Pulumi secret, also kept in the placement's secret store."""
    tenant_passwords: dict[str, pulumi.Output[str]]
    """Each tenant role's generated password (Pulumi secrets, also in the secret store)."""

    def __init__(self, name: str, args: ManagedPostgresArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.plan = args.server

        def password(purpose: str, special: bool) -> pulumi.Output[str]:
            generated = random.RandomPassword(
                f"{name}-{purpose}-password", length=32, special=special, override_special="-_.~" if special else None,
                min_lower=2, min_upper=2, min_numeric=2, opts=self.child(),
            )
            value = pulumi.Output.secret(generated.result)
            args.adapter.store_secret(f"{name}-{purpose}-secret", self, args.key_ring, f"{name}-{purpose}", value,
                                      args.foundation)
            return value

        self.admin_password = password("admin", special=True)
        # One non-superuser role per tenant; the bootstrap Job creates it with this password.
        self.tenant_passwords = {tenant.name: password(f"{tenant.name}-role", special=False) for tenant in args.tenants}
        server = args.adapter.create_postgres_server(
            name, self, args.estate, args.server, args.foundation, args.key_ring, self.admin_password, self.stateful()
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
