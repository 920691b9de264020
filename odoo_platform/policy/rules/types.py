"""Resource type tokens and naming conventions the rules share."""

from __future__ import annotations

import re

AZURE_PG = "azure-native:dbforpostgresql:Server"
RDS = "aws:rds/instance:Instance"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute"
TLS_OPTION = "kubernetes:traefik.io/v1alpha1:TLSOption"
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY", re.IGNORECASE)
STATEFUL = (AZURE_PG, RDS, "azure-native:dataprotection:BackupVault", "aws:backup/vault:Vault",
            "kubernetes:core/v1:PersistentVolumeClaim")


def tenant_namespace(name: str) -> bool:
    return name.startswith("odoo-")

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
AZURE_REDIS = "azure-native:redis:Redis"
AZURE_BACKUP_VAULT = "azure-native:dataprotection:BackupVault"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
KMS_KEY = "aws:kms/key:Key"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
AWS_BACKUP_VAULT = "aws:backup/vault:Vault"
AWS_VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
AZURE_KEY = "azure-native:keyvault:Key"
