"""The evidence bundle: everything an auditor needs to see that a change followed the process.

One directory, written atomically, every file listed in SHA256SUMS; `evidence.md` and a
self-contained `evidence.html` put the summary first: risk class, freeze status, policy
result, approvals and what changes. Both are rendered from one model of the report
(`Report`) by the Jinja2 templates in governance/templates/.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import jinja2

from odoo_platform.governance.approvals import Approval, check_approvals
from odoo_platform.governance.calendar import Decision
from odoo_platform.governance.cost import to_svg as cost_svg
from odoo_platform.governance.cost import to_text as cost_text
from odoo_platform.governance.diagram import Estate, estate_dot, estate_model, estate_svg
from odoo_platform.governance.diff import PlanDiff, ResourceChange, Risk, TenantChange, shown_values, to_json, to_text
from odoo_platform.output import MARKER, marker_text, write_dir
from odoo_platform.policy.rules import ALL_RULES
from odoo_platform.policy.runner import Finding, split_fix

SECTIONS = ("Summary", "What changes", "Policy", "Approvals", "Images", "Source", "Estate", "Monthly cost estimate", "Files")
# A change lists this many of its property changes; diff.json has them all.
SHOWN_PROPERTIES = 8


def source_commit(root: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD") or "unknown", "dirty": bool(git("status", "--porcelain"))}


def config_digest(plan: dict[str, Any]) -> str:
    """The config and every tenant as the program exported it: a catalogued estate's config names only
    the catalogue's directory, so a tenant edit must change the digest through the tenants."""
    identity = {"config": plan["config"], "tenants": plan["outputs"].get("tenants") or {}}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def write_bundle(
    out_dir: Path, plan: dict[str, Any], diff: Optional[PlanDiff], policy: Optional[dict[str, Any]], decision: Decision,
    author: str, approvals: list[Approval], root: Path, created_at: datetime, cost: dict[str, Any],
    drift: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    risk: Optional[Risk] = diff.risk if diff else None
    approval_check = check_approvals(risk, author, approvals)
    images = {name: tenant["image"] for name, tenant in sorted((plan["outputs"].get("tenants") or {}).items())}
    summary = {
        "stack": plan["stack"],
        "createdAt": created_at.isoformat(),
        "risk": risk.label if risk else "none",
        "freeze": asdict(decision),
        "policy": {"passed": policy["passed"], "mandatoryViolations": policy["mandatoryViolations"],
                   "advisoryViolations": policy["advisoryViolations"]} if policy else None,
        "approvals": asdict(approval_check) | {"complete": approval_check.complete},
        "configDigest": config_digest(plan),
        "source": source_commit(root),
        "images": images,
        "changes": diff.counts() if diff else None,
        "drift": {key: drift[key] for key in ("passed", "blocking", "checked")} | {"drifted": len(drift["drifted"]),
                                                                                 "unmanaged": len(drift["unmanaged"])}
        if drift else None,
        "monthlyCost": {"total": cost["total"], "currency": cost["currency"], "pricesAsOf": cost["pricesAsOf"],
                        "scaleDownSaving": cost["scaleDownSaving"]},
    }
    files: dict[str, str] = {
        "plan.json": json.dumps(plan, indent=2) + "\n",
        "summary.json": json.dumps(summary, indent=2) + "\n",
        "estate.dot": estate_dot(plan),
        "estate.svg": estate_svg(plan),
        "cost.json": json.dumps(cost, indent=2) + "\n",
        "cost.txt": cost_text(cost) + "\n",
        "cost.svg": cost_svg(cost),
    }
    if diff:
        files["diff.json"] = to_json(diff)
        files["diff.md"] = to_text(diff, markdown=True)
    if policy:
        files["policy-report.json"] = json.dumps(policy, indent=2) + "\n"
    if drift:
        files["drift.json"] = json.dumps(drift, indent=2) + "\n"
    files[MARKER] = marker_text("evidence", [*files, "evidence.md", "evidence.html", "SHA256SUMS"])
    report = build_report(summary, diff, policy, plan, files["estate.svg"], files["cost.svg"],
                          sorted([*files, "evidence.md", "evidence.html", "SHA256SUMS"]))
    files["evidence.md"] = render(report, "evidence.md.j2")
    files["evidence.html"] = render(report, "evidence.html.j2")
    # Every file of the bundle is checksummed, the output marker too.
    sums = "".join(f"{hashlib.sha256(content.encode()).hexdigest()}  {name}\n" for name, content in sorted(files.items()))
    write_dir(out_dir, files | {"SHA256SUMS": sums}, "evidence")
    return summary


def _summary_lines(summary: dict[str, Any]) -> list[tuple[str, str]]:
    policy = summary["policy"]
    approvals = summary["approvals"]
    return [
        ("Risk class", summary["risk"].upper()),
        ("Freeze status", ("allowed: " if summary["freeze"]["allowed"] else "REFUSED: ") + summary["freeze"]["reason"]),
        ("Policy", "not run" if policy is None else
         ("passed" if policy["passed"] else f"FAILED: {policy['mandatoryViolations']} mandatory violation(s)")
         + f", {policy['advisoryViolations']} advisory"),
        ("Approvals", ("complete" if approvals["complete"] else "INCOMPLETE")
         + (f"; missing roles: {', '.join(approvals['missing_roles'])}" if approvals["missing_roles"] else "")
         + (f"; AUTHOR APPROVED OWN CHANGE as {', '.join(approvals['self_approvals'])}" if approvals["self_approvals"] else "")),
        ("What changes", "no baseline given" if summary["changes"] is None else
         ", ".join(f"{count} {action}" for action, count in summary["changes"].items())),
        ("Stack", summary["stack"]),
        ("Source", f"{summary['source']['commit']}" + (" (uncommitted changes)" if summary["source"]["dirty"] else "")),
        ("Monthly cost", f"{summary['monthlyCost']['total']:.2f} {summary['monthlyCost']['currency']} "
                         f"(prices as of {summary['monthlyCost']['pricesAsOf']})"),
        ("Latest drift check", _drift_line(summary["drift"])),
        ("Config digest", summary["configDigest"]),
        ("Created", summary["createdAt"]),
    ]


def _drift_line(drift: Optional[dict[str, Any]]) -> str:
    if drift is None:
        return "not given"
    verdict = "no blocking drift" if drift["passed"] else f"FAILED: {drift['blocking']} blocking"
    return f"{verdict} ({drift['drifted']} drifted, {drift['unmanaged']} unmanaged of {drift['checked']} checked)"


@dataclass(frozen=True)
class PropertyLine:
    path: str
    before: str
    after: str


@dataclass(frozen=True)
class ChangeLine:
    risk: str
    action: str
    type: str
    name: str
    reason: str
    properties: tuple[PropertyLine, ...]
    more_properties: int


@dataclass(frozen=True)
class Changes:
    risk: str
    counts: dict[str, int]
    unchanged: int
    protected: tuple[ChangeLine, ...]
    changes: tuple[ChangeLine, ...]
    tenants: tuple[ChangeLine, ...]
    """What changes for each tenant (a new database server is a move): first, as the diff lists it."""
    warnings: tuple[str, ...]
    """What makes the comparison itself doubtful (plans of two different stacks)."""


@dataclass(frozen=True)
class OverrideLine:
    """A rule whose enforcement level the policy config changed for this run."""

    rule: str
    pack: str
    before: str
    after: str
    weakened: bool


@dataclass(frozen=True)
class FindingLine:
    rule: str
    level: str
    severity: str
    resource: str
    violation: str
    fix: str


@dataclass(frozen=True)
class ImageLine:
    image: str
    tenants: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """Everything evidence.md and evidence.html show, in the order they show it."""

    stack: str
    summary: list[tuple[str, str]]
    changes: Optional[Changes]
    policy_run: bool
    findings: tuple[FindingLine, ...]
    overrides: tuple[OverrideLine, ...]
    author: str
    approvals: tuple[tuple[str, str], ...]
    images: tuple[ImageLine, ...]
    commit: str
    dirty: bool
    config_digest: str
    estate: Estate
    estate_svg: str
    cost_total: str
    currency: str
    prices_as_of: str
    cost_svg: str
    files: tuple[str, ...]


def build_report(summary: dict[str, Any], diff: Optional[PlanDiff], policy: Optional[dict[str, Any]], plan: dict[str, Any],
                 estate_picture: str, cost_chart: str, files: list[str]) -> Report:
    images: dict[str, list[str]] = {}
    for tenant, image in summary["images"].items():
        images.setdefault(image, []).append(tenant)
    cost = summary["monthlyCost"]
    return Report(
        stack=summary["stack"], summary=_summary_lines(summary), changes=_changes(diff) if diff else None,
        policy_run=policy is not None, findings=tuple(_finding(f) for f in (policy or {}).get("findings", [])),
        overrides=tuple(OverrideLine(o["rule"], o["pack"], o["from"], o["to"], bool(o["weakened"]))
                        for o in (policy or {}).get("overrides", [])),
        author=summary["approvals"]["author"],
        approvals=tuple((a["name"], a["role"]) for a in summary["approvals"]["approvals"]),
        images=tuple(ImageLine(image, tuple(tenants)) for image, tenants in sorted(images.items())),
        commit=summary["source"]["commit"], dirty=summary["source"]["dirty"], config_digest=summary["configDigest"],
        estate=estate_model(plan), estate_svg=estate_picture[estate_picture.find("<svg"):],
        cost_total=f"{cost['total']:.2f}", currency=cost["currency"], prices_as_of=cost["pricesAsOf"],
        cost_svg=cost_chart[cost_chart.find("<svg"):], files=tuple(files),
    )


def _changes(diff: PlanDiff) -> Changes:
    return Changes(risk=diff.risk.label if diff.risk else "none", counts=diff.counts(), unchanged=diff.unchanged,
                   protected=tuple(_change_line(c) for c in diff.protected_deletions),
                   changes=tuple(_change_line(c) for c in diff.changes),
                   tenants=tuple(_change_line(c, "tenant", c.tenant) for c in diff.tenants),
                   warnings=tuple(diff.warnings))


def _change_line(change: ResourceChange | TenantChange, type_: str = "", name: str = "") -> ChangeLine:
    # Values are shown as the diff shows them: cut around where the two sides differ, so two
    # different digests or expressions never read the same.
    return ChangeLine(
        risk=change.risk.label, action=change.action, type=type_ or change.type, name=name or change.name,
        reason=change.reason,
        properties=tuple(PropertyLine(p.path, *shown_values(p.before, p.after)) for p in change.changes[:SHOWN_PROPERTIES]),
        more_properties=max(0, len(change.changes) - SHOWN_PROPERTIES),
    )


_REMEDIATIONS = {rule.id: rule.remediation for rule in ALL_RULES}


def _finding(finding: dict[str, Any]) -> FindingLine:
    """A report row's message is "[RULE] violation (fix)", the fix named once; reports written before
    that appended the rule's remediation too, and that tail is dropped. The violation's own fix is
    shown where it names one (it is specific to the resource), else the rule's remediation."""
    rule = finding["rule"]
    text = finding["message"].removeprefix(f"[{rule}] ")
    remediation = _REMEDIATIONS.get(rule, "")
    if remediation and text.endswith(remediation):
        text = text.removesuffix(remediation).rstrip().removesuffix(".")
    violation, own_fix = split_fix(text)
    fix = own_fix[:1].upper() + own_fix[1:] + "." if own_fix else remediation
    # The report names kind, namespace, name and container; older reports only the URN.
    fields = {name: finding[name] for name in Finding.__dataclass_fields__ if name in finding}
    resource = Finding(**fields).subject if finding.get("kind") else finding["urn"].rsplit("::", 1)[-1] or "(stack)"
    return FindingLine(rule=rule, level=finding["level"], severity=finding.get("severity", ""), resource=resource,
                       violation=violation, fix=fix)


def _markdown_text(text: Any) -> str:
    """Inline Markdown: punctuation that would become markup is escaped; a table cell stays one line."""
    escaped = "".join("\\" + c if c in "\\`*_[]<>|#!~&" else c for c in str(text))
    return " ".join(escaped.split())


def _markdown_code(text: Any) -> str:
    """A code span fenced by more backticks than the text's longest run of them."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _environment(markdown: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("odoo_platform.governance", "templates"), autoescape=not markdown,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    environment.filters["md"] = _markdown_text
    environment.filters["code"] = _markdown_code
    return environment


def render(report: Report, template: str) -> str:
    return _environment(markdown=template.endswith(".md.j2")).get_template(template).render(r=report)
