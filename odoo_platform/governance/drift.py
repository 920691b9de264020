"""Drift: what runs now against what was approved.

Input is a `pulumi stack export` (deployment format version 3) taken after `pulumi refresh`,
so each resource's `outputs` are what the cloud reports and its `inputs` what the last
approved `pulumi up` applied. The approved plan says which resources must exist and which
properties the program declares; only those properties are compared (clouds and the API
server add defaults and status that nobody declared). Values the offline plan could only
mock (ids, generated names) are taken from the state's inputs, which hold the real ones.
Secret values are never compared or printed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

from odoo_platform.errors import EstateConfigError
from odoo_platform.governance.diff import PropertyChange, ResourceChange, Risk, resource_change
from odoo_platform.offline.stackfiles import SECRET_PLACEHOLDER

SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"
INTEGER_SIGNATURE = "7eb310220ed6211bd6f147f2a75bfbb6"
DEPLOYMENT_VERSION = 3
BLOCKING = Risk.HIGH
"""Drift at this risk or above (or on anything holding data) fails the check."""


@dataclass
class DriftReport:
    stack: str
    drifted: list[ResourceChange] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    """URNs in the state that the approved plan does not declare."""
    checked: int = 0

    @property
    def blocking(self) -> list[ResourceChange]:
        return [c for c in self.drifted if c.risk >= BLOCKING or c.stateful]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "checked": self.checked,
            "drifted": [asdict(c) | {"risk": c.risk.label} for c in self.drifted],
            "unmanaged": self.unmanaged,
            "blocking": len(self.blocking),
            "passed": not self.blocking,
        }


def read_export(text: str, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        raise EstateConfigError(f"--state: {source} is not JSON (give the output of `pulumi stack export`)") from None
    if not isinstance(document, dict) or document.get("version") != DEPLOYMENT_VERSION or "deployment" not in document:
        raise EstateConfigError(
            f"--state: {source} is not a version {DEPLOYMENT_VERSION} deployment (give the output of `pulumi stack export`)"
        )
    return document["deployment"]


def detect_drift(deployment: dict[str, Any], plan: dict[str, Any]) -> DriftReport:
    state = {r["urn"]: r for r in deployment.get("resources") or [] if r.get("custom") and not r.get("delete")}
    declared = {r["urn"]: r for r in plan["resources"] if not r["component"]}
    report = DriftReport(stack=plan["stack"])
    for urn, resource in sorted(declared.items()):
        report.checked += 1
        live = state.get(urn)
        if live is None:
            report.drifted.append(resource_change(resource, "delete", [], reason_prefix="missing from the live estate: "))
            continue
        changes = list(_drifted(resource["inputs"], live.get("inputs") or {}, live.get("outputs") or {}))
        if changes:
            report.drifted.append(resource_change(resource, "update", changes, reason_prefix="changed outside Pulumi: "))
    # Providers and the stack itself are the engine's, not the estate's.
    report.unmanaged = sorted(urn for urn, r in state.items() if urn not in declared and not r["type"].startswith("pulumi:"))
    report.drifted.sort(key=lambda c: (-c.risk, c.urn))
    return report


def _drifted(declared: Any, applied: Any, live: Any, path: str = "") -> Iterator[PropertyChange]:
    if declared == SECRET_PLACEHOLDER or _secret(declared) or _secret(applied) or _secret(live):
        return
    applied, live = _integer(applied), _integer(live)
    if isinstance(declared, dict):
        for key in sorted(declared):
            yield from _drifted(declared[key], _at(applied, key), _at(live, key), f"{path}.{key}" if path else key)
        return
    expected = applied if applied is not None else declared
    if isinstance(declared, list) and isinstance(live, list) and isinstance(expected, list) and len(live) == len(expected):
        for index, item in enumerate(declared):
            yield from _drifted(item, expected[index] if index < len(expected) else None,
                                live[index] if index < len(live) else None, f"{path}[{index}]")
        return
    if _normal(expected) != _normal(live):
        yield PropertyChange(path, expected, live)


def _at(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIGNATURE_KEY) == SECRET_SIGNATURE


def _integer(value: Any) -> Any:
    if isinstance(value, dict) and value.get(SIGNATURE_KEY) == INTEGER_SIGNATURE:
        return int(value["value"])
    return value


def _normal(value: Any) -> Any:
    # The engine keeps numbers as floats in state; the plan has integers.
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def to_text(report: DriftReport) -> str:
    lines = [f"drift of {report.stack}: {len(report.drifted)} of {report.checked} declared resources drifted, "
             f"{len(report.blocking)} blocking, {len(report.unmanaged)} unmanaged"]
    for change in report.drifted:
        lines.append(f"  [{change.risk.label}] {change.type} {change.name}: {change.reason}")
        for prop in change.changes:
            lines.append(f"      {prop.path}: approved {json.dumps(prop.before)} -> live {json.dumps(prop.after)}")
    for urn in report.unmanaged:
        lines.append(f"  [unmanaged] {urn}")
    lines.append("no drift" if not report.drifted and not report.unmanaged else
                 ("FAILED: drift of a stateful or security-relevant property" if report.blocking else "drift is low risk"))
    return "\n".join(lines)
