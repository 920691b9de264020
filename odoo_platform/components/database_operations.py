"""DatabaseOperations: the jobs that look after tenant databases, kept out of tenant namespaces.

They need the server's administrator credentials, so they run in their own namespace that no
tenant can reach: a bootstrap Job creating each tenant's role and database, a logical dump
per tenant at the tier's backup interval (to the immutable archive), and a restore drill per
tenant on the tier's schedule that restores the latest dump into a scratch database, checks
it, reports `odoo_platform_restore_drill_success` and cleans up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.components.k8s_common import container_security, fit_name, metadata, pod_security, resources
from odoo_platform.config import Cloud, Estate
from odoo_platform.ops_scripts import interpreter, scripts_for
from odoo_platform.rotation import RotatedSecret
from odoo_platform.topology import ServerPlan, TenantPlan
from odoo_platform.workload import (
    DATABASE_CLIENT_LABEL,
    OBJECT_STORAGE_CLIENT_LABEL,
    OPERATIONS_NAMESPACE,
    POSTGRES_PORT,
    PRIVATE_RANGES,
    PUSHGATEWAY_PORT,
)

OPS_UID = 70  # the postgres image's `postgres` user on Alpine; any non-root uid works for the CLIs
OPS_LABELS = {"app.kubernetes.io/part-of": "odoo-platform", "app.kubernetes.io/component": "operations"}
JOB_LABELS = OPS_LABELS | {DATABASE_CLIENT_LABEL: "true", OBJECT_STORAGE_CLIENT_LABEL: "true"}


@dataclass(frozen=True)
class ServerOperations:
    server: ServerPlan
    tenants: tuple[TenantPlan, ...]
    host: pulumi.Input[str]
    admin_login: str
    admin_password: RotatedSecret
    tenant_passwords: dict[str, RotatedSecret]
    archive_url: pulumi.Input[str]


@dataclass(frozen=True)
class DatabaseOperationsArgs:
    estate: Estate
    servers: tuple[ServerOperations, ...]
    database_cidrs: tuple[str, ...]


def cron_every(minutes: int) -> str:
    """A cron schedule that fires at least every `minutes` minutes."""
    if minutes >= 1440:
        return "15 1 * * *"
    if minutes >= 60:
        return f"15 */{minutes // 60} * * *" if minutes // 60 > 1 else "15 * * * *"
    return f"*/{minutes} * * * *"


class DatabaseOperations(PlatformComponent):
    namespace: str
    bootstraps: dict[str, k8s.batch.v1.Job]
    """Per server key, the Job that creates the tenants' roles and databases and sets their current passwords."""

    def __init__(self, name: str, args: DatabaseOperationsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        estate = args.estate
        self.namespace = OPERATIONS_NAMESPACE
        self.settings = estate.kubernetes
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=OPERATIONS_NAMESPACE,
                labels=OPS_LABELS | {
                    "kubernetes.io/metadata.name": OPERATIONS_NAMESPACE,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            ),
            opts=self.child(),
        )
        self.in_ns = self.child(depends_on=[namespace])
        annotations = {}
        if self.settings.operations_identity:
            key = "azure.workload.identity/client-id" if estate.cloud is Cloud.AZURE else "eks.amazonaws.com/role-arn"
            annotations[key] = self.settings.operations_identity
        k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="odoo-ops", namespace=OPERATIONS_NAMESPACE, labels=OPS_LABELS,
                                                annotations=annotations),
            automount_service_account_token=False,
            opts=self.in_ns,
        )
        k8s.core.v1.ConfigMap(
            f"{name}-scripts",
            metadata=metadata("ops-scripts", OPERATIONS_NAMESPACE, OPS_LABELS),
            data=scripts_for(estate.cloud.value),
            opts=self.in_ns,
        )
        self._network_policies(name, args.database_cidrs)
        self.bootstraps = {ops.server.key: self._server(name, estate, ops) for ops in args.servers}
        self.register_outputs({"namespace": self.namespace})

    def _network_policies(self, name: str, database_cidrs: tuple[str, ...]) -> None:
        def tcp(*ports: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
            return [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in ports]

        def peer_ns(ns: str, **pods: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
            return k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": ns}),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pods) if pods else None,
            )

        def block(cidr: str, exclude: tuple[str, ...] = ()) -> k8s.networking.v1.NetworkPolicyPeerArgs:
            return k8s.networking.v1.NetworkPolicyPeerArgs(
                ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr, except_=list(exclude) or None)
            )

        policies = {
            "default-deny-all": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
            ),
            "allow-egress-operations": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=OPS_LABELS),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[peer_ns("kube-system", **{"k8s-app": "kube-dns"})],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="UDP", port=53), *tcp(53)],
                    ),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[block(cidr) for cidr in database_cidrs], ports=tcp(POSTGRES_PORT)
                    ),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[block("0.0.0.0/0", PRIVATE_RANGES)], ports=tcp(443)),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[peer_ns("monitoring")], ports=tcp(PUSHGATEWAY_PORT)),
                ],
            ),
        }
        for policy, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy}", metadata=metadata(policy, OPERATIONS_NAMESPACE, OPS_LABELS), spec=spec,
                opts=self.in_ns,
            )

    def _server(self, name: str, estate: Estate, ops: ServerOperations) -> k8s.batch.v1.Job:
        key = ops.server.key
        admin_secret = f"pg-admin-{key}"
        roles_secret = f"pg-roles-{key}"
        k8s.core.v1.Secret(
            f"{name}-{key}-admin",
            metadata=metadata(admin_secret, OPERATIONS_NAMESPACE, OPS_LABELS),
            type="Opaque",
            string_data={"host": ops.host, "user": ops.admin_login, "password": ops.admin_password.value},
            opts=self.in_ns,
        )
        roles = k8s.core.v1.Secret(
            f"{name}-{key}-roles",
            metadata=metadata(roles_secret, OPERATIONS_NAMESPACE, OPS_LABELS),
            type="Opaque",
            string_data={tenant: password.value for tenant, password in sorted(ops.tenant_passwords.items())},
            opts=self.in_ns,
        )
        tenants = " ".join(t.name for t in ops.tenants)
        # A new set of tenants or a rotated role password is a new Job (Jobs are immutable): it
        # runs ALTER ROLE ... PASSWORD before the Odoo pods that depend on it roll.
        revisions = [ops.tenant_passwords[t.name].revision for t in ops.tenants]
        job_name = pulumi.Output.all(*revisions).apply(
            lambda v: fit_name(f"db-bootstrap-{key}-{hashlib.sha256(' '.join([tenants, *v]).encode()).hexdigest()[:10]}")
        )
        bootstrap = k8s.batch.v1.Job(
            f"{name}-{key}-bootstrap",
            metadata=metadata(job_name, OPERATIONS_NAMESPACE, JOB_LABELS),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=3,
                template=self._pod(
                    init=[],
                    main=[self._container("bootstrap", self.settings.postgres_client_image, "bootstrap.sh", admin_secret,
                                          {"TENANTS": tenants}, extra_mounts=[("roles", "/roles")])],
                    restart_policy="OnFailure",
                    extra_volumes=[k8s.core.v1.VolumeArgs(
                        name="roles", secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=roles_secret, default_mode=0o400))],
                ),
            ),
            opts=self.child(depends_on=[roles], delete_before_replace=True),
        )
        cli_image = self.settings.azure_cli_image if estate.cloud is Cloud.AZURE else self.settings.aws_cli_image
        for tenant in ops.tenants:
            env = {"TENANT": tenant.name, "DATABASE": tenant.database, "ARCHIVE_URL": ops.archive_url,
                   "TIER": str(tenant.tenant.tier), "PUSHGATEWAY_URL": self.settings.pushgateway_url}
            self._cron(
                f"{name}-{tenant.name}-dump", f"dump-{tenant.name}", cron_every(tenant.tier.backup_interval_minutes),
                init=[self._container("dump", self.settings.postgres_client_image, "dump.sh", admin_secret, env),
                      self._container("upload", cli_image, "upload.sh", None, env)],
                main=[self._container("report", self.settings.curl_image, "report.sh", None,
                                      env | {"METRIC": "odoo_platform_backup_last_success_timestamp_seconds",
                                             "JOB": "odoo-dump"})],
            )
            self._cron(
                f"{name}-{tenant.name}-drill", f"restore-drill-{tenant.name}", tenant.tier.restore_drill_schedule,
                init=[self._container("fetch", cli_image, "fetch.sh", None, env),
                      self._container("restore-check", self.settings.postgres_client_image, "restore-check.sh",
                                      admin_secret, env)],
                main=[self._container("report", self.settings.curl_image, "report.sh", None,
                                      env | {"METRIC": "odoo_platform_restore_drill_success", "JOB": "odoo-restore-drill"})],
            )
        return bootstrap

    def _cron(self, logical: str, object_name: str, schedule: str, init: list, main: list) -> None:
        k8s.batch.v1.CronJob(
            logical,
            metadata=metadata(object_name, OPERATIONS_NAMESPACE, JOB_LABELS),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=schedule,
                concurrency_policy="Forbid",
                successful_jobs_history_limit=1,
                failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    spec=k8s.batch.v1.JobSpecArgs(backoff_limit=1, active_deadline_seconds=6 * 3600,
                                                  template=self._pod(init=init, main=main, restart_policy="Never"))
                ),
            ),
            opts=self.in_ns,
        )

    def _pod(self, init: list, main: list, restart_policy: str, extra_volumes: Optional[list] = None):
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=JOB_LABELS | {"azure.workload.identity/use": "true"}),
            spec=k8s.core.v1.PodSpecArgs(
                service_account_name="odoo-ops",
                automount_service_account_token=False,
                security_context=pod_security(OPS_UID),
                restart_policy=restart_policy,
                init_containers=init or None,
                containers=main,
                volumes=[
                    k8s.core.v1.VolumeArgs(name="scripts", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                        name="ops-scripts", default_mode=0o555)),
                    k8s.core.v1.VolumeArgs(name="work", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="50Gi")),
                    k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi")),
                    *(extra_volumes or []),
                ],
            ),
        )

    def _container(self, name: str, image: str, script: str, admin_secret: Optional[str], env: dict[str, pulumi.Input[str]],
                   extra_mounts: Optional[list[tuple[str, str]]] = None) -> k8s.core.v1.ContainerArgs:
        variables = [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in env.items()]
        variables.append(k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"))
        if admin_secret:
            variables += [
                k8s.core.v1.EnvVarArgs(name=var, value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=admin_secret, key=field)))
                for var, field in (("PG_HOST", "host"), ("PG_ADMIN_USER", "user"), ("PG_ADMIN_PASSWORD", "password"))
            ]
        mounts = [("scripts", "/scripts"), ("work", "/work"), ("tmp", "/tmp"), *(extra_mounts or [])]
        return k8s.core.v1.ContainerArgs(
            name=name,
            image=image,
            command=[interpreter(script), f"/scripts/{script}"],
            env=variables,
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name=v, mount_path=p, read_only=v in ("scripts", "roles"))
                           for v, p in mounts],
            resources=resources(100, 1000, 256, 2048),
            security_context=container_security(),
        )
