"""The AWS stacks, and an estate at the documented maximum lengths, against AWS's own API models."""

from __future__ import annotations

import pytest

from odoo_platform.clouds.aws.names import short_name
from tests.aws_api_models import MAPPING, Member, check_plan, constraints, violations_of
from tests.conftest import AWS_CREATED, DIGEST, estate
from tests.stack_plans import plan_of

LONGEST_TENANT = "a" * 10 + "-bcdefghij-" + "k" * 9  # 30 characters: the most config.Tenant allows
assert len(LONGEST_TENANT) == 30


@pytest.mark.parametrize("stack", ["aws-staging", "aws-hybrid-prod"])
def test_the_shipped_aws_stacks_pass_the_api_models(stack):
    assert check_plan(plan_of(stack)) == []


def test_the_longest_dedicated_tenant_fits_every_aws_limit(plan_for):
    plan = plan_for(estate(
        cloud="aws", region="eu-central-1", environment="prod", tenancy="hybrid", image=DIGEST, aws=AWS_CREATED,
        kubernetes={"createCluster": True},
        tenants=[{"name": LONGEST_TENANT, "tier": 1, "users": 40, "hostname": "long.erp.example.com", "isolation": "dedicated"},
                 {"name": "agency", "tier": 2, "users": 8, "hostname": "agency.erp.example.com", "isolation": "shared"}],
    ), stack="aws-hybrid-production-eu")
    # Every mapped type occurs, so no mapping is silently unused (VPC endpoints only with egress: endpoints).
    present = {r["type"] for r in plan["resources"]}
    assert set(MAPPING) - present == {"aws:ec2/vpcEndpoint:VpcEndpoint"}
    assert check_plan(plan) == []


def test_endpoint_egress_passes_the_api_models(plan_for):
    mirror = "123456789012.dkr.ecr.eu-central-1.amazonaws.com"
    images = {key: f"{mirror}/mirror/{key.lower()}:1" for key in ("scalerImage", "redisImage", "awsCliImage", "curlImage")}
    images["postgresClientImage"] = f"{mirror}/mirror/postgres:16.6"  # pg_dump at least the server's major version
    # The Helm charts' images too: with endpoints only, nodes pull nothing but ECR of their region.
    images |= {"traefikImage": f"{mirror}/mirror/traefik:v3.4.3", "loadBalancerControllerImage": f"{mirror}/mirror/lbc:v2.13.3",
               "kyvernoImages": {name: f"{mirror}/mirror/kyverno-{name.lower()}:v1.13.2" for name in (
                   "admissionController", "init", "backgroundController", "cleanupController", "reportsController", "cli",
                   "kubectl")}}
    plan = plan_for(estate(
        cloud="aws", region="eu-central-1", image=f"{mirror}/odoo/odoo:17.0", kubernetes={"createCluster": True} | images,
        aws=AWS_CREATED | {"egress": "endpoints"},
        imagePolicy={"signingKey": "awskms:///alias/cosign", "approvedRegistries": [mirror, "mcr.microsoft.com"]},
    ))
    assert any(r["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint" for r in plan["resources"])
    assert check_plan(plan) == []


def test_the_check_catches_what_the_old_names_did():
    """Names the program built before issue 18, at the same lengths, are refused by the models."""
    stack, placement = "aws-hybrid-production-eu", f"dedicated-{LONGEST_TENANT}"
    group_id = constraints(Member("elasticache", "CreateReplicationGroupMessage.ReplicationGroupId"))
    vault = constraints(Member("backup", "CreateBackupVaultInput.BackupVaultName"))
    username = constraints(Member("rds", "CreateDBInstanceMessage.MasterUsername"))
    strategy = constraints(Member("elasticache", "ModifyReplicationGroupMessage.AuthTokenUpdateStrategy"))
    assert violations_of(f"redis-{placement}-cache-1a2b3c4", group_id)
    assert violations_of(f"odoo-{stack}-{placement}-dr", vault)
    assert violations_of("odooplatformadmin", username)
    assert violations_of("1-starts-with-a-digit", group_id) and violations_of("double--hyphen", group_id)
    assert violations_of("REPLACE", strategy)
    assert not violations_of(short_name("odoo", stack, placement, limit=40), group_id)


def test_short_names_are_stable_distinct_and_within_the_limit():
    first = short_name("odoo", "stack", "dedicated-" + "a" * 30, limit=40)
    second = short_name("odoo", "stack", "dedicated-" + "a" * 29 + "b", limit=40)
    assert len(first) == len(second) == 40 and first != second
    assert first == short_name("odoo", "stack", "dedicated-" + "a" * 30, limit=40)
    assert short_name("odoo", "Stack_1", "shared", limit=40) == "odoo-stack-1-shared"
