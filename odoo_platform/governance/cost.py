"""Monthly cost per tenant, per tier and per shared service, estimated from a plan and a price table.

Everything is read from what the plan declares (requests, replicas, SKUs, storage, the
night-time scaler's schedules), so the estimate follows the design a change board approves.
Shared services are also allocated to tenants in proportion to the compute they request.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from odoo_platform.errors import EstateConfigError
from odoo_platform.yaml_input import read_yaml

DEFAULT_PRICES = Path(__file__).with_name("prices.yaml")
WEEKS_PER_MONTH = 52 / 12
SHARED = "shared"


class _Prices(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class ComputePrices(_Prices):
    vcpu_hour: float
    memory_gib_hour: float


class StoragePrices(_Prices):
    filestore_gib_month: dict[str, float]
    database_gb_month: dict[str, float]
    backup_gb_month: dict[str, float]
    backup_gb_per_database_gb: float
    geo_redundant_backup_factor: float


class PriceTable(_Prices):
    as_of: date
    currency: str
    hours_per_month: float
    compute: ComputePrices
    storage: StoragePrices
    postgres: dict[str, dict[str, float]]
    redis: dict[str, dict[str, float]]
    kubernetes_control_plane_hour: dict[str, float]
    private_endpoint_hour: float


def load_prices(path: Optional[Path] = None) -> PriceTable:
    source = path or DEFAULT_PRICES
    try:
        return PriceTable.model_validate(read_yaml(source, "price table"))
    except EstateConfigError as exc:
        raise EstateConfigError(f"--prices: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise EstateConfigError(f"--prices: {where}: {first['msg'].lower()} (compare with {DEFAULT_PRICES.name})") from None


@dataclass(frozen=True)
class Line:
    owner: str
    """A tenant, or `shared`."""
    service: str
    """What is paid for: `odoo compute`, `postgres-shared`, `redis-dedicated-bank`..."""
    item: str
    quantity: float
    unit: str
    monthly: float
    full_time_monthly: float
    """What it would cost running around the clock (differs only where non-production scales down)."""


@dataclass
class CostReport:
    stack: str
    environment: str
    currency: str
    prices_as_of: str
    tier_of: dict[str, int] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        tenants = self.tenant_totals()
        tiers: dict[str, float] = defaultdict(float)
        for info in tenants.values():
            tiers[str(info["tier"])] += info["total"]
        shared: dict[str, float] = defaultdict(float)
        for line in self.lines:
            if line.owner == SHARED:
                shared[line.service] += line.monthly
        return {
            "stack": self.stack,
            "environment": self.environment,
            "currency": self.currency,
            "pricesAsOf": self.prices_as_of,
            "total": _money(sum(line.monthly for line in self.lines)),
            "scaleDownSaving": _money(sum(line.full_time_monthly - line.monthly for line in self.lines)),
            "tenants": tenants,
            "tiers": {tier: _money(total) for tier, total in sorted(tiers.items())},
            "sharedServices": {service: _money(total) for service, total in sorted(shared.items())},
            "lines": [{"owner": line.owner, "service": line.service, "item": line.item, "quantity": line.quantity,
                       "unit": line.unit, "monthly": _money(line.monthly), "fullTimeMonthly": _money(line.full_time_monthly)}
                      for line in self.lines],
        }

    def tenant_totals(self) -> dict[str, dict[str, Any]]:
        direct: dict[str, float] = defaultdict(float)
        full_time: dict[str, float] = defaultdict(float)
        compute: dict[str, float] = defaultdict(float)
        for line in self.lines:
            if line.owner != SHARED:
                direct[line.owner] += line.monthly
                full_time[line.owner] += line.full_time_monthly
                if line.service == "compute":
                    compute[line.owner] += line.full_time_monthly
        shared = sum(line.monthly for line in self.lines if line.owner == SHARED)
        weight = sum(compute.values()) or 1.0
        totals = {}
        for tenant in sorted(direct):
            allocation = shared * compute[tenant] / weight
            totals[tenant] = {
                "tier": self.tier_of.get(tenant),
                "direct": _money(direct[tenant]),
                "sharedAllocation": _money(allocation),
                "total": _money(direct[tenant] + allocation),
                "scaleDownSaving": _money(full_time[tenant] - direct[tenant]),
            }
        return totals


def estimate(plan: dict[str, Any], prices: PriceTable) -> CostReport:
    config = plan["config"]
    cloud = str(config.get("odoo-platform:cloud", "azure"))
    tenants = plan["outputs"].get("tenants") or {}
    namespaces = {info["namespace"]: name for name, info in tenants.items()}
    report = CostReport(stack=plan["stack"], environment=str(config.get("odoo-platform:environment", "dev")),
                        currency=prices.currency, prices_as_of=prices.as_of.isoformat(),
                        tier_of={name: info["tier"] for name, info in tenants.items()})
    hours = prices.hours_per_month
    running = _running_hours(plan, hours)
    add = report.lines.append

    for resource in plan["resources"]:
        kind, inputs = resource["type"], resource["inputs"]
        meta = inputs.get("metadata") or {}
        tenant = namespaces.get(meta.get("namespace", ""))
        owner = _owner(inputs.get("tags"), tenants) if kind.startswith(("azure-native:", "aws:")) else tenant
        if kind == "kubernetes:apps/v1:Deployment" and tenant:
            replicas = int((inputs.get("spec") or {}).get("replicas", 1))
            cpu, memory = _requests(inputs)
            share = running.get((meta.get("namespace"), meta.get("name")), hours) / hours
            full = replicas * hours * (cpu * prices.compute.vcpu_hour + memory * prices.compute.memory_gib_hour)
            add(Line(tenant, "compute", f"{meta['name']}: {replicas} x ({cpu:g} vCPU, {memory:g} GiB)",
                     replicas * cpu, "vCPU", full * share, full))
        elif kind == "kubernetes:core/v1:PersistentVolumeClaim" and tenant:
            size = _gib(inputs["spec"]["resources"]["requests"]["storage"])
            cost = size * _price(prices.storage.filestore_gib_month, cloud, "storage.filestoreGibMonth")
            add(Line(tenant, "filestore", meta["name"], size, "GiB-month", cost, cost))
        elif kind in ("azure-native:dbforpostgresql:Server", "aws:rds/instance:Instance"):
            for line in _postgres(resource, cloud, owner, prices):
                add(line)
        elif kind in ("azure-native:redis:Redis", "aws:elasticache/replicationGroup:ReplicationGroup"):
            add(_redis(resource, cloud, owner, prices))
        elif kind in ("azure-native:containerservice:ManagedCluster", "aws:eks/cluster:Cluster"):
            cost = hours * _price(prices.kubernetes_control_plane_hour, cloud, "kubernetesControlPlaneHour")
            add(Line(SHARED, "kubernetes control plane", resource["name"], hours, "hours", cost, cost))
        elif kind == "azure-native:network:PrivateEndpoint":
            cost = hours * prices.private_endpoint_hour
            add(Line(owner, "private endpoints", resource["name"], hours, "hours", cost, cost))
    return report


def _owner(tags: Any, tenants: dict[str, Any]) -> str:
    tenant = (tags or {}).get("tenant") if isinstance(tags, dict) else None
    return tenant if tenant in tenants else SHARED


def _postgres(resource: dict[str, Any], cloud: str, owner: str, prices: PriceTable) -> list[Line]:
    inputs, hours = resource["inputs"], prices.hours_per_month
    service = resource["name"].removesuffix("-server")
    if cloud == "azure":
        sku = inputs["sku"]["name"]
        ha = (inputs.get("highAvailability") or {}).get("mode", "Disabled") != "Disabled"
        storage = float(inputs["storage"]["storageSizeGB"])
        geo = (inputs.get("backup") or {}).get("geoRedundantBackup") == "Enabled"
    else:
        sku = inputs["instanceClass"]
        ha = bool(inputs.get("multiAz"))
        storage = float(inputs["allocatedStorage"])
        geo = False  # cross-region copies are priced with the backup vault's copy rule
    instances = 2 if ha else 1
    compute = instances * hours * _price(prices.postgres.get(cloud, {}), sku, f"postgres.{cloud}.{sku}")
    disk = instances * storage * _price(prices.storage.database_gb_month, cloud, "storage.databaseGbMonth")
    backup_gb = storage * prices.storage.backup_gb_per_database_gb
    backup = backup_gb * _price(prices.storage.backup_gb_month, cloud, "storage.backupGbMonth") * (
        prices.storage.geo_redundant_backup_factor if geo else 1.0)
    return [
        Line(owner, service, f"{sku}{' HA' if ha else ''}", instances * hours, "instance-hours", compute, compute),
        Line(owner, service, "storage", instances * storage, "GB-month", disk, disk),
        Line(owner, service, f"backups{' (geo-redundant)' if geo else ''}", backup_gb, "GB-month", backup, backup),
    ]


def _redis(resource: dict[str, Any], cloud: str, owner: str, prices: PriceTable) -> Line:
    inputs, hours = resource["inputs"], prices.hours_per_month
    if cloud == "azure":
        sku, nodes = f"{inputs['sku']['name']}/{inputs['sku']['family']}{inputs['sku']['capacity']}", 1
    else:
        sku, nodes = inputs["nodeType"], int(inputs.get("numCacheClusters", 1))
    cost = nodes * hours * _price(prices.redis.get(cloud, {}), sku, f"redis.{cloud}.{sku}")
    return Line(owner, resource["name"].removesuffix("-cache"), f"{nodes} x {sku}", nodes * hours, "node-hours", cost, cost)


def _price(table: dict[str, float], key: str, path: str) -> float:
    if key not in table:
        raise EstateConfigError(f"--prices: {path} has no price (add it to the price table)")
    return table[key]


def _requests(inputs: dict[str, Any]) -> tuple[float, float]:
    cpu = memory = 0.0
    for container in inputs["spec"]["template"]["spec"].get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += _cpu(str(requests.get("cpu", "0")))
        memory += _gib(str(requests.get("memory", "0")))
    return cpu, memory


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


UNITS = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1, "Ti": 2**10, "": 2**-30}


def _gib(quantity: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([KMGT]i)?", quantity).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit or ""]


def _running_hours(plan: dict[str, Any], hours_per_month: float) -> dict[tuple[str, str], float]:
    """Hours a month each scaled-down Deployment runs, from its scale-up and scale-down CronJobs."""
    schedules: dict[str, dict[str, tuple[str, list[str]]]] = defaultdict(dict)
    for resource in plan["resources"]:
        if resource["type"] != "kubernetes:batch/v1:CronJob":
            continue
        meta, spec = resource["inputs"]["metadata"], resource["inputs"]["spec"]
        if meta["name"] in ("odoo-scale-up", "odoo-scale-down"):
            pod = spec["jobTemplate"]["spec"]["template"]["spec"]
            targets = [c["args"][1].removeprefix("deployment/") for c in pod["containers"]]
            schedules[meta["namespace"]][meta["name"]] = (spec["schedule"], targets)
    running = {}
    for namespace, pair in schedules.items():
        if set(pair) != {"odoo-scale-up", "odoo-scale-down"}:
            continue
        (up, targets), (down, _) = pair["odoo-scale-up"], pair["odoo-scale-down"]
        up_fields, down_fields = up.split(), down.split()
        daily = (int(down_fields[1]) or 24) - int(up_fields[1])
        monthly = min(hours_per_month, daily * _days(up_fields[4]) * WEEKS_PER_MONTH)
        for target in targets:
            running[(namespace, target)] = monthly
    return running


def _days(field_text: str) -> int:
    days: set[int] = set()
    for part in field_text.split(","):
        if part == "*":
            return 7
        start, _, end = part.partition("-")
        days.update(range(int(start), int(end or start) + 1))
    return len(days)


def _money(value: float) -> float:
    return round(value + 0.0, 2)


def to_text(report: dict[str, Any]) -> str:
    currency = report["currency"]
    lines = [f"monthly cost estimate for {report['stack']} ({report['environment']}), {currency}, "
             f"prices as of {report['pricesAsOf']}", "",
             f"{'tenant':24} {'tier':>4} {'direct':>10} {'shared':>10} {'total':>10} {'scale-down saving':>18}"]
    for name, info in report["tenants"].items():
        lines.append(f"{name:24} {info['tier']!s:>4} {info['direct']:10.2f} {info['sharedAllocation']:10.2f} "
                     f"{info['total']:10.2f} {info['scaleDownSaving']:18.2f}")
    lines += ["", "by tier:", *(f"  tier {tier}: {total:10.2f}" for tier, total in report["tiers"].items())]
    lines += ["", "shared services (allocated to tenants by requested compute):",
              *(f"  {service:34} {total:10.2f}" for service, total in report["sharedServices"].items())]
    lines += ["", f"total: {report['total']:.2f} {currency} a month"]
    if report["scaleDownSaving"]:
        lines.append(f"saved by non-production scale-down: {report['scaleDownSaving']:.2f} {currency} a month "
                     "(already deducted above)")
    return "\n".join(lines)


def to_svg(report: dict[str, Any]) -> str:
    """A horizontal bar per tenant: direct cost, allocated shared cost, and the scale-down saving."""
    tenants = report["tenants"]
    widest = max([info["total"] + info["scaleDownSaving"] for info in tenants.values()] + [1.0])
    scale, left, row = 420 / widest, 170, 26
    height = 60 + row * len(tenants)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="700" height="{height}" font-family="sans-serif" font-size="12">',
             f'<text x="10" y="20" font-weight="bold">Monthly cost per tenant ({_xml(report["currency"])}, prices as of '
             f'{_xml(report["pricesAsOf"])})</text>']
    for index, (name, info) in enumerate(tenants.items()):
        y = 40 + index * row
        direct, shared, saving = (info[key] * scale for key in ("direct", "sharedAllocation", "scaleDownSaving"))
        parts += [
            f'<text x="10" y="{y + 14}">{_xml(name)} (tier {info["tier"]})</text>',
            f'<rect x="{left}" y="{y}" width="{direct:.1f}" height="18" fill="#2b6cb0"><title>direct {info["direct"]:.2f}</title></rect>',
            f'<rect x="{left + direct:.1f}" y="{y}" width="{shared:.1f}" height="18" fill="#90cdf4">'
            f'<title>shared {info["sharedAllocation"]:.2f}</title></rect>',
            f'<rect x="{left + direct + shared:.1f}" y="{y}" width="{saving:.1f}" height="18" fill="none" stroke="#38a169" '
            f'stroke-dasharray="3,2"><title>saved by scale-down {info["scaleDownSaving"]:.2f}</title></rect>',
            f'<text x="{left + direct + shared + saving + 6:.1f}" y="{y + 14}">{info["total"]:.2f}</text>',
        ]
    parts += [f'<text x="10" y="{height - 8}" fill="#555">dark: direct; light: shared services allocated; '
              'dashed: saved by non-production scale-down</text>', "</svg>"]
    return "\n".join(parts) + "\n"


def _xml(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
