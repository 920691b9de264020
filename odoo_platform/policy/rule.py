"""A rule: frozen metadata plus a pure check. Packs turn rules into CrossGuard policies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Optional, Union


class Severity(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Resource:
    """What a rule sees of a resource, in the plan and under the Pulumi CLI alike."""

    type: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    parent: Optional[str] = None
    dependencies: tuple[str, ...] = ()
    """URNs this resource depends on (stack rules only)."""


@dataclass(frozen=True)
class Context:
    """Stack facts a rule may depend on (from the stack's `odoo-platform:` config)."""

    environment: str
    tier_retention_days: Mapping[int, int] = field(default_factory=dict)
    """Backup retention each tier promises (the stack's catalogue; defaults where unset)."""

    approved_registries: tuple[str, ...] = ()
    """Registry prefixes images may come from (the stack's imagePolicy, or its defaults)."""
    signed_repositories: tuple[str, ...] = ()
    """Repositories whose images need a verified signature in staging and production."""

    def retention_days(self, tier: int) -> int:
        return self.tier_retention_days.get(tier, 7)

    @property
    def production(self) -> bool:
        return self.environment == "prod"

    @property
    def pinned_images_required(self) -> bool:
        return self.environment in ("staging", "prod")


ResourceCheck = Callable[[Resource, Context], Union[Optional[str], Sequence[str]]]
"""A check returns nothing, one violation, or one per offending part (e.g. per container)."""
StackCheck = Callable[[Sequence[Resource], Context], list[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    description: str
    severity: Severity
    remediation: str
    resource_types: tuple[str, ...] = ()
    check: Optional[ResourceCheck] = None
    check_stack: Optional[StackCheck] = None

    def applies_to(self, resource_type: str) -> bool:
        return self.check is not None and (not self.resource_types or resource_type in self.resource_types)

    def violations(self, resource: Resource, context: Context) -> list[str]:
        if not self.applies_to(resource.type):
            return []
        found = self.check(resource, context)
        return [found] if isinstance(found, str) else list(found or [])

    def evaluate(self, resource: Resource, context: Context) -> Optional[str]:
        """The first violation, if any."""
        return next(iter(self.violations(resource, context)), None)

    def report_text(self, violation: str) -> str:
        """What the pack reports: `[ID] violation (fix)`, the fix named once. A violation that names its
        own fix (it is specific to the resource) keeps it; otherwise the rule's remediation is the fix."""
        if violation.endswith(")"):
            return f"[{self.id}] {violation}"
        return f"[{self.id}] {violation} ({self.remediation.removesuffix('.')})"


def get(props: Any, *path: str, default: Any = None) -> Any:
    """Read a nested property; missing keys give `default`."""
    value = props
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return default
        value = value[key]
    return value


WORKLOAD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob")
"""Every Kubernetes kind that runs pods."""
_API_VERSIONS = {
    "Pod": ("core/v1",), "ReplicationController": ("core/v1",), "Job": ("batch/v1",),
    "CronJob": ("batch/v1", "batch/v1beta1", "batch/v2alpha1"),
    "Deployment": ("apps/v1", "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"),
    "StatefulSet": ("apps/v1", "apps/v1beta1", "apps/v1beta2"),
    "DaemonSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
    "ReplicaSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
}
K8S_WORKLOADS = tuple(
    f"kubernetes:{version}:{kind}{patch}" for kind in WORKLOAD_KINDS for version in _API_VERSIONS[kind] for patch in ("", "Patch")
)
"""Every pulumi-kubernetes type of those kinds: deprecated API versions and server-side-apply patches
carry a pod spec the same way, and a stack may still declare them (a test keeps this in step with the SDK)."""

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_CONTAINER_LABELS = {"containers": "container", "initContainers": "init container", "ephemeralContainers": "ephemeral container"}
CONTAINER_SUBJECT = re.compile(r"^(?:init |ephemeral )?container '([^']*)' ")
"""How a violation names its container (`Container.says`); the runner reads it back into the report."""
INHERITED_SECURITY = ("runAsUser", "runAsGroup", "runAsNonRoot", "seLinuxOptions", "seccompProfile", "windowsOptions",
                      "appArmorProfile")
"""PodSecurityContext fields the kubelet applies to a container that does not set them itself."""


def kind_of(resource_type: str) -> str:
    """`kubernetes:apps/v1:DeploymentPatch` -> `Deployment`."""
    return resource_type.rsplit(":", 1)[-1].removesuffix("Patch")


@dataclass(frozen=True)
class Container:
    """One container of a pod, with the security context the kubelet will actually apply to it."""

    list: str
    """`containers`, `initContainers` or `ephemeralContainers`."""
    spec: Mapping[str, Any]
    security: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))

    def says(self, text: str) -> str:
        """A violation of this container, phrased so the report can name the container."""
        return f"{_CONTAINER_LABELS[self.list]} {self.name!r} {text}"

    @property
    def runs_as_root(self) -> bool:
        # UID 0 is root whatever runAsNonRoot says; without runAsNonRoot: true the image's own user
        # (often root) is used, and nothing stops it.
        return self.security.get("runAsUser") == 0 or self.security.get("runAsNonRoot") is not True


@dataclass(frozen=True)
class Pod:
    """The pod a workload runs, whatever its kind: its spec and every container of every list."""

    spec: Mapping[str, Any]
    containers: tuple[Container, ...]


_last_pod: Optional[tuple[Any, str, Optional[Pod]]] = None
"""Inside `walking_once()`: the last pod walked, by the identity of the properties and the type it was
walked from. None outside: every call walks (a caller may edit a resource's properties between calls)."""


@contextmanager
def walking_once() -> Iterator[None]:
    """While the block runs, rules reading the same resource's pod one after another walk it once (the
    in-process evaluator: its resources' properties are read-only and shared by every policy)."""
    global _last_pod
    _last_pod = (None, "", None)
    try:
        yield
    finally:
        _last_pod = None  # no properties kept alive past the evaluation


def pod(resource: Resource) -> Optional[Pod]:
    """The shared pod-spec walker: every rule that reads pods reads them through this (a meta-test checks)."""
    global _last_pod
    if resource.type not in K8S_WORKLOADS:
        return None
    last = _last_pod  # one read: another thread may replace the triple, never part of it
    if last is None:
        return _walk(resource)
    if last[0] is resource.props and last[1] == resource.type:
        return last[2]
    walked = _walk(resource)
    _last_pod = (resource.props, resource.type, walked)
    return walked


def _walk(resource: Resource) -> Pod:
    kind = kind_of(resource.type)
    path = {"Pod": ("spec",), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}.get(
        kind, ("spec", "template", "spec"))
    spec = get(resource.props, *path, default={}) or {}
    pod_security = spec.get("securityContext") or {}
    inherited = {key: pod_security[key] for key in INHERITED_SECURITY if key in pod_security}
    return Pod(spec, tuple(
        Container(name, container, {**inherited, **(container.get("securityContext") or {})})
        for name in CONTAINER_LISTS
        for container in spec.get(name) or []
    ))


DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def pinned(image: str) -> bool:
    """Pinned by digest: `repo@sha256:<64 hex>` (a tag before the digest is ignored by the runtime)."""
    return bool(DIGEST.search(image))


def traefik(kind: str) -> tuple[str, ...]:
    """A Traefik CRD's types in both API groups Traefik serves (`traefik.containo.us` is v2's, still read by v3)."""
    return tuple(f"kubernetes:{group}/v1alpha1:{kind}" for group in ("traefik.io", "traefik.containo.us"))
