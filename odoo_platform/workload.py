"""Ports, labels and quotas every tenant workload shares: one place, so policies agree."""

from __future__ import annotations

from dataclasses import dataclass

from odoo_platform.sizing import OdooSizing

HTTP_PORT = 8069
WEBSOCKET_PORT = 8072
REDIS_PORT = 6379
REDIS_TLS_PORT = 6380
POSTGRES_PORT = 5432
PUSHGATEWAY_PORT = 9091
ODOO_UID = 101  # the `odoo` user of the official image

DATABASE_CLIENT_LABEL = "odoo-platform.io/database-client"
REDIS_CLIENT_LABEL = "odoo-platform.io/redis-client"
OBJECT_STORAGE_CLIENT_LABEL = "odoo-platform.io/object-storage-client"
SCALER_LABEL = "odoo-platform.io/scaler"
OPERATIONS_NAMESPACE = "platform-operations"  # outside the odoo-<tenant> naming space
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")

FILESTORE_GI = 50

REDIS_CPU_MILLIS = 100
REDIS_MEMORY_MIB = 256
UPGRADE_JOB_CPU_MILLIS = 1000
UPGRADE_JOB_MEMORY_MIB = 2048
SCALER_CPU_MILLIS = 50
SCALER_MEMORY_MIB = 64


@dataclass(frozen=True)
class Quota:
    hard: dict[str, str]
    max_container_cpu: str
    max_container_memory: str


def quota_for(sizing: OdooSizing) -> Quota:
    """Room for the web pods at full autoscaling, one surge pod, cron, Redis, the upgrade job
    and the scaler; nothing more, so one tenant cannot starve the others."""
    web_pods = sizing.web_replicas_max + 1
    limits_cpu = (
        web_pods * sizing.cpu_limit_millis + 1000 + REDIS_CPU_MILLIS * 2 + UPGRADE_JOB_CPU_MILLIS + SCALER_CPU_MILLIS * 2
    )
    limits_memory = (
        web_pods * sizing.memory_limit_mib
        + sizing.cron_memory_limit_mib
        + REDIS_MEMORY_MIB
        + UPGRADE_JOB_MEMORY_MIB
        + SCALER_MEMORY_MIB
    )
    return Quota(
        hard={
            "requests.cpu": f"{limits_cpu}m",
            "limits.cpu": f"{limits_cpu}m",
            "requests.memory": f"{limits_memory}Mi",
            "limits.memory": f"{limits_memory}Mi",
            "pods": str(web_pods + 6),
            "persistentvolumeclaims": "2",
            "requests.storage": f"{FILESTORE_GI * 2}Gi",
            "services.loadbalancers": "0",
            "services.nodeports": "0",
        },
        max_container_cpu=f"{max(sizing.cpu_limit_millis, UPGRADE_JOB_CPU_MILLIS)}m",
        max_container_memory=f"{max(sizing.memory_limit_mib, UPGRADE_JOB_MEMORY_MIB)}Mi",
    )
