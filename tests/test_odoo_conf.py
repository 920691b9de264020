"""odoo.conf, the image contract and sizing for small, medium and large tenants."""

from __future__ import annotations

import configparser
from urllib.parse import unquote, urlsplit

import pytest

from odoo_platform.components.redis_cache import redis_url, url_password
from odoo_platform.config import Cloud, EgressEndpoint
from odoo_platform.odoo_conf import (
    EXTRA_ADDONS,
    SYSTEM_CA_BUNDLE,
    DatabaseTls,
    database_tls,
    image_contract,
    render_odoo_conf,
)
from odoo_platform.sizing import (
    CRON_DB_MAXCONN,
    LIMIT_MEMORY_HARD_MIB,
    LIMIT_MEMORY_SOFT_MIB,
    MIN_WORKERS_PER_POD,
    UPGRADE_DB_MAXCONN,
    size_odoo,
)

OFFICIAL = "docker.io/library/odoo:17.0"
DERIVED = "registry.example.com/odoo/odoo@sha256:" + "ab" * 32
DERIVED_REPOSITORIES = ("registry.example.com/odoo/odoo",)


def _conf(users: int, version: int = 17, image: str = OFFICIAL, smtp: EgressEndpoint | None = None,
          replicas_max: int = 6) -> configparser.SectionProxy:
    sizing = size_odoo(users, replicas_min=2, replicas_max=replicas_max, field="tenants[0].users")
    text = render_odoo_conf(
        database="acme", db_host="pg.internal", db_port=5432, db_user="odoo_acme", db_password="p",
        admin_password="a", sizing=sizing, odoo_major_version=version,
        contract=image_contract(image, DERIVED_REPOSITORIES), sslmode="verify-full", smtp_relay=smtp,
    )
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser["options"]


@pytest.mark.parametrize(("users", "workers"), [(5, 2), (40, 4), (150, 5)])
def test_workers_per_pod_for_small_medium_large(users, workers):
    assert int(_conf(users)["workers"]) == workers


def test_a_web_pod_always_has_a_worker_free_for_its_own_report_assets():
    for users in (1, 5, 12, 40):
        assert int(_conf(users)["workers"]) >= MIN_WORKERS_PER_POD >= 2


def test_security_settings():
    conf = _conf(25)
    assert conf["proxy_mode"] == "True"
    assert conf["list_db"] == "False"
    assert conf["dbfilter"] == "^acme$"
    assert conf["db_sslmode"] == "verify-full"
    assert conf["db_user"] == "odoo_acme" and conf["db_user"] != "postgres"
    assert conf["max_cron_threads"] == "0"  # cron runs in its own Deployment
    assert int(conf["limit_time_real"]) > int(conf["limit_time_cpu"])


def test_memory_limits_are_odoos_defaults_on_virtual_memory_and_the_pod_holds_one_at_the_hard_limit():
    conf = _conf(25)
    # Odoo 17's defaults: lower virtual-memory limits kill wkhtmltopdf, which inherits RLIMIT_AS.
    assert int(conf["limit_memory_soft"]) == LIMIT_MEMORY_SOFT_MIB * 1024 * 1024 == 2048 * 1024 * 1024
    assert int(conf["limit_memory_hard"]) == LIMIT_MEMORY_HARD_MIB * 1024 * 1024 == 2560 * 1024 * 1024
    for users in (5, 40, 150, 600):
        sizing = size_odoo(users, replicas_min=2, replicas_max=6, field="x")
        assert sizing.memory_limit_mib > LIMIT_MEMORY_HARD_MIB
        assert sizing.memory_limit_mib > sizing.memory_request_mib
        assert sizing.cron_memory_limit_mib > LIMIT_MEMORY_HARD_MIB


def test_websocket_port_key_follows_the_odoo_version():
    assert _conf(10, version=17)["gevent_port"] == "8072"
    assert _conf(10, version=15)["longpolling_port"] == "8072"
    assert "db_maxconn_gevent" not in _conf(10, version=16)  # the option exists from Odoo 17


@pytest.mark.parametrize("users", [3, 25, 150, 600])
def test_the_budget_is_the_sum_of_the_pools_odoo_conf_and_the_command_lines_configure(users):
    conf = _conf(users)
    sizing = size_odoo(users, replicas_min=2, replicas_max=6, field="x")
    web_pod = int(conf["workers"]) * int(conf["db_maxconn"]) + int(conf["db_maxconn_gevent"])
    assert sizing.peak_connections == (sizing.web_replicas_max + 1) * web_pod + CRON_DB_MAXCONN + UPGRADE_DB_MAXCONN
    # The websocket process's pool holds the bus's LISTEN connection and still serves websocket events.
    assert int(conf["db_maxconn_gevent"]) >= 2


def test_the_official_image_keeps_file_sessions_and_its_addons_path():
    conf = _conf(10, image=OFFICIAL)
    assert conf["server_wide_modules"] == "base,web"
    assert conf["addons_path"] == EXTRA_ADDONS == "/mnt/extra-addons"


def test_the_platform_image_keeps_sessions_in_redis():
    conf = _conf(10, image=DERIVED)
    assert conf["server_wide_modules"] == "base,web,session_redis"
    assert conf["addons_path"] == EXTRA_ADDONS
    assert not image_contract(DERIVED, ()).session_redis  # only a declared repository has the module


def test_smtp_relay_is_configured_only_when_given():
    assert "smtp_server" not in _conf(10)
    relay = EgressEndpoint(host="relay.example.com", port=587, cidrs=["203.0.113.10/32"])
    conf = _conf(10, smtp=relay)
    assert (conf["smtp_server"], conf["smtp_port"], conf["smtp_ssl"]) == ("relay.example.com", "587", "True")


def test_a_redis_password_with_url_characters_survives_the_url():
    password = "ab/cd+ef=="  # Azure Cache keys are base64
    url = urlsplit(redis_url("cache.example.net", 6380, True, url_password(password)))
    assert (url.scheme, url.hostname, url.port, unquote(url.password)) == ("rediss", "cache.example.net", 6380, password)
    # Unencoded, the `/` ends the authority part and the host is lost.
    assert urlsplit(redis_url("cache.example.net", 6380, True, password)).hostname != "cache.example.net"


def test_the_database_server_is_verified_against_the_clouds_ca():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    assert database_tls(Cloud.AZURE, "") == DatabaseTls("verify-full", SYSTEM_CA_BUNDLE)
    configured = database_tls(Cloud.AWS, pem)
    assert (configured.sslmode, configured.root_cert, configured.bundle) == (
        "verify-full", "/etc/odoo-platform/database-ca/ca.crt", pem)
    # RDS's CAs are in no system store: without the configured bundle, AWS stays at `require`.
    assert database_tls(Cloud.AWS, "").sslmode == "require"
