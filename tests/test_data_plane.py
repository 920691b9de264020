"""The cloud data plane under mocks, per cloud and tier: the properties the tiers promise."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from odoo_platform.clouds.aws.backup import backup_schedule
from odoo_platform.components.database_operations import cron_every
from odoo_platform.tiers import DEFAULT_TIER_CATALOGUE
from tests.conftest import AWS_CREATED, AWS_EXISTING, DIGEST, estate, resources_of


def _prod(cloud: str, tier: int, **changes) -> dict:
    region = "westeurope" if cloud == "azure" else "eu-central-1"
    changes.setdefault("tenants", [{"name": "bank", "tier": tier, "users": 30, "hostname": "bank.erp.example.com"}])
    if cloud == "aws":
        changes.setdefault("aws", AWS_CREATED if changes.get("kubernetes", {}).get("createCluster") else AWS_EXISTING)
    return estate(cloud=cloud, region=region, environment="prod", image=DIGEST, **changes)


def _one(plan, type_):
    (resource,) = resources_of(plan, type_)
    return resource


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_azure_postgres_and_backups_keep_the_tier_promise(plan_for, tier):
    plan = plan_for(_prod("azure", tier))
    spec = DEFAULT_TIER_CATALOGUE[tier]
    server = _one(plan, "azure-native:dbforpostgresql:Server")
    inputs = server["inputs"]
    assert server["protect"] and server["retainOnDelete"]
    assert inputs["network"]["publicNetworkAccess"] == "Disabled"
    assert inputs["dataEncryption"]["type"] == "AzureKeyVault"
    assert inputs["dataEncryption"]["primaryKeyURI"].endswith("/keys/odoo-platform-cmk")
    assert inputs["backup"]["backupRetentionDays"] == spec.backup_retention_days
    assert inputs["backup"]["geoRedundantBackup"] == ("Enabled" if spec.geo_redundant_backup else "Disabled")
    assert inputs["highAvailability"]["mode"] == ("ZoneRedundant" if spec.high_availability else "Disabled")
    parameters = {r["inputs"]["configurationName"]: r["inputs"]["value"]
                  for r in resources_of(plan, "azure-native:dbforpostgresql:Configuration")}
    assert parameters["require_secure_transport"] == "on"
    assert parameters["ssl_min_protocol_version"] == "TLSv1.2"
    assert parameters["max_connections"] == "800"
    lock = _one(plan, "azure-native:authorization:ManagementLockAtResourceLevel")
    assert lock["inputs"]["level"] == "CanNotDelete" and server["urn"] in lock["dependsOn"]

    vault = _one(plan, "azure-native:dataprotection:BackupVault")
    security = vault["inputs"]["properties"]["securitySettings"]
    assert vault["protect"]
    assert security["immutabilitySettings"]["state"] == "Locked"
    assert security["softDeleteSettings"]["state"] == "AlwaysOn"
    assert security["encryptionSettings"]["state"] == "Enabled"
    policy = _one(plan, "azure-native:dataprotection:BackupPolicy")
    assert policy["inputs"]["properties"]["datasourceTypes"] == ["Microsoft.DBforPostgreSQL/flexibleServers"]

    account = _one(plan, "azure-native:storage:StorageAccount")["inputs"]
    assert account["enableHttpsTrafficOnly"] and account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False and account["publicNetworkAccess"] == "Disabled"
    assert account["encryption"]["requireInfrastructureEncryption"] is True
    assert account["encryption"]["keySource"] == "Microsoft.Keyvault"
    assert account["immutableStorageWithVersioning"]["immutabilityPolicy"] == {
        "allowProtectedAppendWrites": False, "immutabilityPeriodSinceCreationInDays": spec.archive_retention_days,
        "state": "Unlocked"}  # Azure creates it Unlocked; the lock is the approved azure.archiveLockChange (test_azure_*)
    blob_service = _one(plan, "azure-native:storage:BlobServiceProperties")["inputs"]
    assert blob_service["isVersioningEnabled"] and blob_service["deleteRetentionPolicy"]["enabled"]
    assert resources_of(plan, "azure-native:storage:ManagementPolicy")

    # Geo-redundant tiers add the paired region's geo-backup vault and key (test_azure_data_plane.py).
    vaults = resources_of(plan, "azure-native:keyvault:Vault")
    keys = resources_of(plan, "azure-native:keyvault:Key")
    assert len(vaults) == len(keys) == (2 if spec.geo_redundant_backup else 1)
    for vault in vaults:
        vault_props = vault["inputs"]["properties"]
        assert vault_props["enablePurgeProtection"] and vault_props["enableRbacAuthorization"]
    for key in keys:
        assert key["protect"]
        assert key["inputs"]["properties"]["rotationPolicy"]["lifetimeActions"][0]["action"]["type"] == "rotate"

    cache = _one(plan, "azure-native:redis:Redis")["inputs"]
    assert cache["enableNonSslPort"] is False and cache["minimumTlsVersion"] == "1.2"
    assert cache["publicNetworkAccess"] == "Disabled"


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_aws_rds_backup_plan_and_archive_keep_the_tier_promise(plan_for, tier):
    plan = plan_for(_prod("aws", tier))
    spec = DEFAULT_TIER_CATALOGUE[tier]
    instance = _one(plan, "aws:rds/instance:Instance")
    inputs = instance["inputs"]
    assert instance["protect"] and instance["retainOnDelete"]
    assert inputs["storageEncrypted"] and inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert inputs["publiclyAccessible"] is False and inputs["deletionProtection"] is True
    assert inputs["multiAz"] is spec.high_availability
    assert inputs["backupRetentionPeriod"] == spec.backup_retention_days
    parameters = {p["name"]: p["value"] for p in _one(plan, "aws:rds/parameterGroup:ParameterGroup")["inputs"]["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    for sg in resources_of(plan, "aws:ec2/securityGroup:SecurityGroup"):
        for rule in sg["inputs"]["ingress"]:
            assert "0.0.0.0/0" not in rule["cidrBlocks"]

    vault = next(v for v in resources_of(plan, "aws:backup/vault:Vault") if not v["name"].endswith("-dr-vault"))
    assert vault["protect"] and vault["inputs"]["kmsKeyArn"].startswith("arn:aws:kms:")
    locks = resources_of(plan, "aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    assert len(locks) == (2 if spec.geo_redundant_backup else 1)  # the DR copy vault is locked too
    for lock in locks:
        assert lock["inputs"]["minRetentionDays"] == spec.backup_retention_days and lock["inputs"]["changeableForDays"] == 3
    rules = {r["ruleName"]: r for r in _one(plan, "aws:backup/plan:Plan")["inputs"]["rules"]}
    assert rules["continuous-pitr"]["enableContinuousBackup"] is True
    assert bool(rules["daily-archive"].get("copyActions")) is spec.geo_redundant_backup
    assert _one(plan, "aws:backup/selection:Selection")

    lock_config = _one(plan, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")["inputs"]
    assert lock_config["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": spec.archive_retention_days}
    sse = _one(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["inputs"]
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    block = _one(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")["inputs"]
    assert all(block[flag] for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    policy = json.loads(_one(plan, "aws:s3/bucketPolicy:BucketPolicy")["inputs"]["policy"])
    assert {s["Sid"] for s in policy["Statement"]} == {"DenyInsecureTransport", "DenyOldTls"}
    keys = [k for k in resources_of(plan, "aws:kms/key:Key") if k["name"] != "estate-efs-cmk"]
    assert len(keys) == (2 if spec.geo_redundant_backup else 1)  # copies are encrypted with a DR-region key
    assert all(key["inputs"]["enableKeyRotation"] is True and key["protect"] for key in keys)

    cache = _one(plan, "aws:elasticache/replicationGroup:ReplicationGroup")["inputs"]
    assert cache["transitEncryptionEnabled"] and cache["atRestEncryptionEnabled"] and cache["authToken"] == "[secret]"


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_backup_schedules_never_exceed_the_rpo(tier):
    spec = DEFAULT_TIER_CATALOGUE[tier]
    assert spec.effective_rpo_minutes <= spec.rpo_minutes  # PITR carries the RPO between snapshots
    aws_hours = re.search(r"cron\(0 (\*/(\d+)|\*|1) ", backup_schedule(spec))
    interval = 60 * int(aws_hours.group(2)) if aws_hours.group(2) else (60 if aws_hours.group(1) == "*" else 1440)
    assert interval <= spec.backup_interval_minutes
    dump = cron_every(spec.backup_interval_minutes).split()[1]
    dump_interval = 1440 if dump == "1" else 60 * int(dump.removeprefix("*/")) if dump.startswith("*/") else 60
    assert dump_interval <= spec.backup_interval_minutes


HYBRID = [
    {"name": "bank", "tier": 1, "users": 40, "hostname": "bank.erp.example.com", "isolation": "dedicated"},
    {"name": "insurer", "tier": 2, "users": 20, "hostname": "insurer.erp.example.com", "isolation": "dedicated"},
    {"name": "agency", "tier": 3, "users": 8, "hostname": "agency.erp.example.com", "isolation": "shared"},
    {"name": "studio", "tier": 3, "users": 5, "hostname": "studio.erp.example.com", "isolation": "shared"},
]


@pytest.mark.parametrize("cloud", ["azure", "aws"])
def test_dedicated_tenants_never_share_a_server_vault_or_key(plan_for, cloud):
    plan = plan_for(_prod(cloud, 1, tenancy="hybrid", tenants=HYBRID))
    server_type = "azure-native:dbforpostgresql:Server" if cloud == "azure" else "aws:rds/instance:Instance"
    key_type = "azure-native:keyvault:Key" if cloud == "azure" else "aws:kms/key:Key"
    keys = {r["urn"] for r in resources_of(plan, key_type) if not r["name"].endswith(("-dr-cmk", "-efs-cmk", "-geo-cmk"))}
    servers = resources_of(plan, server_type)
    assert len(servers) == 3 and len(keys) == 3
    key_of = {s["inputs"]["tags"]["postgres-server"]: set(s["dependsOn"]) & keys for s in servers}
    assert all(len(k) == 1 for k in key_of.values())
    assert len({frozenset(k) for k in key_of.values()}) == 3
    assert plan["outputs"]["tenants"]["bank"]["postgresServer"] == "dedicated-bank"
    assert plan["outputs"]["tenants"]["agency"]["postgresServer"] == "shared"
    vault_type = "azure-native:dataprotection:BackupVault" if cloud == "azure" else "aws:backup/vault:Vault"
    vault_parents = {v["parent"] for v in resources_of(plan, vault_type) if not v["name"].endswith("-dr-vault")}
    assert len(vault_parents) == 3


@pytest.mark.parametrize("cloud", ["azure", "aws"])
def test_no_secret_value_appears_in_the_plan(plan_for, cloud):
    plan = plan_for(_prod(cloud, 1, tenancy="hybrid", tenants=HYBRID))
    text = json.dumps(plan)
    generated = [r["name"] for r in resources_of(plan, "random:index/randomPassword:RandomPassword")]
    assert generated
    for name in generated:
        assert hashlib.sha256(f"mock-secret:{name}".encode()).hexdigest()[:16] not in text, name
    secrets = [r for r in plan["resources"] if r["type"] in ("azure-native:keyvault:Secret", "aws:secretsmanager/secretVersion:SecretVersion")]
    assert secrets
    for secret in secrets:
        assert "[secret]" in json.dumps(secret["inputs"])


def test_operations_jobs_bootstrap_dump_and_drill_every_tenant(plan_for):
    plan = plan_for(_prod("azure", 1, tenancy="hybrid", tenants=HYBRID))
    cron_jobs = {r["inputs"]["metadata"]["name"]: r["inputs"] for r in resources_of(plan, "kubernetes:batch/v1:CronJob")}
    for tenant in HYBRID:
        spec = DEFAULT_TIER_CATALOGUE[tenant["tier"]]
        assert cron_jobs[f"restore-drill-{tenant['name']}"]["spec"]["schedule"] == spec.restore_drill_schedule
        assert cron_jobs[f"dump-{tenant['name']}"]["spec"]["schedule"] == cron_every(spec.backup_interval_minutes)
    bootstraps = [r["inputs"]["metadata"]["name"] for r in resources_of(plan, "kubernetes:batch/v1:Job")
                  if r["inputs"]["metadata"]["name"].startswith("db-bootstrap-")]
    assert len(bootstraps) == 3  # one per server
    roles = [r for r in resources_of(plan, "kubernetes:core/v1:Secret") if r["inputs"]["metadata"]["name"] == "pg-roles-shared"]
    assert roles[0]["inputs"]["stringData"] == {"agency": "[secret]", "studio": "[secret]"}
    scripts = next(r for r in resources_of(plan, "kubernetes:core/v1:ConfigMap"))["inputs"]["data"]
    # A managed admin may not name the superuser attribute at all (tests/test_database_operations_real.py runs it).
    assert "SUPERUSER" not in scripts["bootstrap.sh"].split("set -eu", 1)[1]
    assert "DROP DATABASE IF EXISTS" in scripts["restore-check.sh"]


@pytest.mark.parametrize("cloud", ["azure", "aws"])
def test_a_created_cluster_is_private_encrypted_and_feeds_the_kubernetes_provider(plan_for, cloud):
    plan = plan_for(_prod(cloud, 2, kubernetes={"createCluster": True}))
    (provider,) = resources_of(plan, "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    if cloud == "azure":
        cluster = _one(plan, "azure-native:containerservice:ManagedCluster")["inputs"]
        assert cluster["apiServerAccessProfile"]["enablePrivateCluster"] is True
        assert cluster["disableLocalAccounts"] is True
        assert cluster["securityProfile"]["azureKeyVaultKms"]["enabled"] is True
        assert cluster["securityProfile"]["workloadIdentity"]["enabled"] is True
        assert cluster["networkProfile"]["networkPolicy"] == "cilium"
        pool = cluster["agentPoolProfiles"][0]
        assert pool["availabilityZones"] == ["1", "2", "3"] and pool["enableAutoScaling"] is True
    else:
        cluster = _one(plan, "aws:eks/cluster:Cluster")["inputs"]
        assert cluster["vpcConfig"]["endpointPublicAccess"] is False and cluster["vpcConfig"]["endpointPrivateAccess"] is True
        assert cluster["encryptionConfig"]["resources"] == ["secrets"]
        assert len(cluster["vpcConfig"]["subnetIds"]) == 3
        assert _one(plan, "aws:eks/nodeGroup:NodeGroup")["inputs"]["scalingConfig"]["minSize"] == 3
    # The cluster's secrets key is its own placement: tenants' keys never encrypt the control plane.
    assert "keys-cluster" in {r["name"] for r in plan["resources"] if r["component"]}


def test_by_default_the_estate_uses_the_existing_cluster(plan_for):
    plan = plan_for(_prod("azure", 2))
    assert not resources_of(plan, "pulumi:providers:kubernetes")
    assert not resources_of(plan, "azure-native:containerservice:ManagedCluster")
