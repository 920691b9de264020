"""The diff tells a change board the truth (issue 15, section 4), on small plans built by hand.

Each rule has a compliant and a violating case: tags and labels only are low whatever the resource,
unless something selects on the label; values are never cut so that two different values read the
same; a tenant whose database moves is critical and shown first; plans of two stacks warn; the
Markdown rendering nests under any heading.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from odoo_platform.governance.diff import VALUE_WIDTH, Risk, diff_plans, shown_values, to_json, to_text

SG = "aws:ec2/securityGroup:SecurityGroup"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
DIGEST_A = "registry.example.com/odoo/odoo@sha256:" + "3f6c2a1b9d8e7f60" * 3 + "a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0"
DIGEST_B = DIGEST_A[:-4] + "ffff"
RESTARTS = ('increase(kube_pod_container_status_restarts_total{namespace=~"odoo-meridian|odoo-atlas-audit|'
            'odoo-brightworks|odoo-keystone"}[30m]) > 3')


def resource(type_, name, inputs, protect=False):
    return {"urn": f"urn:pulumi:prod::odoo-platform::{type_}::{name}", "type": type_, "name": name, "parent": None,
            "inputs": inputs, "protect": protect, "retainOnDelete": False, "dependsOn": [], "component": False}


def plan(*resources, stack="prod", outputs=None):
    return {"stack": stack, "project": "odoo-platform", "outputs": outputs or {}, "resources": list(resources)}


def k8s(type_, name, spec, labels=None):
    return resource(type_, name, {"metadata": {"name": name, "namespace": "odoo-acme", "labels": labels or {}}, "spec": spec})


# A NetworkPolicy admitting database clients, so `odoo-platform.io/database-client` is a label selectors read.
DATABASE_EGRESS = k8s(NETPOL, "acme-netpol-database", {
    "podSelector": {"matchLabels": {"odoo-platform.io/database-client": "true"}},
    "egress": [{"to": [{"ipBlock": {"cidr": "10.0.2.0/24"}}]}],
})
WEB = k8s(DEPLOYMENT, "acme-web", {
    "selector": {"matchLabels": {"app.kubernetes.io/component": "web"}},
    "template": {"metadata": {"labels": {"app.kubernetes.io/component": "web", "odoo-platform.io/database-client": "true",
                                         "odoo-platform.io/tier": "2"}},
                 "spec": {"containers": [{"name": "odoo", "image": DIGEST_A}]}},
}, labels={"odoo-platform.io/tier": "2"})


def only_change(before_resources, edit):
    """The one resource change of a plan of `before_resources` after `edit(resources by name)`."""
    before = plan(*before_resources)
    after = copy.deepcopy(before)
    edit({r["name"]: r for r in after["resources"]})
    (change,) = diff_plans(before, after).changes
    return change


# Tags and labels only: low whatever the resource.

LABELLED = [
    resource(SG, "db-sg", {"ingress": [{"fromPort": 5432, "cidrBlocks": ["10.0.0.0/16"]}], "tags": {"owner": "a"},
                           "tagsAll": {"owner": "a"}}),
    resource("aws:rds/instance:Instance", "db", {"identifier": "db", "multiAz": True, "tags": {"owner": "a"}}, protect=True),
    resource("azure-native:dbforpostgresql:Server", "pg", {"serverName": "pg", "tags": {"owner": "a"}}, protect=True),
    resource("azure-native:dataprotection:BackupVault", "vault", {"vaultName": "v", "tags": {"owner": "a"}}),
    k8s("kubernetes:traefik.io/v1alpha1:IngressRoute", "acme-route", {"routes": []}, labels={"odoo-platform.io/owner": "a"}),
    k8s(NETPOL, "acme-netpol", {"podSelector": {}}, labels={"odoo-platform.io/owner": "a"}),
    k8s("kubernetes:rbac.authorization.k8s.io/v1:Role", "acme-role", {}, labels={"odoo-platform.io/owner": "a"}),
]


@pytest.mark.parametrize("index", range(len(LABELLED)), ids=[r["name"] for r in LABELLED])
def test_a_tag_or_label_change_is_low_on_any_resource(index):
    def edit(resources):
        inputs = resources[LABELLED[index]["name"]]["inputs"]
        for tags in ("tags", "tagsAll"):
            if tags in inputs:
                inputs[tags]["owner"] = "b"
        if "metadata" in inputs:
            inputs["metadata"]["labels"]["odoo-platform.io/owner"] = "b"
            inputs["metadata"]["annotations"] = {"odoo-platform.io/reviewed": "CHG-1"}

    change = only_change([LABELLED[index]], edit)
    assert (change.action, change.risk, change.reason) == ("update", Risk.LOW, "labels and tags only")


def test_a_rule_changed_beside_a_tag_keeps_the_type_class():
    def edit(resources):
        resources["db-sg"]["inputs"]["tags"]["owner"] = "b"
        resources["db-sg"]["inputs"]["ingress"][0]["cidrBlocks"] = ["0.0.0.0/0"]

    assert only_change(LABELLED[:1], edit).risk is Risk.HIGH


def test_a_tag_beside_a_recovery_setting_of_a_database_is_high():
    def edit(resources):
        resources["db"]["inputs"]["tags"]["owner"] = "b"
        resources["db"]["inputs"]["multiAz"] = False

    assert only_change(LABELLED[1:2], edit).risk is Risk.HIGH


def test_a_pod_template_label_nothing_selects_on_is_low():
    def edit(resources):
        resources["acme-web"]["inputs"]["spec"]["template"]["metadata"]["labels"]["odoo-platform.io/tier"] = "1"
        resources["acme-web"]["inputs"]["metadata"]["labels"]["odoo-platform.io/tier"] = "1"

    change = only_change([DATABASE_EGRESS, WEB], edit)
    assert (change.name, change.risk) == ("acme-web", Risk.LOW)


def test_a_pod_template_label_a_network_policy_selects_on_is_not_label_only():
    def edit(resources):
        del resources["acme-web"]["inputs"]["spec"]["template"]["metadata"]["labels"]["odoo-platform.io/database-client"]

    change = only_change([DATABASE_EGRESS, WEB], edit)
    assert change.risk is Risk.MEDIUM and "selectors" in change.reason


def test_a_network_policy_selector_is_not_a_label():
    def edit(resources):
        resources["acme-netpol-database"]["inputs"]["spec"]["podSelector"]["matchLabels"]["odoo-platform.io/tier"] = "1"

    change = only_change([DATABASE_EGRESS, WEB], edit)
    assert (change.name, change.risk) == ("acme-netpol-database", Risk.HIGH)


def test_a_service_selector_is_not_a_label():
    service = k8s(SERVICE, "acme-svc", {"selector": {"app.kubernetes.io/component": "web"}, "ports": [{"port": 8069}]})

    def edit(resources):
        resources["acme-svc"]["inputs"]["spec"]["selector"]["app.kubernetes.io/component"] = "cron"

    assert only_change([service], edit).risk is Risk.MEDIUM


def test_a_namespace_label_a_namespace_selector_reads_is_not_label_only():
    namespace = resource(NAMESPACE, "acme-ns", {"metadata": {"name": "odoo-acme", "labels": {"odoo-platform.io/tenant": "acme"}}})
    admission = k8s("kubernetes:kyverno.io/v1:ClusterPolicy", "provenance", {"rules": [{"match": {"any": [{"resources": {
        "namespaceSelector": {"matchExpressions": [{"key": "odoo-platform.io/tenant", "operator": "Exists"}]}}}]}}]})

    def edit(resources):
        del resources["acme-ns"]["inputs"]["metadata"]["labels"]["odoo-platform.io/tenant"]

    assert only_change([namespace], edit).risk is Risk.LOW  # nothing selects on it in this plan
    assert only_change([namespace, admission], edit).risk is Risk.MEDIUM


def test_pod_security_labels_are_high():
    namespace = resource(NAMESPACE, "acme-ns", {"metadata": {"name": "odoo-acme", "labels": {
        "pod-security.kubernetes.io/enforce": "restricted", "odoo-platform.io/ring": "broad"}}})

    def relabel_ring(resources):
        resources["acme-ns"]["inputs"]["metadata"]["labels"]["odoo-platform.io/ring"] = "canary"

    def weaken(resources):
        resources["acme-ns"]["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "privileged"

    assert only_change([namespace], relabel_ring).risk is Risk.LOW
    assert only_change([namespace], weaken).risk is Risk.HIGH


def test_an_annotation_the_cloud_acts_on_is_high():
    account = k8s("kubernetes:core/v1:ServiceAccount", "operations-sa", {}, labels={"odoo-platform.io/owner": "a"})
    account["inputs"]["metadata"]["annotations"] = {"azure.workload.identity/client-id": "1111", "note": "x"}

    def note(resources):
        resources["operations-sa"]["inputs"]["metadata"]["annotations"]["note"] = "y"

    def identity(resources):
        resources["operations-sa"]["inputs"]["metadata"]["annotations"]["azure.workload.identity/client-id"] = "2222"

    assert only_change([account], note).risk is Risk.LOW
    change = only_change([account], identity)
    assert change.risk is Risk.HIGH and "identity" in change.reason


def test_a_label_map_that_appears_is_judged_by_its_keys():
    bare = k8s(DEPLOYMENT, "acme-cron", {"template": {"metadata": {"annotations": {}}, "spec": {}}})

    def add_labels(labels):
        def edit(resources):
            resources["acme-cron"]["inputs"]["spec"]["template"]["metadata"]["labels"] = labels
        return edit

    tier = only_change([bare], add_labels({"odoo-platform.io/tier": "2"}))
    assert [p.path for p in tier.changes] == ["spec.template.metadata.labels"] and tier.risk is Risk.LOW
    assert only_change([bare, DATABASE_EGRESS], add_labels({"odoo-platform.io/database-client": "true"})).risk is Risk.MEDIUM


# Values are never cut so that two different values read the same.

def test_digests_differing_in_their_last_characters_read_differently():
    old, new = shown_values(DIGEST_A, DIGEST_B)
    assert old != new and old.endswith(DIGEST_A[-4:]) and new.endswith("ffff")
    assert max(len(old), len(new)) <= VALUE_WIDTH + 6  # at most the width and an ellipsis on each side


def test_expressions_differing_in_the_middle_show_the_middle():
    shorter = RESTARTS.replace("|odoo-atlas-audit", "")
    old, new = shown_values(RESTARTS, shorter)
    assert old != new and "atlas-audit" in old and "atlas-audit" not in new
    assert old.startswith("...") and new.startswith("...")


def test_short_and_equal_reading_values():
    assert shown_values(2, 4) == ("2", "4")
    old, new = shown_values(DIGEST_A, DIGEST_A + "x")  # one value the start of the other
    assert old != new and new.endswith("x")
    assert shown_values("2", 2) == ('"2"', "2")  # a string and a number that print alike
    assert shown_values("", None) == ('""', "null")
    assert "\n" not in "".join(shown_values("a\nb", "a\nc"))


def test_the_rendered_diff_shows_where_two_digests_differ():
    def edit(resources):
        resources["acme-web"]["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] = DIGEST_B

    before = plan(WEB)
    after = copy.deepcopy(before)
    edit({r["name"]: r for r in after["resources"]})
    text = to_text(diff_plans(before, after))
    line = next(line for line in text.splitlines() if ".image:" in line)
    old, new = line.split(": ", 1)[1].split(" -> ")
    assert old != new and new.endswith("ffff")


# A tenant that moves server shows it, first, at critical.

def tenant(**facts):
    return {"hostname": "erp.acme.example.com", "image": DIGEST_A, "isolation": "shared", "namespace": "odoo-acme",
            "postgresServer": "shared", "ring": "broad", "rpoMinutes": 60, "rtoMinutes": 240, "tier": 2} | facts


def outputs(servers=None, **tenants):
    return {"postgresServers": servers or {"shared": "pg-shared.example.com", "dedicated-acme": "pg-acme.example.com"},
            "tenants": tenants}


def test_a_tenant_moving_server_is_critical_even_when_no_resource_shows_it():
    # The masked odoo.conf and the mocked credentials revision: the resources read the same.
    before = plan(WEB, outputs=outputs(acme=tenant(), globex=tenant(hostname="erp.globex.example.com")))
    after = plan(WEB, outputs=outputs(acme=tenant(postgresServer="dedicated-acme", isolation="dedicated"),
                                      globex=tenant(hostname="erp.globex.example.com")))
    diff = diff_plans(before, after)
    assert diff.changes == [] and diff.risk is Risk.CRITICAL
    (move,) = diff.tenants
    assert (move.tenant, move.action, move.risk) == ("acme", "update", Risk.CRITICAL)
    assert {(p.path, p.before, p.after) for p in move.changes} == {
        ("postgresServer", "shared", "dedicated-acme"), ("isolation", "shared", "dedicated"),
        ("databaseHost", "pg-shared.example.com", "pg-acme.example.com")}
    text = to_text(diff)
    assert text.splitlines()[0] == "change risk: CRITICAL" and "tenants:" in text and "no changes" not in text
    assert json.loads(to_json(diff))["tenants"][0]["risk"] == "critical"


def test_a_tenant_whose_server_gets_a_new_host_moves_too():
    before = plan(outputs=outputs(acme=tenant()))
    after = plan(outputs=outputs({"shared": "pg-shared-2.example.com"}, acme=tenant()))
    (move,) = diff_plans(before, after).tenants
    assert move.risk is Risk.CRITICAL and [p.path for p in move.changes] == ["databaseHost"]


def test_a_tenant_that_stays_shows_nothing():
    facts = outputs(acme=tenant())
    diff = diff_plans(plan(outputs=facts), plan(outputs=copy.deepcopy(facts)))
    assert diff.tenants == [] and diff.risk is None


@pytest.mark.parametrize(("facts", "risk"), [
    ({"tier": 1, "rpoMinutes": 15, "rtoMinutes": 60}, Risk.HIGH),
    ({"hostname": "erp.acme.example.org"}, Risk.HIGH),
    ({"image": DIGEST_B}, Risk.MEDIUM),
    ({"ring": "canary"}, Risk.LOW),
    ({"namespace": "odoo-acme-2"}, Risk.CRITICAL),
    ({"region": "northeurope"}, None),  # a fact only one plan states is no change of the tenant
])
def test_each_tenant_fact_has_its_class(facts, risk):
    diff = diff_plans(plan(outputs=outputs(acme=tenant())), plan(outputs=outputs(acme=tenant(**facts))))
    assert diff.risk is risk
    if risk:
        assert {p.path for p in diff.tenants[0].changes} == set(facts)


def test_a_fact_both_plans_state_but_the_table_does_not_know_is_medium():
    diff = diff_plans(plan(outputs=outputs(acme=tenant(region="westeurope"))),
                      plan(outputs=outputs(acme=tenant(region="northeurope"))))
    assert diff.tenants[0].risk is Risk.MEDIUM


def test_tenants_joining_and_leaving():
    diff = diff_plans(plan(outputs=outputs(acme=tenant())), plan(outputs=outputs(globex=tenant(postgresServer="dedicated-acme"))))
    assert [(c.tenant, c.action, c.risk) for c in diff.tenants] == [("acme", "remove", Risk.CRITICAL),
                                                                  ("globex", "add", Risk.LOW)]
    joined = diff.tenants[1]
    assert ("databaseHost", None, "pg-acme.example.com") in {(p.path, p.before, p.after) for p in joined.changes}


def test_tenant_changes_come_before_resource_changes():
    before = plan(WEB, outputs=outputs(acme=tenant()))
    after = plan(outputs=outputs(acme=tenant(postgresServer="dedicated-acme")))
    for markdown in (False, True):
        text = to_text(diff_plans(before, after), markdown=markdown)
        assert text.index("tenants:") < text.index("changes:")


# Plans of two different stacks warn.

def test_plans_of_two_stacks_warn_at_the_top():
    diff = diff_plans(plan(WEB, stack="prod"), plan(WEB, stack="staging"))
    assert len(diff.warnings) == 1 and "'prod'" in diff.warnings[0] and "'staging'" in diff.warnings[0]
    assert to_text(diff).startswith("WARNING: BEFORE is a plan of stack 'prod'")
    assert to_text(diff, markdown=True).startswith("> **WARNING:** BEFORE is a plan of stack 'prod'")
    assert json.loads(to_json(diff))["warnings"] == diff.warnings


def test_plans_of_one_stack_do_not_warn():
    diff = diff_plans(plan(WEB), plan(WEB))
    assert diff.warnings == [] and json.loads(to_json(diff))["warnings"] == []
    assert not to_text(diff).startswith("WARNING") and "WARNING" not in to_text(diff, markdown=True)


# Markdown that nests under the evidence's headings.

def _busy_diff():
    before = plan(WEB, DATABASE_EGRESS, LABELLED[2], stack="prod", outputs=outputs(acme=tenant()))
    after = copy.deepcopy(before)
    after["stack"] = "prod-2"
    after["outputs"]["tenants"]["acme"]["postgresServer"] = "dedicated-acme"
    web, _, server = after["resources"]
    web["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] = DIGEST_B
    web["inputs"]["spec"]["template"]["metadata"]["labels"]["odoo-platform.io/tier"] = "1"
    server["inputs"]["serverName"] = "pg-`2`"
    after["resources"] = [web, server]
    return diff_plans(before, after)


ITEM = re.compile(r"^- \S")
NESTED = re.compile(r"^  - \S")
SECTION = re.compile(r"^\*\*[^*]+:\*\*$")


def markdown_problems(text):
    """What keeps a Markdown rendering from nesting under another document's heading."""
    lines = text.splitlines()
    problems = [f"heading: {line}" for line in lines if line.startswith("#")]
    for previous, line in zip(["", *lines], lines, strict=False):
        if NESTED.match(line) and not (ITEM.match(previous) or NESTED.match(previous)):
            problems.append(f"nested item outside a list: {line}")
        if line.startswith(" ") and not NESTED.match(line):
            problems.append(f"indented line that is not a nested item: {line}")
        if line.startswith("-") and not ITEM.match(line):
            problems.append(f"list item whose text is an indented code block: {line}")
    for index, line in enumerate(lines):
        following = [*lines[index + 1:index + 3], "", ""][:2]
        if SECTION.match(line) and not (following[0] == "" and ITEM.match(following[1])):
            problems.append(f"empty section: {line}")
    return problems


def test_markdown_has_no_headings_and_nests_properties_under_their_change():
    text = to_text(_busy_diff(), markdown=True)
    assert markdown_problems(text) == [], text


def test_the_structure_check_rejects_the_rendering_evidence_md_had():
    broken = "# change risk: HIGH\n\n## changes:\n- [high] update x y: z\n-     tags.tier: 1 -> 2\n\n**changes:**\n"
    assert len(markdown_problems(broken)) == 4  # two headings, a property as code, an empty section
    assert markdown_problems("- [low] update x y: z\n      tags.tier: 1 -> 2\n")  # a property that is not an item


def test_markdown_parses_into_nested_lists_without_headings():
    markdown_it = pytest.importorskip("markdown_it")  # installed in the venv, not a declared dependency
    diff = _busy_diff()
    tokens = markdown_it.MarkdownIt("commonmark").parse(to_text(diff, markdown=True))
    assert not [t for t in tokens if t.type == "heading_open"]
    depth, deepest, items = 0, 0, 0
    for token in tokens:
        depth += {"bullet_list_open": 1, "bullet_list_close": -1}.get(token.type, 0)
        deepest = max(deepest, depth)
        items += token.type == "list_item_open"
    assert deepest == 2  # properties are items inside their change's item
    shown = sum(len(c.changes) for c in diff.tenants) + len(diff.changes) + len(diff.protected_deletions) + len(diff.tenants)
    shown += sum(len(c.changes) for c in diff.changes)
    assert items == shown
    code = [child.content for token in tokens if token.type == "inline" for child in token.children
            if child.type == "code_inline"]
    assert "pg-`2`" in code  # a value with backticks stays one code span


def test_identical_plans_render_no_empty_section():
    same = plan(WEB, outputs=outputs(acme=tenant()))
    for markdown in (False, True):
        text = to_text(diff_plans(same, copy.deepcopy(same)), markdown=markdown)
        assert "changes:" not in text and "tenants:" not in text and text.rstrip().endswith("no changes")
    changed = copy.deepcopy(same)
    changed["resources"][0]["inputs"]["metadata"]["labels"]["odoo-platform.io/tier"] = "1"
    assert "no changes" not in to_text(diff_plans(same, changed))
