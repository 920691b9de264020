"""One tier catalogue, one meaning: the same tier in production promises the same on Azure and AWS.

Each cloud's plan is read back into the promise it keeps (HA, retention, point-in-time restore,
backups in a second region, immutable archive retention, cache HA), and the two must be equal.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import AWS_EXISTING, DIGEST, estate, resources_of

REGION = {"azure": "westeurope", "aws": "eu-central-1"}


def _plan(plan_for, cloud: str, tier: int) -> dict:
    extra = {"aws": AWS_EXISTING} if cloud == "aws" else {}
    return plan_for(estate(cloud=cloud, region=REGION[cloud], environment="prod", image=DIGEST, tenants=[
        {"name": "bank", "tier": tier, "users": 30, "hostname": "bank.erp.example.com"}], **extra))


def _one(plan: dict, type_: str) -> dict:
    (resource,) = resources_of(plan, type_)
    return resource["inputs"]


def azure_promise(plan: dict) -> dict:
    server = _one(plan, "azure-native:dbforpostgresql:Server")
    vault = _one(plan, "azure-native:dataprotection:BackupVault")
    storage = _one(plan, "azure-native:storage:StorageAccount")
    cache = _one(plan, "azure-native:redis:Redis")
    vault_geo = vault["properties"]["storageSettings"][0]["type"] == "GeoRedundant"
    return {
        "high_availability": server["highAvailability"]["mode"] == "ZoneRedundant",
        "backup_retention_days": server["backup"]["backupRetentionDays"],
        # The flexible server always restores to any point within its retention.
        "point_in_time_restore": server["backup"]["backupRetentionDays"] > 0,
        "backups_in_second_region": server["backup"]["geoRedundantBackup"] == "Enabled" and vault_geo,
        "archive_retention_days": storage["immutableStorageWithVersioning"]["immutabilityPolicy"][
            "immutabilityPeriodSinceCreationInDays"],
        "cache_zone_redundant": bool(cache.get("zones")),
    }


def aws_promise(plan: dict) -> dict:
    instance = _one(plan, "aws:rds/instance:Instance")
    rules = {r["ruleName"]: r for r in _one(plan, "aws:backup/plan:Plan")["rules"]}
    vaults = {v["inputs"]["name"]: v["inputs"] for v in resources_of(plan, "aws:backup/vault:Vault")}
    copies = [vaults[name] for rule in rules.values() for action in rule.get("copyActions") or []
              for name in vaults if re.split("[:/]", action["destinationVaultArn"])[-1] == name]
    lock = _one(plan, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    cache = _one(plan, "aws:elasticache/replicationGroup:ReplicationGroup")
    continuous = rules["continuous-pitr"]
    return {
        "high_availability": instance["multiAz"],
        "backup_retention_days": instance["backupRetentionPeriod"],
        "point_in_time_restore": continuous["enableContinuousBackup"]
        and continuous["lifecycle"]["deleteAfter"] == instance["backupRetentionPeriod"],
        "backups_in_second_region": bool(copies) and all(v.get("region") not in (None, REGION["aws"]) for v in copies),
        "archive_retention_days": lock["rule"]["defaultRetention"]["days"],
        "cache_zone_redundant": cache["multiAzEnabled"],
    }


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_a_tier_means_the_same_on_azure_and_aws(plan_for, tier):
    azure, aws = azure_promise(_plan(plan_for, "azure", tier)), aws_promise(_plan(plan_for, "aws", tier))
    assert aws == azure
    # The catalogue's own words, so neither cloud can drift with the other.
    from odoo_platform.tiers import DEFAULT_TIER_CATALOGUE

    spec = DEFAULT_TIER_CATALOGUE[tier]
    assert aws["high_availability"] is spec.high_availability
    assert aws["backups_in_second_region"] is spec.geo_redundant_backup
    assert aws["backup_retention_days"] == spec.backup_retention_days
    assert aws["archive_retention_days"] == spec.archive_retention_days
