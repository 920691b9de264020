"""Odoo sizing from concurrent users, with Odoo's own rules of thumb.

Odoo's deployment guide: one worker serves about 6 concurrent users, a host runs at most
(2 x CPU) + 1 workers, and a worker's memory is bounded by limit_memory_soft/hard. Every
number the Deployment, odoo.conf, quotas and the connection budget use comes from here,
so they can never disagree with each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

USERS_PER_WORKER = 6
MAX_WORKERS_PER_POD = 5  # (2 x 2 vCPU) + 1: pods stay small enough to spread across zones
MAX_WEB_PODS = 24
LIMIT_MEMORY_SOFT_MIB = 640
LIMIT_MEMORY_HARD_MIB = 768
PROCESS_OVERHEAD_MIB = 512  # the gevent (websocket) process and the prefork master
LIMIT_TIME_CPU = 600
LIMIT_TIME_REAL = 1200
DB_MAXCONN_PER_PROCESS = 2  # a prefork worker serves one request: one cursor plus one spare
CRON_THREADS = 2


class SizingError(ValueError):
    """A tenant that cannot be sized within the platform's bounds."""


@dataclass(frozen=True)
class OdooSizing:
    workers_total: int
    workers_per_pod: int
    web_replicas_min: int
    web_replicas_max: int
    cpu_request_millis: int
    cpu_limit_millis: int
    memory_request_mib: int
    memory_limit_mib: int
    cron_cpu_request_millis: int
    cron_memory_limit_mib: int
    db_maxconn: int

    @property
    def connections_per_web_pod(self) -> int:
        # each prefork worker plus the gevent process has its own pool
        return (self.workers_per_pod + 1) * self.db_maxconn

    @property
    def connections_per_cron_pod(self) -> int:
        return (CRON_THREADS + 1) * self.db_maxconn

    @property
    def peak_connections(self) -> int:
        """Connections at full HPA scale, plus cron and the upgrade job that may run beside them."""
        return (
            self.web_replicas_max * self.connections_per_web_pod
            + self.connections_per_cron_pod
            + self.db_maxconn
        )

    @property
    def odoo_conf_limits(self) -> dict[str, int]:
        return {
            "workers": self.workers_per_pod,
            "max_cron_threads": 0,
            "db_maxconn": self.db_maxconn,
            "limit_memory_soft": LIMIT_MEMORY_SOFT_MIB * 1024 * 1024,
            "limit_memory_hard": LIMIT_MEMORY_HARD_MIB * 1024 * 1024,
            "limit_time_cpu": LIMIT_TIME_CPU,
            "limit_time_real": LIMIT_TIME_REAL,
        }


def size_odoo(users: int, replicas_min: int, replicas_max: int, field: str) -> OdooSizing:
    """Size one tenant; `field` names the config path in the error when it cannot be sized."""
    workers_total = max(2, math.ceil(users / USERS_PER_WORKER))
    pods_needed = math.ceil(workers_total / MAX_WORKERS_PER_POD)
    if pods_needed > MAX_WEB_PODS:
        raise SizingError(
            f"{field}: {users} concurrent users need {pods_needed} web pods, more than the {MAX_WEB_PODS} "
            f"one tenant may run (split the tenant or lower users to at most "
            f"{MAX_WEB_PODS * MAX_WORKERS_PER_POD * USERS_PER_WORKER})"
        )
    pods_min = max(replicas_min, pods_needed)
    pods_max = max(replicas_max, pods_min)
    workers_per_pod = math.ceil(workers_total / pods_min)
    cpu_cores = max(1, math.ceil((workers_per_pod - 1) / 2))
    memory_limit = workers_per_pod * LIMIT_MEMORY_HARD_MIB + PROCESS_OVERHEAD_MIB
    return OdooSizing(
        workers_total=workers_total,
        workers_per_pod=workers_per_pod,
        web_replicas_min=pods_min,
        web_replicas_max=pods_max,
        cpu_request_millis=cpu_cores * 500,
        cpu_limit_millis=cpu_cores * 1000,
        memory_request_mib=workers_per_pod * 320 + 256,
        memory_limit_mib=memory_limit,
        cron_cpu_request_millis=250,
        cron_memory_limit_mib=(CRON_THREADS + 1) * LIMIT_MEMORY_HARD_MIB,
        db_maxconn=DB_MAXCONN_PER_PROCESS,
    )


def server_vcores(total_users: int) -> int:
    """vCores for a PostgreSQL server carrying `total_users` concurrent Odoo users."""
    for cores in (2, 4, 8, 16, 32, 48, 64):
        if total_users <= cores * 40:
            return cores
    return 64
