"""Cloud adapters behind one interface; the SDK of a cloud is imported only when it is used."""

from __future__ import annotations

from odoo_platform.clouds.base import (
    BackupStore,
    CacheEndpoint,
    CloudAdapter,
    ClusterAccess,
    Foundation,
    KeyRing,
    PostgresServer,
)
from odoo_platform.config import Cloud


def adapter_for(cloud: Cloud) -> CloudAdapter:
    if cloud is Cloud.AZURE:
        from odoo_platform.clouds.azure import AzureAdapter

        return AzureAdapter()
    from odoo_platform.clouds.aws import AwsAdapter

    return AwsAdapter()


__all__ = ["BackupStore", "CacheEndpoint", "CloudAdapter", "ClusterAccess", "Foundation", "KeyRing", "PostgresServer", "adapter_for"]
