"""The estate's building blocks, one `pulumi.ComponentResource` per module."""

from odoo_platform.components.backup_vault import BackupVault, BackupVaultArgs
from odoo_platform.components.cloud_foundation import CloudFoundation, CloudFoundationArgs
from odoo_platform.components.managed_postgres import ManagedPostgres, ManagedPostgresArgs
from odoo_platform.components.odoo_cluster import OdooCluster, OdooClusterArgs
from odoo_platform.components.tenant_namespace import TenantNamespace, TenantNamespaceArgs

__all__ = [
    "BackupVault",
    "BackupVaultArgs",
    "CloudFoundation",
    "CloudFoundationArgs",
    "ManagedPostgres",
    "ManagedPostgresArgs",
    "OdooCluster",
    "OdooClusterArgs",
    "TenantNamespace",
    "TenantNamespaceArgs",
]
