"""AWS foundation: the estate's network, its way out, and the shared file storage.

Either the estate's own VPC (public subnets for the load balancer, private node and database
subnets in three zones, and egress by NAT per zone or by VPC endpoints, as `aws.egress` says),
or, for an existing cluster, its VPC (`aws.existingVpc`) extended with the database subnets so
nodes reach databases, caches and EFS over the VPC's local route.
"""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_aws as aws

from odoo_platform.clouds.aws.storage import create_file_system
from odoo_platform.clouds.base import Foundation
from odoo_platform.config import AwsEgress, Estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.labels import cloud_tags

VPC_CIDR = "10.50.0.0/16"
PUBLIC_SUBNETS = ("10.50.0.0/24", "10.50.1.0/24", "10.50.2.0/24")
NODE_SUBNETS = ("10.50.16.0/20", "10.50.32.0/20", "10.50.48.0/20")
DATABASE_SUBNETS = ("10.50.8.0/24", "10.50.9.0/24", "10.50.10.0/24")
# Added to an existing VPC as a secondary block holding the database subnets (sizes /16 to /28 are allowed:
# https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html#add-cidr-block-restrictions).
DATABASE_BLOCK = "10.50.8.0/22"
DATABASE_CIDRS = DATABASE_SUBNETS
CLUSTER_CIDRS = NODE_SUBNETS
ZONES = ("a", "b", "c")
# What a private node needs without a route to the internet: image pulls (ECR api and dkr, layers from S3), IRSA and
# the node's own credentials (STS, EKS Pod Identity auth), the node's bootstrap (EC2) and logs.
# https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "ec2", "logs", "eks-auth", "elasticloadbalancing")
ECR_HOST_SUFFIX = ".amazonaws.com"


def create_foundation(name: str, owner: pulumi.Resource, estate: Estate) -> Foundation:
    child = pulumi.ResourceOptions(parent=owner)
    tags = cloud_tags(estate)
    existing = estate.aws.existing_vpc
    if existing is None and not estate.kubernetes.create_cluster:
        raise EstateConfigError(
            "aws.existingVpc: is required when kubernetes.createCluster is false (name the existing cluster's VPC and "
            "node ranges, so its nodes can reach the databases this estate creates)"
        )
    if existing is not None and estate.kubernetes.create_cluster:
        raise EstateConfigError(
            "aws.existingVpc: is for an existing cluster only (remove it, or set kubernetes.createCluster: false); "
            "a created cluster gets the estate's own VPC"
        )
    if estate.aws.egress is AwsEgress.ENDPOINTS:
        _check_images_from_ecr(estate)
    if existing is not None:
        _check_no_overlap(existing.node_cidrs)
        block = aws.ec2.VpcIpv4CidrBlockAssociation(
            f"{name}-db-block", vpc_id=existing.vpc_id, cidr_block=DATABASE_BLOCK, opts=child
        )
        vpc_id: pulumi.Input[str] = block.vpc_id
        cluster_cidrs = tuple(existing.node_cidrs)
    else:
        vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block=VPC_CIDR, enable_dns_hostnames=True, enable_dns_support=True,
            tags=tags | {"Name": f"{name}-vpc"}, opts=child,
        )
        vpc_id = vpc.id
        cluster_cidrs = CLUSTER_CIDRS

    def subnets(role: str, cidrs: tuple[str, ...], extra_tags: dict[str, str]) -> list[aws.ec2.Subnet]:
        return [
            aws.ec2.Subnet(
                f"{name}-{role}-{zone}",
                vpc_id=vpc_id,
                cidr_block=cidr,
                availability_zone=f"{estate.region}{zone}",
                map_public_ip_on_launch=False,
                tags=tags | {"Name": f"{name}-{role}-{zone}", "network-role": role} | extra_tags,
                opts=child,
            )
            for zone, cidr in zip(ZONES, cidrs, strict=True)
        ]

    databases = subnets("db", DATABASE_SUBNETS, {})
    handles: dict[str, object] = {"vpc_id": vpc_id, "database_subnets": databases, "zones": ZONES}
    if existing is None:
        # The AWS Load Balancer Controller discovers subnets by these tags: public ones for internet-facing load
        # balancers, private ones for internal. https://docs.aws.amazon.com/eks/latest/userguide/network-load-balancing.html
        public = subnets("public", PUBLIC_SUBNETS, {"kubernetes.io/role/elb": "1"})
        nodes = subnets("nodes", NODE_SUBNETS, {"kubernetes.io/role/internal-elb": "1"})
        handles |= {"vpc": vpc, "public_subnets": public, "node_subnets": nodes}
        handles |= _egress(name, estate, vpc, public, nodes, databases, tags, child)
    db_group = aws.rds.SubnetGroup(
        f"{name}-db-subnets", subnet_ids=[s.id for s in databases],
        description="Private subnets for the estate's PostgreSQL servers", tags=tags, opts=child,
    )
    cache_group = aws.elasticache.SubnetGroup(
        f"{name}-cache-subnets", subnet_ids=[s.id for s in databases],
        description="Private subnets for the estate's Redis caches", tags=tags, opts=child,
    )
    handles |= {"db_subnet_group": db_group, "cache_subnet_group": cache_group}
    foundation = Foundation(location=estate.region, database_cidrs=DATABASE_CIDRS, cluster_cidrs=cluster_cidrs,
                            handles=handles)
    handles["file_system"] = create_file_system(name, owner, estate, foundation, tags)
    return foundation


def _egress(
    name: str, estate: Estate, vpc: aws.ec2.Vpc, public: list[aws.ec2.Subnet], nodes: list[aws.ec2.Subnet],
    databases: list[aws.ec2.Subnet], tags: dict[str, str], child: pulumi.ResourceOptions,
) -> dict[str, object]:
    """Routes: public subnets to the internet gateway (the load balancer's path in); nodes out by a NAT gateway in
    their own zone, or to nothing but VPC endpoints; database subnets to nothing beyond the VPC."""
    gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags | {"Name": f"{name}-igw"}, opts=child)
    public_routes = aws.ec2.RouteTable(
        f"{name}-public-routes", vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
        tags=tags | {"Name": f"{name}-public-routes"}, opts=child,
    )
    for zone, subnet in zip(ZONES, public, strict=True):
        aws.ec2.RouteTableAssociation(f"{name}-public-{zone}-rta", subnet_id=subnet.id,
                                      route_table_id=public_routes.id, opts=child)
    node_tables: list[aws.ec2.RouteTable] = []
    nat = estate.aws.egress is AwsEgress.NAT
    for zone, public_subnet, node_subnet in zip(ZONES, public, nodes, strict=True):
        routes = []
        if nat:
            address = aws.ec2.Eip(f"{name}-nat-{zone}-ip", domain="vpc", tags=tags, opts=child)
            nat_gateway = aws.ec2.NatGateway(
                f"{name}-nat-{zone}", allocation_id=address.allocation_id, subnet_id=public_subnet.id,
                connectivity_type="public", tags=tags | {"Name": f"{name}-nat-{zone}"},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway])),
            )
            routes = [aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_gateway.id)]
        table = aws.ec2.RouteTable(f"{name}-nodes-{zone}-routes", vpc_id=vpc.id, routes=routes,
                                   tags=tags | {"Name": f"{name}-nodes-{zone}-routes"}, opts=child)
        aws.ec2.RouteTableAssociation(f"{name}-nodes-{zone}-rta", subnet_id=node_subnet.id, route_table_id=table.id,
                                      opts=child)
        node_tables.append(table)
    isolated = aws.ec2.RouteTable(f"{name}-db-routes", vpc_id=vpc.id, tags=tags | {"Name": f"{name}-db-routes"}, opts=child)
    for zone, subnet in zip(ZONES, databases, strict=True):
        aws.ec2.RouteTableAssociation(f"{name}-db-{zone}-rta", subnet_id=subnet.id, route_table_id=isolated.id,
                                      opts=child)
    handles: dict[str, object] = {"node_route_tables": node_tables}
    if not nat:
        handles["endpoints"] = _endpoints(name, estate, vpc, nodes, node_tables, tags, child)
    return handles


def _endpoints(
    name: str, estate: Estate, vpc: aws.ec2.Vpc, nodes: list[aws.ec2.Subnet], node_tables: list[aws.ec2.RouteTable],
    tags: dict[str, str], child: pulumi.ResourceOptions,
) -> list[aws.ec2.VpcEndpoint]:
    firewall = aws.ec2.SecurityGroup(
        f"{name}-endpoints-sg", vpc_id=vpc.id, description="AWS API endpoints reachable from the cluster nodes only",
        ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443,
                                                  cidr_blocks=list(CLUSTER_CIDRS), description="HTTPS from cluster nodes")],
        tags=tags, opts=child,
    )
    endpoints = [
        aws.ec2.VpcEndpoint(
            f"{name}-{service.replace('.', '-')}-endpoint", vpc_id=vpc.id,
            service_name=f"com.amazonaws.{estate.region}.{service}", vpc_endpoint_type="Interface",
            private_dns_enabled=True, subnet_ids=[s.id for s in nodes], security_group_ids=[firewall.id],
            tags=tags, opts=child,
        )
        for service in INTERFACE_ENDPOINTS
    ]
    # ECR keeps image layers in S3: without the gateway endpoint a pull stops after the manifest.
    # https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-setting-up-s3-gateway
    endpoints.append(aws.ec2.VpcEndpoint(
        f"{name}-s3-endpoint", vpc_id=vpc.id, service_name=f"com.amazonaws.{estate.region}.s3",
        vpc_endpoint_type="Gateway", route_table_ids=[t.id for t in node_tables], tags=tags, opts=child,
    ))
    return endpoints


def _check_images_from_ecr(estate: Estate) -> None:
    """With endpoints only, nodes reach ECR of their own region and nothing else."""
    settings = estate.kubernetes
    images = {"image": estate.image, "kubernetes.scalerImage": settings.scaler_image,
              "kubernetes.redisImage": settings.redis_image, "kubernetes.postgresClientImage": settings.postgres_client_image,
              "kubernetes.awsCliImage": settings.aws_cli_image, "kubernetes.curlImage": settings.curl_image}
    images |= {f"rings.{ring}": image for ring, image in estate.rings.items()}
    suffix = f".dkr.ecr.{estate.region}{ECR_HOST_SUFFIX}"
    for key, image in estate.chart_image_settings().items():
        if not image:  # the chart's own image, from its public registry
            raise EstateConfigError(
                f"{key}: is empty, so the chart pulls its own public image, which aws.egress: endpoints cannot reach "
                f"(mirror it into ECR of {estate.region} and set it, or use aws.egress: nat)"
            )
        images[key] = image
    for key, image in images.items():
        if not image.split("/", 1)[0].endswith(suffix):
            raise EstateConfigError(
                f"{key}: {image!r} is not in ECR of {estate.region}, and aws.egress: endpoints gives nodes no other "
                f"registry (pull it through an ECR pull-through cache rule, or use aws.egress: nat)"
            )


def _check_no_overlap(node_cidrs: list[str]) -> None:
    block = ipaddress.ip_network(DATABASE_BLOCK)
    for cidr in node_cidrs:
        if ipaddress.ip_network(cidr).overlaps(block):
            raise EstateConfigError(
                f"aws.existingVpc.nodeCidrs: {cidr} overlaps {DATABASE_BLOCK}, the block the database subnets are added "
                "in (renumber is not possible: choose a cluster whose VPC does not use it)"
            )
