"""OdooCluster: one tenant's Odoo web, websocket and cron workloads, and their upgrade.

- Web pods serve HTTP (8069) and websocket/gevent (8072) and run no cron threads; one cron
  Deployment runs the scheduled actions.
- The filestore (and Odoo's file-based sessions) live on a ReadWriteMany volume, and
  sessions are also kept in the tenant's Redis (OCA `session_redis`), so any replica can
  serve any user and a lost pod logs nobody out.
- A Job named after the image runs `--update=all --stop-after-init` whenever the image
  changes; web and cron depend on it, so new pods never serve an unmigrated database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.components.k8s_common import container_security, metadata, pod_security, resources
from odoo_platform.config import Environment, Estate
from odoo_platform.labels import CREDENTIALS_REVISION, k8s_labels, selector_labels
from odoo_platform.odoo_conf import DATA_DIR, render_odoo_conf
from odoo_platform.rotation import RotatedSecret, rotating_password
from odoo_platform.topology import TenantPlan
from odoo_platform.workload import (
    DATABASE_CLIENT_LABEL,
    FILESTORE_GI,
    HTTP_PORT,
    REDIS_CLIENT_LABEL,
    SCALER_CPU_MILLIS,
    SCALER_LABEL,
    SCALER_MEMORY_MIB,
    UPGRADE_JOB_CPU_MILLIS,
    UPGRADE_JOB_MEMORY_MIB,
    WEBSOCKET_PORT,
)

CONFIG_PATH = "/etc/odoo/odoo.conf"


@dataclass(frozen=True)
class OdooClusterArgs:
    estate: Estate
    tenant: TenantPlan
    namespace: pulumi.Input[str]
    service_account: str
    database_host: pulumi.Input[str]
    database_port: int
    database_password: RotatedSecret
    database_ready: Optional[pulumi.Resource]
    """The Job that created the tenant's role and set its current password (None in a shard stack, whose
    foundation stack runs first)."""
    rwx_storage_class: str
    redis_host: pulumi.Input[str]
    redis_port: int
    redis_tls: bool
    redis_secret: str
    redis_revision: pulumi.Input[str]


class OdooCluster(PlatformComponent):
    service_name: pulumi.Output[str]
    """The Service Traefik routes the tenant's hostname to."""

    def __init__(self, name: str, args: OdooClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        estate, plan, ns = args.estate, args.tenant, args.namespace
        sizing = plan.sizing
        production = estate.environment is Environment.PROD
        image = estate.image_for(plan.tenant)

        admin_password = rotating_password(
            self, f"{name}-admin-password", plan.tier.secret_rotation_days, length=32, special=False
        )
        database_ready = [args.database_ready] if args.database_ready else []
        credentials_revision = pulumi.Output.all(
            args.database_password.revision, admin_password.revision, args.redis_revision
        ).apply(lambda revisions: hashlib.sha256("|".join(revisions).encode()).hexdigest()[:16])
        config = k8s.core.v1.Secret(
            f"{name}-config",
            metadata=metadata("odoo-config", ns, k8s_labels(estate, plan.tenant, "config")),
            type="Opaque",
            string_data={
                "odoo.conf": pulumi.Output.secret(
                    pulumi.Output.all(admin_password.value, args.database_password.value, args.database_host).apply(
                        lambda values: render_odoo_conf(
                            database=plan.database,
                            db_host=values[2],
                            db_port=args.database_port,
                            db_user=plan.role,
                            db_password=values[1],
                            admin_password=values[0],
                            sizing=sizing,
                            odoo_major_version=estate.odoo_major_version,
                        )
                    )
                )
            },
            opts=self.child(),
        )
        filestore = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-filestore",
            metadata=metadata("odoo-filestore", ns, k8s_labels(estate, plan.tenant, "filestore")),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteMany"],
                storage_class_name=args.rwx_storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": f"{FILESTORE_GI}Gi"}),
            ),
            opts=self.stateful(),
        )

        volumes = [
            k8s.core.v1.VolumeArgs(
                name="config", secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name="odoo-config", default_mode=0o440)
            ),
            k8s.core.v1.VolumeArgs(
                name="filestore",
                persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name="odoo-filestore"),
            ),
            k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi")),
        ]
        mounts = [
            k8s.core.v1.VolumeMountArgs(name="config", mount_path="/etc/odoo", read_only=True),
            k8s.core.v1.VolumeMountArgs(name="filestore", mount_path=DATA_DIR),
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
        ]
        scheme = "rediss" if args.redis_tls else "redis"
        session_env = [
            k8s.core.v1.EnvVarArgs(name="ODOO_SESSION_REDIS", value="1"),
            k8s.core.v1.EnvVarArgs(name="ODOO_SESSION_REDIS_HOST", value=args.redis_host),
            k8s.core.v1.EnvVarArgs(name="ODOO_SESSION_REDIS_PORT", value=str(args.redis_port)),
            k8s.core.v1.EnvVarArgs(name="ODOO_SESSION_REDIS_PREFIX", value=plan.name),
            k8s.core.v1.EnvVarArgs(
                name="ODOO_SESSION_REDIS_PASSWORD",
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=args.redis_secret, key="password")
                ),
            ),
            # Kubernetes expands $(VAR) at start-up: the manifest never holds the password.
            k8s.core.v1.EnvVarArgs(
                name="ODOO_SESSION_REDIS_URL",
                value=pulumi.Output.concat(
                    scheme, "://:$(ODOO_SESSION_REDIS_PASSWORD)@", args.redis_host, f":{args.redis_port}/0"
                ),
            ),
        ]
        client_labels = {DATABASE_CLIENT_LABEL: "true", REDIS_CLIENT_LABEL: "true"}

        def pod_spec(containers: list[k8s.core.v1.ContainerArgs], restart_policy: Optional[str] = None, spread: Optional[list] = None):
            return k8s.core.v1.PodSpecArgs(
                service_account_name=args.service_account,
                automount_service_account_token=False,
                security_context=pod_security(),
                containers=containers,
                volumes=volumes,
                restart_policy=restart_policy,
                topology_spread_constraints=spread,
                termination_grace_period_seconds=60,
            )

        def odoo_container(container_args: list[str], container_resources, **extra) -> k8s.core.v1.ContainerArgs:
            return k8s.core.v1.ContainerArgs(
                name="odoo",
                image=image,
                image_pull_policy="IfNotPresent",
                # Bypass the image entrypoint: it would pass the DB password on the command line.
                command=["odoo"],
                args=[f"--config={CONFIG_PATH}", *container_args],
                env=session_env,
                volume_mounts=mounts,
                resources=container_resources,
                security_context=container_security(),
                **extra,
            )

        image_key = hashlib.sha256(image.encode()).hexdigest()[:10]
        upgrade_labels = k8s_labels(estate, plan.tenant, "upgrade") | client_labels
        upgrade = k8s.batch.v1.Job(
            f"{name}-upgrade",
            metadata=metadata(f"odoo-upgrade-{image_key}", ns, upgrade_labels),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=1,
                active_deadline_seconds=3600,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=upgrade_labels),
                    spec=pod_spec(
                        [
                            odoo_container(
                                [f"--database={plan.database}", "--init=base", "--update=all",
                                 "--stop-after-init", "--without-demo=all", "--no-http"],
                                resources(UPGRADE_JOB_CPU_MILLIS // 2, UPGRADE_JOB_CPU_MILLIS,
                                          UPGRADE_JOB_MEMORY_MIB // 2, UPGRADE_JOB_MEMORY_MIB),
                            )
                        ],
                        restart_policy="Never",
                    ),
                ),
            ),
            opts=self.child(depends_on=[config, filestore, *database_ready], delete_before_replace=True),
        )

        web_labels = k8s_labels(estate, plan.tenant, "web") | client_labels
        web_selector = selector_labels(plan.tenant, "web")
        health = k8s.core.v1.HTTPGetActionArgs(path="/web/health", port="http")
        spread = [
            k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1,
                topology_key="topology.kubernetes.io/zone",
                when_unsatisfiable="DoNotSchedule" if production else "ScheduleAnyway",
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=web_selector),
            ),
            k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1,
                topology_key="kubernetes.io/hostname",
                when_unsatisfiable="ScheduleAnyway",
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=web_selector),
            ),
        ]
        web = k8s.apps.v1.Deployment(
            f"{name}-web",
            metadata=metadata("odoo-web", ns, web_labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=sizing.web_replicas_min,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=web_selector),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=web_labels, annotations={CREDENTIALS_REVISION: credentials_revision}
                    ),
                    spec=pod_spec(
                        [
                            odoo_container(
                                [],
                                resources(sizing.cpu_request_millis, sizing.cpu_limit_millis,
                                          sizing.memory_request_mib, sizing.memory_limit_mib),
                                ports=[
                                    k8s.core.v1.ContainerPortArgs(name="http", container_port=HTTP_PORT),
                                    k8s.core.v1.ContainerPortArgs(name="websocket", container_port=WEBSOCKET_PORT),
                                ],
                                startup_probe=k8s.core.v1.ProbeArgs(http_get=health, period_seconds=10, failure_threshold=30),
                                readiness_probe=k8s.core.v1.ProbeArgs(http_get=health, period_seconds=10, timeout_seconds=5),
                                liveness_probe=k8s.core.v1.ProbeArgs(
                                    http_get=health, period_seconds=20, timeout_seconds=5, failure_threshold=3
                                ),
                            )
                        ],
                        spread=spread,
                    ),
                ),
            ),
            # The HPA (and, outside production, the night-time scaler) owns the replica count.
            opts=self.child(depends_on=[upgrade, *database_ready], ignore_changes=["spec.replicas"]),
        )
        cron_labels = k8s_labels(estate, plan.tenant, "cron") | client_labels
        k8s.apps.v1.Deployment(
            f"{name}-cron",
            metadata=metadata("odoo-cron", ns, cron_labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                # Two cron pods would run every scheduled action twice: replace, never overlap.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels(plan.tenant, "cron")),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=cron_labels, annotations={CREDENTIALS_REVISION: credentials_revision}
                    ),
                    spec=pod_spec(
                        [
                            odoo_container(
                                ["--no-http", "--workers=0", "--max-cron-threads=2"],
                                resources(sizing.cron_cpu_request_millis, 1000, 512, sizing.cron_memory_limit_mib),
                            )
                        ]
                    ),
                ),
            ),
            opts=self.child(depends_on=[upgrade, *database_ready], ignore_changes=["spec.replicas"]),
        )
        service = k8s.core.v1.Service(
            f"{name}-svc",
            metadata=metadata("odoo", ns, k8s_labels(estate, plan.tenant, "web")),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=web_selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(name="http", port=HTTP_PORT, target_port="http"),
                    k8s.core.v1.ServicePortArgs(name="websocket", port=WEBSOCKET_PORT, target_port="websocket"),
                ],
            ),
            opts=self.child(),
        )
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=metadata("odoo-web", ns, k8s_labels(estate, plan.tenant, "web")),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name="odoo-web"
                ),
                min_replicas=sizing.web_replicas_min,
                max_replicas=sizing.web_replicas_max,
                metrics=[
                    k8s.autoscaling.v2.MetricSpecArgs(
                        type="Resource",
                        resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                            name="cpu",
                            target=k8s.autoscaling.v2.MetricTargetArgs(type="Utilization", average_utilization=70),
                        ),
                    )
                ],
            ),
            opts=self.child(depends_on=[web]),
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=metadata("odoo-web", ns, k8s_labels(estate, plan.tenant, "web")),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=web_selector),
            ),
            opts=self.child(),
        )
        if not production:
            self._night_scaler(name, estate, plan, ns)
        self.service_name = service.metadata.apply(lambda meta: meta.name)
        self.register_outputs(
            {
                "serviceName": self.service_name,
                "webReplicasMin": sizing.web_replicas_min,
                "webReplicasMax": sizing.web_replicas_max,
                "workersPerPod": sizing.workers_per_pod,
                "upgradeJob": f"odoo-upgrade-{image_key}",
            }
        )

    def _night_scaler(self, name: str, estate: Estate, plan: TenantPlan, ns: pulumi.Input[str]) -> None:
        """Dev and staging run only in business hours: CronJobs scale Odoo to zero and back."""
        labels = k8s_labels(estate, plan.tenant, "scaler") | {SCALER_LABEL: "true", "app.kubernetes.io/name": "odoo-scaler"}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-scaler-sa", metadata=metadata("odoo-scaler", ns, labels), opts=self.child()
        )
        role = k8s.rbac.v1.Role(
            f"{name}-scaler-role",
            metadata=metadata("odoo-scaler", ns, labels),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=["apps"],
                    resources=["deployments", "deployments/scale"],
                    resource_names=["odoo-web", "odoo-cron"],
                    verbs=["get", "patch", "update"],
                )
            ],
            opts=self.child(),
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-scaler-binding",
            metadata=metadata("odoo-scaler", ns, labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name="odoo-scaler"),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name="odoo-scaler", namespace=ns)],
            opts=self.child(depends_on=[account, role]),
        )
        hours = estate.business_hours
        schedules = {
            "down": (f"0 {hours.end_hour % 24} * * *", {"odoo-web": 0, "odoo-cron": 0}),
            "up": (f"0 {hours.start_hour} * * {hours.days}", {"odoo-web": plan.sizing.web_replicas_min, "odoo-cron": 1}),
        }
        for direction, (schedule, replicas) in schedules.items():
            k8s.batch.v1.CronJob(
                f"{name}-scale-{direction}",
                metadata=metadata(f"odoo-scale-{direction}", ns, labels),
                spec=k8s.batch.v1.CronJobSpecArgs(
                    schedule=schedule,
                    time_zone=estate.time_zone,
                    concurrency_policy="Forbid",
                    successful_jobs_history_limit=1,
                    failed_jobs_history_limit=3,
                    job_template=k8s.batch.v1.JobTemplateSpecArgs(
                        spec=k8s.batch.v1.JobSpecArgs(
                            backoff_limit=2,
                            template=k8s.core.v1.PodTemplateSpecArgs(
                                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                                spec=k8s.core.v1.PodSpecArgs(
                                    service_account_name="odoo-scaler",
                                    security_context=pod_security(65532),
                                    restart_policy="OnFailure",
                                    # One container per Deployment: the image has no shell to chain commands.
                                    containers=[
                                        k8s.core.v1.ContainerArgs(
                                            name=f"scale-{deployment.removeprefix('odoo-')}",
                                            image=estate.kubernetes.scaler_image,
                                            command=["kubectl"],
                                            args=["scale", f"deployment/{deployment}", f"--replicas={count}"],
                                            resources=resources(SCALER_CPU_MILLIS, SCALER_CPU_MILLIS * 2,
                                                                SCALER_MEMORY_MIB, SCALER_MEMORY_MIB),
                                            security_context=container_security(),
                                        )
                                        for deployment, count in replicas.items()
                                    ],
                                ),
                            ),
                        )
                    ),
                ),
                opts=self.child(),
            )

