"""The plan document: what people, tests, policy packs and governance tools read.

Secrets never leave the engine: every value Pulumi marks secret is replaced by "[secret]"
before anything is written or printed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import IO, Any, Mapping

import yaml

from odoo_platform.offline.engine import Recording
from odoo_platform.offline.recorder import Registration
from odoo_platform.offline.stackfiles import SECRET_PLACEHOLDER, StackConfig
from odoo_platform.output import Content, write_dir

PLAN_VERSION = 1
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
KUBERNETES_OBJECT_ORDER = (
    "Namespace",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Service",
)


def clean_value(value: Any) -> Any:
    """Mask secrets, restore integers (the wire format turns every number into a float) and
    sort mapping keys so that two plans of the same program compare equal."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return _mask_leaves(value.get("value"))
        return {key: clean_value(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [clean_value(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _mask_leaves(value: Any) -> Any:
    """A secret keeps its shape (which keys a Secret holds is useful to review), never its values."""
    if isinstance(value, dict):
        return {key: _mask_leaves(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_mask_leaves(item) for item in value]
    return SECRET_PLACEHOLDER


def tenant_of(resource: dict[str, Any], tenants: set[str]) -> str | None:
    """The tenant a resource belongs to, from its labels/tags or its component ancestry name."""
    inputs = resource["inputs"]
    labels = (inputs.get("metadata") or {}).get("labels") or {}
    tags = inputs.get("tags") if isinstance(inputs.get("tags"), dict) else {}
    for candidate in (labels.get("odoo-platform.io/tenant"), tags.get("tenant")):
        if candidate in tenants:
            return candidate
    return None


def build_plan(recording: Recording, config: StackConfig) -> dict[str, Any]:
    resources = sorted((_resource(r) for r in recording.registrations), key=lambda r: r["urn"])
    return {
        "version": PLAN_VERSION,
        "stack": recording.stack,
        "project": recording.project,
        "config": config.masked(),
        "outputs": clean_value(recording.stack_outputs),
        "resources": resources,
    }


def _resource(registration: Registration) -> dict[str, Any]:
    return {
        "urn": registration.urn,
        "type": registration.type,
        "name": registration.name,
        "parent": registration.parent,
        "inputs": clean_value(registration.inputs),
        "protect": registration.protect,
        "retainOnDelete": registration.retain_on_delete,
        "dependsOn": registration.depends_on,
        "component": not registration.custom,
    }


def kubernetes_objects(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Kubernetes object of the plan as it would be applied (Helm releases are not objects)."""
    objects = []
    for resource in plan["resources"]:
        inputs = resource["inputs"]
        if resource["component"] or not resource["type"].startswith("kubernetes:") or "kind" not in inputs:
            continue
        ordered = {key: inputs[key] for key in ("apiVersion", "kind", "metadata") if key in inputs}
        ordered.update({key: value for key, value in inputs.items() if key not in ordered})
        objects.append(ordered)
    rank = {kind: index for index, kind in enumerate(KUBERNETES_OBJECT_ORDER)}
    return sorted(
        objects,
        key=lambda o: (rank.get(o["kind"], len(rank)), o["metadata"].get("namespace", ""), o["metadata"].get("name", "")),
    )


def write_plan(plan: dict[str, Any], out_dir: Path, extra_files: Mapping[str, Content] | None = None,
               flag: str = "--out") -> Path:
    """Write plan.json, manifests.yaml (and e.g. policy-report.json) as the directory `out_dir`,
    atomically and only where odoo-platform may write (see output.py). Both are written as they
    are encoded: at a thousand tenants either would be hundreds of MiB as one string."""
    files: dict[str, Content] = {
        "plan.json": lambda stream: write_json(plan, stream),
        "manifests.yaml": lambda stream: yaml.safe_dump_all(kubernetes_objects(plan), stream, sort_keys=False,
                                                            default_flow_style=False),
        **(extra_files or {}),
    }
    return write_dir(out_dir, files, "plan", flag)


def write_json(document: Any, stream: IO[str]) -> None:
    """`document` as plan.json is written (two-space indent, a final newline), encoded piece by piece."""
    json.dump(document, stream, indent=2)
    stream.write("\n")


def _rotation_lines(rotations: dict[str, int | None]) -> list[str]:
    by_period: dict[int | None, list[str]] = {}
    for name, days in sorted(rotations.items()):
        by_period.setdefault(days, []).append(name)
    return [
        f"  {len(names):5d}  {'NEVER ROTATED' if days is None else f'every {days} days'}: {', '.join(names)}"
        for days, names in sorted(by_period.items(), key=lambda item: (item[0] is not None, item[0] or 0))
    ]


ROTATION_TYPE = "time:index/rotating:Rotating"
PASSWORD_TYPE = "random:index/randomPassword:RandomPassword"


def secret_rotations(plan: dict[str, Any]) -> dict[str, int | None]:
    """Each generated secret and the days between its rotations (None: it never rotates)."""
    periods = {r["urn"]: r["inputs"].get("rotationDays") for r in plan["resources"] if r["type"] == ROTATION_TYPE}
    rotations: dict[str, int | None] = {}
    for resource in plan["resources"]:
        if resource["type"] == PASSWORD_TYPE:
            found = [periods[urn] for urn in resource["dependsOn"] if urn in periods]
            rotations[resource["name"]] = found[0] if found else None
    return rotations


def summary(plan: dict[str, Any]) -> str:
    custom = [r for r in plan["resources"] if not r["component"]]
    tenants = set((plan["outputs"].get("tenants") or {}).keys())
    by_type = Counter(r["type"] for r in custom)
    by_tenant = Counter(tenant_of(r, tenants) or "(shared)" for r in custom)
    protected = sum(1 for r in custom if r["protect"])
    components = len(plan["resources"]) - len(custom)
    images: dict[str, list[str]] = {}
    for name, tenant in sorted((plan["outputs"].get("tenants") or {}).items()):
        images.setdefault(tenant["image"], []).append(f"{name} ({tenant['ring']})")
    sections = {
        "resources by type:": [f"  {count:5d}  {kind}" for kind, count in sorted(by_type.items())],
        "resources by tenant:": [f"  {count:5d}  {tenant}" for tenant, count in sorted(by_tenant.items())] if tenants else [],
        "images by tenant (ring):": [f"  {image}: {', '.join(names)}" for image, names in images.items()],
        "generated secrets by rotation period:": _rotation_lines(secret_rotations(plan)),
    }
    lines = [f"stack {plan['stack']}: {len(custom)} resources in {components} components, "
             f"{protected} protected from delete/replace"]
    for title, body in sections.items():
        if body:  # the delivery stack has no tenants, images or generated secrets
            lines += ["", title, *body]
    return "\n".join(lines)
