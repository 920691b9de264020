"""AWS backups: a KMS-encrypted, locked AWS Backup vault with a plan per tier (schedule within
the RPO, continuous backup for PITR, copies to a vault in another region wherever the tier
promises geo-redundant backups, as Azure's geo-redundant backup does), and an Object Lock S3
bucket for logical dumps and filestore archives."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from odoo_platform.clouds.aws.names import short_name
from odoo_platform.clouds.base import BackupStore, Foundation, KeyRing, PostgresServer
from odoo_platform.config import Environment, Estate
from odoo_platform.labels import placement_tags
from odoo_platform.sharding import estate_stack
from odoo_platform.tiers import TierSpec

DR_REGIONS = {
    "eu-central-1": "eu-west-1", "eu-west-1": "eu-central-1", "eu-west-2": "eu-west-1", "eu-north-1": "eu-central-1",
    "us-east-1": "us-west-2", "us-east-2": "us-west-2", "us-west-2": "us-east-1",
}
BACKUP_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
RESTORE_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
NAME_LIMIT = 50
DR_SUFFIX = "-dr"


def backup_schedule(tier: TierSpec) -> str:
    """An AWS cron expression whose interval never exceeds the tier's backup interval."""
    hours = max(1, tier.backup_interval_minutes // 60)
    if hours >= 24:
        return "cron(0 1 * * ? *)"
    return "cron(0 * * * ? *)" if hours == 1 else f"cron(0 */{hours} * * ? *)"


def dr_region(region: str) -> str:
    return DR_REGIONS.get(region, "eu-west-1" if region.startswith("eu-") else "us-west-2")


def create_backup_vault(
    name: str, owner: pulumi.Resource, estate: Estate, placement: str, tier: TierSpec, foundation: Foundation,
    key_ring: KeyRing, server: PostgresServer, stateful: pulumi.ResourceOptions,
) -> BackupStore:
    child = pulumi.ResourceOptions(parent=owner)
    production = estate.environment is Environment.PROD
    tags = placement_tags(estate, placement)
    # Vault and plan names: 2-50 characters ([a-zA-Z0-9-_]); the DR vault's suffix must fit too.
    # https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html
    vault_name = short_name("odoo", estate_stack(), placement, limit=NAME_LIMIT - len(DR_SUFFIX))
    vault = aws.backup.Vault(
        f"{name}-vault", name=vault_name, kms_key_arn=key_ring.key_id, force_destroy=False, tags=tags, opts=stateful
    )
    aws.backup.VaultLockConfiguration(
        f"{name}-vault-lock",
        backup_vault_name=vault.name,
        min_retention_days=tier.backup_retention_days,
        max_retention_days=max(tier.archive_retention_days, tier.backup_retention_days),
        # Compliance mode once the grace period ends: nobody, root included, can shorten retention.
        changeable_for_days=3 if production else None,
        opts=stateful,
    )
    copy_actions = []
    # The tier's geo-redundancy, as on Azure: production keeps recoverable copies in a second region.
    if tier.geo_redundant_backup and production:
        # pulumi-aws 7 places a resource in another region by its own `region` input, no second provider needed.
        # KMS keys are regional: copies are encrypted with a key of the DR region, which the copy action requires.
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/cross-region-backup.html
        region = dr_region(estate.region)
        in_dr = pulumi.ResourceOptions(parent=owner, protect=True, retain_on_delete=True)
        dr_key = aws.kms.Key(
            f"{name}-dr-cmk", region=region, description=f"odoo-platform {placement} backup copies",
            enable_key_rotation=True, rotation_period_in_days=90, deletion_window_in_days=30, tags=tags, opts=in_dr,
        )
        dr_vault = aws.backup.Vault(
            f"{name}-dr-vault", region=region, name=f"{vault_name}{DR_SUFFIX}", kms_key_arn=dr_key.arn,
            force_destroy=False, tags=tags, opts=in_dr,
        )
        aws.backup.VaultLockConfiguration(
            f"{name}-dr-vault-lock", region=region, backup_vault_name=dr_vault.name,
            min_retention_days=tier.backup_retention_days, max_retention_days=tier.archive_retention_days,
            changeable_for_days=3, opts=in_dr,
        )
        copy_actions = [
            aws.backup.PlanRuleCopyActionArgs(
                destination_vault_arn=dr_vault.arn,
                lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=tier.archive_retention_days),
            )
        ]
    plan = aws.backup.Plan(
        f"{name}-plan",
        name=short_name(vault_name, tier.label, limit=NAME_LIMIT),
        rules=[
            aws.backup.PlanRuleArgs(
                rule_name="continuous-pitr",
                target_vault_name=vault.name,
                enable_continuous_backup=True,
                schedule=backup_schedule(tier),
                lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=tier.backup_retention_days),
            ),
            aws.backup.PlanRuleArgs(
                rule_name="daily-archive",
                target_vault_name=vault.name,
                schedule="cron(0 2 * * ? *)",
                lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=tier.archive_retention_days),
                copy_actions=copy_actions,
            ),
        ],
        tags=tags,
        opts=child,
    )
    role = aws.iam.Role(
        f"{name}-backup-role",
        # IAM role names are global to the account, at most 64 characters:
        # https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
        name=short_name("odoo", estate_stack(), placement, "backup", limit=64),
        assume_role_policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "backup.amazonaws.com"}}],
        }),
        tags=tags,
        opts=child,
    )
    # Attachments, not `managed_policy_arns` (deprecated in pulumi-aws 7).
    for index, policy in enumerate((BACKUP_SERVICE_POLICY, RESTORE_SERVICE_POLICY)):
        aws.iam.RolePolicyAttachment(f"{name}-backup-role-policy-{index}", role=role.name, policy_arn=policy, opts=child)
    aws.backup.Selection(
        f"{name}-selection", name=short_name(placement, "postgres", limit=NAME_LIMIT), plan_id=plan.id, iam_role_arn=role.arn,
        resources=[server.resource_id], opts=child,
    )
    bucket = _archive_bucket(name, estate, placement, tier, key_ring, tags, stateful, child)
    return BackupStore(vault_id=vault.arn, archive_url=bucket.bucket.apply(lambda b: f"s3://{b}"))


def _archive_bucket(
    name: str, estate: Estate, placement: str, tier: TierSpec, key_ring: KeyRing, tags: dict[str, str],
    stateful: pulumi.ResourceOptions, child: pulumi.ResourceOptions,
) -> aws.s3.Bucket:
    production = estate.environment is Environment.PROD
    bucket = aws.s3.Bucket(f"{name}-archive", object_lock_enabled=True, force_destroy=False, tags=tags, opts=stateful)
    aws.s3.BucketVersioning(
        f"{name}-archive-versioning", bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-archive-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key_ring.key_id
                ),
                bucket_key_enabled=True,
            )
        ],
        opts=child,
    )
    aws.s3.BucketPublicAccessBlock(
        f"{name}-archive-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=child,
    )
    aws.s3.BucketPolicy(
        f"{name}-archive-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(lambda arn: json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                {"Sid": "DenyOldTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [arn, f"{arn}/*"], "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
            ],
        })),
        opts=child,
    )
    aws.s3.BucketObjectLockConfiguration(
        f"{name}-archive-object-lock",
        bucket=bucket.id,
        object_lock_enabled="Enabled",
        rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
            default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                mode="COMPLIANCE" if production else "GOVERNANCE", days=tier.archive_retention_days
            )
        ),
        opts=child,
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-archive-lifecycle",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="cool-then-archive",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                transitions=[
                    aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(storage_class="GLACIER_IR", days=30),
                    aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(storage_class="DEEP_ARCHIVE", days=180),
                ],
            )
        ],
        opts=child,
    )
    return bucket
