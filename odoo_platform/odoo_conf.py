"""odoo.conf for one tenant: a pure function, so its content is tested without Pulumi."""

from __future__ import annotations

import re

from odoo_platform.sizing import OdooSizing

WEBSOCKET_PORT = 8072
DATA_DIR = "/var/lib/odoo"


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
) -> str:
    """The web pods' configuration. Cron pods use the same file with cron flags on the command line.

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
        "db_sslmode": "require",
        "data_dir": DATA_DIR,
        gevent_key: str(WEBSOCKET_PORT),
        "server_wide_modules": "base,web,session_redis",
        "log_handler": ":INFO",
        "logfile": "",
        **{key: str(value) for key, value in sizing.odoo_conf_limits.items()},
    }
    return "[options]\n" + "".join(f"{key} = {value}\n" for key, value in options.items())
