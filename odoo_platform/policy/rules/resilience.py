"""Resilience: recovery meets the tier's promise and stateful things cannot vanish."""

from __future__ import annotations

from collections.abc import Sequence

from odoo_platform.policy.rule import K8S_WORKLOADS, Context, Resource, Rule, Severity, get, kind_of, pinned, pod
from odoo_platform.policy.rules.types import (
    AWS_BACKUP_VAULT,
    AWS_VAULT_LOCK,
    AZURE_PG,
    RDS,
    S3_OBJECT_LOCK,
    STATEFUL,
    STORAGE_ACCOUNT,
    tenant_namespace,
)


def _retention(resource: Resource, _: Context) -> str | None:
    days = get(resource.props, "backup", "backupRetentionDays") if resource.type == AZURE_PG else resource.props.get("backupRetentionPeriod")
    return None if (days or 0) >= 7 else f"backups are kept {days or 0} days (keep at least 7; the tier catalogue sets more)"


def _protected(resource: Resource, _: Context) -> str | None:
    return None if resource.protect else "the resource holds data but is not protected (create it with protect=True)"


def _rds_deletion_protection(resource: Resource, _: Context) -> str | None:
    return None if resource.props.get("deletionProtection") is True else "deletion protection is off (set deletion_protection=True)"


def _pinned_images(resource: Resource, context: Context) -> list[str]:
    """Staging pins Odoo's image; production pins every image, whoever added the workload."""
    workload = pod(resource)
    if workload is None or not context.pinned_images_required:
        return []
    return [
        container.says(f"runs {container.spec.get('image', '')!r}, not pinned by digest (use repo@sha256:<digest>)")
        for container in workload.containers
        if (context.production or container.name == "odoo") and not pinned(str(container.spec.get("image", "")))
    ]


def _limits(resource: Resource, _: Context) -> list[str]:
    workload = pod(resource)
    found = []
    # Ephemeral (debug) containers cannot declare resources: the API rejects them, so none are asked for.
    for container in (c for c in (workload.containers if workload else ()) if c.list != "ephemeralContainers"):
        missing = [key for key in ("cpu", "memory") if key not in (get(container.spec, "resources", "limits", default={}) or {})]
        if missing:
            found.append(container.says(f"has no {' or '.join(missing)} limit (set resources.limits.{missing[0]})"))
    return found


def _immutable_vault(resource: Resource, context: Context) -> str | None:
    if not context.production:
        return None
    state = get(resource.props, "properties", "securitySettings", "immutabilitySettings", "state")
    return None if state == "Locked" else f"immutability is {state or 'unset'} (lock it in production)"


def _is_web(resource: Resource) -> bool:
    return get(resource.props, "metadata", "labels", "app.kubernetes.io/component") == "web" and tenant_namespace(
        get(resource.props, "metadata", "namespace", default="")
    )


REPLICATED = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def _web_replicas(resource: Resource, context: Context) -> str | None:
    kind = kind_of(resource.type)
    # A DaemonSet runs on every node; any other kind without replicas runs a single pod.
    if not (context.production and _is_web(resource)) or kind == "DaemonSet":
        return None
    replicas = int(get(resource.props, "spec", "replicas", default=1) or 0) if kind in REPLICATED else 1
    return None if replicas >= 2 else f"production web runs {replicas} replica(s) as a {kind} (run at least 2)"


def _hpa_floor(resource: Resource, context: Context) -> str | None:
    if not context.production or not tenant_namespace(get(resource.props, "metadata", "namespace", default="")):
        return None
    floor = int(get(resource.props, "spec", "minReplicas", default=1))
    return None if floor >= 2 else f"the autoscaler may scale production web to {floor} (set minReplicas to at least 2)"


def _pdb_for_web(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    guarded = {get(r.props, "metadata", "namespace") for r in resources if r.type == "kubernetes:policy/v1:PodDisruptionBudget"}
    return [
        (r.urn, f"web Deployment in {get(r.props, 'metadata', 'namespace')} has no PodDisruptionBudget (add one)")
        for r in resources
        if r.type == "kubernetes:apps/v1:Deployment" and _is_web(r) and get(r.props, "metadata", "namespace") not in guarded
    ]


def _web_probes(resource: Resource, _: Context) -> list[str]:
    workload = pod(resource)
    if workload is None or not _is_web(resource):
        return []
    found = []
    # Init and ephemeral containers cannot have probes (the API rejects them): only the serving containers.
    for container in (c for c in workload.containers if c.list == "containers"):
        missing = [p for p in ("readinessProbe", "livenessProbe") if p not in container.spec]
        if missing:
            found.append(container.says(f"has no {' or '.join(missing)} (probe /web/health)"))
    return found


def _single_cron(resource: Resource, _: Context) -> str | None:
    if get(resource.props, "metadata", "labels", "app.kubernetes.io/component") != "cron":
        return None
    spec = resource.props.get("spec") or {}
    if (spec.get("replicas") or 0) > 1 or get(spec, "strategy", "type") != "Recreate":
        return "Odoo cron could run twice (use one replica with the Recreate strategy)"
    return None


def _tier_one_ha(resource: Resource, context: Context) -> str | None:
    if not context.production or get(resource.props, "tags", "tier") != "1":
        return None
    if resource.type == AZURE_PG:
        mode = get(resource.props, "highAvailability", "mode")
        return None if mode == "ZoneRedundant" else f"a tier 1 server runs without zone-redundant HA (mode {mode})"
    return None if resource.props.get("multiAz") is True else "a tier 1 instance is not Multi-AZ (set multi_az=True)"


def _tier_one_geo_backup(resource: Resource, context: Context) -> str | None:
    if not context.production or get(resource.props, "tags", "tier") != "1":
        return None
    if get(resource.props, "backup", "geoRedundantBackup") != "Enabled":
        return "a tier 1 server keeps no geo-redundant backups (enable backup.geo_redundant_backup)"
    return None


def _retention_meets_tier(resource: Resource, context: Context) -> str | None:
    tier = get(resource.props, "tags", "tier")
    if tier is None or not str(tier).isdigit():
        return None
    required = context.retention_days(int(tier))
    days = get(resource.props, "backup", "backupRetentionDays") if resource.type == AZURE_PG else resource.props.get("backupRetentionPeriod")
    days = int(days or 0)
    return None if days >= required else f"tier {tier} promises {required} days of backups, the server keeps {days} (raise the retention)"


def _vault_locked(resources: Sequence[Resource], context: Context) -> list[tuple[str, str]]:
    locked = {d for r in resources if r.type == AWS_VAULT_LOCK for d in r.dependencies}
    compliance = {d for r in resources if r.type == AWS_VAULT_LOCK and r.props.get("changeableForDays") for d in r.dependencies}
    findings = []
    for vault in (r for r in resources if r.type == AWS_BACKUP_VAULT):
        if vault.urn not in locked:
            findings.append((vault.urn, "the backup vault has no vault lock (add a VaultLockConfiguration)"))
        elif context.production and vault.urn not in compliance:
            findings.append((vault.urn, "the production vault lock is in governance mode (set changeable_for_days for compliance mode)"))
    return findings


def _object_lock_compliance(resource: Resource, context: Context) -> str | None:
    mode = get(resource.props, "rule", "defaultRetention", "mode")
    if context.production and mode != "COMPLIANCE":
        return f"object lock mode is {mode or 'unset'} (use COMPLIANCE in production)"
    return None if mode else "objects have no default retention (set a default retention mode and days)"


def _storage_immutability(resource: Resource, context: Context) -> str | None:
    policy = get(resource.props, "immutableStorageWithVersioning", default={}) or {}
    if not policy.get("enabled"):
        return "blobs are mutable (enable immutable storage with versioning)"
    state = get(policy, "immutabilityPolicy", "state")
    if context.production and state != "Locked":
        return f"the immutability policy is {state or 'unset'} (lock it in production)"
    return None


def _delete_lock(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    locked = {d for r in resources if r.type == "azure-native:authorization:ManagementLockAtResourceLevel"
              and r.props.get("level") == "CanNotDelete" for d in r.dependencies}
    return [(r.urn, "the server has no CanNotDelete lock (add a management lock)")
            for r in resources if r.type == AZURE_PG and r.urn not in locked]


RESILIENCE = [
    Rule("RES-01", "postgres-require-backup-retention", "PostgreSQL backups are kept at least 7 days.",
         Severity.HIGH, "Raise the backup retention (the tier catalogue sets 7/14/35 days).", (AZURE_PG, RDS), _retention),
    Rule("RES-02", "stateful-require-protect", "Stateful resources are protected from delete and replace.",
         Severity.CRITICAL, "Create databases, vaults and volumes with protect=True.", STATEFUL, _protected),
    Rule("RES-03", "aws-rds-instance-require-deletion-protection", "RDS instances have deletion protection.",
         Severity.HIGH, "Set deletion_protection=True.", (RDS,), _rds_deletion_protection),
    Rule("RES-04", "k8s-odoo-require-image-digest", "Production pins every container image by digest; staging pins Odoo's.",
         Severity.HIGH, "Promote images by digest (repo@sha256:...).", K8S_WORKLOADS, _pinned_images),
    Rule("RES-05", "k8s-container-require-limits", "Every container (init containers included) has cpu and memory limits.",
         Severity.MEDIUM, "Set resources.limits.cpu and resources.limits.memory.", K8S_WORKLOADS, _limits),
    Rule("RES-06", "azure-backupvault-require-locked-immutability", "Production backup vaults are locked immutable.",
         Severity.CRITICAL, "Set immutability state Locked.", ("azure-native:dataprotection:BackupVault",), _immutable_vault),
    Rule("RES-07", "k8s-odoo-web-require-replicas", "Production web runs at least two replicas.",
         Severity.HIGH, "Raise the tier's webReplicasMin.", K8S_WORKLOADS, _web_replicas),
    Rule("RES-08", "k8s-hpa-require-production-floor", "Production autoscalers never go below two replicas.",
         Severity.HIGH, "Set minReplicas to at least 2.", ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler",), _hpa_floor),
    Rule("RES-09", "k8s-odoo-web-require-pdb", "Every web Deployment has a PodDisruptionBudget (stack rule).",
         Severity.HIGH, "Add a PodDisruptionBudget selecting the web pods.", check_stack=_pdb_for_web),
    Rule("RES-10", "k8s-odoo-web-require-probes", "Odoo web pods have readiness and liveness probes.",
         Severity.MEDIUM, "Probe /web/health.", K8S_WORKLOADS, _web_probes),
    Rule("RES-11", "k8s-odoo-cron-require-single-runner", "Odoo cron runs in exactly one pod at a time.",
         Severity.HIGH, "One replica, Recreate strategy.", ("kubernetes:apps/v1:Deployment",), _single_cron),
    Rule("RES-12", "postgres-tier1-require-ha", "Tier 1 databases are highly available in production.",
         Severity.CRITICAL, "Zone-redundant HA on Azure, Multi-AZ on AWS.", (AZURE_PG, RDS), _tier_one_ha),
    Rule("RES-13", "azure-postgres-tier1-require-geo-backup", "Tier 1 databases keep geo-redundant backups in production.",
         Severity.HIGH, "Enable geo-redundant backups.", (AZURE_PG,), _tier_one_geo_backup),
    Rule("RES-14", "postgres-require-tier-retention", "Backup retention meets the tenant tier's promise.",
         Severity.HIGH, "Keep backups at least as long as the tier catalogue says.", (AZURE_PG, RDS), _retention_meets_tier),
    Rule("RES-15", "aws-backup-vault-require-lock", "AWS Backup vaults are locked (compliance mode in production) (stack rule).",
         Severity.CRITICAL, "Add a VaultLockConfiguration; set changeable_for_days in production.", check_stack=_vault_locked),
    Rule("RES-16", "aws-s3-require-object-lock", "Archive buckets keep objects under Object Lock (compliance in production).",
         Severity.CRITICAL, "Set a default retention; COMPLIANCE mode in production.", (S3_OBJECT_LOCK,), _object_lock_compliance),
    Rule("RES-17", "azure-storage-require-immutability", "Archive storage is immutable (locked in production).",
         Severity.CRITICAL, "Enable immutable storage with versioning; lock it in production.", (STORAGE_ACCOUNT,), _storage_immutability),
    Rule("RES-18", "azure-postgres-require-delete-lock", "Every PostgreSQL server has a CanNotDelete lock (stack rule).",
         Severity.HIGH, "Add a ManagementLockAtResourceLevel with level CanNotDelete.", check_stack=_delete_lock),
]
