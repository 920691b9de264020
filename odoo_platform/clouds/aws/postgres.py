"""Amazon RDS for PostgreSQL: private, KMS-encrypted, TLS forced, deletion-protected.

RDS (not Aurora): Multi-AZ, PITR and per-instance KMS keys with the same operational model
as Azure's flexible server, so tiers mean the same on both clouds.
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from odoo_platform.clouds.aws.firewall import security_group
from odoo_platform.clouds.aws.names import short_name
from odoo_platform.clouds.base import Foundation, KeyRing, PostgresServer
from odoo_platform.config import Environment, Estate
from odoo_platform.labels import placement_tags
from odoo_platform.sharding import estate_stack
from odoo_platform.topology import ServerPlan, TenantPlan

# 1-16 letters or digits, starting with a letter (the Azure name, odooplatformadmin, is one too long):
# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html (MasterUsername)
ADMIN_LOGIN = "odooadmin"
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def server_parameters(server: ServerPlan) -> dict[str, str]:
    return {
        "rds.force_ssl": "1",
        "ssl_min_protocol_version": "TLSv1.2",
        "max_connections": str(server.max_connections),
        "log_min_duration_statement": "2000",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_lock_waits": "1",
        "idle_in_transaction_session_timeout": "600000",
    }


def maintenance_window(estate: Estate, tier: int) -> str:
    window = estate.window_for(tier)
    start = window.day_of_week * 24 + window.start_hour
    end = (start + window.duration_hours) % (7 * 24)
    return f"{DAYS[start // 24]}:{start % 24:02d}:00-{DAYS[end // 24]}:{end % 24:02d}:00"


def create_postgres_server(
    name: str, owner: pulumi.Resource, estate: Estate, server: ServerPlan, foundation: Foundation,
    key_ring: KeyRing, admin_password: pulumi.Output[str], stateful: pulumi.ResourceOptions,
) -> PostgresServer:
    child = pulumi.ResourceOptions(parent=owner)
    production = estate.environment is Environment.PROD
    tags = placement_tags(estate, server.key, tier=server.tier_number) | {"postgres-server": server.key}
    firewall = security_group(name, foundation, 5432, "PostgreSQL", tags, child)
    parameters = aws.rds.ParameterGroup(
        f"{name}-params",
        family=f"postgres{server.version}",
        description=f"Odoo PostgreSQL parameters for {server.key}",
        parameters=[
            aws.rds.ParameterGroupParameterArgs(
                name=key, value=value, apply_method="pending-reboot" if key == "max_connections" else "immediate"
            )
            for key, value in server_parameters(server).items()
        ],
        tags=tags,
        opts=child,
    )
    # 1-63 letters, digits and single hyphens: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
    identifier = short_name("odoo", estate_stack(), server.key, limit=63)
    # A replaced instance leaves its final snapshot behind; the next one must not reuse that name, so the suffix is
    # regenerated whenever an input that forces replacement changes.
    snapshot_suffix = random.RandomId(
        f"{name}-final-snapshot-id", byte_length=4,
        keepers={"identifier": identifier, "kms": key_ring.key_id, "engine": "postgres",
                 "subnets": foundation.handles["db_subnet_group"].name},
        opts=child,
    )
    instance = aws.rds.Instance(
        f"{name}-server",
        identifier=identifier,
        engine="postgres",
        engine_version=str(server.version),
        instance_class=_instance_class(server.vcores, production),
        allocated_storage=server.storage_gb,
        max_allocated_storage=server.storage_gb * 4,
        storage_type="gp3",
        storage_encrypted=True,
        kms_key_id=key_ring.key_id,
        performance_insights_enabled=True,
        performance_insights_kms_key_id=key_ring.key_id,
        multi_az=server.high_availability,
        db_subnet_group_name=foundation.handles["db_subnet_group"].name,
        vpc_security_group_ids=[firewall.id],
        parameter_group_name=parameters.name,
        publicly_accessible=False,
        iam_database_authentication_enabled=True,
        username=ADMIN_LOGIN,
        password=admin_password,
        backup_retention_period=server.backup_retention_days,
        backup_window="00:00-00:45",
        maintenance_window=maintenance_window(estate, server.tier_number),
        deletion_protection=True,
        skip_final_snapshot=False,
        final_snapshot_identifier=snapshot_suffix.hex.apply(lambda suffix: f"{identifier}-final-{suffix}"),
        copy_tags_to_snapshot=True,
        delete_automated_backups=False,
        enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
        auto_minor_version_upgrade=True,
        tags=tags,
        opts=stateful,
    )
    return PostgresServer(host=instance.address, port=5432, resource_id=instance.arn, admin_login=ADMIN_LOGIN,
                          handles={"server": instance})


def create_tenant_database(
    name: str, owner: pulumi.Resource, server: PostgresServer, tenant: TenantPlan, foundation: Foundation,
    stateful: pulumi.ResourceOptions,
) -> Optional[pulumi.Resource]:
    """RDS has no database API: the bootstrap Job creates the database and its owner role."""
    return None


def _instance_class(vcores: int, production: bool) -> str:
    if not production and vcores <= 2:
        return "db.t4g.medium"
    size = {2: "large", 4: "xlarge", 8: "2xlarge", 16: "4xlarge", 32: "8xlarge", 48: "12xlarge", 64: "16xlarge"}[vcores]
    return f"db.m7g.{size}"
