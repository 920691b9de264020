"""Observability: what Prometheus scrapes and the alerts a finance estate cannot miss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate

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


def alert_groups(estate: Estate) -> list[dict[str, Any]]:
    tenants = "|".join(f"odoo-{t.name}" for t in estate.tenants)
    backup_rules = [
        _alert(
            f"BackupOlderThanRpoTier{tier}",
            f'time() - max by (tenant) (odoo_platform_backup_last_success_timestamp_seconds{{tier="{tier}"}})'
            f" > {spec.rpo_minutes * 60}",
            "5m",
            "critical" if tier == 1 else "warning",
            f"Last successful backup of a tier {tier} tenant is older than its RPO of {spec.rpo_minutes} minutes.",
        )
        for tier, spec in sorted(estate.tiers.items())
    ]
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
