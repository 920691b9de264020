"""ManagedPostgres: one private, encrypted, protected PostgreSQL server and its tenants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_random as random

from odoo_platform.clouds import CloudAdapter, Foundation
from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
from odoo_platform.topology import ServerPlan


@dataclass(frozen=True)
class ManagedPostgresArgs:
    estate: Estate
    server: ServerPlan
    foundation: Foundation
    adapter: CloudAdapter


class ManagedPostgres(PlatformComponent):
    host: pulumi.Output[str]
    """Private DNS name of the server."""
    port: int
    server_id: pulumi.Output[str]
    """Cloud resource id (ARM id or ARN)."""
    admin_password: pulumi.Output[str]
    """Generated administrator password; a Pulumi secret."""

    def __init__(self, name: str, args: ManagedPostgresArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.plan = args.server
        password = random.RandomPassword(
            f"{name}-admin-password",
            length=32,
            special=True,
            override_special="-_.~",
            min_lower=2,
            min_upper=2,
            min_numeric=2,
            opts=self.child(),
        )
        self.admin_password = pulumi.Output.secret(password.result)
        # One non-superuser role per tenant; its password never leaves Pulumi secrets.
        self.tenant_passwords: dict[str, pulumi.Output[str]] = {
            tenant: pulumi.Output.secret(
                random.RandomPassword(
                    f"{name}-{tenant}-role-password",
                    length=32,
                    special=False,
                    min_lower=2,
                    min_upper=2,
                    min_numeric=2,
                    opts=self.child(),
                ).result
            )
            for tenant in args.server.tenants
        }
        server = args.adapter.create_postgres_server(
            name, self, args.estate, args.server, args.foundation, self.admin_password, self.stateful()
        )
        self.host = server.host
        self.port = server.port
        self.server_id = server.resource_id
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "serverId": self.server_id,
                "tenants": list(args.server.tenants),
                "highAvailability": args.server.high_availability,
                "backupRetentionDays": args.server.backup_retention_days,
            }
        )
