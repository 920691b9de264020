"""The evidence bundle: checksums verify, every section renders, separation of duties is enforced."""

from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser

import pytest

from odoo_platform.cli import main
from odoo_platform.governance.approvals import Approval, check_approvals
from odoo_platform.governance.diagram import estate_dot
from odoo_platform.governance.diff import Risk
from odoo_platform.governance.evidence import SECTIONS
from tests.conftest import ROOT
from tests.stack_plans import plan_of
from tests.test_drift import export_of


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


@pytest.fixture
def bundle(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    baseline = plan_of("hybrid-prod")
    proposed = json.loads(json.dumps(baseline))
    for resource in proposed["resources"]:
        if resource["type"] == "azure-native:dbforpostgresql:Configuration":
            resource["inputs"]["value"] = "on-changed"
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    (tmp_path / "before" / "plan.json").write_text(json.dumps(baseline))
    (tmp_path / "after" / "plan.json").write_text(json.dumps(proposed))
    (tmp_path / "after" / "policy-report.json").write_text(json.dumps(
        {"stack": "hybrid-prod", "passed": True, "mandatoryViolations": 0, "advisoryViolations": 0, "findings": []}))
    (tmp_path / "state.json").write_text(json.dumps(export_of(
        baseline, lambda state: state["estate-rg"]["outputs"]["tags"].update({"cost-centre": "marketing"}))))
    assert main(["drift", "--state", str(tmp_path / "state.json"), "--plan", str(tmp_path / "before" / "plan.json"),
                 "--out", str(tmp_path / "drift.json")]) == 0
    out = tmp_path / "evidence"
    code = main(["evidence", "--drift", str(tmp_path / "drift.json"), "--plan", str(tmp_path / "after" / "plan.json"), "--baseline", str(tmp_path / "before" / "plan.json"),
                 "--out", str(out), "--author", "alice@example.com", "--approver", "alice@example.com:change-board",
                 "--approver", "bob@example.com:platform-lead", "--at", "2027-01-24T03:00:00+00:00"])
    assert code == 6  # written, but the author's own change-board approval does not count: a pipeline gate stops here
    return out


def test_every_file_is_listed_and_its_checksum_verifies(bundle):
    listed = {}
    for line in (bundle / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    files = {p.name for p in bundle.iterdir()} - {"SHA256SUMS"}
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest, name


def test_the_html_renders_every_section_with_the_summary_first(bundle):
    parser = _Sections()
    parser.feed((bundle / "evidence.html").read_text())
    assert parser.headings == list(SECTIONS)
    summary = json.loads((bundle / "summary.json").read_text())
    assert summary["risk"] == "high"  # database parameters changed
    assert summary["freeze"]["allowed"] is True  # Sunday 03:00 is inside the maintenance window
    assert summary["approvals"]["self_approvals"] == ["change-board"]
    assert summary["approvals"]["missing_roles"] == ["change-board"]
    assert summary["approvals"]["complete"] is False
    markdown = (bundle / "evidence.md").read_text()
    assert "AUTHOR APPROVED OWN CHANGE as change-board" in markdown
    assert summary["drift"] == {"passed": True, "blocking": 0, "checked": summary["drift"]["checked"], "drifted": 1,
                                "unmanaged": 0}
    assert "no blocking drift (1 drifted, 0 unmanaged" in markdown
    cost = json.loads((bundle / "cost.json").read_text())
    assert summary["monthlyCost"]["total"] == cost["total"] > 0
    assert (bundle / "cost.svg").read_text().startswith("<svg") and (bundle / "drift.json").is_file()
    assert markdown.index("## Summary") < markdown.index("## What changes")


def test_the_approval_matrix_requires_independent_roles_per_risk():
    author = "alice"
    ok = check_approvals(Risk.CRITICAL, author, [Approval("bob", "change-board"), Approval("carol", "service-owner")])
    assert ok.complete
    missing = check_approvals(Risk.CRITICAL, author, [Approval("bob", "change-board")])
    assert missing.missing_roles == ["service-owner"] and not missing.complete
    assert check_approvals(Risk.LOW, author, [Approval("bob", "peer-reviewer")]).complete


def test_the_estate_diagram_shows_placements_and_rings():
    dot = estate_dot(plan_of("hybrid-prod"))
    assert dot.startswith('digraph "hybrid-prod" {')
    assert 'subgraph "cluster_shared"' in dot and 'subgraph "cluster_dedicated-meridian"' in dot
    assert "ring early" in dot and '"ns-meridian" -> "postgres-dedicated-meridian";' in dot


@pytest.mark.parametrize("graphviz", [True, False])
def test_the_svg_is_well_formed_with_or_without_graphviz(monkeypatch, graphviz):
    import shutil
    import xml.etree.ElementTree as ElementTree

    from odoo_platform.governance import diagram

    if not graphviz:
        monkeypatch.setattr(diagram.shutil, "which", lambda _: None)
    elif shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed here; the fallback layout is tested")
    svg = diagram.estate_svg(plan_of("hybrid-prod"))
    root = ElementTree.fromstring(svg[svg.find("<svg"):])
    assert root.tag.endswith("svg")
    assert "odoo-meridian" in svg and "dedicated" in svg
