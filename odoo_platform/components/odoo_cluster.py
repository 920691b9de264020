"""OdooCluster: one tenant's Odoo web, websocket and cron workloads, and their upgrade.

- Web pods serve HTTP (8069, prefork workers) and websocket (8072, the gevent process) and run no
  cron threads; one cron Deployment runs the scheduled actions.
- The filestore (and, with the official image, Odoo's file sessions) live on a ReadWriteMany volume;
  with the platform's derived image, sessions are kept in the tenant's Redis (OCA `session_redis`),
  so any replica can serve any user and a lost pod logs nobody out (see odoo_conf.ImageContract).
- An upgrade Job named after what needs a migration (the image and the module list) stops cron,
  runs `--update=all --stop-after-init` and sets `report.url`; web and cron depend on it, so new pods
  never serve an unmigrated database, and a second Job starts cron again once it runs the new image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform import cron_scaler
from odoo_platform.components.base import PlatformComponent
from odoo_platform.components.k8s_common import checkov_skips, container_security, metadata, pod_security, resources
from odoo_platform.components.redis_cache import URL_PASSWORD_KEY, redis_url
from odoo_platform.config import Environment, Estate
from odoo_platform.labels import CREDENTIALS_REVISION, LABEL_PREFIX, k8s_labels, selector_labels
from odoo_platform.odoo_conf import (
    DATA_DIR,
    DATABASE_CA_DIR,
    REPORT_URL,
    database_tls,
    image_contract,
    render_odoo_conf,
)
from odoo_platform.rotation import RotatedSecret, rotating_password
from odoo_platform.sizing import (
    CRON_DB_MAXCONN,
    CRON_LIMIT_MEMORY_HARD_MIB,
    CRON_LIMIT_MEMORY_SOFT_MIB,
    CRON_THREADS,
    LIMIT_TIME_REAL,
    MIB,
    UPGRADE_DB_MAXCONN,
)
from odoo_platform.topology import TenantPlan
from odoo_platform.workload import (
    CRON_CPU_LIMIT_MILLIS,
    DATABASE_CLIENT_LABEL,
    EXTERNAL_CLIENT_LABEL,
    FILESTORE_GI,
    HTTP_PORT,
    ODOO_UID_REASON,
    REDIS_CLIENT_LABEL,
    SCALER_CPU_MILLIS,
    SCALER_LABEL,
    SCALER_MEMORY_MIB,
    UPGRADE_JOB_CPU_MILLIS,
    UPGRADE_JOB_MEMORY_MIB,
    WEBSOCKET_PORT,
)

CONFIG_PATH = "/etc/odoo/odoo.conf"
SCRIPTS = "odoo-platform-scripts"
SCRIPTS_PATH = "/opt/odoo-platform"
ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
UPGRADE_ACCOUNT = "odoo-upgrade"
UPGRADE_MODULES = ("all",)
"""`--update` of the upgrade Job: with the image, the only inputs whose change needs a migration."""
# Kubernetes' own backstop for a migration: the longest maintenance window the estate accepts
# (config.Window.duration_hours <= 12). It is a constant so that no tier or window change alters the
# Job's spec (a changed spec replaces the Job and reruns --update=all); the tier's own window is the
# Pulumi timeout below.
UPGRADE_DEADLINE_SECONDS = 12 * 3600
CRON_STOP_TIMEOUT_SECONDS = 300
# On SIGTERM the prefork master closes its socket and lets each worker finish its request
# (PreforkServer.stop_workers_gracefully), killing any that passes limit_time_real: the pod must be
# given that long, or Kubernetes kills month-end requests the master would have let finish.
WEB_TERMINATION_GRACE_SECONDS = LIMIT_TIME_REAL + 30
# Cron threads are daemon threads: ThreadedServer.stop waits one second for non-daemon threads only,
# so a job in flight is rolled back (its nextcall unchanged, it runs again) whatever the grace period.
CRON_TERMINATION_GRACE_SECONDS = 60


def upgrade_key(image: str, modules: tuple[str, ...] = UPGRADE_MODULES) -> str:
    """Identity of a migration: the image and the modules `--update` names, nothing else."""
    return hashlib.sha256("|".join((image, *modules)).encode()).hexdigest()[:10]


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
        contract = image_contract(image, estate.kubernetes.session_redis_repositories)
        egress = estate.kubernetes.odoo_egress
        tls = database_tls(estate.cloud, estate.kubernetes.database_ca_bundle)

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
                            contract=contract,
                            sslmode=tls.sslmode,
                            smtp_relay=egress.smtp_relay,
                        )
                    )
                )
            },
            opts=self.child(),
        )
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-scripts",
            metadata=metadata(SCRIPTS, ns, k8s_labels(estate, plan.tenant, "config")),
            data={
                "cron_scaler.py": Path(cron_scaler.__file__).read_text(),
                # Run by `odoo shell`, which executes its standard input (odoo/cli/shell.py).
                "set_report_url.py": (
                    f"env['ir.config_parameter'].sudo().set_param('report.url', {REPORT_URL!r})\n"
                    "env.cr.commit()\n"
                ),
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
        database_ca = []
        if tls.bundle:
            database_ca = [k8s.core.v1.ConfigMap(
                f"{name}-database-ca",
                metadata=metadata("database-ca", ns, k8s_labels(estate, plan.tenant, "config")),
                data={"ca.crt": tls.bundle},
                opts=self.child(),
            )]
            volumes.append(k8s.core.v1.VolumeArgs(
                name="database-ca", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name="database-ca")))
            mounts.append(k8s.core.v1.VolumeMountArgs(name="database-ca", mount_path=DATABASE_CA_DIR, read_only=True))
        database_env = [k8s.core.v1.EnvVarArgs(name="PGSSLROOTCERT", value=tls.root_cert)] if tls.root_cert else []
        scripts_volume = k8s.core.v1.VolumeArgs(
            name="scripts", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=SCRIPTS, default_mode=0o444)
        )
        scripts_mount = k8s.core.v1.VolumeMountArgs(name="scripts", mount_path=SCRIPTS_PATH, read_only=True)
        env: list[k8s.core.v1.EnvVarArgs] = list(database_env)
        # Odoo uid 101 is the official image's user (files of the filestore belong to it); OCA's
        # session_redis reads its password only from the environment.
        odoo_skips = {"CKV_K8S_40": ODOO_UID_REASON}
        if contract.session_redis:
            odoo_skips["CKV_K8S_35"] = ("OCA session_redis reads the Redis password only from ODOO_SESSION_REDIS_* env "
                                        "(secretKeyRef; the manifest never holds it)")
            env += [
                k8s.core.v1.EnvVarArgs(name="ODOO_SESSION_REDIS", value="1"),
                k8s.core.v1.EnvVarArgs(name="ODOO_SESSION_REDIS_PREFIX", value=plan.name),
                k8s.core.v1.EnvVarArgs(
                    name="ODOO_SESSION_REDIS_URL_PASSWORD",
                    value_from=k8s.core.v1.EnvVarSourceArgs(
                        secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=args.redis_secret, key=URL_PASSWORD_KEY)
                    ),
                ),
                # Kubernetes expands $(VAR) at start-up: the manifest never holds the (percent-encoded) password.
                k8s.core.v1.EnvVarArgs(
                    name="ODOO_SESSION_REDIS_URL",
                    value=pulumi.Output.from_input(args.redis_host).apply(
                        lambda host: redis_url(host, args.redis_port, args.redis_tls, "$(ODOO_SESSION_REDIS_URL_PASSWORD)")
                    ),
                ),
            ]
        if egress.https_proxy:
            # Upper case only: Python's urllib/requests read HTTPS_PROXY for the https services Odoo calls,
            # while wkhtmltopdf (Qt) reads lower-case http_proxy and must keep fetching report.url directly.
            env += [
                k8s.core.v1.EnvVarArgs(name="HTTPS_PROXY",
                                       value=f"http://{egress.https_proxy.host}:{egress.https_proxy.port}"),
                k8s.core.v1.EnvVarArgs(name="NO_PROXY", value="localhost,127.0.0.1"),
            ]
        client_labels = {DATABASE_CLIENT_LABEL: "true"}
        if contract.session_redis:
            client_labels[REDIS_CLIENT_LABEL] = "true"
        if egress.smtp_relay or egress.incoming_mail or egress.https_proxy or egress.https_cidrs:
            client_labels[EXTERNAL_CLIENT_LABEL] = "true"

        def pod_spec(containers: list[k8s.core.v1.ContainerArgs], grace_seconds: int, **extra) -> k8s.core.v1.PodSpecArgs:
            return k8s.core.v1.PodSpecArgs(
                service_account_name=extra.pop("service_account_name", args.service_account),
                automount_service_account_token=False,
                security_context=pod_security(),
                containers=containers,
                volumes=extra.pop("volumes", volumes),
                termination_grace_period_seconds=grace_seconds,
                **extra,
            )

        def odoo_container(container_name: str, container_args: list[str], container_resources, **extra) -> k8s.core.v1.ContainerArgs:
            return k8s.core.v1.ContainerArgs(
                name=container_name,
                image=image,
                image_pull_policy="IfNotPresent",
                # Bypass the image entrypoint: it would pass the DB password on the command line.
                command=extra.pop("command", ["odoo"]),
                args=[f"--config={CONFIG_PATH}", *container_args],
                env=extra.pop("env", env),
                volume_mounts=extra.pop("volume_mounts", mounts),
                resources=container_resources,
                security_context=container_security(),
                **extra,
            )

        def cron_scale_container(replicas: int) -> k8s.core.v1.ContainerArgs:
            cron_pods = ",".join(f"{key}={value}" for key, value in selector_labels(plan.tenant, "cron").items())
            return k8s.core.v1.ContainerArgs(
                name="stop-cron" if replicas == 0 else "start-cron",
                image=image,  # the Odoo image's python3: no second image in the Job's spec
                image_pull_policy="IfNotPresent",
                command=["python3", f"{SCRIPTS_PATH}/cron_scaler.py"],
                args=[str(replicas), "odoo-cron", cron_pods, str(CRON_STOP_TIMEOUT_SECONDS)],
                # The only container that sees the API token (projected, not automounted).
                volume_mounts=[scripts_mount,
                               k8s.core.v1.VolumeMountArgs(name="api-token", mount_path=ACCOUNT_PATH, read_only=True)],
                resources=resources(SCALER_CPU_MILLIS, SCALER_CPU_MILLIS * 2, SCALER_MEMORY_MIB, SCALER_MEMORY_MIB),
                security_context=container_security(),
            )

        # The upgrade Job's pod template carries only labels that never change for a tenant: a tier, ring
        # or cost label there would make a tier change replace the Job and rerun --update=all.
        def stable_labels(component: str) -> dict[str, str]:
            return {"app.kubernetes.io/name": "odoo", **selector_labels(plan.tenant, component),
                    f"{LABEL_PREFIX}/tenant": plan.name}

        key = upgrade_key(image)
        upgrader = self._upgrade_account(name, estate, plan, ns)
        # Only the cron-scaling steps see the API token; the migration container never does.
        token_volume = k8s.core.v1.VolumeArgs(
            name="api-token",
            projected=k8s.core.v1.ProjectedVolumeSourceArgs(
                sources=[
                    k8s.core.v1.VolumeProjectionArgs(
                        service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(path="token",
                                                                                            expiration_seconds=3600)
                    ),
                    k8s.core.v1.VolumeProjectionArgs(
                        config_map=k8s.core.v1.ConfigMapProjectionArgs(
                            name="kube-root-ca.crt", items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")]
                        )
                    ),
                    k8s.core.v1.VolumeProjectionArgs(
                        downward_api=k8s.core.v1.DownwardAPIProjectionArgs(
                            items=[k8s.core.v1.DownwardAPIVolumeFileArgs(
                                path="namespace",
                                field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.namespace"),
                            )]
                        )
                    ),
                ]
            ),
        )
        upgrade_pod_labels = stable_labels("upgrade") | {DATABASE_CLIENT_LABEL: "true", SCALER_LABEL: "true"}
        window = estate.window_for(plan.tenant.tier)
        upgrade = k8s.batch.v1.Job(
            f"{name}-upgrade",
            metadata=metadata(f"odoo-upgrade-{key}", ns, k8s_labels(estate, plan.tenant, "upgrade"),
                              checkov_skips({"CKV_K8S_40": ODOO_UID_REASON})),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=1,
                active_deadline_seconds=UPGRADE_DEADLINE_SECONDS,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=upgrade_pod_labels),
                    spec=pod_spec(
                        [
                            odoo_container(
                                "set-report-url",
                                [f"--database={plan.database}"],
                                resources(UPGRADE_JOB_CPU_MILLIS // 2, UPGRADE_JOB_CPU_MILLIS, 512, 1024),
                                command=["/bin/sh", "-c",
                                         f'exec odoo shell "$@" < {SCRIPTS_PATH}/set_report_url.py', "odoo-shell"],
                                env=database_env,
                                volume_mounts=[*mounts, scripts_mount],
                            )
                        ],
                        grace_seconds=CRON_TERMINATION_GRACE_SECONDS,
                        service_account_name=UPGRADE_ACCOUNT,
                        restart_policy="Never",
                        volumes=[*volumes, scripts_volume, token_volume],
                        init_containers=[
                            cron_scale_container(0),
                            odoo_container(
                                "migrate",
                                [f"--database={plan.database}", "--init=base", "--update=" + ",".join(UPGRADE_MODULES),
                                 "--stop-after-init", "--without-demo=all", "--no-http", "--workers=0",
                                 "--max-cron-threads=0", f"--db_maxconn={UPGRADE_DB_MAXCONN}",
                                 # No virtual-memory limit (ThreadedServer.start sets limit_memory_hard as
                                 # RLIMIT_AS): a long migration must not die of MemoryError mid-module; the
                                 # container limit bounds its resident memory.
                                 "--limit-memory-hard=0"],
                                resources(UPGRADE_JOB_CPU_MILLIS // 2, UPGRADE_JOB_CPU_MILLIS,
                                          UPGRADE_JOB_MEMORY_MIB // 2, UPGRADE_JOB_MEMORY_MIB),
                                env=database_env,
                            ),
                        ],
                    ),
                ),
            ),
            opts=self.child(
                depends_on=[config, filestore, scripts, upgrader, *database_ca, *database_ready],
                delete_before_replace=True,
                # Pulumi waits 10 minutes for a Job by default; a tier's migration may take its whole window.
                custom_timeouts=pulumi.CustomTimeouts(create=f"{window.duration_hours}h",
                                                      update=f"{window.duration_hours}h"),
            ),
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
        http_port = k8s.core.v1.ContainerPortArgs(name="http", container_port=HTTP_PORT)
        web = k8s.apps.v1.Deployment(
            f"{name}-web",
            metadata=metadata("odoo-web", ns, web_labels, checkov_skips(odoo_skips)),
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
                                "odoo",
                                [],
                                resources(sizing.cpu_request_millis, sizing.cpu_limit_millis,
                                          sizing.memory_request_mib, sizing.memory_limit_mib),
                                ports=[
                                    http_port,
                                    k8s.core.v1.ContainerPortArgs(name="websocket", container_port=WEBSOCKET_PORT),
                                ],
                                startup_probe=k8s.core.v1.ProbeArgs(http_get=health, period_seconds=10, failure_threshold=30),
                                # A pod whose workers are all busy for a minute takes no new requests...
                                readiness_probe=k8s.core.v1.ProbeArgs(
                                    http_get=health, period_seconds=10, timeout_seconds=10, failure_threshold=6
                                ),
                                # ...but is never killed for it: the prefork master accepts connections into
                                # its listen backlog whatever its workers do (PreforkServer.start), and kills
                                # a worker stuck past limit_time_real itself (PreforkServer.process_timeout).
                                liveness_probe=k8s.core.v1.ProbeArgs(
                                    tcp_socket=k8s.core.v1.TCPSocketActionArgs(port="http"),
                                    period_seconds=20, timeout_seconds=5, failure_threshold=3,
                                ),
                            )
                        ],
                        grace_seconds=WEB_TERMINATION_GRACE_SECONDS,
                        topology_spread_constraints=spread,
                    ),
                ),
            ),
            # The HPA (and, outside production, the night-time scaler) owns the replica count.
            opts=self.child(depends_on=[upgrade, *database_ready], ignore_changes=["spec.replicas"]),
        )
        cron_labels = k8s_labels(estate, plan.tenant, "cron") | client_labels
        cron = k8s.apps.v1.Deployment(
            f"{name}-cron",
            metadata=metadata("odoo-cron", ns, cron_labels, checkov_skips(odoo_skips)),
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
                                "odoo",
                                # Threaded server: cron threads plus an HTTP port that only this pod's own
                                # wkhtmltopdf (report.url) and the kubelet's probe reach.
                                ["--workers=0", f"--max-cron-threads={CRON_THREADS}",
                                 f"--db_maxconn={CRON_DB_MAXCONN}",
                                 f"--limit-memory-soft={CRON_LIMIT_MEMORY_SOFT_MIB * MIB}",
                                 f"--limit-memory-hard={CRON_LIMIT_MEMORY_HARD_MIB * MIB}"],
                                resources(sizing.cron_cpu_request_millis, CRON_CPU_LIMIT_MILLIS, 512,
                                          sizing.cron_memory_limit_mib),
                                ports=[http_port],
                                startup_probe=k8s.core.v1.ProbeArgs(http_get=health, period_seconds=10, failure_threshold=30),
                                # No Service routes to cron; readiness only reports a pod that answers.
                                readiness_probe=k8s.core.v1.ProbeArgs(http_get=health, period_seconds=30, timeout_seconds=10),
                                # Each request has its own thread: busy cron threads never block the probe.
                                liveness_probe=k8s.core.v1.ProbeArgs(
                                    http_get=health, period_seconds=30, timeout_seconds=10, failure_threshold=3
                                ),
                            )
                        ],
                        grace_seconds=CRON_TERMINATION_GRACE_SECONDS,
                    ),
                ),
            ),
            opts=self.child(depends_on=[upgrade, *database_ready], ignore_changes=["spec.replicas"]),
        )
        # Cron starts again only once its Deployment runs the migrated image.
        k8s.batch.v1.Job(
            f"{name}-cron-start",
            metadata=metadata(f"odoo-cron-start-{key}", ns, k8s_labels(estate, plan.tenant, "upgrade"),
                              checkov_skips({"CKV_K8S_40": ODOO_UID_REASON})),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=3,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=stable_labels("upgrade") | {SCALER_LABEL: "true"}),
                    spec=pod_spec(
                        [cron_scale_container(1)],
                        grace_seconds=CRON_TERMINATION_GRACE_SECONDS,
                        service_account_name=UPGRADE_ACCOUNT,
                        restart_policy="Never",
                        volumes=[scripts_volume, token_volume],
                    ),
                ),
            ),
            opts=self.child(depends_on=[cron, scripts, upgrader], delete_before_replace=True),
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
                "upgradeJob": f"odoo-upgrade-{key}",
                "sessions": "redis" if contract.session_redis else "files",
            }
        )

    def _upgrade_account(self, name: str, estate: Estate, plan: TenantPlan, ns: pulumi.Input[str]) -> pulumi.Resource:
        """The identity the upgrade Jobs stop and start cron with: scale `odoo-cron`, list pods, nothing else."""
        labels = k8s_labels(estate, plan.tenant, "upgrade")
        account = k8s.core.v1.ServiceAccount(
            f"{name}-upgrade-sa", metadata=metadata(UPGRADE_ACCOUNT, ns, labels), automount_service_account_token=False,
            opts=self.child(),
        )
        role = k8s.rbac.v1.Role(
            f"{name}-upgrade-role",
            metadata=metadata(UPGRADE_ACCOUNT, ns, labels),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(api_groups=["apps"], resources=["deployments/scale"],
                                           resource_names=["odoo-cron"], verbs=["get", "patch"]),
                k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["list"]),
            ],
            opts=self.child(),
        )
        return k8s.rbac.v1.RoleBinding(
            f"{name}-upgrade-binding",
            metadata=metadata(UPGRADE_ACCOUNT, ns, labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=UPGRADE_ACCOUNT),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=UPGRADE_ACCOUNT, namespace=ns)],
            opts=self.child(depends_on=[account, role]),
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

