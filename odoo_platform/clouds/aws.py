"""AWS: VPC with private subnets, RDS for PostgreSQL, AWS Backup vault.

RDS for PostgreSQL (not Aurora): it gives Multi-AZ, PITR and per-instance KMS keys with
the same operational model as Azure's flexible server, so tiers mean the same on both.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from odoo_platform.clouds.base import BackupStore, Foundation, PostgresServer
from odoo_platform.config import Environment, Estate
from odoo_platform.labels import cloud_tags
from odoo_platform.tiers import TierSpec
from odoo_platform.topology import ServerPlan

ADMIN_LOGIN = "odooplatformadmin"
VPC_CIDR = "10.50.0.0/16"
DATABASE_SUBNETS = ("10.50.8.0/24", "10.50.9.0/24", "10.50.10.0/24")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class AwsAdapter:
    cloud = "aws"

    def create_foundation(self, name: str, owner: pulumi.Resource, estate: Estate) -> Foundation:
        child = pulumi.ResourceOptions(parent=owner)
        tags = cloud_tags(estate)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=VPC_CIDR,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags | {"Name": f"{name}-vpc"},
            opts=child,
        )
        database_subnets = [
            aws.ec2.Subnet(
                f"{name}-db-{zone}",
                vpc_id=vpc.id,
                cidr_block=DATABASE_SUBNETS[index],
                availability_zone=f"{estate.region}{zone}",
                map_public_ip_on_launch=False,
                tags=tags | {"Name": f"{name}-db-{zone}", "tier": "database"},
                opts=child,
            )
            for index, zone in enumerate("abc")
        ]
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-db-subnets",
            subnet_ids=[subnet.id for subnet in database_subnets],
            description="Private subnets for the estate's PostgreSQL servers",
            tags=tags,
            opts=child,
        )
        return Foundation(
            location=estate.region,
            database_cidrs=DATABASE_SUBNETS,
            handles={"vpc": vpc, "database_subnets": database_subnets, "db_subnet_group": subnet_group},
        )

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
        child = pulumi.ResourceOptions(parent=owner)
        production = estate.environment is Environment.PROD
        tags = cloud_tags(estate, tier=server.tier_number) | {"postgres-server": server.key}
        vpc: aws.ec2.Vpc = foundation.handles["vpc"]
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=vpc.id,
            description="PostgreSQL reachable from inside the estate's VPC only",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=5432, to_port=5432, cidr_blocks=[VPC_CIDR],
                    description="PostgreSQL from the estate's cluster subnets",
                )
            ],
            tags=tags,
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{server.version}",
            description=f"Odoo PostgreSQL parameters for {server.key}",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(
                    name="max_connections", value=str(server.max_connections), apply_method="pending-reboot"
                ),
                aws.rds.ParameterGroupParameterArgs(name="log_min_duration_statement", value="2000"),
                aws.rds.ParameterGroupParameterArgs(name="log_connections", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_disconnections", value="1"),
            ],
            tags=tags,
            opts=child,
        )
        window = estate.maintenance_window
        start = f"{DAYS[window.day_of_week]}:{window.start_hour:02d}:00"
        end_hour = (window.start_hour + 1) % 24
        end_day = DAYS[(window.day_of_week + (1 if end_hour < window.start_hour else 0)) % 7]
        instance = aws.rds.Instance(
            f"{name}-server",
            engine="postgres",
            engine_version=str(server.version),
            instance_class=_instance_class(server.vcores, production),
            allocated_storage=server.storage_gb,
            max_allocated_storage=server.storage_gb * 4,
            storage_type="gp3",
            storage_encrypted=True,
            multi_az=server.high_availability,
            db_subnet_group_name=foundation.handles["db_subnet_group"].name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            username=ADMIN_LOGIN,
            password=admin_password,
            backup_retention_period=server.backup_retention_days,
            backup_window="00:00-01:00",
            maintenance_window=f"{start}-{end_day}:{end_hour:02d}:00",
            deletion_protection=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{name}-final",
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            auto_minor_version_upgrade=True,
            tags=tags,
            opts=stateful,
        )
        return PostgresServer(
            host=instance.address,
            port=5432,
            resource_id=instance.arn,
            admin_login=ADMIN_LOGIN,
        )

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
        vault = aws.backup.Vault(
            f"{name}-vault",
            name=vault_name,
            force_destroy=False,
            tags=cloud_tags(estate),
            opts=stateful,
        )
        return BackupStore(vault_id=vault.arn)


def _instance_class(vcores: int, production: bool) -> str:
    if not production and vcores <= 2:
        return "db.t4g.medium"
    size = {2: "large", 4: "xlarge", 8: "2xlarge", 16: "4xlarge", 32: "8xlarge", 48: "12xlarge", 64: "16xlarge"}[vcores]
    return f"db.m7g.{size}"
