"""Sizing and placement, without Pulumi: Odoo's rules of thumb and the connection budget."""

from __future__ import annotations

import pytest

from odoo_platform.config import parse_estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.sizing import LIMIT_MEMORY_HARD_MIB, WORKER_RSS_MIB, size_odoo
from odoo_platform.topology import first_fit_servers, plan_estate
from tests.conftest import DIGEST, estate


@pytest.mark.parametrize(
    ("users", "workers", "pods", "workers_per_pod"),
    [(3, 2, 2, 2), (25, 5, 2, 3), (60, 10, 2, 5), (120, 20, 4, 5)],
)
def test_workers_follow_six_users_per_worker_and_two_cpu_plus_one(users, workers, pods, workers_per_pod):
    sizing = size_odoo(users, replicas_min=2, replicas_max=6, field="tenants[0].users")
    assert sizing.workers_total == workers
    assert sizing.web_replicas_min == pods
    assert sizing.workers_per_pod == workers_per_pod
    cores = sizing.cpu_limit_millis // 1000
    assert sizing.workers_per_pod <= 2 * cores + 1
    # One worker (or its wkhtmltopdf) at Odoo's hard limit, the others at a typical worker's size.
    assert sizing.memory_limit_mib >= LIMIT_MEMORY_HARD_MIB + (sizing.workers_per_pod - 1) * WORKER_RSS_MIB


def test_impossible_sizing_is_a_config_error():
    with pytest.raises(EstateConfigError, match=r"tenants\[0\]\.users: 5000 concurrent users need 167 web pods"):
        plan_estate(parse_estate(estate(tenants=[{"name": "huge", "tier": 1, "users": 5000, "hostname": "h.example.com"}])))


def test_connection_budget_counts_every_pod_at_full_scale():
    plan = plan_estate(parse_estate(estate()))
    (server,) = plan.servers
    expected = sum(t.sizing.peak_connections for t in plan.tenants)
    assert server.peak_connections == expected
    assert expected <= server.max_connections - server.reserved_connections


def test_connection_budget_error_says_how_to_fix_it():
    config = estate(postgres={"maxConnections": 80, "reservedConnections": 50})  # 30 left; acme alone needs 64
    with pytest.raises(EstateConfigError) as caught:
        plan_estate(parse_estate(config))
    message = str(caught.value)
    assert message.startswith("tenants[0].users: tenant 'acme' alone needs up to 64 connections at full scale")
    assert "raise odoo-platform:postgres.maxConnections to at least 114" in message


def test_shared_tenants_stay_on_the_server_their_entry_names():
    tenants = [{"name": f"t{i}", "tier": 3, "users": 1, "hostname": f"t{i}.example.com"} for i in range(5)]
    tenants[2]["server"] = tenants[3]["server"] = "shared-2"
    tenants[4]["server"] = "shared-3"
    small = {"maxConnections": 120, "reservedConnections": 50}  # 70 left: two tenants of 35 per server
    plan = plan_estate(parse_estate(estate(tenants=tenants, postgres=small)))
    assert [t.server_key for t in plan.tenants] == ["shared", "shared", "shared-2", "shared-2", "shared-3"]
    assert [s.peak_connections for s in plan.servers] == [70, 70, 35]
    assert not any(s.dedicated for s in plan.servers)


def test_a_full_shared_server_is_an_error_naming_a_server_with_room_not_a_silent_move():
    tenants = [{"name": f"t{i}", "tier": 3, "users": 1, "hostname": f"t{i}.example.com"} for i in range(3)]
    small = {"maxConnections": 120, "reservedConnections": 50}
    with pytest.raises(EstateConfigError) as caught:
        plan_estate(parse_estate(estate(tenants=tenants, postgres=small)))
    message = str(caught.value)
    assert message.startswith("tenants[2].server: the 3 tenants on shared server 'shared' need up to 105 connections")
    assert "server: shared-2 on 't2'" in message and "raise odoo-platform:postgres.maxConnections to at least 155" in message


def test_first_fit_suggests_servers_only_for_tenants_without_one():
    tenants = [{"name": f"t{i}", "tier": 3, "users": 1, "hostname": f"t{i}.example.com"} for i in range(4)]
    tenants[0]["server"] = "shared-2"
    small = {"maxConnections": 120, "reservedConnections": 50}
    assert first_fit_servers(parse_estate(estate(tenants=tenants, postgres=small))) == {
        "t1": "shared", "t2": "shared", "t3": "shared-2"}


def test_a_dedicated_tenant_cannot_name_a_shared_server():
    tenants = [{"name": "bank", "tier": 1, "users": 5, "hostname": "b.example.com", "server": "shared-2"}]
    with pytest.raises(EstateConfigError, match=r"^tenants\[0\]\.server: 'shared-2' is for shared tenants"):
        parse_estate(estate(tenancy="dedicated", tenants=tenants))


def test_production_web_never_runs_a_single_replica_whatever_the_tier():
    tenants = [{"name": "small", "tier": 3, "users": 2, "hostname": "s.example.com"}]
    dev = plan_estate(parse_estate(estate(tenants=tenants)))
    prod = plan_estate(parse_estate(estate(tenants=tenants, environment="prod", image=DIGEST)))
    assert dev.tenants[0].sizing.web_replicas_min == 1
    assert prod.tenants[0].sizing.web_replicas_min == 2
