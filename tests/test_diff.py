"""The change diff and its risk classes, on pairs of real plans."""

from __future__ import annotations

import copy
import functools
import json

import pytest

from odoo_platform.cli import main
from odoo_platform.governance.diff import Risk, diff_plans, to_json, to_text
from tests.conftest import DIGEST, ROOT, estate
from tests.stack_plans import plan_of_estate

TENANTS = [
    {"name": "acme", "tier": 2, "users": 25, "hostname": "acme.erp.example.com"},
    {"name": "globex", "tier": 3, "users": 8, "hostname": "globex.erp.example.com"},
]
BASE = estate(environment="prod", image=DIGEST, tenants=TENANTS)


@pytest.fixture(scope="module")
def base_plan(project):
    # plan_of_estate makes each estate's plan once per session: BASE is the baseline of ten tests here.
    return functools.partial(plan_of_estate, project, stack="prod")


def _variant(**changes):
    config = copy.deepcopy(BASE)
    config.update(changes)
    return config


def _actions(diff):
    return {(c.action, c.type, c.name) for c in diff.changes}


def test_identical_plans_have_no_changes(base_plan):
    plan = base_plan(BASE)
    diff = diff_plans(plan, json.loads(json.dumps(plan)))
    assert diff.changes == [] and diff.tenants == [] and diff.warnings == [] and diff.risk is None and diff.unchanged > 100
    assert to_text(diff).endswith("\nno changes\n") and "changes:" not in to_text(diff, markdown=True)


def test_a_tenant_moving_to_its_own_server_is_critical_and_comes_first(base_plan):
    hybrid = [dict(t, isolation="shared") for t in TENANTS]
    before = base_plan(_variant(tenancy="hybrid", tenants=hybrid))
    diff = diff_plans(before, base_plan(_variant(tenancy="hybrid", tenants=[hybrid[0], dict(hybrid[1], isolation="dedicated")])))
    (move,) = diff.tenants
    assert (move.tenant, move.risk) == ("globex", Risk.CRITICAL)
    facts = {p.path: (p.before, p.after) for p in move.changes}
    assert facts["postgresServer"] == ("shared", "dedicated-globex")
    old_host, new_host = facts["databaseHost"]
    assert old_host == before["outputs"]["postgresServers"]["shared"] and "dedicated-globex" in new_host
    # odoo.conf names the host but is masked in plans: no resource change shows the new database host.
    assert not any(new_host in json.dumps(p.after) for c in diff.changes for p in c.changes)
    text = to_text(diff)
    assert text.index("[critical] update tenant globex") < text.index("PROTECTED RESOURCES") < text.index("changes:")
    assert json.loads(to_json(diff))["tenants"][0]["tenant"] == "globex"


def test_retagging_the_owner_everywhere_is_low(base_plan):
    before = base_plan(BASE)
    after = json.loads(json.dumps(before))
    # Not Jobs: their pod template is immutable, so relabelling one replaces the Job and runs it again,
    # which the diff rightly reports as medium (test_a_new_image_digest_is_medium).
    for resource in (r for r in after["resources"] if r["type"] != "kubernetes:batch/v1:Job"):
        inputs = resource["inputs"]
        if isinstance(inputs.get("tags"), dict) and "owner" in inputs["tags"]:
            inputs["tags"]["owner"] = "another-team"
        for labels in (inputs.get("metadata", {}).get("labels"),
                       inputs.get("spec", {}).get("template", {}).get("metadata", {}).get("labels")):
            if isinstance(labels, dict) and "odoo-platform.io/owner" in labels:
                labels["odoo-platform.io/owner"] = "another-team"
    diff = diff_plans(before, after)
    types = {c.type for c in diff.changes}
    assert {"azure-native:dbforpostgresql:Server", "kubernetes:traefik.io/v1alpha1:IngressRoute",
            "kubernetes:apps/v1:Deployment"} <= types, types
    assert diff.risk is Risk.LOW, [(c.name, c.reason) for c in diff.changes if c.risk > Risk.LOW]


def test_relabelling_what_a_network_policy_selects_is_not_low(base_plan):
    before = base_plan(BASE)
    after = json.loads(json.dumps(before))
    web = next(r for r in after["resources"] if r["name"] == "acme-web")
    del web["inputs"]["spec"]["template"]["metadata"]["labels"]["odoo-platform.io/database-client"]
    (change,) = diff_plans(before, after).changes
    assert change.risk is Risk.MEDIUM and "selectors" in change.reason


def test_adding_a_tenant_only_creates(base_plan):
    before = base_plan(BASE)
    after = base_plan(_variant(tenants=[*TENANTS, {"name": "initech", "tier": 3, "users": 6, "hostname": "i.erp.example.com"}]))
    diff = diff_plans(before, after)
    created = {c.name for c in diff.changes if c.action == "create"}
    assert {"initech-ns", "initech-web", "postgres-shared-db-initech"} <= created
    assert not any(c.action == "delete" for c in diff.changes)
    assert all(c.risk <= Risk.MEDIUM for c in diff.changes), to_text(diff)


def test_deleting_a_tenant_is_critical_and_calls_out_protected_data_first(base_plan):
    diff = diff_plans(base_plan(BASE), base_plan(_variant(tenants=TENANTS[:1])))
    assert diff.risk is Risk.CRITICAL
    first = diff.changes[0]
    assert first.action == "delete" and first.protected and first.stateful
    protected = {c.name for c in diff.protected_deletions}
    assert {"postgres-shared-db-globex", "globex-filestore"} <= protected
    text = to_text(diff)
    assert text.startswith("change risk: CRITICAL")
    assert text.index("PROTECTED RESOURCES") < text.index("changes:")


def test_a_new_image_digest_is_medium(base_plan):
    new = "registry.example.com/odoo/odoo@sha256:9a8b7c6d5e4f30211203f4e5d6c7b8a90a1b2c3d4e5f60718293a4b5c6d7e8f9"  # ran in staging/broad
    diff = diff_plans(base_plan(BASE), base_plan(_variant(image=new)))
    assert diff.risk is Risk.MEDIUM, to_text(diff)
    web = next(c for c in diff.changes if c.name == "acme-web")
    assert web.action == "update" and any(p.path.endswith(".image") for p in web.changes)
    assert {(c.tenant, c.risk) for c in diff.tenants} == {("acme", Risk.MEDIUM), ("globex", Risk.MEDIUM)}
    job = next(c for c in diff.changes if c.name == "acme-upgrade")
    assert job.action == "replace" and job.risk is Risk.MEDIUM


def test_changing_a_tier_changes_recovery_settings_at_high_risk(base_plan):
    changed = [dict(TENANTS[0], tier=1), TENANTS[1]]
    diff = diff_plans(base_plan(BASE), base_plan(_variant(tenants=changed)))
    server = next(c for c in diff.changes if c.name == "postgres-shared-server")
    assert server.action == "update" and server.risk is Risk.HIGH
    assert {p.path for p in server.changes} >= {"backup.backupRetentionDays", "highAvailability.mode"}
    (acme,) = diff.tenants
    assert acme.risk is Risk.HIGH and {p.path for p in acme.changes} == {"tier", "rpoMinutes", "rtoMinutes"}


def test_renaming_a_database_server_predicts_a_replacement(base_plan):
    before = base_plan(BASE)
    after = json.loads(json.dumps(before))
    server = next(r for r in after["resources"] if r["type"] == "azure-native:dbforpostgresql:Server")
    server["inputs"]["serverName"] = "odoo-prod-renamed"
    diff = diff_plans(before, after)
    (change,) = diff.changes
    assert (change.action, change.risk, change.protected) == ("replace", Risk.CRITICAL, True)


def test_tags_only_is_low_and_parameters_are_high(base_plan):
    before = base_plan(BASE)
    after = json.loads(json.dumps(before))
    for resource in after["resources"]:
        if resource["type"] == "azure-native:keyvault:Vault":
            resource["inputs"]["tags"]["owner"] = "another-team"
        if resource["type"] == "azure-native:dbforpostgresql:Configuration":
            resource["inputs"]["value"] = "x"
    diff = diff_plans(before, after)
    risks = {c.type: c.risk for c in diff.changes}
    assert risks["azure-native:keyvault:Vault"] is Risk.LOW
    assert risks["azure-native:dbforpostgresql:Configuration"] is Risk.HIGH


def test_cli_formats(tmp_path, base_plan, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    before, after = base_plan(BASE), base_plan(_variant(tenants=TENANTS[:1]))
    (tmp_path / "a.json").write_text(json.dumps(before))
    (tmp_path / "b.json").write_text(json.dumps(after))
    assert main(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["risk"] == "critical" and document["counts"]["delete"] > 0
    assert json.loads(to_json(diff_plans(before, after))) == document
    assert main(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--format", "md"]) == 0
    markdown = capsys.readouterr().out
    # It nests under the evidence's "## What changes": no heading of its own, properties as nested items.
    assert markdown.startswith("**change risk: CRITICAL**") and not any(line.startswith("#") for line in markdown.splitlines())
    assert "\n  - `spec.groups[0].rules[2].expr`: " in markdown
    assert main(["diff", str(tmp_path / "a.json"), str(tmp_path / "missing.json")]) == 2
