"""The AWS adapter: each capability in its own module, assembled behind CloudAdapter."""

from __future__ import annotations

from odoo_platform.clouds.aws.backup import create_backup_vault
from odoo_platform.clouds.aws.cluster import create_cluster
from odoo_platform.clouds.aws.keys import create_key_ring, store_secret
from odoo_platform.clouds.aws.network import CLUSTER_CIDRS, DATABASE_CIDRS, create_foundation
from odoo_platform.clouds.aws.postgres import create_postgres_server, create_tenant_database
from odoo_platform.clouds.aws.redis import PORT, create_redis_cache


class AwsAdapter:
    cloud = "aws"
    database_cidrs = DATABASE_CIDRS
    archive_cidrs: tuple[str, ...] = ()  # S3 is reached on its public endpoints
    cluster_cidrs = CLUSTER_CIDRS
    postgres_port = 5432
    redis_port = PORT
    rwx_storage_class = "efs-sc"

    create_foundation = staticmethod(create_foundation)
    create_key_ring = staticmethod(create_key_ring)
    store_secret = staticmethod(store_secret)
    create_postgres_server = staticmethod(create_postgres_server)
    create_tenant_database = staticmethod(create_tenant_database)
    create_backup_vault = staticmethod(create_backup_vault)
    create_redis_cache = staticmethod(create_redis_cache)
    create_cluster = staticmethod(create_cluster)
