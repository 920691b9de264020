"""Resilience: recovery meets the tier's promise and stateful things cannot vanish."""

from __future__ import annotations

from odoo_platform.policy.rule import K8S_WORKLOADS, Context, Resource, Rule, Severity, containers, get
from odoo_platform.policy.rules.types import (
    AZURE_PG,
    RDS,
    STATEFUL,
    tenant_namespace,
)


def _retention(resource: Resource, _: Context) -> str | None:
    days = get(resource.props, "backup", "backupRetentionDays") if resource.type == AZURE_PG else resource.props.get("backupRetentionPeriod")
    return None if (days or 0) >= 7 else f"backups are kept {days or 0} days (keep at least 7; the tier catalogue sets more)"


def _protected(resource: Resource, _: Context) -> str | None:
    return None if resource.protect else "the resource holds data but is not protected (create it with protect=True)"


def _rds_deletion_protection(resource: Resource, _: Context) -> str | None:
    return None if resource.props.get("deletionProtection") is True else "deletion protection is off (set deletion_protection=True)"


def _pinned_images(resource: Resource, context: Context) -> str | None:
    if not context.pinned_images_required:
        return None
    for container in containers(resource):
        image = container.get("image", "")
        if "@sha256:" not in image and tenant_namespace(get(resource.props, "metadata", "namespace", default="")):
            if get(resource.props, "metadata", "labels", "app.kubernetes.io/name") == "odoo":
                return f"image {image} is not pinned by digest (use repo@sha256:<digest>)"
    return None


def _limits(resource: Resource, _: Context) -> str | None:
    for container in containers(resource):
        limits = get(container, "resources", "limits", default={}) or {}
        if not {"cpu", "memory"} <= set(limits):
            return f"container {container.get('name')!r} has no cpu and memory limits (set resources.limits)"
    return None


def _immutable_vault(resource: Resource, context: Context) -> str | None:
    if not context.production:
        return None
    state = get(resource.props, "properties", "securitySettings", "immutabilitySettings", "state")
    return None if state == "Locked" else f"immutability is {state or 'unset'} (lock it in production)"


RESILIENCE = [
    Rule("RES-01", "postgres-require-backup-retention", "PostgreSQL backups are kept at least 7 days.",
         Severity.HIGH, "Raise the backup retention (the tier catalogue sets 7/14/35 days).", (AZURE_PG, RDS), _retention),
    Rule("RES-02", "stateful-require-protect", "Stateful resources are protected from delete and replace.",
         Severity.CRITICAL, "Create databases, vaults and volumes with protect=True.", STATEFUL, _protected),
    Rule("RES-03", "aws-rds-instance-require-deletion-protection", "RDS instances have deletion protection.",
         Severity.HIGH, "Set deletion_protection=True.", (RDS,), _rds_deletion_protection),
    Rule("RES-04", "k8s-odoo-require-image-digest", "Staging and production run Odoo images pinned by digest.",
         Severity.HIGH, "Promote images by digest (repo@sha256:...).", K8S_WORKLOADS, _pinned_images),
    Rule("RES-05", "k8s-container-require-limits", "Every container has cpu and memory limits.",
         Severity.MEDIUM, "Set resources.limits.cpu and resources.limits.memory.", K8S_WORKLOADS, _limits),
    Rule("RES-06", "azure-backupvault-require-locked-immutability", "Production backup vaults are locked immutable.",
         Severity.CRITICAL, "Set immutability state Locked.", ("azure-native:dataprotection:BackupVault",), _immutable_vault),
]

