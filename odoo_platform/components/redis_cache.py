"""RedisCache: where a tenant's Odoo keeps sessions.

In-cluster (dev and staging by default): the tenant's own Redis with a generated password,
no persistence, ClusterIP only. Managed (production by default): only the `redis-auth`
Secret pointing at the placement's managed cache (TLS), so the Odoo pods look the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.components.k8s_common import container_security, metadata, pod_security, resources
from odoo_platform.config import Estate
from odoo_platform.labels import CREDENTIALS_REVISION, k8s_labels, selector_labels
from odoo_platform.rotation import rotating_password
from odoo_platform.topology import TenantPlan
from odoo_platform.workload import REDIS_CPU_MILLIS, REDIS_MEMORY_MIB, REDIS_PORT

REDIS_UID = 999  # the `redis` user of the official image
URL_PASSWORD_KEY = "url-password"


def url_password(password: str) -> str:
    """The password as it goes into a redis:// URL. An Azure Cache access key is base64 and may contain
    `/`, `+` and `=`, which would otherwise end or corrupt the URL's authority part."""
    return quote(password, safe="")


def redis_url(host: str, port: int, tls: bool, password_reference: str) -> str:
    """The URL session_redis connects with; `password_reference` is the percent-encoded password or,
    in a manifest, a `$(VAR)` Kubernetes expands at container start."""
    return f"{'rediss' if tls else 'redis'}://:{password_reference}@{host}:{port}/0"


@dataclass(frozen=True)
class ManagedCache:
    host: pulumi.Input[str]
    port: int
    password: pulumi.Output[str]
    revision: pulumi.Output[str]


@dataclass(frozen=True)
class RedisCacheArgs:
    estate: Estate
    tenant: TenantPlan
    namespace: pulumi.Input[str]
    managed: Optional[ManagedCache] = None


class RedisCache(PlatformComponent):
    host: pulumi.Input[str]
    """Host Odoo connects to: the in-cluster Service or the managed cache."""
    port: int
    tls: bool
    secret_name: str
    """Secret holding the `password` and `url-password` (percent-encoded) keys."""
    revision: pulumi.Output[str]
    """Changes when the password rotates; Odoo pods carry it so they restart with the new one."""

    def __init__(self, name: str, args: RedisCacheArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        estate, plan, ns = args.estate, args.tenant, args.namespace
        labels = k8s_labels(estate, plan.tenant, "redis") | {"app.kubernetes.io/name": "redis"}
        self.secret_name = "redis-auth"
        if args.managed:
            secret_value = args.managed.password
            self.revision = args.managed.revision
        else:
            password = rotating_password(self, f"{name}-password", plan.tier.secret_rotation_days, length=32, special=False)
            secret_value, self.revision = password.value, password.revision
        secret = k8s.core.v1.Secret(
            f"{name}-auth",
            metadata=metadata(self.secret_name, ns, labels),
            type="Opaque",
            string_data={"password": secret_value, URL_PASSWORD_KEY: pulumi.Output.secret(secret_value).apply(url_password)},
            opts=self.child(),
        )
        if args.managed:
            self.host, self.port, self.tls = args.managed.host, args.managed.port, True
            self.register_outputs({"host": self.host, "port": self.port, "managed": True})
            return
        selector = selector_labels(plan.tenant, "redis")
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata("redis", ns, labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                # Sessions are not persisted: a second Redis during a rollout would hold no session anyway,
                # and the namespace's quota counts one Redis pod.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    # redis-server reads its password at start: a rotation must restart it.
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations={CREDENTIALS_REVISION: self.revision}),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,
                        security_context=pod_security(REDIS_UID),
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="redis",
                                image=estate.kubernetes.redis_image,
                                command=["redis-server"],
                                # Sessions only: no persistence, auth required, bounded memory.
                                args=["--requirepass", "$(REDIS_PASSWORD)", "--save", "", "--appendonly", "no",
                                      "--maxmemory", f"{REDIS_MEMORY_MIB * 3 // 4}mb",
                                      "--maxmemory-policy", "volatile-lru"],
                                env=[
                                    k8s.core.v1.EnvVarArgs(
                                        name="REDIS_PASSWORD",
                                        value_from=k8s.core.v1.EnvVarSourceArgs(
                                            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(
                                                name=self.secret_name, key="password"
                                            )
                                        ),
                                    )
                                ],
                                ports=[k8s.core.v1.ContainerPortArgs(name="redis", container_port=REDIS_PORT)],
                                readiness_probe=k8s.core.v1.ProbeArgs(
                                    tcp_socket=k8s.core.v1.TCPSocketActionArgs(port="redis"), period_seconds=10
                                ),
                                liveness_probe=k8s.core.v1.ProbeArgs(
                                    tcp_socket=k8s.core.v1.TCPSocketActionArgs(port="redis"), period_seconds=20
                                ),
                                resources=resources(REDIS_CPU_MILLIS, REDIS_CPU_MILLIS * 2, REDIS_MEMORY_MIB, REDIS_MEMORY_MIB),
                                security_context=container_security(),
                                volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path="/data")],
                            )
                        ],
                        volumes=[k8s.core.v1.VolumeArgs(name="data", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs())],
                    ),
                ),
            ),
            opts=self.child(depends_on=[secret]),
        )
        service = k8s.core.v1.Service(
            f"{name}-svc",
            metadata=metadata("redis", ns, labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="redis", port=REDIS_PORT, target_port="redis")],
            ),
            opts=self.child(),
        )
        self.host, self.port, self.tls = service.metadata.apply(lambda meta: meta.name), REDIS_PORT, False
        self.register_outputs({"host": self.host, "port": self.port, "managed": False})
