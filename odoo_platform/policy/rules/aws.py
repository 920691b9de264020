"""Cloud rules for AWS: documented cross-property constraints a first `pulumi up` would hit, and
whether the cluster's nodes can reach what they need (databases, caches, EFS, AWS APIs, the
load balancer's public subnets).

The stack rules follow `dependencies`, not resolved ids, so they work on a first preview too,
where ids are still unknown.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from odoo_platform.policy.rule import Context, Resource, Rule, Severity, get
from odoo_platform.policy.rules.types import AWS_BACKUP_VAULT, ELASTICACHE, KMS_KEY, RDS, S3_BUCKET, S3_OBJECT_LOCK

BACKUP_PLAN = "aws:backup/plan:Plan"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
VPC_BLOCK = "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
# https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html: what nodes without internet access need.
REQUIRED_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "ec2", "logs", "eks-auth")
CONTINUOUS_BACKUP_MAX_DAYS = 35
DEFAULT_PORTS = {RDS: 5432, ELASTICACHE: 6379, MOUNT_TARGET: 2049}


def _continuous_retention(resource: Resource, _: Context) -> str | None:
    # Continuous backups (PITR) are kept 1 to 35 days:
    # https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html
    for rule in resource.props.get("rules") or []:
        if rule.get("enableContinuousBackup"):
            days = get(rule, "lifecycle", "deleteAfter")
            if days is None or not 1 <= int(days) <= CONTINUOUS_BACKUP_MAX_DAYS:
                return (f"rule {rule.get('ruleName')!r} keeps continuous backups {days or 'forever'} days "
                        f"(set lifecycle.delete_after between 1 and {CONTINUOUS_BACKUP_MAX_DAYS})")
    return None


def _index(resources: Sequence[Resource]) -> Mapping[str, Resource]:
    return {r.urn: r for r in resources}


def _deps(resource: Resource, index: Mapping[str, Resource], type_: str) -> list[Resource]:
    return [index[d] for d in resource.dependencies if d in index and index[d].type == type_]


def _object_lock_at_creation(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    """Object Lock needs the bucket created with it (`object_lock_enabled` replaces the bucket when changed in
    pulumi-aws) and versioning on: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html,
    https://www.pulumi.com/registry/packages/aws/api-docs/s3/bucket/#object_lock_enabled_python"""
    index = _index(resources)
    versioned = {d for r in resources if r.type == S3_VERSIONING
                 and get(r.props, "versioningConfiguration", "status") == "Enabled" for d in r.dependencies}
    found = []
    for lock in (r for r in resources if r.type == S3_OBJECT_LOCK):
        buckets = _deps(lock, index, S3_BUCKET)
        if not buckets:
            found.append((lock.urn, "the Object Lock configuration names no bucket of this stack (lock a bucket it creates)"))
        for bucket in buckets:
            if bucket.props.get("objectLockEnabled") is not True:
                found.append((bucket.urn, "the bucket was not created with Object Lock (set object_lock_enabled=True "
                                          "when creating it; changing it later replaces the bucket)"))
            elif bucket.urn not in versioned:
                found.append((bucket.urn, "Object Lock needs versioning (add a BucketVersioning with status Enabled)"))
    return found


def _copy_to_another_region(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    """A copy action's destination is a vault in another region, encrypted with a key of its own region:
    https://docs.aws.amazon.com/aws-backup/latest/devguide/cross-region-backup.html"""
    index = _index(resources)
    found = []
    for plan in (r for r in resources if r.type == BACKUP_PLAN):
        rules = plan.props.get("rules") or []
        if not any(rule.get("copyActions") for rule in rules):
            continue
        targets = {rule.get("targetVaultName") for rule in rules}
        vaults = _deps(plan, index, AWS_BACKUP_VAULT)
        sources = [v for v in vaults if v.props.get("name") in targets]
        destinations = [v for v in vaults if v.props.get("name") not in targets]
        if not destinations:
            found.append((plan.urn, "copy actions name no destination vault of this stack (create the DR vault here)"))
        source_regions = {v.props.get("region") for v in sources}
        for vault in destinations:
            region = vault.props.get("region")
            if region is None or region in source_regions:
                found.append((vault.urn, f"the copy destination is in the source's region ({region or 'the default'}) "
                                         "(set region to another region)"))
            keys = _deps(vault, index, KMS_KEY)
            if not keys or any(k.props.get("region") != region for k in keys):
                found.append((vault.urn, "the copy destination is not encrypted with a key of its own region "
                                         "(create a KMS key with the vault's region for it)"))
    return found


def _covers(sources: Sequence[str], port: int, group: Resource) -> bool:
    """Whether the group's ingress admits `port` from every one of `sources`."""
    wanted = [ipaddress.ip_network(s) for s in sources]
    admitted = []
    for rule in group.props.get("ingress") or []:
        if rule.get("protocol") in ("tcp", "-1") and int(rule.get("fromPort", 0)) <= port <= int(rule.get("toPort", 65535)):
            admitted += [ipaddress.ip_network(c) for c in rule.get("cidrBlocks") or []]
    return all(any(w.subnet_of(a) for a in admitted if w.version == a.version) for w in wanted)


def _network_of(resource: Resource, index: Mapping[str, Resource]) -> set[str]:
    """The VPC a subnet or security group belongs to, as the URN it depends on (own VPC or added block), else its id."""
    urns = {d for d in resource.dependencies if d in index and index[d].type in (VPC, VPC_BLOCK)}
    return urns or {str(resource.props.get("vpcId"))}


def _data_reachable(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    """Databases, caches and EFS mount targets sit in the nodes' VPC, behind a group admitting the nodes on their port.
    Nodes are the created node group's subnets, or the existing cluster's ranges the data groups admit."""
    index = _index(resources)
    node_subnets = [s for g in resources if g.type == NODE_GROUP for s in _deps(g, index, SUBNET)]
    node_networks = set().union(*(_network_of(s, index) for s in node_subnets)) if node_subnets else set()
    node_cidrs = [str(s.props.get("cidrBlock")) for s in node_subnets if s.props.get("cidrBlock")]
    found = []
    for data in (r for r in resources if r.type in DEFAULT_PORTS):
        port = int(data.props.get("port") or DEFAULT_PORTS[data.type])
        groups = _deps(data, index, SECURITY_GROUP)
        if not groups:
            found.append((data.urn, "no security group of this stack guards it (attach one admitting the nodes)"))
            continue
        if node_cidrs and not any(_covers(node_cidrs, port, g) for g in groups):
            found.append((data.urn, f"no security group admits the node subnets {', '.join(node_cidrs)} on {port} "
                                    "(add them to its ingress)"))
        if node_networks and not any(_network_of(g, index) & node_networks for g in groups):
            found.append((data.urn, "its security group is in another VPC than the nodes (create it in the nodes' VPC, "
                                    "or set aws.existingVpc)"))
    return found


def _nodes_get_out(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    """Each node subnet routes to a NAT gateway, or the VPC has the endpoints private nodes need and an S3 gateway on
    the node routes (https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html); and internet-facing load
    balancers have tagged public subnets in two zones routed to an internet gateway
    (https://docs.aws.amazon.com/eks/latest/userguide/network-load-balancing.html)."""
    index = _index(resources)
    node_subnets = [s for g in resources if g.type == NODE_GROUP for s in _deps(g, index, SUBNET)]
    if not node_subnets:
        return []
    tables_of: dict[str, list[Resource]] = {}
    for association in (r for r in resources if r.type == ROUTE_ASSOCIATION):
        for subnet in _deps(association, index, SUBNET):
            tables_of.setdefault(subnet.urn, []).extend(_deps(association, index, ROUTE_TABLE))
    endpoints = [r for r in resources if r.type == VPC_ENDPOINT]
    services = {str(e.props.get("serviceName", "")).split(".", 3)[-1] for e in endpoints
                if e.props.get("vpcEndpointType") == "Interface" and e.props.get("privateDnsEnabled")}
    s3_tables = {t.urn for e in endpoints if str(e.props.get("serviceName", "")).endswith(".s3")
                 and e.props.get("vpcEndpointType") == "Gateway" for t in _deps(e, index, ROUTE_TABLE)}
    found = []
    for subnet in node_subnets:
        tables = tables_of.get(subnet.urn, [])
        natted = any(route.get("natGatewayId") and route.get("cidrBlock") == "0.0.0.0/0"
                     for t in tables for route in t.props.get("routes") or [])
        private_path = set(REQUIRED_ENDPOINTS) <= services and any(t.urn in s3_tables for t in tables)
        if not (natted or private_path):
            missing = ", ".join(sorted(set(REQUIRED_ENDPOINTS) - services)) or "the S3 gateway on its route table"
            found.append((subnet.urn, f"node subnet has no way out: no NAT route and no endpoints for {missing} "
                                      "(set aws.egress to nat, or endpoints)"))
    public = [s for s in resources if s.type == SUBNET and get(s.props, "tags", "kubernetes.io/role/elb") == "1"
              and any(route.get("gatewayId") for t in tables_of.get(s.urn, []) for route in t.props.get("routes") or [])]
    if len({s.props.get("availabilityZone") for s in public}) < 2:
        found.append((node_subnets[0].urn, "fewer than two zones have a public subnet tagged kubernetes.io/role/elb and "
                                           "routed to an internet gateway (the load balancer needs them)"))
    return found


AWS = [
    Rule("AWS-01", "aws-backup-continuous-retention-max-35",
         "Continuous (point-in-time) backups are kept 1 to 35 days, the AWS Backup limit.",
         Severity.HIGH, "Set the continuous rule's lifecycle.delete_after to at most 35; keep longer copies in a snapshot rule.",
         (BACKUP_PLAN,), _continuous_retention),
    Rule("AWS-02", "aws-s3-object-lock-at-creation",
         "Object Lock is enabled when the bucket is created, with versioning (stack rule).",
         Severity.CRITICAL, "Create the bucket with object_lock_enabled=True and a BucketVersioning set to Enabled.",
         check_stack=_object_lock_at_creation),
    Rule("AWS-03", "aws-backup-copy-to-another-region",
         "Backup copy actions go to a vault in another region with a key of that region (stack rule).",
         Severity.HIGH, "Create the DR vault and its KMS key with region set to the DR region.",
         check_stack=_copy_to_another_region),
    Rule("AWS-04", "aws-data-reachable-from-nodes",
         "Databases, caches and EFS are in the nodes' VPC and admit the node subnets on their port (stack rule).",
         Severity.CRITICAL, "Place them in the nodes' VPC (aws.existingVpc for an existing cluster) with a group admitting the nodes.",
         check_stack=_data_reachable),
    Rule("AWS-05", "aws-nodes-egress-and-load-balancer-path",
         "Node subnets reach AWS APIs and registries, and public subnets exist for the load balancer (stack rule).",
         Severity.CRITICAL, "Route node subnets to a NAT gateway or add the VPC endpoints; tag public subnets kubernetes.io/role/elb.",
         check_stack=_nodes_get_out),
]
