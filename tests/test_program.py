"""The one program under mocks: what each tenancy model and cloud registers."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import AWS_EXISTING, DIGEST, by_name, estate, resources_of

COMPONENT = "odoo-platform:index:"


def _components(plan, kind):
    return [r for r in plan["resources"] if r["type"] == COMPONENT + kind]


def _children(plan, parent_urn):
    return [r for r in plan["resources"] if r["parent"] == parent_urn]


def test_multi_tenant_estate_shares_one_server_and_gives_each_tenant_a_namespace(plan_for):
    plan = plan_for(estate())
    assert [c["name"] for c in _components(plan, "ManagedPostgres")] == ["postgres-shared"]
    assert sorted(c["name"] for c in _components(plan, "TenantNamespace")) == ["acme", "globex"]
    assert sorted(c["name"] for c in _components(plan, "OdooCluster")) == ["acme", "globex"]
    assert all(c["component"] for c in _components(plan, "OdooCluster"))

    for tenant in ("acme", "globex"):
        namespace_component = next(c for c in _components(plan, "TenantNamespace") if c["name"] == tenant)
        children = _children(plan, namespace_component["urn"])
        assert Counter(r["type"] for r in children) == {
            "kubernetes:core/v1:Namespace": 1,
            "kubernetes:core/v1:ResourceQuota": 1,
            "kubernetes:core/v1:LimitRange": 1,
            "kubernetes:networking.k8s.io/v1:NetworkPolicy": 7,
            "kubernetes:core/v1:ServiceAccount": 1,
            "kubernetes:rbac.authorization.k8s.io/v1:Role": 1,
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 1,
        }
        (namespace,) = [r for r in children if r["type"] == "kubernetes:core/v1:Namespace"]
        assert namespace["inputs"]["metadata"]["name"] == f"odoo-{tenant}"
        labels = namespace["inputs"]["metadata"]["labels"]
        assert labels["odoo-platform.io/tenant"] == tenant
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"

        cluster = next(c for c in _components(plan, "OdooCluster") if c["name"] == tenant)
        kinds = Counter(r["type"] for r in _children(plan, cluster["urn"]))
        assert kinds == {
            "random:index/randomPassword:RandomPassword": 1,
            "time:index/rotating:Rotating": 1,
            "kubernetes:core/v1:Secret": 1,
            "kubernetes:core/v1:PersistentVolumeClaim": 1,
            # the upgrade Job and the Job that starts cron again, with their ServiceAccount, Role and scripts
            "kubernetes:batch/v1:Job": 2,
            "kubernetes:core/v1:ConfigMap": 1,
            "kubernetes:apps/v1:Deployment": 2,
            "kubernetes:core/v1:Service": 1,
            "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": 1,
            "kubernetes:policy/v1:PodDisruptionBudget": 1,
            # dev scales to zero at night (a ServiceAccount, Role and binding beside the upgrade Job's)
            "kubernetes:core/v1:ServiceAccount": 2,
            "kubernetes:rbac.authorization.k8s.io/v1:Role": 2,
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 2,
            "kubernetes:batch/v1:CronJob": 2,
        }
        deployment = next(r for r in _children(plan, cluster["urn"]) if r["name"] == f"{tenant}-web")
        assert deployment["inputs"]["metadata"]["namespace"] == f"odoo-{tenant}"
        assert deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/library/odoo:17.0"


def test_postgres_server_is_private_protected_and_a_child_of_its_component(plan_for):
    plan = plan_for(estate())
    (component,) = _components(plan, "ManagedPostgres")
    (server,) = resources_of(plan, "azure-native:dbforpostgresql:Server")
    assert server["parent"] == component["urn"]
    assert server["protect"] is True and server["retainOnDelete"] is True
    assert server["inputs"]["network"]["publicNetworkAccess"] == "Disabled"
    assert server["inputs"]["administratorLoginPassword"] == "[secret]"


def test_shared_server_takes_the_strictest_tier_of_its_tenants(plan_for):
    plan = plan_for(estate())  # tiers 2 and 3 share the server
    (server,) = resources_of(plan, "azure-native:dbforpostgresql:Server")
    assert server["inputs"]["backup"]["backupRetentionDays"] == 14
    assert server["inputs"]["tags"]["tier"] == "2"


def test_dedicated_estate_gives_every_tenant_its_own_server_and_vault(plan_for):
    plan = plan_for(estate(tenancy="dedicated", environment="prod", image=DIGEST))
    servers = {c["name"] for c in _components(plan, "ManagedPostgres")}
    vaults = {c["name"] for c in _components(plan, "BackupVault")}
    assert servers == {"postgres-dedicated-acme", "postgres-dedicated-globex"}
    assert vaults == {"backup-dedicated-acme", "backup-dedicated-globex"}
    assert len(resources_of(plan, "azure-native:dbforpostgresql:Server")) == 2


def test_hybrid_estate_places_shared_and_dedicated_tenants_apart(plan_for):
    tenants = [
        {"name": "acme", "tier": 1, "users": 40, "hostname": "acme.erp.example.com", "isolation": "dedicated"},
        {"name": "globex", "tier": 3, "users": 8, "hostname": "globex.erp.example.com", "isolation": "shared"},
        {"name": "initech", "tier": 2, "users": 12, "hostname": "initech.erp.example.com", "isolation": "shared"},
    ]
    plan = plan_for(estate(tenancy="hybrid", tenants=tenants, environment="prod", image=DIGEST))
    assert plan["outputs"]["tenants"]["acme"]["postgresServer"] == "dedicated-acme"
    assert plan["outputs"]["tenants"]["globex"]["postgresServer"] == "shared"
    assert plan["outputs"]["tenants"]["initech"]["postgresServer"] == "shared"
    dedicated = by_name(plan)["postgres-dedicated-acme-server"]
    assert dedicated["inputs"]["highAvailability"]["mode"] == "ZoneRedundant"  # tier 1 in prod
    shared = by_name(plan)["postgres-shared-server"]
    assert shared["inputs"]["highAvailability"]["mode"] == "Disabled"  # tiers 2 and 3


def test_aws_estate_registers_rds_with_deletion_protection(plan_for):
    plan = plan_for(estate(cloud="aws", region="eu-central-1", aws=AWS_EXISTING))
    (instance,) = resources_of(plan, "aws:rds/instance:Instance")
    assert instance["protect"] is True
    inputs = instance["inputs"]
    assert inputs["publiclyAccessible"] is False
    assert inputs["deletionProtection"] is True
    assert inputs["storageEncrypted"] is True
    assert inputs["password"] == "[secret]"
    assert inputs["backupRetentionPeriod"] == 14
    (vault,) = resources_of(plan, "aws:backup/vault:Vault")
    assert vault["protect"] is True


def test_every_child_has_a_parent_component_and_stack_outputs_name_each_tenant(plan_for):
    plan = plan_for(estate())
    urns = {r["urn"]: r for r in plan["resources"]}
    for resource in plan["resources"]:
        if resource["component"]:
            assert resource["type"].startswith(COMPONENT)
            assert resource["parent"] is None
        else:
            assert urns[resource["parent"]]["component"], resource["urn"]
    assert set(plan["outputs"]["tenants"]) == {"acme", "globex"}


@pytest.mark.parametrize("cloud,region", [("azure", "westeurope"), ("aws", "eu-central-1")])
def test_no_secret_value_reaches_the_plan(plan_for, cloud, region):
    import hashlib
    import json

    plan = plan_for(estate(cloud=cloud, region=region, **({"aws": AWS_EXISTING} if cloud == "aws" else {})))
    text = json.dumps(plan)
    mock_secret_prefix = hashlib.sha256(b"mock-secret:postgres-shared-admin-password").hexdigest()[:16]
    assert mock_secret_prefix not in text
    assert "[secret]" in text


def test_logical_names_are_stable(plan_for):
    """A rename here replaces a database in a user's estate: change it only with aliases."""
    plan = plan_for(estate())
    urns = sorted(r["urn"].split("::", 2)[2] for r in plan["resources"])
    assert "odoo-platform:index:ManagedPostgres$azure-native:dbforpostgresql:Server::postgres-shared-server" in urns
    assert "odoo-platform:index:BackupVault$azure-native:dataprotection:BackupVault::backup-shared-vault" in urns
    assert "odoo-platform:index:TenantNamespace$kubernetes:core/v1:Namespace::acme-ns" in urns
