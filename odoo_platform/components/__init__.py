"""The estate's building blocks, one `pulumi.ComponentResource` per module."""

from odoo_platform.components.backup_vault import BackupVault, BackupVaultArgs
from odoo_platform.components.cloud_foundation import CloudFoundation, CloudFoundationArgs
from odoo_platform.components.managed_postgres import ManagedPostgres, ManagedPostgresArgs
from odoo_platform.components.observability import Observability, ObservabilityArgs
from odoo_platform.components.odoo_cluster import OdooCluster, OdooClusterArgs
from odoo_platform.components.redis_cache import RedisCache, RedisCacheArgs
from odoo_platform.components.tenant_ingress import TenantIngress, TenantIngressArgs
from odoo_platform.components.tenant_namespace import TenantNamespace, TenantNamespaceArgs
from odoo_platform.components.traefik_ingress import TraefikIngress, TraefikIngressArgs

__all__ = [
    "BackupVault",
    "BackupVaultArgs",
    "CloudFoundation",
    "CloudFoundationArgs",
    "ManagedPostgres",
    "ManagedPostgresArgs",
    "Observability",
    "ObservabilityArgs",
    "OdooCluster",
    "OdooClusterArgs",
    "RedisCache",
    "RedisCacheArgs",
    "TenantIngress",
    "TenantIngressArgs",
    "TenantNamespace",
    "TenantNamespaceArgs",
    "TraefikIngress",
    "TraefikIngressArgs",
]
