"""The evidence bundle: everything an auditor needs to see that a change followed the process.

One directory, written atomically, every file listed in SHA256SUMS; `evidence.md` and a
self-contained `evidence.html` put the summary first: risk class, freeze status, policy
result, approvals and what changes.
"""

from __future__ import annotations

import hashlib
import html
import json
import subprocess
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

from odoo_platform.governance.approvals import Approval, check_approvals
from odoo_platform.governance.calendar import Decision
from odoo_platform.governance.cost import to_svg as cost_svg
from odoo_platform.governance.cost import to_text as cost_text
from odoo_platform.governance.diagram import estate_dot, estate_svg
from odoo_platform.governance.diff import PlanDiff, Risk, to_json, to_text
from odoo_platform.output import MARKER, marker_text, write_dir

SECTIONS = ("Summary", "What changes", "Policy", "Approvals", "Images", "Source", "Estate", "Monthly cost estimate", "Files")


def source_commit(root: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD") or "unknown", "dirty": bool(git("status", "--porcelain"))}


def config_digest(plan: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(plan["config"], sort_keys=True).encode()).hexdigest()


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
    files["evidence.md"] = _markdown(summary, diff, policy)
    files["evidence.html"] = _html(summary, diff, policy, files["estate.svg"], files["cost.svg"])
    files[MARKER] = marker_text("evidence", [*files, "SHA256SUMS"])  # listed too: every file of the bundle is checksummed
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


def _markdown(summary: dict[str, Any], diff: Optional[PlanDiff], policy: Optional[dict[str, Any]]) -> str:
    lines = [f"# Change evidence: {summary['stack']}", "", "## Summary", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in _summary_lines(summary)]
    lines += ["", "## What changes", "", to_text(diff, markdown=True) if diff else "No baseline plan was given.", "",
              "## Policy", ""]
    lines += [f"- [{f['level']}] {f['rule']} {f['urn']}: {f['message']}" for f in (policy or {}).get("findings", [])] or ["No findings."]
    lines += ["", "## Approvals", "", f"Author: {summary['approvals']['author']}"]
    lines += [f"- {a['name']} as {a['role']}" for a in summary["approvals"]["approvals"]] or ["- none"]
    lines += ["", "## Images", ""] + [f"- {tenant}: `{image}`" for tenant, image in summary["images"].items()]
    lines += ["", "## Source", "", f"Commit {summary['source']['commit']}", "", "## Files", "", "Listed with their SHA-256 in SHA256SUMS."]
    return "\n".join(lines) + "\n"


def _html(summary: dict[str, Any], diff: Optional[PlanDiff], policy: Optional[dict[str, Any]], svg: str,
          cost_chart: str) -> str:
    e = html.escape
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _summary_lines(summary))
    change_rows = "".join(
        f"<tr class='{e(c.risk.label)}'><td>{e(c.risk.label)}</td><td>{e(c.action)}</td><td>{e(c.type)}</td>"
        f"<td>{e(c.name)}</td><td>{e(c.reason)}</td></tr>" for c in (diff.changes if diff else [])
    ) or "<tr><td colspan='5'>No changes (or no baseline given).</td></tr>"
    findings = "".join(
        f"<tr><td>{e(f['rule'])}</td><td>{e(f['level'])}</td><td>{e(f['urn'])}</td><td>{e(f['message'])}</td></tr>"
        for f in (policy or {}).get("findings", [])
    ) or "<tr><td colspan='4'>No findings.</td></tr>"
    approvals = "".join(f"<li>{e(a['name'])} as {e(a['role'])}</li>" for a in summary["approvals"]["approvals"]) or "<li>none</li>"
    images = "".join(f"<tr><td>{e(t)}</td><td><code>{e(i)}</code></td></tr>" for t, i in summary["images"].items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Change evidence: {e(summary['stack'])}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}}table{{border-collapse:collapse;width:100%}}
th,td{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}th{{background:#f3f3f3;width:14rem}}
tr.critical td{{background:#fde2e2}}tr.high td{{background:#fff1d6}}code{{font-size:.85em}}</style></head>
<body><h1>Change evidence: {e(summary['stack'])}</h1>
<section id="summary"><h2>Summary</h2><table>{rows}</table></section>
<section id="what-changes"><h2>What changes</h2><table><tr><th>risk</th><th>action</th><th>type</th><th>name</th><th>why</th></tr>{change_rows}</table></section>
<section id="policy"><h2>Policy</h2><table><tr><th>rule</th><th>level</th><th>resource</th><th>message</th></tr>{findings}</table></section>
<section id="approvals"><h2>Approvals</h2><p>Author: {e(summary['approvals']['author'])}</p><ul>{approvals}</ul></section>
<section id="images"><h2>Images</h2><table>{images}</table></section>
<section id="source"><h2>Source</h2><p>Commit <code>{e(summary['source']['commit'])}</code>; configuration digest <code>{e(summary['configDigest'])}</code>.</p></section>
<section id="estate"><h2>Estate</h2>{svg[svg.find("<svg"):]}</section>
<section id="cost"><h2>Monthly cost estimate</h2><p>{e(str(summary['monthlyCost']['total']))} {e(summary['monthlyCost']['currency'])}
a month (prices as of {e(summary['monthlyCost']['pricesAsOf'])}; details in <code>cost.txt</code> and <code>cost.json</code>).</p>
{cost_chart}</section>
<section id="files"><h2>Files</h2><p>Every file of this bundle is listed with its SHA-256 in <code>SHA256SUMS</code>.</p></section>
</body></html>
"""
