"""Every Azure resource's physical name in the plan obeys Azure's own constraints (tests/contracts/azure).

The mocks accept any string; Azure refuses a 25-character Key Vault name. Names the program does not set are
Pulumi auto-names (logical name + 8 random characters), which the mocks reproduce at the same length."""

from __future__ import annotations

import json
import re

import pytest

from odoo_platform.offline.mocks import autoname
from tests.conftest import CONTRACTS, DIGEST, estate
from tests.stack_plans import all_stacks, plan_of

NAME_RULES = json.loads((CONTRACTS / "azure" / "name-rules.json").read_text())["rules"]
LONGEST_TENANT = "northbank-capital-markets-ltd1"  # 30 characters: the longest a tenant name may be


def _resolve(rule: dict) -> dict:
    """A rule, with a `$ref` into a vendored specification replaced by the parameter it points to."""
    if "$ref" not in rule:
        return rule
    file, pointer = rule["$ref"].split("#", 1)
    target = json.loads((CONTRACTS / "azure" / file).read_text())
    for key in pointer.strip("/").split("/"):
        target = target[key]
    return rule | {k: target[k] for k in ("pattern", "minLength", "maxLength") if k in target}


RULES = [_resolve(rule) for rule in NAME_RULES]


def violations(plan: dict) -> list[str]:
    found = []
    for resource in plan["resources"]:
        for rule in (r for r in RULES if r["type"] == resource["type"]):
            name = resource["inputs"].get(rule["nameInput"]) or autoname(resource["name"])
            if not rule.get("minLength", 0) <= len(name) <= rule.get("maxLength", len(name)):
                found.append(f"{resource['name']}: {name!r} has {len(name)} characters "
                             f"({rule.get('minLength')}-{rule.get('maxLength')}; {rule.get('source', rule.get('$ref'))})")
            # ARM applies the specification's pattern to the whole name.
            elif "pattern" in rule and not re.fullmatch(rule["pattern"], name):
                found.append(f"{resource['name']}: {name!r} does not match {rule['pattern']}")
    return found


def _longest_dedicated(name: str = LONGEST_TENANT) -> dict:
    tenants = [{"name": name, "tier": 1, "users": 60, "hostname": "erp.northbank.example.com"}]
    return estate(environment="prod", image=DIGEST, tenancy="dedicated", tenants=tenants,
                  kubernetes={"createCluster": True}, redis="managed",
                  azure={"agentNetwork": {"virtualNetworkId": "/subscriptions/5f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b/"
                                          "resourceGroups/agents/providers/Microsoft.Network/virtualNetworks/agents",
                                          "addressSpace": ["10.60.0.0/24"]}})


def test_the_rules_cover_every_globally_unique_and_length_limited_type():
    covered = {rule["type"] for rule in RULES}
    assert {"azure-native:keyvault:Vault", "azure-native:storage:StorageAccount", "azure-native:dbforpostgresql:Server",
            "azure-native:redis:Redis", "azure-native:dataprotection:BackupVault",
            "azure-native:containerservice:ManagedCluster", "azure-native:network:PrivateEndpoint"} <= covered
    assert all("pattern" in rule or "maxLength" in rule for rule in RULES)
    assert all("source" in rule or "$ref" in rule for rule in NAME_RULES)


def test_the_longest_tenant_name_in_dedicated_placement_fits_every_limit(plan_for):
    plan = plan_for(_longest_dedicated())
    assert any(LONGEST_TENANT in r["name"] for r in plan["resources"] if r["type"] == "azure-native:keyvault:Vault")
    assert violations(plan) == []


def test_an_auto_named_key_vault_would_have_been_caught(plan_for):
    plan = plan_for(_longest_dedicated())
    for resource in plan["resources"]:
        if resource["type"] == "azure-native:keyvault:Vault":
            del resource["inputs"]["vaultName"]  # what the program did before: Pulumi's auto-name
    assert any("keys-dedicated-northbank-capital-markets-ltd1-kv" in v and "{3,24}" in v for v in violations(plan))


@pytest.mark.parametrize("stack", [s for s in all_stacks() if not s.startswith("aws-")])
def test_every_azure_stack_names_resources_within_azure_limits(stack):
    assert violations(plan_of(stack)) == []


def test_names_are_stable_per_stack_and_placement_and_differ_between_placements(plan_for):
    # Two separate runs of the program: the second bypasses plan_for's session cache.
    first, second = plan_for(_longest_dedicated()), plan_for(_longest_dedicated(), fresh=True)

    def names(plan: dict) -> list[str]:
        return sorted(r["inputs"]["vaultName"] for r in plan["resources"] if r["type"] == "azure-native:keyvault:Vault")

    assert names(first) == names(second) and len(set(names(first))) == len(names(first)) == 3  # cmk, geo, cluster


def test_a_tenant_name_with_consecutive_hyphens_still_names_valid_resources(plan_for):
    plan = plan_for(_longest_dedicated("bank--north"))
    assert violations(plan) == []
