"""TenantIngress: a tenant's hostname on Traefik, TLS only, with the headers finance needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate
from odoo_platform.labels import k8s_labels
from odoo_platform.topology import TenantPlan
from odoo_platform.workload import HTTP_PORT, WEBSOCKET_PORT

TRAEFIK_API = "traefik.io/v1alpha1"
TLS_OPTION = "tls-modern"
# Nothing may reach the database manager when no admin range is configured.
UNROUTABLE = "127.0.0.1/32"


@dataclass(frozen=True)
class TenantIngressArgs:
    estate: Estate
    tenant: TenantPlan
    namespace: pulumi.Input[str]
    service_name: pulumi.Input[str]


class TenantIngress(PlatformComponent):
    hostname: str

    def __init__(self, name: str, args: TenantIngressArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        estate, plan, ns = args.estate, args.tenant, args.namespace
        labels = k8s_labels(estate, plan.tenant, "ingress")
        self.hostname = plan.tenant.hostname

        def custom(
            logical: str, kind: str, object_name: str, spec: dict[str, Any], after: Sequence[pulumi.Resource] = ()
        ) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(
                f"{name}-{logical}",
                api_version=TRAEFIK_API,
                kind=kind,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=ns, labels=labels),
                spec=spec,
                opts=self.child(depends_on=list(after)),
            )

        middlewares = [
            custom("redirect-https", "Middleware", "redirect-https", {"redirectScheme": {"scheme": "https", "permanent": True}}),
            custom(
                "security-headers",
                "Middleware",
                "security-headers",
                {
                    "headers": {
                        "stsSeconds": 31536000,
                        "stsIncludeSubdomains": True,
                        "stsPreload": True,
                        "forceSTSHeader": True,
                        # Not DENY: Odoo frames its own pages (the PDF viewer, the HTML editor, report
                        # previews), which DENY breaks; SAMEORIGIN still refuses every other site.
                        "customFrameOptionsValue": "SAMEORIGIN",
                        "contentTypeNosniff": True,
                        "referrerPolicy": "strict-origin-when-cross-origin",
                    }
                },
            ),
            custom(
                "rate-limit",
                "Middleware",
                "rate-limit",
                {"rateLimit": {"average": plan.tier.requests_per_second, "burst": plan.tier.requests_per_second * 2,
                               "period": "1s"}},
            ),
            custom(
                "database-manager-allowlist",
                "Middleware",
                "database-manager-allowlist",
                {"ipAllowList": {"sourceRange": list(estate.kubernetes.admin_cidrs) or [UNROUTABLE]}},
            ),
        ]
        tls_option = custom(
            "tls-option",
            "TLSOption",
            TLS_OPTION,
            {
                "minVersion": "VersionTLS12",
                "sniStrict": True,
                "cipherSuites": [
                    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
                    "TLS_AES_256_GCM_SHA384",
                    "TLS_CHACHA20_POLY1305_SHA256",
                ],
            },
        )
        host = f"Host(`{plan.tenant.hostname}`)"

        def use(*names: str) -> list[dict[str, str]]:
            return [{"name": middleware} for middleware in names]

        def to(port: int) -> list[dict[str, Any]]:
            return [{"name": args.service_name, "port": port}]

        custom(
            "route",
            "IngressRoute",
            "odoo",
            {
                "entryPoints": ["websecure"],
                "routes": [
                    {"kind": "Rule", "match": f"{host} && PathPrefix(`/web/database`)", "priority": 100,
                     "middlewares": use("database-manager-allowlist", "security-headers"), "services": to(HTTP_PORT)},
                    {"kind": "Rule", "match": f"{host} && PathPrefix(`/websocket`)", "priority": 90,
                     "middlewares": use("security-headers"), "services": to(WEBSOCKET_PORT)},
                    {"kind": "Rule", "match": host, "priority": 10,
                     "middlewares": use("security-headers", "rate-limit"), "services": to(HTTP_PORT)},
                ],
                # The certificate is issued into this Secret by cert-manager or supplied by the team.
                "tls": {"secretName": f"{plan.name}-tls", "options": {"name": TLS_OPTION, "namespace": plan.namespace}},
            },
            after=[*middlewares, tls_option],
        )
        custom(
            "http-redirect",
            "IngressRoute",
            "odoo-http",
            {
                "entryPoints": ["web"],
                "routes": [{"kind": "Rule", "match": host, "middlewares": use("redirect-https"), "services": to(HTTP_PORT)}],
            },
            after=middlewares,
        )
        self.register_outputs({"hostname": self.hostname})
