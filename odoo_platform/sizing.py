"""Odoo sizing from concurrent users, with Odoo's own rules and the pools its processes really hold.

Odoo's deployment guide: one worker serves about 6 concurrent users, a host runs at most
(2 x CPU) + 1 workers. Every number the Deployments, odoo.conf, quotas and the connection
budget use comes from here, so they can never disagree with each other.

Each Odoo process has its own connection pool, capped by `db_maxconn` (`db_maxconn_gevent`
for the websocket process); `ConnectionPool.borrow` (odoo/sql_db.py) raises "The Connection
Pool Is Full" instead of waiting, so a pool smaller than what a process holds at once breaks it,
and the sum of all caps is what the PostgreSQL server must accept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

USERS_PER_WORKER = 6
MAX_WORKERS_PER_POD = 5  # (2 x 2 vCPU) + 1: pods stay small enough to spread across zones
# wkhtmltopdf, started by a worker that renders a PDF, fetches the report's assets from `report.url`,
# which is this pod's own HTTP port (odoo/addons/base/models/ir_actions_report.py): another worker
# of the same pod must be free to answer it, or the report waits for itself until limit_time_real.
MIN_WORKERS_PER_POD = 2
MAX_WEB_PODS = 24

MIB = 1024 * 1024
# Odoo 17's defaults (odoo/tools/config.py). Both apply to *virtual* memory: `memory_info` returns
# `vms` on Linux (odoo/service/server.py), and the hard limit is set as RLIMIT_AS, which the
# wkhtmltopdf child inherits. Lower values break PDF rendering long before a worker is large.
LIMIT_MEMORY_SOFT_MIB = 2048
LIMIT_MEMORY_HARD_MIB = 2560
# Resident memory, which is what the container limit (cgroup) counts: Odoo's deployment guide
# estimates 80 % light workers at ~150 MB and 20 % heavy ones at ~1 GB, i.e. ~325 MB on average.
WORKER_RSS_MIB = 325
HEAVY_WORKER_RSS_MIB = 1024
PROCESS_OVERHEAD_MIB = 512  # the gevent (websocket) process and the prefork master
LIMIT_TIME_CPU = 600
LIMIT_TIME_REAL = 1200

# Web (prefork) worker: one request at a time holds the request cursor, and Registry.check_signaling /
# a nested `registry.cursor()` (mail, logging) a second one.
DB_MAXCONN_WORKER = 2
# Websocket (gevent) process: the bus dispatcher holds one LISTEN connection for life
# (addons/bus/models/bus.py ImDispatch.loop) and every websocket event handled at the same time takes a
# cursor (addons/bus/websocket.py acquire_cursor); as many at once as the pod has workers.
GEVENT_LISTEN_CONNECTIONS = 1

# Cron process (`--workers=0`, threaded server): each thread holds a `LISTEN cron_trigger` connection
# to the `postgres` database for life (server.py ThreadedServer.cron_thread); a job then uses `cron_cr`
# (ir_cron._process_jobs), `job_cr` (ir_cron._process_job) and, in `_callback`, Registry.check_signaling's
# cursor: four per thread at once.
CRON_THREADS = 2
CRON_CONNECTIONS_PER_THREAD = 4
# The cron pod serves its own HTTP port to wkhtmltopdf (reports rendered by scheduled actions, e.g. the
# mail queue's invoices); each asset request thread takes a cursor.
CRON_REPORT_REQUESTS = 2
CRON_DB_MAXCONN = CRON_THREADS * CRON_CONNECTIONS_PER_THREAD + CRON_REPORT_REQUESTS
# Cron memory: one job (or its wkhtmltopdf) at Odoo's hard limit, the other threads heavy, plus the
# interpreter. The whole threaded process is one address space, so its VMS limits scale with threads.
CRON_MEMORY_LIMIT_MIB = LIMIT_MEMORY_HARD_MIB + (CRON_THREADS - 1) * HEAVY_WORKER_RSS_MIB + 256
CRON_LIMIT_MEMORY_SOFT_MIB = CRON_THREADS * LIMIT_MEMORY_SOFT_MIB
CRON_LIMIT_MEMORY_HARD_MIB = CRON_THREADS * LIMIT_MEMORY_HARD_MIB

# Upgrade Job (`--update=all --stop-after-init`, threaded, no HTTP, no cron): module loading holds one
# cursor; post-init hooks and registry signalling open others.
UPGRADE_DB_MAXCONN = 4


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

    @property
    def db_maxconn(self) -> int:
        """Pool of each prefork web worker (odoo.conf `db_maxconn`)."""
        return DB_MAXCONN_WORKER

    @property
    def db_maxconn_gevent(self) -> int:
        """Pool of the websocket process (odoo.conf `db_maxconn_gevent`, Odoo >= 17)."""
        return GEVENT_LISTEN_CONNECTIONS + self.workers_per_pod

    @property
    def connections_per_web_pod(self) -> int:
        # The prefork master empties its pool before forking (PreforkServer.run: sql_db.close_all()).
        return self.workers_per_pod * self.db_maxconn + self.db_maxconn_gevent

    @property
    def connections_per_cron_pod(self) -> int:
        return CRON_DB_MAXCONN

    @property
    def surge_web_pods(self) -> int:
        """Web pods at full HPA scale during a rolling update (maxSurge 1)."""
        return self.web_replicas_max + 1

    @property
    def peak_connections(self) -> int:
        """The tenant's connections at full scale: every web pod including the rollout's surge pod, the cron
        pod (Recreate: never two) and the upgrade Job, which runs while the old pods still serve."""
        return self.surge_web_pods * self.connections_per_web_pod + self.connections_per_cron_pod + UPGRADE_DB_MAXCONN

    @property
    def odoo_conf_limits(self) -> dict[str, int]:
        """The web pods' limits; cron and the upgrade Job override theirs on the command line."""
        return {
            "workers": self.workers_per_pod,
            "max_cron_threads": 0,
            "db_maxconn": self.db_maxconn,
            "limit_memory_soft": LIMIT_MEMORY_SOFT_MIB * MIB,
            "limit_memory_hard": LIMIT_MEMORY_HARD_MIB * MIB,
            "limit_time_cpu": LIMIT_TIME_CPU,
            "limit_time_real": LIMIT_TIME_REAL,
        }


def size_odoo(users: int, replicas_min: int, replicas_max: int, field: str) -> OdooSizing:
    """Size one tenant; `field` names the config path in the error when it cannot be sized."""
    workers_total = max(MIN_WORKERS_PER_POD, math.ceil(users / USERS_PER_WORKER))
    pods_needed = math.ceil(workers_total / MAX_WORKERS_PER_POD)
    if pods_needed > MAX_WEB_PODS:
        raise SizingError(
            f"{field}: {users} concurrent users need {pods_needed} web pods, more than the {MAX_WEB_PODS} "
            f"one tenant may run (split the tenant or lower users to at most "
            f"{MAX_WEB_PODS * MAX_WORKERS_PER_POD * USERS_PER_WORKER})"
        )
    pods_min = max(replicas_min, pods_needed)
    pods_max = max(replicas_max, pods_min)
    workers_per_pod = max(MIN_WORKERS_PER_POD, math.ceil(workers_total / pods_min))
    cpu_cores = max(1, math.ceil((workers_per_pod - 1) / 2))
    return OdooSizing(
        workers_total=workers_total,
        workers_per_pod=workers_per_pod,
        web_replicas_min=pods_min,
        web_replicas_max=pods_max,
        cpu_request_millis=cpu_cores * 500,
        cpu_limit_millis=cpu_cores * 1000,
        memory_request_mib=workers_per_pod * WORKER_RSS_MIB + PROCESS_OVERHEAD_MIB // 2,
        memory_limit_mib=web_memory_limit_mib(workers_per_pod),
        cron_cpu_request_millis=250,
        cron_memory_limit_mib=CRON_MEMORY_LIMIT_MIB,
    )


def web_memory_limit_mib(workers_per_pod: int) -> int:
    """Container limit of a web pod: one worker (or the wkhtmltopdf it started) resident up to Odoo's hard
    limit, the others at the average resident size, plus the gevent process and the master."""
    return LIMIT_MEMORY_HARD_MIB + (workers_per_pod - 1) * WORKER_RSS_MIB + PROCESS_OVERHEAD_MIB


def server_vcores(total_users: int) -> int:
    """vCores for a PostgreSQL server carrying `total_users` concurrent Odoo users."""
    for cores in (2, 4, 8, 16, 32, 48, 64):
        if total_users <= cores * 40:
            return cores
    return 64
