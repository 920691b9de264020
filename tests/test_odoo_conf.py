"""odoo.conf and sizing for small, medium and large tenants."""

from __future__ import annotations

import configparser

import pytest

from odoo_platform.odoo_conf import render_odoo_conf
from odoo_platform.sizing import LIMIT_MEMORY_HARD_MIB, LIMIT_MEMORY_SOFT_MIB, size_odoo


def _conf(users: int, version: int = 17) -> configparser.SectionProxy:
    sizing = size_odoo(users, replicas_min=2, replicas_max=6, field="tenants[0].users")
    text = render_odoo_conf(
        database="acme", db_host="pg.internal", db_port=5432, db_user="odoo_acme", db_password="p",
        admin_password="a", sizing=sizing, odoo_major_version=version,
    )
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser["options"]


@pytest.mark.parametrize(("users", "workers"), [(5, 1), (40, 4), (150, 5)])
def test_workers_per_pod_for_small_medium_large(users, workers):
    assert int(_conf(users)["workers"]) == workers


def test_security_settings():
    conf = _conf(25)
    assert conf["proxy_mode"] == "True"
    assert conf["list_db"] == "False"
    assert conf["dbfilter"] == "^acme$"
    assert conf["db_sslmode"] in ("require", "verify-ca", "verify-full")
    assert conf["db_user"] == "odoo_acme" and conf["db_user"] != "postgres"
    assert conf["max_cron_threads"] == "0"  # cron runs in its own Deployment
    assert int(conf["limit_memory_soft"]) == LIMIT_MEMORY_SOFT_MIB * 1024 * 1024
    assert int(conf["limit_memory_hard"]) == LIMIT_MEMORY_HARD_MIB * 1024 * 1024
    assert int(conf["limit_time_real"]) > int(conf["limit_time_cpu"])


def test_websocket_port_key_follows_the_odoo_version():
    assert _conf(10, version=17)["gevent_port"] == "8072"
    assert _conf(10, version=15)["longpolling_port"] == "8072"


def test_pod_memory_limit_covers_every_worker_hard_limit():
    for users in (5, 40, 150, 600):
        sizing = size_odoo(users, replicas_min=2, replicas_max=6, field="x")
        assert sizing.memory_limit_mib > sizing.workers_per_pod * LIMIT_MEMORY_HARD_MIB
