"""The AWS cloud rules (AWS-01..05): compliant and violating cases, and the shipped AWS stacks pass them."""

from __future__ import annotations

import pytest

from odoo_platform.policy.rule import Context, Resource
from odoo_platform.policy.rules.aws import AWS
from tests.stack_plans import plan_of

DEV = Context("dev")
RULES = {rule.id: rule for rule in AWS}


def R(type_: str, name: str, props: dict, *depends_on: Resource) -> Resource:  # noqa: N802 - reads like a constructor
    return Resource(type_, f"urn:{type_}::{name}", props, dependencies=tuple(d.urn for d in depends_on))


def _plan(continuous_days: int) -> Resource:
    return R("aws:backup/plan:Plan", "plan", {"rules": [
        {"ruleName": "continuous-pitr", "enableContinuousBackup": True, "lifecycle": {"deleteAfter": continuous_days}},
        {"ruleName": "daily-archive", "lifecycle": {"deleteAfter": 2555}}]})


# Per-resource rules: (compliant, violating, context), in the shape tests/test_policy_rules.py tables.
AWS_CASES = {"AWS-01": (_plan(35), _plan(36), DEV)}


def test_continuous_backup_retention():
    compliant, violating, context = AWS_CASES["AWS-01"]
    assert RULES["AWS-01"].evaluate(compliant, context) is None
    assert "(set lifecycle.delete_after" in RULES["AWS-01"].evaluate(violating, context)


def test_object_lock_needs_a_bucket_created_with_it_and_versioning():
    bucket = R("aws:s3/bucket:Bucket", "b", {"objectLockEnabled": True})
    versioning = R("aws:s3/bucketVersioning:BucketVersioning", "v", {"versioningConfiguration": {"status": "Enabled"}}, bucket)
    lock = R("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "l", {}, bucket)
    check = RULES["AWS-02"].check_stack
    assert check([bucket, versioning, lock], DEV) == []
    late = R("aws:s3/bucket:Bucket", "b", {})
    assert [u for u, _ in check([late, versioning, lock], DEV)] == [bucket.urn]
    assert "versioning" in check([bucket, lock], DEV)[0][1]


def _copying(dr_region: str | None, key_region: str | None) -> list[Resource]:
    key = R("aws:kms/key:Key", "k", {})
    vault = R("aws:backup/vault:Vault", "v", {"name": "odoo-prod-shared"}, key)
    dr_key = R("aws:kms/key:Key", "dr-k", {"region": key_region})
    dr_vault = R("aws:backup/vault:Vault", "dr-v", {"name": "odoo-prod-shared-dr", "region": dr_region}, dr_key)
    plan = R("aws:backup/plan:Plan", "p", {"rules": [
        {"ruleName": "daily-archive", "targetVaultName": "odoo-prod-shared",
         "copyActions": [{"destinationVaultArn": "arn:aws:backup:eu-west-1:1:backup-vault:odoo-prod-shared-dr"}]}]},
        vault, dr_vault)
    return [key, vault, dr_key, dr_vault, plan]


def test_copy_actions_go_to_another_region_with_its_own_key():
    check = RULES["AWS-03"].check_stack
    assert check(_copying("eu-west-1", "eu-west-1"), DEV) == []
    assert "source's region" in check(_copying(None, None), DEV)[0][1]
    assert "key of its own region" in check(_copying("eu-west-1", "eu-central-1"), DEV)[0][1]
    plan_without_vault = [r for r in _copying("eu-west-1", "eu-west-1") if r.type != "aws:backup/vault:Vault"]
    assert "no destination vault" in check(plan_without_vault, DEV)[0][1]


def _network(admitted: str, same_vpc: bool = True) -> list[Resource]:
    vpc, other = R("aws:ec2/vpc:Vpc", "vpc", {}), R("aws:ec2/vpc:Vpc", "other", {})
    subnet = R("aws:ec2/subnet:Subnet", "nodes-a", {"cidrBlock": "10.50.16.0/20"}, vpc)
    nodes = R("aws:eks/nodeGroup:NodeGroup", "nodes", {}, subnet)
    group = R("aws:ec2/securityGroup:SecurityGroup", "sg", {"ingress": [
        {"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": [admitted]}]}, vpc if same_vpc else other)
    server = R("aws:rds/instance:Instance", "pg", {}, group)
    return [vpc, other, subnet, nodes, group, server]


def test_data_services_admit_the_nodes_from_their_vpc():
    check = RULES["AWS-04"].check_stack
    assert check(_network("10.50.0.0/16"), DEV) == []
    assert "does not admit" not in str(check(_network("10.50.0.0/16"), DEV))
    assert "no security group admits the node subnets" in check(_network("10.60.0.0/16"), DEV)[0][1]
    assert "another VPC" in check(_network("10.50.0.0/16", same_vpc=False), DEV)[0][1]


def _egress(nat: bool, endpoints: tuple[str, ...] = (), public_zones: tuple[str, ...] = ("a", "b")) -> list[Resource]:
    vpc = R("aws:ec2/vpc:Vpc", "vpc", {})
    subnet = R("aws:ec2/subnet:Subnet", "nodes-a", {"cidrBlock": "10.50.16.0/20"}, vpc)
    nodes = R("aws:eks/nodeGroup:NodeGroup", "nodes", {}, subnet)
    routes = [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1"}] if nat else []
    table = R("aws:ec2/routeTable:RouteTable", "nodes-rt", {"routes": routes}, vpc)
    association = R("aws:ec2/routeTableAssociation:RouteTableAssociation", "nodes-rta", {}, subnet, table)
    public_table = R("aws:ec2/routeTable:RouteTable", "public-rt", {"routes": [
        {"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}]}, vpc)
    resources = [vpc, subnet, nodes, table, association, public_table]
    for zone in public_zones:
        public = R("aws:ec2/subnet:Subnet", f"public-{zone}", {"availabilityZone": f"eu-central-1{zone}",
                                                              "tags": {"kubernetes.io/role/elb": "1"}}, vpc)
        resources += [public, R("aws:ec2/routeTableAssociation:RouteTableAssociation", f"public-{zone}-rta", {},
                                public, public_table)]
    for service in endpoints:
        kind = "Gateway" if service == "s3" else "Interface"
        resources.append(R("aws:ec2/vpcEndpoint:VpcEndpoint", service, {
            "serviceName": f"com.amazonaws.eu-central-1.{service}", "vpcEndpointType": kind, "privateDnsEnabled": True},
            *((table,) if kind == "Gateway" else ())))
    return resources


def test_nodes_get_out_by_nat_or_endpoints_and_the_load_balancer_has_public_subnets():
    check = RULES["AWS-05"].check_stack
    every_endpoint = ("ecr.api", "ecr.dkr", "sts", "ec2", "logs", "eks-auth", "s3")
    assert check(_egress(nat=True), DEV) == []
    assert check(_egress(nat=False, endpoints=every_endpoint), DEV) == []
    assert "eks-auth" in check(_egress(nat=False, endpoints=every_endpoint[:5] + ("s3",)), DEV)[0][1]
    assert "S3 gateway" in check(_egress(nat=False, endpoints=every_endpoint[:6]), DEV)[0][1]
    assert "kubernetes.io/role/elb" in check(_egress(nat=True, public_zones=("a",)), DEV)[0][1]


@pytest.mark.parametrize("stack", ["aws-staging", "aws-hybrid-prod"])
def test_the_aws_stacks_pass_the_cloud_rules(stack):
    plan = plan_of(stack)
    resources = [Resource(r["type"], r["urn"], r["inputs"], r["protect"], r["parent"], tuple(r["dependsOn"]))
                 for r in plan["resources"] if not r["component"]]
    context = Context(plan["config"]["odoo-platform:environment"])
    for rule in AWS:
        if rule.check_stack:
            assert rule.check_stack(resources, context) == [], rule.id
        else:
            assert [r.urn for r in resources if rule.evaluate(r, context)] == [], rule.id
