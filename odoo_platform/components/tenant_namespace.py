"""TenantNamespace: one tenant's Kubernetes namespace and the walls around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
from odoo_platform.labels import LABEL_PREFIX
from odoo_platform.topology import TenantPlan

PSA_LEVEL = "restricted"


@dataclass(frozen=True)
class TenantNamespaceArgs:
    estate: Estate
    tenant: TenantPlan


class TenantNamespace(PlatformComponent):
    namespace: pulumi.Output[str]
    """Name of the tenant's namespace."""

    def __init__(self, name: str, args: TenantNamespaceArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        plan = args.tenant
        labels = {
            "kubernetes.io/metadata.name": plan.namespace,
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
            metadata=k8s.meta.v1.ObjectMetaArgs(name=plan.namespace, labels=labels),
            opts=self.child(),
        )
        self.namespace = namespace.metadata.apply(lambda meta: meta.name)
        self.register_outputs({"namespace": self.namespace})
