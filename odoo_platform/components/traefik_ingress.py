"""TraefikIngress: the estate's Traefik, installed with its Helm chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import ChartImage, Cloud, Environment, Estate

CHART_REPOSITORY = "https://traefik.github.io/charts"


@dataclass(frozen=True)
class TraefikIngressArgs:
    estate: Estate


class TraefikIngress(PlatformComponent):
    namespace: pulumi.Output[str]
    """Namespace Traefik runs in; tenant NetworkPolicies admit traffic from it only."""

    def __init__(self, name: str, args: TraefikIngressArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        settings = args.estate.kubernetes
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=settings.ingress_namespace,
                labels={
                    "kubernetes.io/metadata.name": settings.ingress_namespace,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            ),
            opts=self.child(),
        )
        production = args.estate.environment is Environment.PROD
        values: dict = {
            "deployment": {"replicas": 3 if production else 2},
            "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
            "logs": {"general": {"format": "json"}, "access": {"enabled": True, "format": "json"}},
            # Scraped through the ServiceMonitor the Observability component renders.
            "metrics": {"prometheus": {"entryPoint": "metrics", "addServicesLabels": True,
                                       "service": {"enabled": True}}},
            # Local: the load balancer delivers to nodes running Traefik without SNAT, so Traefik,
            # the admin allow-list, the rate limit and Odoo's login throttling (X-Forwarded-For
            # through proxy_mode) see each client's own address instead of a node's.
            "service": {"spec": {"externalTrafficPolicy": "Local"}},
            "ports": {
                "web": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}},
                "websecure": {"tls": {"enabled": True}},
            },
            "providers": {
                "kubernetesCRD": {"allowCrossNamespace": False, "allowExternalNameServices": False},
                "kubernetesIngress": {"enabled": False},
            },
            "ingressRoute": {"dashboard": {"enabled": False}},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
                "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        }
        if args.estate.cloud is Cloud.AWS:
            # On EKS the AWS Load Balancer Controller provisions this Service's load balancer only when
            # asked, and makes it internal unless told otherwise: an internet-facing NLB to the Traefik
            # pods, keeping client addresses (kubernetes-sigs.github.io/aws-load-balancer-controller,
            # guide/service/annotations: aws-load-balancer-type, -scheme, -nlb-target-type,
            # -target-group-attributes preserve_client_ip.enabled).
            values["service"]["annotations"] = {
                "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": "preserve_client_ip.enabled=true",
            }
        if settings.traefik_image:
            # The chart's one image, the proxy (traefik/traefik-helm-chart v36.3.0: traefik/values.yaml `image`
            # {registry, repository, tag}, no digest key; templates/_helpers.tpl `traefik.image-name` renders
            # registry/repository:tag, and `traefik.proxyVersion` drops what follows '@' from the tag, so
            # `tag@sha256:...` keeps the chart's version checks). Empty: the chart's docker.io/traefik:<appVersion>.
            values["image"] = ChartImage.of(settings.traefik_image).registry_values()
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="traefik",
            chart="traefik",
            version=settings.traefik_chart_version,
            namespace=settings.ingress_namespace,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
            atomic=True,
            values=values,
            opts=self.child(depends_on=[namespace]),
        )
        self.namespace = namespace.metadata.apply(lambda meta: meta.name)
        self.register_outputs({"namespace": self.namespace, "release": release.name})
