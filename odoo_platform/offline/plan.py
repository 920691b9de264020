"""The plan document: what people, tests, policy packs and governance tools read.

Secrets never leave the engine: every value Pulumi marks secret is replaced by "[secret]"
before anything is written or printed.
"""

from __future__ import annotations

import json
import re
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


SUMMARY_WIDTH = 100
LISTED = 12
"""Up to this many names (tenants, servers, secrets) are all shown; more are summarised, so that
the summary of a 1,000-tenant estate fits a screen as that of a 3-tenant one does."""


def summary(plan: dict[str, Any], width: int = SUMMARY_WIDTH) -> str:
    """What a reviewer reads first: the plan by resource type, database server, tenant, image
    and secret rotation, in lines of at most `width` columns (a name longer than that excepted)."""
    custom = [r for r in plan["resources"] if not r["component"]]
    tenants: dict[str, dict[str, Any]] = plan["outputs"].get("tenants") or {}
    protected = sum(1 for r in custom if r["protect"])
    components = len(plan["resources"]) - len(custom)
    by_tenant = Counter(tenant_of(r, set(tenants)) or "(shared)" for r in custom)
    sections = {
        "resources by type:": _type_lines(Counter(r["type"] for r in custom), width),
        "database servers:": _server_lines(plan["outputs"].get("postgresServers") or {}, tenants, width),
        "resources by tenant:": _tenant_lines(by_tenant, tenants, width) if tenants else [],
        "images by tenant (ring):": _image_lines(tenants, width),
        "generated secrets by rotation period:": _rotation_lines(secret_rotations(plan), width),
    }
    lines = [f"stack {plan['stack']}: {len(custom)} resources in {components} components, "
             f"{protected} protected from delete/replace"]
    for title, body in sections.items():
        if body:  # the delivery stack has no servers, tenants, images or generated secrets
            lines += ["", title, *body]
    return "\n".join(lines)


def _type_lines(by_type: Counter[str], width: int) -> list[str]:
    """One line per provider module (kinds and their counts after it): a plan has some fifty
    types, whatever the number of tenants."""
    modules: dict[str, dict[str, int]] = {}
    for kind in sorted(by_type):
        module, _, name = kind.rpartition(":")
        modules.setdefault(module, {})[name] = by_type[kind]
    return [line for module, kinds in modules.items()
            for line in _listing(f"  {sum(kinds.values()):5d}  {module}:", [f"{name} {n}" for name, n in kinds.items()],
                                 width, indent=11)]


def _server_lines(servers: dict[str, str], tenants: dict[str, dict[str, Any]], width: int) -> list[str]:
    """Each database server and its tenants; beyond a dozen servers, servers with the same
    number of tenants share a line (a 1,000-tenant estate may have hundreds of dedicated ones)."""
    members: dict[str, list[str]] = {key: [] for key in servers}
    for name in sorted(tenants, key=_natural):
        members.setdefault(tenants[name].get("postgresServer") or "(none)", []).append(name)
    keys = sorted(members, key=_natural)
    if len(keys) <= LISTED:
        return [line for key in keys
                for line in _listing(f"  {key} ({_count(len(members[key]), 'tenant')}):", members[key], width, indent=4,
                                     max_lines=2)]
    by_size: dict[int, list[str]] = {}
    for key in keys:
        by_size.setdefault(len(members[key]), []).append(key)
    return [line for size, group in sorted(by_size.items(), reverse=True)
            for line in _listing(f"  {_count(len(group), 'server')} with {_count(size, 'tenant')}:", group, width,
                                 indent=4, max_lines=3)]


def _tenant_lines(by_tenant: Counter[str], tenants: dict[str, dict[str, Any]], width: int) -> list[str]:
    """Every tenant's count; with many tenants, the distribution and the tenants of each count
    (how many counts there are depends on the tiers and options in use, not on the tenants)."""
    shared = [f"  {by_tenant['(shared)']:5d}  (shared)"] if by_tenant["(shared)"] else []
    names = sorted(tenants, key=_natural)
    if len(names) <= LISTED:
        return shared + [f"  {by_tenant[name]:5d}  {name}" for name in names]
    by_count: dict[int, list[str]] = {}
    for name in names:
        by_count.setdefault(by_tenant[name], []).append(name)
    counts = sorted(by_tenant[name] for name in names)
    lines = [f"  {len(names)} tenants: min {counts[0]}, median {counts[len(counts) // 2]}, max {counts[-1]} resources",
             *shared]
    for count, group in sorted(by_count.items()):
        lines += _listing(f"  {count:5d}  {_count(len(group), 'tenant')}:", group, width, indent=11, max_lines=1)
    return lines


def _image_lines(tenants: dict[str, dict[str, Any]], width: int) -> list[str]:
    """Which tenants run which image, in which ring; with many tenants, ring by ring."""
    by_image: dict[str, list[str]] = {}
    for name in sorted(tenants, key=_natural):
        by_image.setdefault(tenants[name]["image"], []).append(name)
    lines = []
    for image, names in by_image.items():
        if len(names) <= LISTED:
            lines += _listing(f"  {_short_image(image)}:", [f"{n} ({tenants[n]['ring']})" for n in names], width, indent=4)
            continue
        lines.append(f"  {_short_image(image)}: {len(names)} tenants")
        rings: dict[str, list[str]] = {}
        for name in names:
            rings.setdefault(tenants[name]["ring"], []).append(name)
        for ring, members in rings.items():
            lines += _listing(f"    {ring} ({_count(len(members), 'tenant')}):", members, width, indent=6, max_lines=1)
    return lines


def _rotation_lines(rotations: dict[str, int | None], width: int) -> list[str]:
    by_period: dict[int | None, list[str]] = {}
    for name in sorted(rotations, key=_natural):
        by_period.setdefault(rotations[name], []).append(name)
    return [
        line
        for days, names in sorted(by_period.items(), key=lambda item: (item[0] is not None, item[0] or 0))
        for line in _listing(f"  {len(names):5d}  {'NEVER ROTATED' if days is None else f'every {days} days'}:", names,
                             width, indent=9, max_lines=None if len(names) <= LISTED else 2)
    ]


def _listing(head: str, names: list[str], width: int, indent: int, max_lines: int | None = None) -> list[str]:
    """`head` and the names, comma-separated, wrapped to `width` under a hanging indent; in at most
    `max_lines` lines, the names that do not fit are counted ("... and 997 more")."""
    # No more names than this fit (each takes at least three columns: a letter, a comma, a space).
    shown = len(names) if max_lines is None else min(len(names), max_lines * width // 3)
    while True:
        words = [f"{name}," for name in names[:shown]]
        if shown < len(names):
            words.append(f"... and {len(names) - shown} more")
        elif words:
            words[-1] = words[-1][:-1]
        lines = [head]
        for word in words:
            if len(lines[-1]) + 1 + len(word) > width:
                lines.append(" " * indent + word)
            else:
                lines[-1] += " " + word
        if max_lines is None or len(lines) <= max_lines or shown == 0:
            return lines
        shown -= 1


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _natural(text: str) -> list[Any]:
    """shared, shared-2, shared-10: numbers in names sort by value."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _short_image(image: str) -> str:
    """An image with its digest cut to 12 hex digits (as `docker images` shows it): a full
    reference is wider than the summary; plan.json and the stack file hold it whole."""
    return re.sub(r"@sha256:([0-9a-f]{12})[0-9a-f]{52}$", r"@sha256:\1...", image)
