"""Governance: where images come from, and whom every resource is charged to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

from odoo_platform.policy.rule import K8S_WORKLOADS, Container, Context, Resource, Rule, Severity, get, pinned, pod
from odoo_platform.policy.rules.types import CLUSTER_POLICY, TAGGABLE, tenant_namespace

COST_TAGS = ("environment", "owner", "cost-centre", "tenant")
COST_LABELS = tuple(f"odoo-platform.io/{key}" for key in ("tenant", "tier", "environment", "cost-centre", "owner"))
TENANT_OBJECTS = (*K8S_WORKLOADS, "kubernetes:core/v1:PersistentVolumeClaim")


def _containers(resource: Resource) -> tuple[Container, ...]:
    workload = pod(resource)
    return workload.containers if workload else ()


def _image(container: Container) -> str:
    return str(container.spec.get("image", ""))


def _in_signed_repository(image: str, context: Context) -> bool:
    return any(image.startswith((f"{repo}@", f"{repo}:")) or image == repo for repo in context.signed_repositories)


def _approved_registry(resource: Resource, context: Context) -> list[str]:
    return [
        container.says(f"runs {_image(container)!r}, not from an approved registry (use one of "
                       f"{', '.join(context.approved_registries)} or add its registry to imagePolicy.approvedRegistries)")
        for container in _containers(resource)
        if not any(_image(container).startswith(f"{registry}/") for registry in context.approved_registries)
    ]


def _signed_by_digest(resource: Resource, context: Context) -> list[str]:
    if not context.pinned_images_required:
        return []
    return [
        container.says(f"runs {_image(container)!r}, a tag; signatures are only verified on digests "
                       "(promote it as repo@sha256:<digest>)")
        for container in _containers(resource)
        if _in_signed_repository(_image(container), context) and not pinned(_image(container))
    ]


def _signature_verified(resources: Sequence[Resource], context: Context) -> list[tuple[str, str]]:
    """Every Odoo image is in a signed repository and covered by an enforcing verifyImages rule."""
    if not context.pinned_images_required:
        return []
    verified: list[str] = []
    for policy in (r for r in resources if r.type == CLUSTER_POLICY):
        for rule in get(policy.props, "spec", "rules", default=[]) or []:
            for check in rule.get("verifyImages") or []:
                if check.get("failureAction") == "Enforce" and check.get("attestors"):
                    verified.extend(check.get("imageReferences") or [])
    violations = []
    for resource in resources:
        for container in _containers(resource):
            image = _image(container)
            if (container.name == "odoo" or _in_signed_repository(image, context)) and not any(fnmatchcase(image, p) for p in verified):
                violations.append((resource.urn, container.says(f"runs {image!r}, not covered by an enforcing signature check "
                                                                "(sign it and list its repository in imagePolicy.signedRepositories)")))
    return violations


def _admission_fails_closed(resource: Resource, context: Context) -> str | None:
    if get(resource.props, "spec", "webhookConfiguration", "failurePolicy") != "Fail":
        return "the admission webhook fails open (set spec.webhookConfiguration.failurePolicy to Fail)"
    if context.pinned_images_required:
        # A check without its own failureAction takes the policy's validationFailureAction, which
        # Kyverno defaults to Audit: leaving both out only audits.
        default = str(get(resource.props, "spec", "validationFailureAction", default="Audit") or "Audit")
        for rule in get(resource.props, "spec", "rules", default=[]) or []:
            checks = ([rule["validate"]] if rule.get("validate") else []) + list(rule.get("verifyImages") or [])
            if any(str(check.get("failureAction") or default).lower() == "audit" for check in checks):
                return f"rule {rule.get('name')!r} only audits in {context.environment} (set failureAction to Enforce)"
    return None


def _cost_tags(resource: Resource, _: Context) -> str | None:
    tags = resource.props.get("tags")
    if not isinstance(tags, Mapping):
        return "the resource has no tags (tag it with environment, owner, cost-centre, tenant and tier)"
    missing = [key for key in COST_TAGS if not tags.get(key)]
    if tags.get("tenant") not in (None, "shared") and not tags.get("tier"):
        missing.append("tier")
    return f"tags {', '.join(missing)} are missing (add them so its cost can be allocated)" if missing else None


def _cost_labels(resource: Resource, _: Context) -> str | None:
    metadata = resource.props.get("metadata") or {}
    if not tenant_namespace(str(metadata.get("namespace", ""))):
        return None
    labels = metadata.get("labels") or {}
    missing = [key for key in COST_LABELS if not labels.get(key)]
    return f"labels {', '.join(missing)} are missing (add them so its cost can be allocated)" if missing else None


GOVERNANCE = [
    Rule("SUP-01", "image-require-approved-registry", "Containers run images from approved registries only.",
         Severity.HIGH, "Use an approved registry or add it to imagePolicy.approvedRegistries.", K8S_WORKLOADS,
         _approved_registry),
    Rule("SUP-02", "image-require-digest-for-signed-repositories",
         "In staging and production, images of signed repositories are pinned by digest.",
         Severity.HIGH, "Promote the image by digest (repo@sha256:...).", K8S_WORKLOADS, _signed_by_digest),
    Rule("SUP-03", "image-require-verified-signature",
         "In staging and production, every Odoo image is covered by an enforcing signature check (stack rule).",
         Severity.CRITICAL, "Sign the image and cover its repository with the Kyverno verifyImages rule.",
         check_stack=_signature_verified),
    Rule("SUP-04", "kyverno-policy-require-fail-closed",
         "Admission policies fail closed, and enforce in staging and production.",
         Severity.HIGH, "Set failurePolicy Fail and failureAction Enforce.", (CLUSTER_POLICY,), _admission_fails_closed),
    Rule("TAG-01", "cloud-resource-require-cost-tags",
         "Cloud resources carry environment, owner, cost-centre and tenant tags (and tier for a tenant's).",
         Severity.MEDIUM, "Tag the resource with labels.cloud_tags().", TAGGABLE, _cost_tags),
    Rule("TAG-02", "k8s-tenant-object-require-cost-labels",
         "Workloads and volumes in tenant namespaces carry tenant, tier, environment, cost-centre and owner labels.",
         Severity.MEDIUM, "Label the object with labels.k8s_labels().", TENANT_OBJECTS, _cost_labels),
]
