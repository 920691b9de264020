"""A rule: frozen metadata plus a pure check. Packs turn rules into CrossGuard policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Optional


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


ResourceCheck = Callable[[Resource, Context], Optional[str]]
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

    def evaluate(self, resource: Resource, context: Context) -> Optional[str]:
        if self.check is None or (self.resource_types and resource.type not in self.resource_types):
            return None
        return self.check(resource, context)


def get(props: Any, *path: str, default: Any = None) -> Any:
    """Read a nested property; missing keys give `default`."""
    value = props
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return default
        value = value[key]
    return value


K8S_WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
)


def pod_spec(resource: Resource) -> Mapping[str, Any]:
    if resource.type == "kubernetes:batch/v1:CronJob":
        return get(resource.props, "spec", "jobTemplate", "spec", "template", "spec", default={})
    return get(resource.props, "spec", "template", "spec", default={})


def containers(resource: Resource) -> list[Mapping[str, Any]]:
    spec = pod_spec(resource)
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
