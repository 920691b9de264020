"""ImageAdmission: what the cluster agrees to run in tenant and operations namespaces.

Kyverno (installed from its Helm chart) enforces one ClusterPolicy: images come only from
approved registries, and in staging and production images of the signed repositories (the
Odoo images the pipeline builds, signs and promotes) are admitted only by digest and with
a cosign signature verified against the estate's key. Outside staging and production the
same rules run in Audit mode, so a problem shows up in dev without blocking it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import KMS_KEY_REFERENCE, ChartImage, Environment, Estate, KyvernoImages
from odoo_platform.labels import LABEL_PREFIX
from odoo_platform.workload import OPERATIONS_NAMESPACE

KYVERNO_NAMESPACE = "kyverno"
KYVERNO_CHART_REPOSITORY = "https://kyverno.github.io/kyverno/"
POLICY_NAME = "odoo-platform-image-provenance"
# Where each kubernetes.kyvernoImages setting goes in the chart's values: every image chart 3.3.4 renders outside
# `helm test` (kyverno/kyverno tag kyverno-chart-3.3.4, charts/kyverno/values.yaml, and the `image:` lines of
# templates/{admission,background,cleanup,reports}-controller/deployment.yaml and templates/hooks/*.yaml). Each is
# {registry, repository, tag}, rendered registry/repository:tag (templates/_helpers/_image.tpl `kyverno.image`,
# the controllers' `kyverno.*-controller.image`); there is no digest key, so the digest rides in the tag.
KYVERNO_IMAGE_VALUES: dict[str, tuple[tuple[str, ...], ...]] = {
    "admission_controller": (("admissionController", "container", "image"),),
    "init": (("admissionController", "initContainer", "image"),),
    "background_controller": (("backgroundController", "image"),),
    "cleanup_controller": (("cleanupController", "image"),),
    "reports_controller": (("reportsController", "image"),),
    # The post-upgrade hook migrating stored CRD versions (crds.migration.enabled is true by default).
    "cli": (("crds", "migration", "image"),),
    # One kubectl for the pre-delete scale-to-zero and post-delete hooks and the post-upgrade report cleanup.
    "kubectl": (("webhooksCleanup", "image"), ("policyReportsCleanup", "image")),
}


@dataclass(frozen=True)
class ImageAdmissionArgs:
    estate: Estate


class ImageAdmission(PlatformComponent):
    def __init__(self, name: str, args: ImageAdmissionArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        estate = args.estate
        enforced = estate.environment in (Environment.STAGING, Environment.PROD)
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=KYVERNO_NAMESPACE, labels={"kubernetes.io/metadata.name": KYVERNO_NAMESPACE}
            ),
            opts=self.child(),
        )
        release = k8s.helm.v3.Release(
            f"{name}-kyverno",
            name="kyverno",
            chart="kyverno",
            version=estate.image_policy.kyverno_chart_version,
            namespace=KYVERNO_NAMESPACE,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=KYVERNO_CHART_REPOSITORY),
            values=kyverno_values(estate),
            opts=self.child(depends_on=[namespace]),
        )
        k8s.apiextensions.CustomResource(
            f"{name}-policy",
            api_version="kyverno.io/v1",
            kind="ClusterPolicy",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=POLICY_NAME,
                labels={"app.kubernetes.io/managed-by": "pulumi", f"{LABEL_PREFIX}/environment": estate.environment.value},
                annotations={
                    "policies.kyverno.io/title": "Odoo image provenance",
                    "policies.kyverno.io/description": "Approved registries; signed, digest-pinned Odoo images.",
                },
            ),
            spec=provenance_policy_spec(estate, enforced),
            opts=self.child(depends_on=[release]),
        )
        self.register_outputs({"policy": POLICY_NAME, "enforced": enforced})


def kyverno_values(estate: Estate) -> dict[str, Any]:
    values: dict[str, Any] = {
        # Three admission replicas in production: with failurePolicy Fail, an unavailable
        # webhook would otherwise stop every deployment.
        "admissionController": {"replicas": 3 if estate.environment is Environment.PROD else 1},
        "features": {"policyExceptions": {"enabled": False}},
    }
    images = estate.kubernetes.kyverno_images
    for field in KyvernoImages.model_fields:
        image = getattr(images, field)
        if not image:  # the chart's own image
            continue
        for path in KYVERNO_IMAGE_VALUES[field]:
            *parents, leaf = path
            node = values
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = ChartImage.of(image).registry_values()
    return values


def provenance_policy_spec(estate: Estate, enforced: bool) -> dict[str, Any]:
    action = "Enforce" if enforced else "Audit"
    policy = estate.image_policy
    registries = " | ".join(f"{registry}/*" for registry in policy.approved_registries)
    image_pattern = [{"image": registries}]
    rules: list[dict[str, Any]] = [
        {
            "name": "approved-registries",
            "match": _platform_pods(),
            "validate": {
                "failureAction": action,
                "message": f"Images must come from an approved registry ({', '.join(policy.approved_registries)}).",
                "pattern": {"spec": {"=(ephemeralContainers)": image_pattern, "=(initContainers)": image_pattern,
                                     "containers": image_pattern}},
            },
        }
    ]
    if policy.signing_key:
        rules.append({
            "name": "signed-images-by-digest",
            "match": _platform_pods(),
            "verifyImages": [{
                # Exactly these repositories, by tag or digest (a bare `repo*` would also match `repo-other`).
                "imageReferences": [f"{repo}{sep}*" for repo in estate.signed_repositories for sep in (":", "@")],
                "failureAction": action,
                "verifyDigest": True,
                "mutateDigest": False,
                "required": True,
                "attestors": [{"count": 1, "entries": [{"keys": _key(policy.signing_key)}]}],
            }],
        })
    return {
        "background": True,
        "webhookConfiguration": {"failurePolicy": "Fail", "timeoutSeconds": 15},
        "rules": rules,
    }


def _platform_pods() -> dict[str, Any]:
    """Pods in tenant namespaces (labelled with their tenant) and in the operations namespace."""
    return {"any": [
        {"resources": {"kinds": ["Pod"], "namespaceSelector": {
            "matchExpressions": [{"key": f"{LABEL_PREFIX}/tenant", "operator": "Exists"}]}}},
        {"resources": {"kinds": ["Pod"], "namespaces": [OPERATIONS_NAMESPACE]}},
    ]}


def _key(signing_key: str) -> dict[str, Any]:
    if KMS_KEY_REFERENCE.match(signing_key):
        return {"kms": signing_key}
    return {"publicKeys": signing_key}
