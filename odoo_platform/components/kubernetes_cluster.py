"""KubernetesCluster: a private AKS/EKS cluster, and the provider every workload deploys through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.clouds import CloudAdapter, Foundation, KeyRing
from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate


@dataclass(frozen=True)
class KubernetesClusterArgs:
    estate: Estate
    foundation: Foundation
    key_ring: KeyRing
    adapter: CloudAdapter


class KubernetesCluster(PlatformComponent):
    provider: k8s.Provider
    """Kubernetes provider bound to the new cluster (credentials kept secret)."""
    oidc_issuer: pulumi.Output[str]
    oidc_provider_id: Optional[pulumi.Output[str]]
    """AWS: the IAM OIDC provider IRSA roles (e.g. kubernetes.operationsIdentity) must trust."""
    kubeconfig: pulumi.Output[str]
    """A Pulumi secret; the foundation stack exports it to its shard stacks."""

    def __init__(self, name: str, args: KubernetesClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        access = args.adapter.create_cluster(name, self, args.estate, args.foundation, args.key_ring, self.stateful())
        self.oidc_issuer = access.oidc_issuer
        self.kubeconfig = access.kubeconfig
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=access.kubeconfig,
            # Server-side apply and no client-side guessing: the API server validates every object.
            enable_server_side_apply=True,
            delete_unreachable=False,
            opts=self.child(),
        )
        if access.install is not None:
            access.install(self.provider)
        self.oidc_provider_id = access.oidc_provider_id
        self.register_outputs({"oidcIssuer": self.oidc_issuer, "oidcProviderId": self.oidc_provider_id})
