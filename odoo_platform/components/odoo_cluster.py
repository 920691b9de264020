"""OdooCluster: one tenant's Odoo web, websocket and cron workloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
from odoo_platform.labels import k8s_labels, selector_labels
from odoo_platform.topology import TenantPlan

HTTP_PORT = 8069
WEBSOCKET_PORT = 8072


@dataclass(frozen=True)
class OdooClusterArgs:
    estate: Estate
    tenant: TenantPlan
    namespace: pulumi.Input[str]
    database_host: pulumi.Input[str]
    database_port: int


class OdooCluster(PlatformComponent):
    service_name: pulumi.Output[str]
    """The Service Traefik routes the tenant's hostname to."""

    def __init__(self, name: str, args: OdooClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        plan = args.tenant
        sizing = plan.sizing
        labels = k8s_labels(args.estate, plan.tenant, "web")
        selector = selector_labels(plan.tenant, "web")
        web = k8s.apps.v1.Deployment(
            f"{name}-web",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="odoo-web", namespace=args.namespace, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=sizing.web_replicas_min,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="odoo",
                                image=args.estate.image,
                                ports=[
                                    k8s.core.v1.ContainerPortArgs(name="http", container_port=HTTP_PORT),
                                    k8s.core.v1.ContainerPortArgs(name="websocket", container_port=WEBSOCKET_PORT),
                                ],
                                env=[
                                    k8s.core.v1.EnvVarArgs(name="HOST", value=args.database_host),
                                    k8s.core.v1.EnvVarArgs(name="PORT", value=str(args.database_port)),
                                ],
                                resources=k8s.core.v1.ResourceRequirementsArgs(
                                    requests={
                                        "cpu": f"{sizing.cpu_request_millis}m",
                                        "memory": f"{sizing.memory_request_mib}Mi",
                                    },
                                    limits={
                                        "cpu": f"{sizing.cpu_limit_millis}m",
                                        "memory": f"{sizing.memory_limit_mib}Mi",
                                    },
                                ),
                            )
                        ],
                    ),
                ),
            ),
            opts=self.child(),
        )
        service = k8s.core.v1.Service(
            f"{name}-svc",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="odoo", namespace=args.namespace, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(name="http", port=HTTP_PORT, target_port="http"),
                    k8s.core.v1.ServicePortArgs(name="websocket", port=WEBSOCKET_PORT, target_port="websocket"),
                ],
            ),
            opts=self.child(depends_on=[web]),
        )
        self.service_name = service.metadata.apply(lambda meta: meta.name)
        self.register_outputs({"serviceName": self.service_name, "webReplicas": sizing.web_replicas_min})
