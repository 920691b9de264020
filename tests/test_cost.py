"""Cost allocation: a small estate against a hand calculation, and the CLI around it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from odoo_platform.cli import main
from odoo_platform.errors import EstateConfigError
from odoo_platform.governance.cost import DEFAULT_PRICES, estimate, load_prices
from tests.conftest import estate
from tests.stack_plans import plan_of

ROUND_PRICES = {
    "asOf": "2026-11-01", "currency": "EUR", "hoursPerMonth": 730,
    "compute": {"vcpuHour": 0.04, "memoryGibHour": 0.005},
    "storage": {"filestoreGibMonth": {"azure": 0.2, "aws": 0.3}, "databaseGbMonth": {"azure": 0.1, "aws": 0.1},
                "backupGbMonth": {"azure": 0.05, "aws": 0.05}, "backupGbPerDatabaseGb": 1.0, "geoRedundantBackupFactor": 2.0},
    "postgres": {"azure": {"Standard_B2ms": 0.1}, "aws": {}},
    "redis": {"azure": {}, "aws": {}},
    "kubernetesControlPlaneHour": {"azure": 0.1, "aws": 0.1},
    "privateEndpointHour": 0.01,
}


@pytest.fixture
def round_prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(ROUND_PRICES))
    return path


def test_one_tenant_dev_estate_matches_the_hand_calculation(plan_for, round_prices):
    plan = plan_for(estate(tenants=[{"name": "acme", "tier": 2, "users": 25, "hostname": "acme.erp.example.com"}]))
    report = estimate(plan, load_prices(round_prices)).to_dict()

    # What the plan declares (pinned, so the hand calculation below reads against it):
    #   odoo-web 2 x (500m, 1231Mi), odoo-cron 1 x (250m, 512Mi): scaled to zero outside 07:00-20:00 Mon-Fri
    #   redis 1 x (100m, 256Mi), always on; filestore 50Gi
    #   shared: Standard_B2ms PostgreSQL, 128 GB, no HA, local backups; 2 private endpoints
    lines = {(line["service"], line["item"]): line for line in report["lines"]}
    assert lines[("compute", "odoo-web: 2 x (0.5 vCPU, 1.20215 GiB)")]["quantity"] == 1.0
    assert lines[("compute", "odoo-cron: 1 x (0.25 vCPU, 0.5 GiB)")]["quantity"] == 0.25

    hours_running = 13 * 5 * 52 / 12                        # 281.67 h a month in business hours
    web = 2 * (0.5 * 0.04 + 1231 / 1024 * 0.005)            # 0.052021 EUR/h
    cron = 1 * (0.25 * 0.04 + 0.5 * 0.005)                  # 0.0125 EUR/h
    redis = 1 * (0.1 * 0.04 + 0.25 * 0.005) * 730           # 3.8325
    filestore = 50 * 0.2                                    # 10.00
    direct = (web + cron) * hours_running + redis + filestore                       # 32.01
    postgres = 0.1 * 730 + 128 * 0.1 + 128 * 1.0 * 0.05     # 73 + 12.80 + 6.40 = 92.20
    endpoints = 2 * 0.01 * 730                              # 14.60
    saving = (web + cron) * (730 - hours_running)           # 28.93

    acme = report["tenants"]["acme"]
    assert acme["direct"] == round(direct, 2) == 32.01
    assert acme["sharedAllocation"] == round(postgres + endpoints, 2) == 106.80
    assert acme["total"] == round(direct + postgres + endpoints, 2) == 138.81
    assert acme["scaleDownSaving"] == report["scaleDownSaving"] == round(saving, 2) == 28.93
    assert report["sharedServices"] == {"postgres-shared": 92.2, "private endpoints": 14.6}
    assert report["tiers"] == {"2": 138.81}
    assert report["total"] == 138.81


def test_dedicated_placements_are_charged_to_their_tenant():
    report = estimate(plan_of("aws-hybrid-prod"), load_prices()).to_dict()
    services = {(line["owner"], line["service"]) for line in report["lines"]}
    assert ("rheinbank", "postgres-dedicated-rheinbank") in services
    assert ("rheinbank", "redis-dedicated-rheinbank") in services
    assert ("shared", "postgres-shared") in services
    assert report["scaleDownSaving"] == 0  # production never scales down
    # Shared costs are allocated in full: tenants' totals add up to the estate's total.
    assert sum(t["total"] for t in report["tenants"].values()) == pytest.approx(report["total"], abs=0.05)


def test_the_shipped_price_table_is_dated_and_covers_every_stack():
    prices = load_prices()
    assert prices.as_of.isoformat() == yaml.safe_load(DEFAULT_PRICES.read_text())["asOf"]
    for stack in ("dev", "prod", "dedicated-prod", "hybrid-prod", "aws-staging", "aws-hybrid-prod"):
        assert estimate(plan_of(stack), prices).to_dict()["total"] > 0, stack


def test_a_price_table_without_the_plans_sku_is_a_clear_error(round_prices):
    with pytest.raises(EstateConfigError, match=r"^--prices: postgres\.azure\.Standard_D8ds_v5 has no price \(add it"):
        estimate(plan_of("prod"), load_prices(round_prices))


def test_cost_cli_prints_table_and_json_and_writes_the_chart(tmp_path, capsys, round_prices):
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan_of("dev")))
    chart = tmp_path / "cost.svg"
    assert main(["cost", "--plan", str(plan_path), "--svg", str(chart)]) == 0
    text = capsys.readouterr().out
    assert "saved by non-production scale-down" in text and "tier 1:" in text
    assert chart.read_text().startswith("<svg") and "acme (tier 2)" in chart.read_text()
    assert main(["cost", "--plan", str(plan_path), "--format", "json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["tenants"]) == {"acme", "globex", "initech"}
    assert main(["cost", "--plan", str(plan_path), "--prices", str(round_prices)]) == 2
    assert "has no price" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("asOf: yesterday\n")
    assert main(["cost", "--plan", str(plan_path), "--prices", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("error: --prices: asOf:")
