"""The cloud pack's Azure rules: each with a compliant and a violating case, and the shipped stacks pass them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from odoo_platform.policy.rule import Context, Resource
from odoo_platform.policy.rules import PACKS
from odoo_platform.policy.rules.azure import AZURE

PROD = Context("prod")
RULES = {rule.id: rule for rule in AZURE}
PG = "azure-native:dbforpostgresql:Server"
SA = "azure-native:storage:StorageAccount"
BV = "azure-native:dataprotection:BackupVault"
MI = "azure-native:managedidentity:UserAssignedIdentity"
RA = "azure-native:authorization:RoleAssignment"
AKS = "azure-native:containerservice:ManagedCluster"
ID_1 = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/cmk"
ID_2 = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/geo"
GEO_SERVER = {
    "backup": {"geoRedundantBackup": "Enabled"},
    "identity": {"type": "UserAssigned", "userAssignedIdentities": {ID_1: {}, ID_2: {}}},
    "dataEncryption": {"type": "AzureKeyVault", "primaryKeyURI": "https://kv-a.vault.azure.net/keys/k",
                       "primaryUserAssignedIdentityId": ID_1, "geoBackupKeyURI": "https://kv-b.vault.azure.net/keys/k",
                       "geoBackupUserAssignedIdentityId": ID_2},
    "sku": {"name": "Standard_D4ds_v5", "tier": "GeneralPurpose"},
    "highAvailability": {"mode": "ZoneRedundant"},
}
ARCHIVE = {"immutableStorageWithVersioning": {"enabled": True, "immutabilityPolicy": {"state": "Unlocked"}},
           "identity": {"type": "UserAssigned", "userAssignedIdentities": [ID_1]},
           "encryption": {"encryptionIdentity": {"encryptionUserAssignedIdentity": ID_1}}, "tags": {}}
KMS_CLUSTER = {"securityProfile": {"azureKeyVaultKms": {"enabled": True, "keyVaultNetworkAccess": "Private"}},
               "apiServerAccessProfile": {"enablePrivateCluster": True, "enableVnetIntegration": True, "subnetId": "s"}}


def _edit(props: dict, path: list, value) -> dict:
    changed = copy.deepcopy(props)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


AZURE_CASES = {
    "AZ-01": (Resource(PG, "u", GEO_SERVER), Resource(PG, "u", _edit(GEO_SERVER, ["dataEncryption", "geoBackupKeyURI"], None)),
              PROD),
    "AZ-02": (Resource(SA, "u", ARCHIVE),
              Resource(SA, "u", _edit(ARCHIVE, ["immutableStorageWithVersioning", "immutabilityPolicy", "state"], "Locked")),
              PROD),
    "AZ-03": (Resource(PG, "u", GEO_SERVER),
              Resource(PG, "u", _edit(GEO_SERVER, ["sku"], {"name": "Standard_B2ms", "tier": "Burstable"})), PROD),
    "AZ-04": (Resource(SA, "u", ARCHIVE), Resource(SA, "u", _edit(ARCHIVE, ["identity", "userAssignedIdentities"], [ID_2])),
              PROD),
    "AZ-05": (Resource(MI, "u", {}, protect=True), Resource(RA, "u", {}, protect=False), PROD),
    "AZ-06": (Resource(AKS, "u", KMS_CLUSTER),
              Resource(AKS, "u", _edit(KMS_CLUSTER, ["apiServerAccessProfile", "enableVnetIntegration"], False)), PROD),
}
AZURE_STACK_RULES = {"AZ-07", "AZ-08", "AZ-09", "AZ-10"}


def test_every_azure_rule_has_cases_and_is_in_the_cloud_pack():
    assert set(RULES) == set(AZURE_CASES) | AZURE_STACK_RULES
    assert all(rule in PACKS["cloud"] for rule in AZURE)
    pack = Path(__file__).resolve().parents[1] / "policypacks" / "cloud"
    assert 'serve("cloud", PACKS["cloud"])' in (pack / "__main__.py").read_text()


@pytest.mark.parametrize("rule_id", sorted(AZURE_CASES))
def test_compliant_passes_and_violating_fails(rule_id):
    compliant, violating, context = AZURE_CASES[rule_id]
    assert RULES[rule_id].evaluate(compliant, context) is None
    message = RULES[rule_id].evaluate(violating, context)
    assert message and "(" in message


def test_a_lock_with_its_recorded_change_passes():
    locked = _edit(ARCHIVE, ["immutableStorageWithVersioning", "immutabilityPolicy", "state"], "Locked")
    locked["tags"] = {"immutability-lock-change": "CHG-1"}
    assert RULES["AZ-02"].evaluate(Resource(SA, "u", locked), PROD) is None


def _r(type_: str, urn: str, props: dict | None = None, deps: tuple = ()) -> Resource:
    return Resource(type_, urn, props or {}, True, dependencies=deps)


def test_a_user_of_an_identity_must_wait_for_its_grant():
    identity = _r(MI, "urn:id")
    grant = _r(RA, "urn:ra", deps=("urn:id",))
    wait = _r("time:index/sleep:Sleep", "urn:wait", deps=("urn:ra",))
    waits = _r(PG, "urn:pg", deps=("urn:id", "urn:wait"))
    hurries = _r(PG, "urn:pg2", deps=("urn:id",))
    findings = RULES["AZ-07"].check_stack([identity, grant, wait, waits, hurries], PROD)
    assert [urn for urn, _ in findings] == ["urn:pg2"]


def test_a_backup_instance_needs_both_roles_and_kms_needs_crypto_user():
    server = "/subscriptions/s/resourceGroups/g/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg"
    role = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
    ltr = _r(RA, "urn:ltr", {"scope": server, "roleDefinitionId": role + "c088a766-074b-43ba-90d4-1fb21feae531"})
    reader = _r(RA, "urn:reader", {"scope": "/subscriptions/s/resourceGroups/g",
                                   "roleDefinitionId": role + "acdd72a7-3385-48ef-bd42-f606fba81ae7"})
    instance = {"properties": {"dataSourceInfo": {"resourceID": server}}}
    complete = _r("azure-native:dataprotection:BackupInstance", "urn:bi", instance, ("urn:ltr", "urn:reader"))
    partial = _r("azure-native:dataprotection:BackupInstance", "urn:bi2", instance, ("urn:ltr",))
    findings = RULES["AZ-08"].check_stack([ltr, reader, complete, partial], PROD)
    assert findings == [("urn:bi2", "does not depend on a grant of Reader on the server's resource group")]
    cluster = _r(AKS, "urn:aks", {"securityProfile": {"azureKeyVaultKms": {"enabled": True, "keyVaultResourceId": "kv"}}})
    assert [u for u, _ in RULES["AZ-08"].check_stack([cluster], PROD)] == ["urn:aks"]


def test_no_archive_tier_on_zone_redundant_accounts():
    account = _r(SA, "urn:sa", {"accountName": "odooabc", "sku": {"name": "Standard_GZRS"}})
    rule = {"name": "r", "definition": {"actions": {"baseBlob": {"tierToCool": {}, "tierToArchive": {}}}}}
    policy = _r("azure-native:storage:ManagementPolicy", "urn:mp", {"accountName": "odooabc", "policy": {"rules": [rule]}})
    assert [u for u, _ in RULES["AZ-09"].check_stack([account, policy], PROD)] == ["urn:mp"]
    cool_only = copy.deepcopy(policy.props)
    del cool_only["policy"]["rules"][0]["definition"]["actions"]["baseBlob"]["tierToArchive"]
    assert RULES["AZ-09"].check_stack([account, _r(policy.type, "urn:mp", cool_only)], PROD) == []

