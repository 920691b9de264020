"""The evidence bundle: checksums verify, every section renders, separation of duties is enforced."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from odoo_platform.cli import main
from odoo_platform.governance.approvals import Approval, check_approvals
from odoo_platform.governance.diagram import estate_dot
from odoo_platform.governance.diff import Risk
from odoo_platform.governance.evidence import SECTIONS
from odoo_platform.policy.rule import Context, Resource
from odoo_platform.policy.rules import ALL_RULES
from tests.conftest import ROOT
from tests.stack_plans import plan_of
from tests.test_drift import export_of

VOID = {"meta", "br", "img", "hr", "input", "link", "col", "area", "base", "source", "wbr"}


class _Page(HTMLParser):
    """The page as a reader gets it: headings, text, elements by id, and every element closed where it opened."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.text: list[str] = []
        self.ids: dict[str, int] = {}
        self.images: list[str] = []
        self.errors: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids[attributes["id"]] = len(self._open)
        if tag == "img":
            self.images.append(attributes.get("src") or "")
        if tag not in VOID:
            self._open.append(tag)

    def handle_endtag(self, tag):
        if not self._open or self._open[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self._open[-1] if self._open else 'nothing'}>")
        else:
            self._open.pop()

    def handle_data(self, data):
        if self._open and self._open[-1] == "h2":
            self.headings.append(data)
        self.text.append(data)

    def close(self):
        super().close()
        self.errors += [f"<{tag}> never closed" for tag in self._open]


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _markdown_tokens(text: str):
    return MarkdownIt("commonmark").enable("table").parse(text)


def _headings(tokens) -> list[tuple[str, str]]:
    return [(token.tag, tokens[index + 1].content) for index, token in enumerate(tokens) if token.type == "heading_open"]


def _public_rds_finding() -> dict:
    """A report row as the runner writes it: the rule's violation text, then its remediation (policy/pack.py)."""
    rule = next(r for r in ALL_RULES if r.id == "SEG-07")
    urn = "urn:pulumi:hybrid-prod::odoo-platform::aws:rds/instance:Instance::postgres-shared-server"
    violation = rule.evaluate(Resource(rule.resource_types[0], urn, {"publiclyAccessible": True}), Context("prod"))
    return {"pack": "segregation", "policy": rule.name, "rule": rule.id, "level": "advisory", "severity": "critical",
            "urn": urn, "message": f"[{rule.id}] {violation}. {rule.remediation}"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """One evidence bundle, written once for the tests that read it (none writes to it)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(ROOT)
        return _write_bundle(tmp_path_factory.mktemp("bundle"))


def _write_bundle(tmp_path: Path) -> Path:
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
        {"stack": "hybrid-prod", "passed": True, "mandatoryViolations": 0, "advisoryViolations": 1,
         "findings": [_public_rds_finding()]}))
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
    page = _page((bundle / "evidence.html").read_text())
    assert page.headings == list(SECTIONS) and page.errors == []
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
    assert 'label="shared: shared"' in dot and 'label="dedicated: dedicated-meridian"' in dot
    assert "atlas-audit, brightworks, keystone" in dot and "rings early 1\\nmeridian" in dot
    assert 'label="key keys-dedicated-meridian-cmk\\nencrypts database, backups"' in dot


@pytest.mark.parametrize("graphviz", [True, False], ids=["graphviz", "cards"])
def test_the_svg_is_well_formed_with_or_without_graphviz(monkeypatch, graphviz):
    import shutil
    import xml.etree.ElementTree as ElementTree

    from odoo_platform.governance import diagram

    if not graphviz:
        monkeypatch.setattr(diagram.shutil, "which", lambda _: None)
    elif shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed here; the card layout is tested")
    svg = diagram.estate_svg(plan_of("hybrid-prod"))
    root = ElementTree.fromstring(svg[svg.find("<svg"):])
    assert root.tag.endswith("svg")
    text = " ".join(root.itertext())
    assert "dedicated-meridian" in text and "atlas-audit" in text
    # Where Graphviz is installed its layout is the one used, never the cards.
    assert ("<!-- Generated by graphviz" in svg) is graphviz
    assert ("odoo-platform card layout" in svg) is not graphviz


def test_the_markdown_has_one_title_its_sections_and_each_property_change_nested_under_its_change(bundle):
    markdown = (bundle / "evidence.md").read_text()
    tokens = _markdown_tokens(markdown)
    assert _headings(tokens) == [("h1", "Change evidence: hybrid-prod")] + [("h2", section) for section in SECTIONS]
    assert not [t for t in tokens if t.type in ("html_inline", "html_block")]  # text is escaped, never markup
    nested = [t for t in tokens if t.type == "inline" and t.level == 5 and t.map]  # list > item > list > item > paragraph
    configuration = [t for t in nested if t.children and t.children[0].content == "value"]
    assert configuration and all(
        [c.type for c in t.children] == ["code_inline", "text", "code_inline", "text", "code_inline"] for t in configuration)
    assert configuration[0].content.endswith("→ `on-changed`")
    assert "-     " not in markdown
    updates = sum(1 for r in plan_of("hybrid-prod")["resources"] if r["type"] == "azure-native:dbforpostgresql:Configuration")
    assert re.search(rf"Risk class \*\*HIGH\*\*: 0 to create, {updates} to update, 0 to replace, 0 to delete, \d+ unchanged\.",
                     markdown)
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) >= 1 + 11  # the summary table's header and its eleven lines


def test_the_policy_finding_shows_its_violation_and_its_fix_once(bundle):
    markdown = (bundle / "evidence.md").read_text()
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    for page in (rendered, (bundle / "evidence.html").read_text()):
        text = " ".join(_page(page).text)
        assert text.count("publicly_accessible=False") == 1
        assert "the instance is publicly accessible" in text
    policy = markdown[markdown.index("## Policy"):markdown.index("## Approvals")]
    assert "| SEG-07 | advisory | `postgres-shared-server` | the instance is publicly accessible | " \
           "Set publicly\\_accessible=False. |" in policy


def test_identical_plans_show_no_changes_rather_than_an_empty_list(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(plan_of("hybrid-prod")))
    out = tmp_path / "evidence"
    assert main(["evidence", "--plan", str(plan), "--baseline", str(plan), "--out", str(out), "--author", "alice",
                 "--at", "2027-01-24T03:00:00+00:00"]) == 0
    markdown = (out / "evidence.md").read_text()
    section = markdown[markdown.index("## What changes"):markdown.index("## Policy")]
    assert "No changes: the proposed plan matches the baseline" in section
    assert _headings(_markdown_tokens(section)) == [("h2", "What changes")]
    assert not [t for t in _markdown_tokens(section) if t.type == "bullet_list_open"]
    assert "No changes: the proposed plan matches the baseline" in (out / "evidence.html").read_text()


def test_the_html_places_both_pictures_and_lists_every_tenant_beside_the_diagram(bundle):
    text = (bundle / "evidence.html").read_text()
    page = _page(text)
    assert {"estate-diagram", "cost-chart", "placements", "tenants"} <= set(page.ids)
    assert page.images == []  # the pictures are inline: nothing for a browser to fail to load
    tenants = text[text.index('<table id="tenants">'):]
    tenants = tenants[:tenants.index("</table>")]
    assert tenants.count("<tr class=") == len(plan_of("hybrid-prod")["outputs"]["tenants"])
    assert '<tr class="shared"><td>atlas-audit</td>' in tenants


CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed here (Debian package chromium; .ci/run installs it)")


def _chromium(page: Path, profile: Path, *arguments: str) -> tuple[str, list[str]]:
    """Open the page in headless Chromium; its output and the page's console messages (logged to stderr)."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", *arguments, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.slow  # headless Chromium: a browser started per page
@needs_chromium
def test_the_console_check_sees_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("broken page")</script></body></html>')
    assert any("broken page" in line for line in _chromium(page, tmp_path / "profile", "--dump-dom")[1])


@pytest.mark.slow  # headless Chromium: a browser started per page
@needs_chromium
def test_an_auditor_sees_the_page_load_without_errors_and_the_diagram_and_chart_drawn(bundle, tmp_path):
    image_module = pytest.importorskip("PIL.Image", reason="Pillow (the test extra) reads the screenshot")
    page = bundle / "evidence.html"
    dom, console = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == []
    loaded = _page(dom)
    assert loaded.headings == list(SECTIONS) and {"estate-diagram", "cost-chart"} <= set(loaded.ids)
    assert "atlas-audit, brightworks, keystone" in " ".join(loaded.text)  # the diagram's text as Chromium parsed it
    shot = tmp_path / "page.png"
    _chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1400,9000")
    colours = dict((rgb, count) for count, rgb in image_module.open(shot).convert("RGB").getcolors(1 << 24))
    # Painted areas in the diagram's own fills (shared, dedicated) and the chart's bars: drawn, not just present.
    assert colours.get((0xE2, 0xEC, 0xFD), 0) > 20_000, "the shared placement is not visible"
    assert colours.get((0xFD, 0xE2, 0xE2), 0) > 20_000, "the dedicated placement is not visible"
    assert colours.get((0x2B, 0x6C, 0xB0), 0) > 2_000, "the cost chart's bars are not visible"


def test_the_report_shows_tenant_moves_stack_warnings_and_weakened_rules(tmp_path, monkeypatch):
    """What a change board must not miss: a tenant's database moving, plans of two stacks, a rule switched off."""
    monkeypatch.chdir(ROOT)
    baseline = plan_of("hybrid-prod")
    proposed = json.loads(json.dumps(baseline))
    proposed["stack"] = "hybrid-staging"
    proposed["outputs"]["tenants"]["keystone"]["postgresServer"] = "shared-2"
    for name, content in (("before", baseline), ("after", proposed)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "plan.json").write_text(json.dumps(content))
    (tmp_path / "after" / "policy-report.json").write_text(json.dumps(
        {"stack": "hybrid-staging", "passed": True, "mandatoryViolations": 0, "advisoryViolations": 0, "findings": [],
         "overrides": [{"rule": "SEG-06", "policy": "x", "pack": "segregation", "from": "mandatory", "to": "disabled",
                        "weakened": True}]}))
    out = tmp_path / "evidence"
    code = main(["evidence", "--plan", str(tmp_path / "after" / "plan.json"), "--baseline",
                 str(tmp_path / "before" / "plan.json"), "--out", str(out), "--author", "alice@example.com",
                 "--at", "2027-01-24T03:00:00+00:00"])
    assert code == 6  # a critical change with no approvals
    markdown = (out / "evidence.md").read_text()
    changes = markdown[markdown.index("## What changes"):markdown.index("## Policy")]
    assert "**Warning:**" in changes and "hybrid-prod" in changes and "hybrid-staging" in changes
    moved = changes[changes.index("What changes for each tenant"):]
    assert re.search(r"- \*\*critical\*\* update tenant `keystone`", moved)
    assert "`postgresServer`: `shared` → `shared-2`" in moved
    policy = markdown[markdown.index("## Policy"):markdown.index("## Approvals")]
    assert "SEG-06 (segregation): mandatory → disabled — **weakened**" in policy
    page = (out / "evidence.html").read_text()
    assert "<code>keystone</code>" in page and "weakened" in page and 'class="warning"' in page


def test_a_finding_names_its_resource_by_kind_namespace_name_and_container():
    from odoo_platform.governance.evidence import _finding

    row = {"pack": "segregation", "policy": "k8s-no-privileged", "rule": "SEG-04", "level": "mandatory",
           "severity": "critical", "urn": "urn:pulumi:prod::odoo-platform::kubernetes:apps/v1:Deployment::acme-web",
           "message": "[SEG-04] container odoo is privileged (set privileged: false)", "kind": "Deployment",
           "namespace": "odoo-acme", "name": "odoo-web", "container": "odoo", "fix": "Set privileged: false."}
    line = _finding(row)
    assert line.resource == "Deployment odoo-acme/odoo-web [odoo]"
    assert (line.violation, line.fix) == ("container odoo is privileged", "Set privileged: false.")
    older = {key: value for key, value in row.items() if key not in ("kind", "namespace", "name", "container", "fix")}
    assert _finding(older).resource == "acme-web"  # a report written before those fields: the URN's name
