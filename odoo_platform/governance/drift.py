"""Drift: what runs now against what was approved.

Input is a `pulumi stack export` (deployment format version 3) taken after `pulumi refresh`.
A refresh writes what the cloud reports into each resource's `outputs` and, for most providers,
into its `inputs` too, so the state alone cannot tell what was approved. The approved plan can:
every resource it declares must exist, and every property the program declares must still have
the plan's value (clouds and the API server add defaults and status that nobody declared, so only
declared properties are compared).

- Values the offline plan could only mock (ids, generated names, computed endpoints: found by
  asking the offline engine's mocks what they invented) are compared as the state holds them,
  since the plan cannot know the real ones.
- A property is read from the outputs when the provider's SDK declares it as an output; otherwise
  (azure-native path parameters such as `resourceGroupName`, `serverName`, which the cloud reports
  only inside the id) from the state's inputs.
Secret values are never compared or printed.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Optional

import pulumi

from odoo_platform.errors import EstateConfigError
from odoo_platform.governance.diff import PropertyChange, ResourceChange, Risk, resource_change
from odoo_platform.offline.mocks import PlanMocks, autoname
from odoo_platform.offline.stackfiles import SECRET_PLACEHOLDER

SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"
INTEGER_SIGNATURE = "7eb310220ed6211bd6f147f2a75bfbb6"
DEPLOYMENT_VERSION = 3
BLOCKING = Risk.HIGH
"""Drift at this risk or above (or on anything holding data) fails the check."""
SDKS = {"azure-native": "pulumi_azure_native", "kubernetes": "pulumi_kubernetes", "aws": "pulumi_aws",
        "random": "pulumi_random", "time": "pulumiverse_time", "azuredevops": "pulumi_azuredevops"}


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
    mocked = mock_values(plan)
    report = DriftReport(stack=plan["stack"])
    for urn, resource in sorted(declared.items()):
        report.checked += 1
        live = state.get(urn)
        if live is None:
            report.drifted.append(resource_change(resource, "delete", [], reason_prefix="missing from the live estate: "))
            continue
        applied, outputs = live.get("inputs") or {}, live.get("outputs") or {}
        declared_outputs = sdk_outputs(resource["type"])
        changes = []
        for key in sorted(resource["inputs"]):
            reported = outputs if declared_outputs is None or key in declared_outputs else applied
            changes += _drifted(resource["inputs"][key], applied.get(key), reported.get(key), key, mocked)
        if changes:
            report.drifted.append(resource_change(resource, "update", changes, reason_prefix="changed outside Pulumi: "))
    # Providers and the stack itself are the engine's, not the estate's.
    report.unmanaged = sorted(urn for urn, r in state.items() if urn not in declared and not r["type"].startswith("pulumi:"))
    report.drifted.sort(key=lambda c: (-c.risk, c.urn))
    return report


@functools.cache
def sdk_outputs(token: str) -> Optional[frozenset[str]]:
    """The output properties the provider's Python SDK declares for a resource type (None: no SDK class)."""
    package, module, name = token.split(":")
    if package not in SDKS:
        return None
    parts = [part.split(".")[0] for part in module.split("/")]
    path = [] if parts[0] == "index" else (parts if package == "kubernetes" else parts[:1])
    try:
        cls = getattr(importlib.import_module(".".join([SDKS[package], *path])), name)
    except (ImportError, AttributeError):
        return None  # custom resources (CRDs) have no SDK class: every declared property is an output
    return frozenset(getattr(member.fget, "_pulumi_name", None) or attribute
                     for attribute, member in inspect.getmembers(cls, lambda m: isinstance(m, property)))


def mock_values(plan: dict[str, Any]) -> frozenset[str]:
    """Strings the offline engine invented for the plan: ids, auto-names and computed outputs."""
    mocks = PlanMocks(region=str(plan.get("config", {}).get("odoo-platform:region", "")))
    invented: set[str] = set()
    for resource in plan["resources"]:
        if resource["component"] or resource["type"].startswith("pulumi:"):
            continue
        if resource["type"].startswith("kubernetes:"):
            if not (resource["inputs"].get("metadata") or {}).get("name"):
                invented.add(autoname(resource["name"]))
            continue
        resource_id, state = mocks.new_resource(pulumi.runtime.MockResourceArgs(
            resource["type"], resource["name"], resource["inputs"], custom=True))
        given = set(_strings(resource["inputs"]))
        invented.update(value for value in (resource_id, *_strings(state)) if value not in given)
    return frozenset(value for value in invented if value)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _mock_only(value: Any, mocked: frozenset[str]) -> bool:
    if isinstance(value, str):
        return any(m in value for m in mocked)
    if isinstance(value, dict):
        return any(_mock_only(k, mocked) or _mock_only(v, mocked) for k, v in value.items())
    if isinstance(value, list):
        return any(_mock_only(v, mocked) for v in value)
    return False


def _drifted(declared: Any, applied: Any, live: Any, path: str, mocked: frozenset[str]) -> Iterator[PropertyChange]:
    if declared == SECRET_PLACEHOLDER or _secret(declared) or _secret(applied) or _secret(live):
        return
    applied, live = _integer(applied), _integer(live)
    if isinstance(declared, dict) and not any(_mock_only(key, mocked) for key in declared):
        for key in sorted(declared):
            yield from _drifted(declared[key], _at(applied, key), _at(live, key), f"{path}.{key}", mocked)
        return
    if isinstance(declared, list) and isinstance(live, list) and len(live) == len(declared):
        for index, item in enumerate(declared):
            yield from _drifted(item, applied[index] if isinstance(applied, list) and index < len(applied) else None,
                                live[index], f"{path}[{index}]", mocked)
        return
    # What was approved: the plan's value, or what the state holds where the plan could only mock it.
    expected = applied if _mock_only(declared, mocked) else declared
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
