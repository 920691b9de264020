"""DatabaseOperations: the jobs that look after tenant databases, kept out of tenant namespaces.

They need the server's administrator credentials, so they run in their own namespace that no
tenant can reach: a bootstrap Job creating each tenant's role and database, a logical dump
per tenant at the tier's backup interval (to the immutable archive), and a restore drill per
tenant on the tier's schedule that restores the latest dump into a scratch database and the
latest filestore archive beside it, checks them together, reports
`odoo_platform_restore_drill_success` (passed or failed) and cleans up.

FilestoreArchive: the tenant's filestore volume can only be mounted in the tenant's own
namespace, so its archive job runs there, with no database credentials, mounting the volume
read-only and writing to the same archive.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.components.k8s_common import (
    checkov_skips,
    container_security,
    fit_name,
    metadata,
    pod_security,
    resources,
)
from odoo_platform.config import Cloud, Estate, KubernetesSettings
from odoo_platform.errors import EstateConfigError
from odoo_platform.labels import k8s_labels, selector_labels
from odoo_platform.ops_scripts import interpreter, scripts_for
from odoo_platform.rotation import RotatedSecret
from odoo_platform.topology import ServerPlan, TenantPlan
from odoo_platform.workload import (
    DATABASE_CLIENT_LABEL,
    OBJECT_STORAGE_CLIENT_LABEL,
    ODOO_UID,
    ODOO_UID_REASON,
    OPERATIONS_CPU_MILLIS,
    OPERATIONS_MEMORY_MIB,
    OPERATIONS_NAMESPACE,
    POSTGRES_PORT,
    PRIVATE_RANGES,
    PUSHGATEWAY_PORT,
)

# Any non-root uid works for pg_dump, the cloud CLIs and curl (HOME is /tmp); a high one cannot
# collide with a host user (Checkov CKV_K8S_40).
OPS_UID = 10070
OPS_LABELS = {"app.kubernetes.io/part-of": "odoo-platform", "app.kubernetes.io/component": "operations"}
JOB_LABELS = OPS_LABELS | {DATABASE_CLIENT_LABEL: "true", OBJECT_STORAGE_CLIENT_LABEL: "true"}
ARCHIVE_COMPONENT = "filestore-archive"
FILESTORE_CLAIM = "odoo-filestore"  # the tenant's ReadWriteMany volume (OdooCluster)
FILESTORE_DELAY_MINUTES = 10
"""The filestore archive starts after the dump: every attachment a dump references is then in it."""
OPERATIONS_SCRIPTS = ("bootstrap.sh", "dump.sh", "upload.sh", "fetch.sh", "restore-check.sh", "report.sh")
ARCHIVE_SCRIPTS = ("filestore-archive.sh", "upload.sh", "report.sh")
DUMP_ARTIFACT = "database.dump"
FILESTORE_ARTIFACT = "filestore.tar.gz"

# pg_dump refuses to dump a server of a newer major version than itself
# (https://www.postgresql.org/docs/current/app-pgdump.html, "Notes"), and the restore drill's
# pg_restore must read what it wrote: the client image follows postgres.version. Patch
# releases of the official image, all published together on 2024-11-21.
POSTGRES_CLIENT_TAGS = {14: "14.15", 15: "15.10", 16: "16.6", 17: "17.2"}
DEFAULT_CLIENT_IMAGE = KubernetesSettings.model_fields["postgres_client_image"].default


def postgres_client_image(estate: Estate) -> str:
    """The PostgreSQL client image for the estate's server version.

    The default image is replaced by the official image of the configured major version; a
    configured image must carry a tag whose major version is at least the server's.
    """
    version = estate.postgres.version
    configured = estate.kubernetes.postgres_client_image
    if configured == DEFAULT_CLIENT_IMAGE:
        return f"{configured.rsplit(':', 1)[0]}:{POSTGRES_CLIENT_TAGS[version]}"
    tag = configured.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
    major = tag.split(".", 1)[0].split("-", 1)[0]
    if not major.isdigit() or int(major) < version:
        raise EstateConfigError(
            f"kubernetes.postgresClientImage: {configured!r} must be tagged with a PostgreSQL major version of at least "
            f"postgres.version {version} (pg_dump refuses newer servers); use e.g. "
            f"docker.io/library/postgres:{POSTGRES_CLIENT_TAGS[version]}"
        )
    return configured


def cli_image(estate: Estate) -> str:
    return estate.kubernetes.azure_cli_image if estate.cloud is Cloud.AZURE else estate.kubernetes.aws_cli_image


def identity_annotations(estate: Estate) -> dict[str, str]:
    """Workload identity of the jobs that write to or read from the archive: required.

    On Azure the upload and fetch scripts sign in with the federated token the workload
    identity webhook mounts only for a ServiceAccount annotated with a client id
    (https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html).
    On AWS the CLI would otherwise fall back to the node's instance role through the instance
    metadata service (169.254.169.254, port 80), which these jobs' NetworkPolicies do not open;
    an IAM role for the ServiceAccount is reached over public HTTPS
    (https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html).
    Without an identity no dump or filestore archive ever reaches the archive.
    """
    identity = estate.kubernetes.operations_identity
    azure = estate.cloud is Cloud.AZURE
    if not identity:
        what = ("the client id of a managed identity with Storage Blob Data Contributor on the archive" if azure
                else "the ARN of an IAM role that may write to and read from the archive bucket")
        raise EstateConfigError(
            "kubernetes.operationsIdentity: is required (dumps and filestore archives are uploaded with workload "
            f"identity); set it to {what}, federated with the operations ServiceAccounts"
        )
    return {"azure.workload.identity/client-id" if azure else "eks.amazonaws.com/role-arn": identity}


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
    archive_cidrs: tuple[str, ...]
    """Private ranges of the archive's endpoint (Azure private endpoint subnet); empty where it is public (S3)."""


def cron_every(minutes: int, minute: int = 15) -> str:
    """A cron schedule that fires at least every `minutes` minutes, at `minute` past the hour."""
    if minutes >= 1440:
        return f"{minute} 1 * * *"
    if minutes >= 60:
        return f"{minute} */{minutes // 60} * * *" if minutes // 60 > 1 else f"{minute} * * * *"
    return f"*/{minutes} * * * *" if minute % minutes == 0 else f"{minute % minutes}-59/{minutes} * * * *"


def _scripts(estate: Estate, names: tuple[str, ...]) -> dict[str, str]:
    scripts = scripts_for(estate.cloud.value)
    return {name: scripts[name] for name in names}


def _tcp(*ports: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=p) for p in ports]


def _peer_ns(ns: str, **pods: str) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": ns}),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=pods) if pods else None,
    )


def _block(cidr: str, exclude: tuple[str, ...] = ()) -> k8s.networking.v1.NetworkPolicyPeerArgs:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr, except_=list(exclude) or None)
    )


def _archive_egress(archive_cidrs: tuple[str, ...],
                    public: bool = False) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgs]:
    """HTTPS to the archive's private endpoint subnet (exactly it: other private ranges stay
    closed), to the archive's public endpoints where it has no private one (`public`: S3 is
    reached at public addresses, also through a gateway endpoint), and to the Pushgateway."""
    rules = [k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_peer_ns("monitoring")], ports=_tcp(PUSHGATEWAY_PORT))]
    if public:
        rules.insert(0, k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_block("0.0.0.0/0", PRIVATE_RANGES)],
                                                                       ports=_tcp(443)))
    if archive_cidrs:
        rules.insert(0, k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_block(c) for c in archive_cidrs], ports=_tcp(443)))
    return rules


def _volume_mounts(mounts: list[tuple[str, str]]) -> list[k8s.core.v1.VolumeMountArgs]:
    return [k8s.core.v1.VolumeMountArgs(name=v, mount_path=p, read_only=v in ("scripts", "roles", "filestore"))
            for v, p in mounts]


def _container(name: str, image: str, script: str, env: dict[str, pulumi.Input[str]], admin_secret: Optional[str] = None,
               extra_mounts: Optional[list[tuple[str, str]]] = None) -> k8s.core.v1.ContainerArgs:
    """A container running one of the ops scripts. Each mounted directory is also named in an
    environment variable (WORK, ROLES, FILESTORE): the scripts use no other paths."""
    mounts = [("scripts", "/scripts"), ("work", "/work"), ("tmp", "/tmp"), *(extra_mounts or [])]
    variables = [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in env.items()]
    variables += [k8s.core.v1.EnvVarArgs(name=volume.upper(), value=path) for volume, path in mounts
                  if volume in ("work", "roles", "filestore")]
    variables.append(k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"))
    if admin_secret:
        variables += [
            k8s.core.v1.EnvVarArgs(name=var, value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=admin_secret, key=field)))
            for var, field in (("PG_HOST", "host"), ("PG_ADMIN_USER", "user"), ("PG_ADMIN_PASSWORD", "password"))
        ]
    return k8s.core.v1.ContainerArgs(
        name=name,
        image=image,
        command=[interpreter(script), f"/scripts/{script}"],
        env=variables,
        volume_mounts=_volume_mounts(mounts),
        resources=resources(100, OPERATIONS_CPU_MILLIS, 256, OPERATIONS_MEMORY_MIB),
        security_context=container_security(),
    )


def _pod(labels: dict[str, str], service_account: str, uid: int, scripts: str, init: list, main: list,
         restart_policy: str, extra_volumes: Optional[list] = None) -> k8s.core.v1.PodTemplateSpecArgs:
    return k8s.core.v1.PodTemplateSpecArgs(
        metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels | {"azure.workload.identity/use": "true"}),
        spec=k8s.core.v1.PodSpecArgs(
            service_account_name=service_account,
            automount_service_account_token=False,
            security_context=pod_security(uid),
            restart_policy=restart_policy,
            init_containers=init or None,
            containers=main,
            volumes=[
                k8s.core.v1.VolumeArgs(name="scripts", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                    name=scripts, default_mode=0o555)),
                k8s.core.v1.VolumeArgs(name="work", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="50Gi")),
                k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi")),
                *(extra_volumes or []),
            ],
        ),
    )


# The admin connection reaches the dump and drill scripts as environment variables from the
# server's Secret (secretKeyRef: the manifest never holds the value); libpq and the scripts read
# it from there.
ADMIN_ENV_REASON = "admin connection settings come from the server's Secret as env (secretKeyRef), read by libpq"


def _cron_job(logical: str, name: str, namespace: str, labels: dict[str, str], schedule: str,
              pod: k8s.core.v1.PodTemplateSpecArgs, opts: pulumi.ResourceOptions,
              skips: Optional[dict[str, str]] = None) -> k8s.batch.v1.CronJob:
    return k8s.batch.v1.CronJob(
        logical,
        metadata=metadata(name, namespace, labels, checkov_skips(skips or {})),
        spec=k8s.batch.v1.CronJobSpecArgs(
            schedule=schedule,
            concurrency_policy="Forbid",
            successful_jobs_history_limit=1,
            failed_jobs_history_limit=3,
            job_template=k8s.batch.v1.JobTemplateSpecArgs(
                spec=k8s.batch.v1.JobSpecArgs(backoff_limit=1, active_deadline_seconds=6 * 3600, template=pod)
            ),
        ),
        opts=opts,
    )


def _report(estate: Estate, env: dict[str, pulumi.Input[str]], job: str, metric: str) -> k8s.core.v1.ContainerArgs:
    return _container("report", estate.kubernetes.curl_image, "report.sh", env | {"METRIC": metric, "JOB": job})


class DatabaseOperations(PlatformComponent):
    namespace: str
    bootstraps: dict[str, k8s.batch.v1.Job]
    """Per server key, the Job that creates the tenants' roles and databases and sets their current passwords."""

    def __init__(self, name: str, args: DatabaseOperationsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        estate = args.estate
        self.namespace = OPERATIONS_NAMESPACE
        self.settings = estate.kubernetes
        self.client_image = postgres_client_image(estate)
        annotations = identity_annotations(estate)
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
            data=_scripts(estate, OPERATIONS_SCRIPTS),
            opts=self.in_ns,
        )
        self._network_policies(name, args.database_cidrs, args.archive_cidrs)
        self.bootstraps = {ops.server.key: self._server(name, estate, ops) for ops in args.servers}
        self.register_outputs({"namespace": self.namespace})

    def _network_policies(self, name: str, database_cidrs: tuple[str, ...], archive_cidrs: tuple[str, ...]) -> None:
        policies = {
            "default-deny-all": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
            ),
            "allow-egress-operations": k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=OPS_LABELS),
                policy_types=["Egress"],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[_peer_ns("kube-system", **{"k8s-app": "kube-dns"})],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="UDP", port=53), *_tcp(53)],
                    ),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[_block(cidr) for cidr in database_cidrs], ports=_tcp(POSTGRES_PORT)
                    ),
                    # Public HTTPS: the cloud's sign-in endpoint, and S3 on AWS.
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[_block("0.0.0.0/0", PRIVATE_RANGES)], ports=_tcp(443)),
                    *_archive_egress(archive_cidrs),
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
            metadata=metadata(job_name, OPERATIONS_NAMESPACE, JOB_LABELS, checkov_skips({"CKV_K8S_35": ADMIN_ENV_REASON})),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=3,
                template=self._pod(
                    init=[],
                    main=[_container("bootstrap", self.client_image, "bootstrap.sh", {"TENANTS": tenants}, admin_secret,
                                     extra_mounts=[("roles", "/roles")])],
                    restart_policy="OnFailure",
                    extra_volumes=[k8s.core.v1.VolumeArgs(
                        name="roles", secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=roles_secret, default_mode=0o400))],
                ),
            ),
            opts=self.child(depends_on=[roles], delete_before_replace=True),
        )
        cli = cli_image(estate)
        for tenant in ops.tenants:
            env = {"TENANT": tenant.name, "DATABASE": tenant.database, "ARCHIVE_URL": ops.archive_url,
                   "TIER": str(tenant.tenant.tier), "PUSHGATEWAY_URL": self.settings.pushgateway_url}
            dump_env = env | {"KIND": "database", "ARTIFACT": DUMP_ARTIFACT}
            _cron_job(
                f"{name}-{tenant.name}-dump", f"dump-{tenant.name}", OPERATIONS_NAMESPACE, JOB_LABELS,
                cron_every(tenant.tier.backup_interval_minutes),
                self._pod(
                    init=[_container("dump", self.client_image, "dump.sh", dump_env, admin_secret),
                          _container("upload", cli, "upload.sh", dump_env)],
                    main=[_report(estate, env, "odoo-dump", "odoo_platform_backup_last_success_timestamp_seconds")],
                    restart_policy="Never",
                ),
                self.in_ns,
                skips={"CKV_K8S_35": ADMIN_ENV_REASON},
            )
            # Fetch and check record their outcome instead of failing the pod, so the report
            # (the main container) runs after a failure too and pushes it.
            _cron_job(
                f"{name}-{tenant.name}-drill", f"restore-drill-{tenant.name}", OPERATIONS_NAMESPACE, JOB_LABELS,
                tenant.tier.restore_drill_schedule,
                self._pod(
                    init=[_container("fetch", cli, "fetch.sh", env),
                          _container("restore-check", self.client_image, "restore-check.sh", env, admin_secret)],
                    main=[_report(estate, env, "odoo-restore-drill", "odoo_platform_restore_drill_success")],
                    restart_policy="Never",
                ),
                self.in_ns,
                skips={"CKV_K8S_35": ADMIN_ENV_REASON},
            )
        return bootstrap

    def _pod(self, init: list, main: list, restart_policy: str, extra_volumes: Optional[list] = None):
        return _pod(JOB_LABELS, "odoo-ops", OPS_UID, "ops-scripts", init, main, restart_policy, extra_volumes)


@dataclass(frozen=True)
class FilestoreArchiveArgs:
    estate: Estate
    tenant: TenantPlan
    namespace: pulumi.Input[str]
    archive_url: pulumi.Input[str]
    archive_cidrs: tuple[str, ...]


class FilestoreArchive(PlatformComponent):
    """Archives one tenant's filestore at the tier's backup interval, just after its dump."""

    def __init__(self, name: str, args: FilestoreArchiveArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        estate, tenant = args.estate, args.tenant
        tenant_labels = k8s_labels(estate, tenant.tenant, ARCHIVE_COMPONENT)
        labels = tenant_labels | {OBJECT_STORAGE_CLIENT_LABEL: "true"}
        # Its own ServiceAccount: the only one in the namespace with the archive identity, and
        # tenant operators cannot create pods to borrow it (their Role only reads workloads).
        k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="odoo-archive", namespace=args.namespace, labels=tenant_labels,
                                                annotations=identity_annotations(estate)),
            automount_service_account_token=False,
            opts=self.child(),
        )
        k8s.core.v1.ConfigMap(
            f"{name}-scripts",
            metadata=metadata("archive-scripts", args.namespace, tenant_labels),
            data=_scripts(estate, ARCHIVE_SCRIPTS),
            opts=self.child(),
        )
        # Added to the tenant's default-deny policies: HTTPS to the archive's private endpoint
        # and the Pushgateway, for these pods only (public HTTPS they already have).
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=metadata("allow-egress-filestore-archive", args.namespace, tenant_labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels(tenant.tenant, ARCHIVE_COMPONENT)),
                policy_types=["Egress"],
                egress=_archive_egress(args.archive_cidrs, public=not args.archive_cidrs),
            ),
            opts=self.child(),
        )
        env = {"TENANT": tenant.name, "DATABASE": tenant.database, "ARCHIVE_URL": args.archive_url,
               "TIER": str(tenant.tenant.tier), "PUSHGATEWAY_URL": estate.kubernetes.pushgateway_url,
               "KIND": "filestore", "ARTIFACT": FILESTORE_ARTIFACT}
        filestore = [("filestore", "/filestore")]
        _cron_job(
            f"{name}-cron", "filestore-archive", args.namespace, labels,
            cron_every(tenant.tier.backup_interval_minutes, 15 + FILESTORE_DELAY_MINUTES),
            # As Odoo's uid, the owner of the files, so the read-only mount needs no ownership change.
            _pod(labels, "odoo-archive", ODOO_UID, "archive-scripts",
                 init=[_container("archive", postgres_client_image(estate), "filestore-archive.sh", env,
                                  extra_mounts=filestore),
                       _container("upload", cli_image(estate), "upload.sh", env)],
                 main=[_report(estate, env, "odoo-filestore-archive",
                               "odoo_platform_filestore_archive_last_success_timestamp_seconds")],
                 restart_policy="Never",
                 extra_volumes=[k8s.core.v1.VolumeArgs(
                     name="filestore", persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(
                         claim_name=FILESTORE_CLAIM, read_only=True))]),
            self.child(),
            skips={"CKV_K8S_40": ODOO_UID_REASON},
        )
        self.register_outputs({})
