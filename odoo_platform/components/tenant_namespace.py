"""TenantNamespace: one tenant's Kubernetes namespace and the walls around it.

Tenants share a cluster only if they cannot see, reach or starve each other: Pod Security
`restricted`, a quota sized from the tenant's own sizing, default-deny NetworkPolicies with
narrow exceptions, and an operator Role that stops at the namespace boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.components.k8s_common import metadata
from odoo_platform.config import Estate
from odoo_platform.labels import LABEL_PREFIX
from odoo_platform.topology import TenantPlan
from odoo_platform.workload import (
    DATABASE_CLIENT_LABEL,
    EXTERNAL_CLIENT_LABEL,
    HTTP_PORT,
    REDIS_CLIENT_LABEL,
    REDIS_PORT,
    REDIS_TLS_PORT,
    SCALER_LABEL,
    WEBSOCKET_PORT,
    quota_for,
)

PSA_LEVEL = "restricted"


@dataclass(frozen=True)
class TenantNamespaceArgs:
    estate: Estate
    tenant: TenantPlan
    database_cidrs: tuple[str, ...]


class TenantNamespace(PlatformComponent):
    namespace: pulumi.Output[str]
    """Name of the tenant's namespace."""
    service_account: str
    """ServiceAccount Odoo pods run as (no API token mounted)."""

    def __init__(self, name: str, args: TenantNamespaceArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        plan = args.tenant
        ns_name = plan.namespace
        labels = {
            "kubernetes.io/metadata.name": ns_name,
            f"{LABEL_PREFIX}/tenant": plan.name,
            f"{LABEL_PREFIX}/tier": str(plan.tenant.tier),
            f"{LABEL_PREFIX}/environment": args.estate.environment.value,
            f"{LABEL_PREFIX}/isolation": plan.isolation.value,
            f"{LABEL_PREFIX}/ring": plan.tenant.ring,
            # Pod Security Admission: refuse, audit and warn on anything below `restricted`.
            "pod-security.kubernetes.io/enforce": PSA_LEVEL,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": PSA_LEVEL,
            "pod-security.kubernetes.io/warn": PSA_LEVEL,
        }
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ns_name, labels=labels),
            opts=self.child(),
        )
        self.namespace = namespace.metadata.apply(lambda meta: meta.name)
        in_ns = self.child(depends_on=[namespace])

        def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return metadata(object_name, ns_name, {f"{LABEL_PREFIX}/tenant": plan.name})

        quota = quota_for(plan.sizing)
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=meta("tenant-quota"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=quota.hard),
            opts=in_ns,
        )
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=meta("tenant-limits"),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default={"cpu": "500m", "memory": "512Mi"},
                        default_request={"cpu": "100m", "memory": "128Mi"},
                        max={"cpu": quota.max_container_cpu, "memory": quota.max_container_memory},
                    )
                ]
            ),
            opts=in_ns,
        )
        for policy_name, spec in _network_policies(args).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy_name}", metadata=meta(policy_name), spec=spec, opts=in_ns
            )

        self.service_account = "odoo"
        k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=meta(self.service_account),
            automount_service_account_token=False,
            opts=in_ns,
        )
        operators = k8s.rbac.v1.Role(
            f"{name}-operators-role",
            metadata=meta("tenant-operator"),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=[""],
                    resources=["pods", "pods/log", "services", "events", "persistentvolumeclaims"],
                    verbs=["get", "list", "watch"],
                ),
                k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["delete"]),
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=["apps", "batch", "autoscaling", "policy"],
                    resources=["deployments", "replicasets", "jobs", "cronjobs", "horizontalpodautoscalers",
                               "poddisruptionbudgets"],
                    verbs=["get", "list", "watch"],
                ),
                k8s.rbac.v1.PolicyRuleArgs(api_groups=["apps"], resources=["deployments/scale"], verbs=["get", "patch"]),
            ],
            opts=in_ns,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-operators-binding",
            metadata=meta("tenant-operator"),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name="tenant-operator"),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="Group", api_group="rbac.authorization.k8s.io", name=f"odoo-{plan.name}-operators"
                )
            ],
            opts=self.child(depends_on=[namespace, operators]),
        )
        self.register_outputs({"namespace": self.namespace, "serviceAccount": self.service_account})


def _network_policies(args: TenantNamespaceArgs) -> dict[str, k8s.networking.v1.NetworkPolicySpecArgs]:
    """Deny everything, then open only what Odoo needs. Never a rule naming another tenant."""
    ingress_namespace = args.estate.kubernetes.ingress_namespace
    egress = args.estate.kubernetes.odoo_egress
    every_pod = k8s.meta.v1.LabelSelectorArgs()

    def pods(**match: str) -> k8s.meta.v1.LabelSelectorArgs:
        return k8s.meta.v1.LabelSelectorArgs(match_labels=match)

    def tcp(*ports: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
        return [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port) for port in ports]

    policies = {
        "default-deny-all": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=every_pod, policy_types=["Ingress", "Egress"]
        ),
        "allow-ingress-from-traefik": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=pods(**{"app.kubernetes.io/component": "web"}),
            policy_types=["Ingress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[
                        k8s.networking.v1.NetworkPolicyPeerArgs(
                            namespace_selector=pods(**{"kubernetes.io/metadata.name": ingress_namespace}),
                            pod_selector=pods(**{"app.kubernetes.io/name": "traefik"}),
                        )
                    ],
                    ports=tcp(HTTP_PORT, WEBSOCKET_PORT),
                )
            ],
        ),
        "allow-egress-dns": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=every_pod,
            policy_types=["Egress"],
            egress=[
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[
                        k8s.networking.v1.NetworkPolicyPeerArgs(
                            namespace_selector=pods(**{"kubernetes.io/metadata.name": "kube-system"}),
                            pod_selector=pods(**{"k8s-app": "kube-dns"}),
                        )
                    ],
                    ports=[
                        k8s.networking.v1.NetworkPolicyPortArgs(protocol="UDP", port=53),
                        k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=53),
                    ],
                )
            ],
        ),
        "allow-egress-postgres": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=pods(**{DATABASE_CLIENT_LABEL: "true"}),
            policy_types=["Egress"],
            egress=[
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[
                        k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
                        for cidr in args.database_cidrs
                    ],
                    ports=tcp(5432),
                )
            ],
        ),
        "allow-redis-within-tenant": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=pods(**{"app.kubernetes.io/component": "redis"}),
            policy_types=["Ingress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=pods(**{REDIS_CLIENT_LABEL: "true"}))],
                    ports=tcp(REDIS_PORT),
                )
            ],
        ),
        "allow-egress-redis": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=pods(**{REDIS_CLIENT_LABEL: "true"}),
            policy_types=["Egress"],
            egress=[
                # A managed cache lives in the estate's private data subnets (TLS port on Azure).
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[
                        k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
                        for cidr in args.database_cidrs
                    ],
                    ports=tcp(REDIS_PORT, REDIS_TLS_PORT),
                )
                if args.estate.managed_redis
                else k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=pods(**{"app.kubernetes.io/component": "redis"}))],
                    ports=tcp(REDIS_PORT),
                ),
            ],
        ),
        # The scalers and the upgrade Jobs' cron steps call the API server, whose addresses are the cluster's
        # own (not the estate's): by port only.
        "allow-egress-api-server": k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=pods(**{SCALER_LABEL: "true"}),
            policy_types=["Egress"],
            egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(ports=tcp(443, 6443))],
        ),
    }
    # Mail and the HTTPS services Odoo calls: closed unless kubernetes.odooEgress names them, and then
    # only to the configured ranges and ports.
    endpoints = [e for e in (egress.smtp_relay, egress.https_proxy) if e] + list(egress.incoming_mail)
    rules = [
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
                for cidr in endpoint.cidrs],
            ports=tcp(endpoint.port),
        )
        for endpoint in endpoints
    ]
    if egress.https_cidrs:
        rules.append(k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
                for cidr in egress.https_cidrs],
            ports=tcp(443),
        ))
    if rules:
        policies["allow-egress-external"] = k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=pods(**{EXTERNAL_CLIENT_LABEL: "true"}), policy_types=["Egress"], egress=rules
        )
    return policies
