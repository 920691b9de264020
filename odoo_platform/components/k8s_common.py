"""Typed Kubernetes building blocks shared by the workload components."""

from __future__ import annotations

import hashlib
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.workload import ODOO_UID


def pod_security(uid: int = ODOO_UID) -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        fs_group=uid,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security() -> k8s.core.v1.SecurityContextArgs:
    """Pod Security `restricted`, plus a read-only root: writable paths are explicit volumes."""
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def resources(cpu_request: int, cpu_limit: int, memory_request: int, memory_limit: int) -> k8s.core.v1.ResourceRequirementsArgs:
    return k8s.core.v1.ResourceRequirementsArgs(
        requests={"cpu": f"{cpu_request}m", "memory": f"{memory_request}Mi"},
        limits={"cpu": f"{cpu_limit}m", "memory": f"{memory_limit}Mi"},
    )


def metadata(name: pulumi.Input[str], namespace: pulumi.Input[str], labels: dict[str, str],
             annotations: Optional[dict[str, str]] = None) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels, annotations=annotations or None)


def checkov_skips(reasons: dict[str, str]) -> dict[str, str]:
    """Checkov's own suppression annotations (`checkov.io/skip<n>: <check>=<reason>`, read by
    checkov/kubernetes/kubernetes_utils.py) for checks an object does not meet on purpose. Every
    suppression carries its reason and is listed in the README."""
    return {f"checkov.io/skip{n}": f"{check}={reason}" for n, (check, reason) in enumerate(sorted(reasons.items()), 1)}


DNS_LABEL_MAX = 63
"""Kubernetes "Object Names and IDs": Namespace and Service names are DNS labels, and a Job's name
becomes the `job-name` label value of its pods ("Labels and Selectors": at most 63 characters)."""
CRONJOB_NAME_MAX = 52
"""Kubernetes "CronJob": the controller appends 11 characters to name each Job it creates."""


def fit_name(name: str, limit: int = DNS_LABEL_MAX) -> str:
    """`name` itself when it fits (so existing objects keep their names), else cut with a stable hash suffix.

    The suffix is a hash of the whole name, so two long names that share the kept prefix stay distinct.
    """
    if len(name) <= limit:
        return name
    suffix = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[:limit - len(suffix) - 1].rstrip('-')}-{suffix}"
