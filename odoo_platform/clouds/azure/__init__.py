"""The Azure adapter: each capability in its own module, assembled behind CloudAdapter."""

from __future__ import annotations

from odoo_platform.clouds.azure.backup import create_backup_vault
from odoo_platform.clouds.azure.cluster import create_cluster
from odoo_platform.clouds.azure.keys import create_key_ring, store_secret
from odoo_platform.clouds.azure.network import ARCHIVE_CIDRS, CLUSTER_CIDRS, DATABASE_CIDRS, create_foundation
from odoo_platform.clouds.azure.postgres import create_postgres_server, create_tenant_database
from odoo_platform.clouds.azure.redis import TLS_PORT, create_redis_cache


class AzureAdapter:
    cloud = "azure"
    database_cidrs = DATABASE_CIDRS
    archive_cidrs = ARCHIVE_CIDRS
    cluster_cidrs = CLUSTER_CIDRS
    postgres_port = 5432
    redis_port = TLS_PORT
    rwx_storage_class = "azurefile-csi-premium"

    create_foundation = staticmethod(create_foundation)
    create_key_ring = staticmethod(create_key_ring)
    store_secret = staticmethod(store_secret)
    create_postgres_server = staticmethod(create_postgres_server)
    create_tenant_database = staticmethod(create_tenant_database)
    create_backup_vault = staticmethod(create_backup_vault)
    create_redis_cache = staticmethod(create_redis_cache)
    create_cluster = staticmethod(create_cluster)
