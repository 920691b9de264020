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
# Checkov CKV_K8S_40 asks for a uid of 10000 or more: Odoo's pods run as the official image's user,
# which owns the filestore on the shared volume (suppressed on those objects, listed in the README).
ODOO_UID_REASON = "runs as the official Odoo image's user, uid 101, which owns the filestore"

DATABASE_CLIENT_LABEL = "odoo-platform.io/database-client"
REDIS_CLIENT_LABEL = "odoo-platform.io/redis-client"
OBJECT_STORAGE_CLIENT_LABEL = "odoo-platform.io/object-storage-client"
SCALER_LABEL = "odoo-platform.io/scaler"
EXTERNAL_CLIENT_LABEL = "odoo-platform.io/external-client"  # mail relay, mail servers, HTTPS services
OPERATIONS_NAMESPACE = "platform-operations"  # outside the odoo-<tenant> naming space
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")

FILESTORE_GI = 50

REDIS_CPU_MILLIS = 100
REDIS_MEMORY_MIB = 256
CRON_CPU_LIMIT_MILLIS = 1000
# `--update=all` loads every module's code and data of a real ledger in one process: Odoo's default hard
# limit (2.5 GiB of virtual memory) is too tight for it, so the Job lifts the VMS limit and the container
# limit bounds its resident memory instead.
UPGRADE_JOB_CPU_MILLIS = 1000
UPGRADE_JOB_MEMORY_MIB = 4096
SCALER_CPU_MILLIS = 50
SCALER_MEMORY_MIB = 64
SCALER_CONTAINERS = 2  # one `kubectl scale` container per Deployment (web, cron)
# Every operations container (dump, upload, drill, and the filestore archive in tenant namespaces).
OPERATIONS_CPU_MILLIS = 1000
OPERATIONS_MEMORY_MIB = 2048


@dataclass(frozen=True)
class Limits:
    cpu_millis: int
    memory_mib: int


@dataclass(frozen=True)
class Quota:
    hard: dict[str, str]
    max_container_cpu: str
    max_container_memory: str


def container_limits(sizing: OdooSizing) -> dict[str, Limits]:
    """The limits of every kind of container a tenant namespace runs (the LimitRange's `max` covers all)."""
    return {
        "web": Limits(sizing.cpu_limit_millis, sizing.memory_limit_mib),
        "cron": Limits(CRON_CPU_LIMIT_MILLIS, sizing.cron_memory_limit_mib),
        "upgrade": Limits(UPGRADE_JOB_CPU_MILLIS, UPGRADE_JOB_MEMORY_MIB),
        "redis": Limits(REDIS_CPU_MILLIS * 2, REDIS_MEMORY_MIB),
        "scaler": Limits(SCALER_CPU_MILLIS * 2, SCALER_MEMORY_MIB),  # kubectl scale, cron_scaler.py
        # The filestore archive CronJob: its containers run one after another (init containers), so
        # one container's limits bound the pod.
        "archive": Limits(OPERATIONS_CPU_MILLIS, OPERATIONS_MEMORY_MIB),
    }


def concurrent_pods(sizing: OdooSizing) -> list[tuple[int, Limits]]:
    """(count, pod limits) of everything a tenant namespace may run at once, counted as if it all ran
    together: the web pods at full autoscaling plus the rolling update's surge pod, cron (Recreate: never
    two), Redis (Recreate), the upgrade Job (its cron-stopping step is an init container, so the
    migration container bounds the pod), the Job that starts cron again, the two night-scaler pods and
    the filestore archive (it may run during an upgrade)."""
    limits = container_limits(sizing)
    scaler_container = limits["scaler"]
    scaler = Limits(scaler_container.cpu_millis * SCALER_CONTAINERS, scaler_container.memory_mib * SCALER_CONTAINERS)
    return [(sizing.surge_web_pods, limits["web"]), (1, limits["cron"]), (1, limits["redis"]),
            (1, limits["upgrade"]), (1, scaler_container), (2, scaler), (1, limits["archive"])]


def quota_for(sizing: OdooSizing) -> Quota:
    """Room for everything `concurrent_pods` lists; nothing more, so one tenant cannot starve the others."""
    pods = concurrent_pods(sizing)
    limits_cpu = sum(count * limits.cpu_millis for count, limits in pods)
    limits_memory = sum(count * limits.memory_mib for count, limits in pods)
    largest = container_limits(sizing).values()
    return Quota(
        hard={
            "requests.cpu": f"{limits_cpu}m",
            "limits.cpu": f"{limits_cpu}m",
            "requests.memory": f"{limits_memory}Mi",
            "limits.memory": f"{limits_memory}Mi",
            # A failed Job pod may linger while its retry runs.
            "pods": str(sum(count for count, _ in pods) + 2),
            "persistentvolumeclaims": "2",
            "requests.storage": f"{FILESTORE_GI * 2}Gi",
            "services.loadbalancers": "0",
            "services.nodeports": "0",
        },
        max_container_cpu=f"{max(limits.cpu_millis for limits in largest)}m",
        max_container_memory=f"{max(limits.memory_mib for limits in largest)}Mi",
    )
