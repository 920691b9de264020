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
CLUSTER_POLICY = "kubernetes:kyverno.io/v1:ClusterPolicy"
PASSWORD = "random:index/randomPassword:RandomPassword"
ROTATION = "time:index/rotating:Rotating"
TAGGABLE = (
    "aws:backup/plan:Plan", "aws:backup/vault:Vault", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/subnet:Subnet",
    "aws:ec2/vpc:Vpc", "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup",
    "aws:ec2/eip:Eip", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway",
    "aws:ec2/routeTable:RouteTable", "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:efs/fileSystem:FileSystem",
    "aws:eks/addon:Addon", "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/subnetGroup:SubnetGroup", "aws:iam/role:Role",
    "aws:kms/key:Key", "aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/subnetGroup:SubnetGroup", "aws:s3/bucket:Bucket", "aws:secretsmanager/secret:Secret",
    "azure-native:containerservice:ManagedCluster", "azure-native:dataprotection:BackupInstance",
    "azure-native:dataprotection:BackupVault", "azure-native:dbforpostgresql:Server", "azure-native:keyvault:Key",
    "azure-native:keyvault:Secret", "azure-native:keyvault:Vault", "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:network:PrivateEndpoint", "azure-native:network:VirtualNetwork", "azure-native:privatedns:PrivateZone",
    "azure-native:privatedns:VirtualNetworkLink", "azure-native:redis:Redis", "azure-native:resources:ResourceGroup",
    "azure-native:storage:StorageAccount",
)
"""Every cloud type the estate creates whose API takes tags (a test keeps this in step with the SDKs)."""
ADO_ENVIRONMENT = "azuredevops:index/environment:Environment"
ADO_APPROVAL = "azuredevops:index/checkApproval:CheckApproval"
ADO_BRANCH_CONTROL = "azuredevops:index/checkBranchControl:CheckBranchControl"
ADO_AZURERM_CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
ADO_MIN_REVIEWERS = "azuredevops:index/branchPolicyMinReviewers:BranchPolicyMinReviewers"
PRODUCTION_NAME = re.compile(r"(^|[-_.])prod(uction)?($|[-_.])")
