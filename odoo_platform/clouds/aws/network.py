"""AWS foundation: a VPC with private subnets for nodes and databases, and their subnet groups."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from odoo_platform.clouds.base import Foundation
from odoo_platform.config import Estate
from odoo_platform.labels import cloud_tags

VPC_CIDR = "10.50.0.0/16"
NODE_SUBNETS = ("10.50.16.0/20", "10.50.32.0/20", "10.50.48.0/20")
DATABASE_SUBNETS = ("10.50.8.0/24", "10.50.9.0/24", "10.50.10.0/24")
DATABASE_CIDRS = DATABASE_SUBNETS
CLUSTER_CIDRS = NODE_SUBNETS
ZONES = ("a", "b", "c")


def create_foundation(name: str, owner: pulumi.Resource, estate: Estate) -> Foundation:
    child = pulumi.ResourceOptions(parent=owner)
    tags = cloud_tags(estate)
    vpc = aws.ec2.Vpc(
        f"{name}-vpc", cidr_block=VPC_CIDR, enable_dns_hostnames=True, enable_dns_support=True,
        tags=tags | {"Name": f"{name}-vpc"}, opts=child,
    )

    def subnets(role: str, cidrs: tuple[str, ...]) -> list[aws.ec2.Subnet]:
        return [
            aws.ec2.Subnet(
                f"{name}-{role}-{zone}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=f"{estate.region}{zone}",
                map_public_ip_on_launch=False,
                tags=tags | {"Name": f"{name}-{role}-{zone}", "network-role": role},
                opts=child,
            )
            for zone, cidr in zip(ZONES, cidrs, strict=True)
        ]

    nodes = subnets("nodes", NODE_SUBNETS)
    databases = subnets("db", DATABASE_SUBNETS)
    db_group = aws.rds.SubnetGroup(
        f"{name}-db-subnets", subnet_ids=[s.id for s in databases],
        description="Private subnets for the estate's PostgreSQL servers", tags=tags, opts=child,
    )
    cache_group = aws.elasticache.SubnetGroup(
        f"{name}-cache-subnets", subnet_ids=[s.id for s in databases],
        description="Private subnets for the estate's Redis caches", tags=tags, opts=child,
    )
    return Foundation(
        location=estate.region,
        database_cidrs=DATABASE_CIDRS,
        cluster_cidrs=CLUSTER_CIDRS,
        handles={"vpc": vpc, "node_subnets": nodes, "database_subnets": databases, "db_subnet_group": db_group,
                 "cache_subnet_group": cache_group},
    )


def security_group(name: str, foundation: Foundation, port: int, what: str, tags: dict[str, str],
                   opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    """Admit `port` from the cluster's node subnets only; no other ingress."""
    return aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=foundation.handles["vpc"].id,
        description=f"{what} reachable from the estate's cluster nodes only",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=port, to_port=port, cidr_blocks=list(foundation.cluster_cidrs),
                description=f"{what} from cluster nodes",
            )
        ],
        tags=tags,
        opts=opts,
    )
