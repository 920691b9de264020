"""The estate's building blocks, one `pulumi.ComponentResource` per module."""

from odoo_platform.components.backup_vault import BackupVault, BackupVaultArgs
from odoo_platform.components.cloud_foundation import CloudFoundation, CloudFoundationArgs
from odoo_platform.components.database_operations import (
    DatabaseOperations,
    DatabaseOperationsArgs,
    FilestoreArchive,
    FilestoreArchiveArgs,
    ServerOperations,
)
from odoo_platform.components.encryption_keys import EncryptionKeys, EncryptionKeysArgs
from odoo_platform.components.image_admission import ImageAdmission, ImageAdmissionArgs
from odoo_platform.components.kubernetes_cluster import KubernetesCluster, KubernetesClusterArgs
from odoo_platform.components.managed_postgres import ManagedPostgres, ManagedPostgresArgs
from odoo_platform.components.managed_redis import ManagedRedis, ManagedRedisArgs
from odoo_platform.components.observability import Observability, ObservabilityArgs
from odoo_platform.components.odoo_cluster import OdooCluster, OdooClusterArgs
from odoo_platform.components.redis_cache import ManagedCache, RedisCache, RedisCacheArgs
from odoo_platform.components.tenant_ingress import TenantIngress, TenantIngressArgs
from odoo_platform.components.tenant_namespace import TenantNamespace, TenantNamespaceArgs
from odoo_platform.components.traefik_ingress import TraefikIngress, TraefikIngressArgs

__all__ = [
    "BackupVault",
    "BackupVaultArgs",
    "CloudFoundation",
    "CloudFoundationArgs",
    "DatabaseOperations",
    "DatabaseOperationsArgs",
    "FilestoreArchive",
    "FilestoreArchiveArgs",
    "EncryptionKeys",
    "EncryptionKeysArgs",
    "ImageAdmission",
    "ImageAdmissionArgs",
    "KubernetesCluster",
    "KubernetesClusterArgs",
    "ManagedCache",
    "ManagedPostgres",
    "ManagedPostgresArgs",
    "ManagedRedis",
    "ManagedRedisArgs",
    "Observability",
    "ObservabilityArgs",
    "OdooCluster",
    "OdooClusterArgs",
    "RedisCache",
    "RedisCacheArgs",
    "ServerOperations",
    "TenantIngress",
    "TenantIngressArgs",
    "TenantNamespace",
    "TenantNamespaceArgs",
    "TraefikIngress",
    "TraefikIngressArgs",
]
