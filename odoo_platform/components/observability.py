"""Observability: what Prometheus scrapes and the alerts a finance estate cannot miss."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
from odoo_platform.errors import EstateConfigError

MONITORING_API = "monitoring.coreos.com/v1"
ALERT_LABELS = {"odoo-platform.io/alerts": "true"}


@dataclass(frozen=True)
class ObservabilityArgs:
    estate: Estate
    namespace: pulumi.Input[str]


class Observability(PlatformComponent):
    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        k8s.apiextensions.CustomResource(
            f"{name}-traefik-monitor",
            api_version=MONITORING_API,
            kind="ServiceMonitor",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="traefik", namespace=args.namespace, labels=ALERT_LABELS),
            spec={
                "selector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
                "namespaceSelector": {"matchNames": [args.estate.kubernetes.ingress_namespace]},
                "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
            },
            opts=self.child(),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version=MONITORING_API,
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="odoo-platform", namespace=args.namespace, labels=ALERT_LABELS),
            spec={"groups": alert_groups(args.estate)},
            opts=self.child(),
        )
        self.register_outputs({})


def _alert(name: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {"summary": summary},
    }


def _cron_values(field: str, low: int, high: int) -> set[int]:
    """Values one cron field matches (`*`, `a`, `a-b`, `*/n`, `a-b/n`, comma lists)."""
    values: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        start, end = (low, high) if span == "*" else (int(span.split("-")[0]), int(span.split("-")[-1]))
        if step and "-" not in span and span != "*":
            end = high
        values.update(range(start, end + 1, int(step or 1)))
    return values


def longest_gap_days(schedule: str) -> int:
    """Most days between two runs of a cron schedule (judged over two years of days)."""
    _, _, dom, month, dow = schedule.split()
    days, months = _cron_values(dom, 1, 31), _cron_values(month, 1, 12)
    weekdays = {d % 7 for d in _cron_values(dow, 0, 7)}
    first = datetime.date(2025, 1, 1)
    runs = []
    for offset in range(2 * 366 + 1):
        day = first + datetime.timedelta(days=offset)
        by_dom, by_dow = day.day in days, day.isoweekday() % 7 in weekdays
        # Cron runs on either field's days when both are restricted, on the restricted one otherwise.
        matches = (by_dom or by_dow) if dom != "*" and dow != "*" else (by_dom and by_dow)
        if day.month in months and matches:
            runs.append(offset)
    return max(b - a for a, b in zip(runs, runs[1:], strict=False))


def backup_overdue_minutes(interval_minutes: int) -> int:
    """Age at which a backup is overdue: one interval (the next run replaces the last) plus the
    time a dump and its upload may take, a quarter of the interval and at least 30 minutes.
    Not the RPO: with point-in-time restore the RPO is carried by the server's log backups,
    and a logical dump is never fresher than its interval."""
    return interval_minutes + max(30, interval_minutes // 4)


def alert_groups(estate: Estate) -> list[dict[str, Any]]:
    tenants = "|".join(f"odoo-{t.name}" for t in estate.tenants)
    backup_rules = []
    for tier, spec in sorted(estate.tiers.items()):
        overdue = backup_overdue_minutes(spec.backup_interval_minutes)
        severity = "critical" if tier == 1 else "warning"
        for alert, metric, what in (
            ("BackupOverdue", "odoo_platform_backup_last_success_timestamp_seconds", "database dump"),
            ("FilestoreArchiveOverdue", "odoo_platform_filestore_archive_last_success_timestamp_seconds", "filestore archive"),
        ):
            backup_rules.append(_alert(
                f"{alert}Tier{tier}",
                f'time() - max by (tenant) ({metric}{{tier="{tier}"}}) > {overdue * 60}',
                "5m", severity,
                f"The last {what} of a tier {tier} tenant is older than its {spec.backup_interval_minutes}-minute "
                f"interval plus {overdue - spec.backup_interval_minutes} minutes.",
            ))
        try:
            stale_days = longest_gap_days(spec.restore_drill_schedule) + 2
        except ValueError:
            raise EstateConfigError(
                f"tiers.{tier}.restoreDrillSchedule: {spec.restore_drill_schedule!r} is not a five-field cron schedule "
                "in numbers that runs at least twice in two years (e.g. '0 3 1 */3 *')"
            ) from None
        backup_rules.append(_alert(
            f"RestoreDrillStaleTier{tier}",
            "time() - max by (tenant) "
            f'(odoo_platform_restore_drill_last_success_timestamp_seconds{{tier="{tier}"}}) > {stale_days * 86400}',
            "1h", severity,
            f"No restore drill of a tier {tier} tenant succeeded in {stale_days} days (schedule "
            f"{spec.restore_drill_schedule!r}): recovery is not proven.",
        ))
    return [
        {
            "name": "odoo-availability",
            "rules": [
                _alert(
                    "Odoo5xxRateHigh",
                    "sum by (service) (rate(traefik_service_requests_total{code=~\"5..\"}[5m]))"
                    " / sum by (service) (rate(traefik_service_requests_total[5m])) > 0.02",
                    "10m", "critical", "More than 2% of a tenant's Odoo requests fail with 5xx.",
                ),
                _alert(
                    "OdooLatencyP95High",
                    "histogram_quantile(0.95, sum by (service, le) "
                    "(rate(traefik_service_request_duration_seconds_bucket[5m]))) > 2",
                    "15m", "warning", "95th percentile Odoo response time is above 2 seconds.",
                ),
                _alert(
                    "OdooPodRestarting",
                    f'increase(kube_pod_container_status_restarts_total{{namespace=~"{tenants}"}}[30m]) > 3',
                    "5m", "warning", "An Odoo pod restarted more than 3 times in 30 minutes (memory limits, crashes).",
                ),
                _alert(
                    "CertificateExpiresSoon",
                    "min by (cn) ((traefik_tls_certs_not_after - time()) / 86400) < 14",
                    "1h", "warning", "A tenant certificate expires within 14 days.",
                ),
            ],
        },
        {
            "name": "odoo-data",
            "rules": [
                _alert(
                    "PostgresReplicationLagHigh", "max by (server) (pg_replication_lag_seconds) > 30",
                    "5m", "critical", "PostgreSQL standby lags more than 30 seconds behind the primary.",
                ),
                _alert(
                    "PostgresConnectionsSaturated",
                    "sum by (server) (pg_stat_activity_count) / max by (server) (pg_settings_max_connections) > 0.85",
                    "10m", "warning", "A PostgreSQL server uses more than 85% of max_connections.",
                ),
                _alert(
                    "RestoreDrillFailed", "min by (tenant) (odoo_platform_restore_drill_success) == 0",
                    "0m", "critical", "The latest restore drill of a tenant failed: recovery is not proven.",
                ),
                *backup_rules,
            ],
        },
    ]
