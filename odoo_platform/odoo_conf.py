"""odoo.conf for one tenant and the image contract it relies on: pure functions, tested without Pulumi."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from odoo_platform.config import Cloud, EgressEndpoint, repository_of
from odoo_platform.sizing import OdooSizing
from odoo_platform.workload import HTTP_PORT, WEBSOCKET_PORT

DATA_DIR = "/var/lib/odoo"
# The official image's own odoo.conf (github.com/odoo/docker, 17.0/odoo.conf) sets
# `addons_path = /mnt/extra-addons`; the Secret mounted over /etc/odoo replaces that file, so it is set here.
EXTRA_ADDONS = "/mnt/extra-addons"
# Odoo's core addons (odoo/addons) are always on the path (odoo/modules/module.py initialize_sys_path).
BASE_SERVER_WIDE_MODULES = ("base", "web")
SESSION_REDIS_MODULE = "session_redis"
# wkhtmltopdf fetches a report's CSS and images from `report.url` (ir.config_parameter, read by
# odoo/addons/base/models/ir_actions_report.py), else from web.base.url, the public hostname, which the
# egress policies close: the pod's own HTTP port is always reachable and never leaves the pod.
REPORT_URL = f"http://127.0.0.1:{HTTP_PORT}"


# Ubuntu's ca-certificates in the official image: Azure Database for PostgreSQL's server certificates
# chain to DigiCert Global Root G2 / Microsoft RSA Root Certificate Authority 2017, both in it.
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
DATABASE_CA_DIR = "/etc/odoo-platform/database-ca"


@dataclass(frozen=True)
class DatabaseTls:
    """How Odoo verifies its PostgreSQL server. libpq reads the CA file from PGSSLROOTCERT (Odoo's
    odoo.conf has `db_sslmode` only), and verify-full also checks the host name against the certificate."""

    sslmode: str
    root_cert: Optional[str]
    bundle: str = ""
    """PEM to ship in the `database-ca` ConfigMap, when the estate configures one."""


def database_tls(cloud: Cloud, bundle: str) -> DatabaseTls:
    if bundle:
        return DatabaseTls("verify-full", f"{DATABASE_CA_DIR}/ca.crt", bundle)
    if cloud is Cloud.AZURE:
        return DatabaseTls("verify-full", SYSTEM_CA_BUNDLE)
    # RDS certificates chain to Amazon's own RDS CAs, which no system store carries: without
    # kubernetes.databaseCaBundle the connection stays encrypted but unverified.
    return DatabaseTls("require", None)


@dataclass(frozen=True)
class ImageContract:
    """What an Odoo image provides, so odoo.conf never names a module the image lacks.

    - The official image (docker.io/library/odoo:17.0): Odoo's addons, `/mnt/extra-addons`, wkhtmltopdf,
      python3, curl; no `session_redis` and no `python3-redis`. Sessions stay files in the data dir,
      which lives on the ReadWriteMany volume, so every replica still sees every session.
    - The platform's derived image (a repository listed in `kubernetes.sessionRedisRepositories`):
      built FROM the official image, adding `python3-redis` and OCA `session_redis` under
      `/mnt/extra-addons`; sessions live in the tenant's Redis.
    """

    repository: str
    addons_path: str
    session_redis: bool

    @property
    def server_wide_modules(self) -> str:
        modules = (*BASE_SERVER_WIDE_MODULES, *((SESSION_REDIS_MODULE,) if self.session_redis else ()))
        return ",".join(modules)


def image_contract(image: str, session_redis_repositories: Sequence[str]) -> ImageContract:
    repository = repository_of(image)
    return ImageContract(repository=repository, addons_path=EXTRA_ADDONS,
                         session_redis=repository in set(session_redis_repositories))


def render_odoo_conf(
    *,
    database: str,
    db_host: str,
    db_port: int,
    db_user: str,
    db_password: str,
    admin_password: str,
    sizing: OdooSizing,
    odoo_major_version: int,
    contract: ImageContract,
    sslmode: str,
    smtp_relay: Optional[EgressEndpoint] = None,
) -> str:
    """The web pods' configuration. Cron and the upgrade Job use the same file and override their own
    process limits on the command line.

    The tenant's database is the only one Odoo may see: `dbfilter` anchors it and `list_db`
    hides the database manager, so a hostname can never reach another tenant's data.
    """
    gevent_key = "gevent_port" if odoo_major_version >= 16 else "longpolling_port"
    options = {
        "proxy_mode": "True",
        "list_db": "False",
        "db_name": database,
        "dbfilter": f"^{re.escape(database)}$",
        "admin_passwd": admin_password,
        "db_host": db_host,
        "db_port": str(db_port),
        "db_user": db_user,
        "db_password": db_password,
        "db_sslmode": sslmode,
        "data_dir": DATA_DIR,
        "addons_path": contract.addons_path,
        gevent_key: str(WEBSOCKET_PORT),
        "server_wide_modules": contract.server_wide_modules,
        "log_handler": ":INFO",
        "logfile": "",
        **{key: str(value) for key, value in sizing.odoo_conf_limits.items()},
    }
    if odoo_major_version >= 17:
        # The websocket process's own pool (odoo/sql_db.py db_connect: `db_maxconn_gevent` when evented);
        # older versions give it `db_maxconn`, which the budget already counts at the larger size.
        options["db_maxconn_gevent"] = str(sizing.db_maxconn_gevent)
    if smtp_relay:
        options |= {"smtp_server": smtp_relay.host, "smtp_port": str(smtp_relay.port),
                    "smtp_ssl": str(smtp_relay.tls)}
    return "[options]\n" + "".join(f"{key} = {value}\n" for key, value in options.items())
