"""What a first `pulumi up` on Azure needs that the SDK's types cannot see: geo-backup keys, grants before use,
immutability created unlocked, supported Kubernetes, and networks the workloads and the pipeline can reach."""

from __future__ import annotations

import copy

import pytest

from odoo_platform.config import parse_estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.policy.rule import Context, Resource
from odoo_platform.policy.rules.azure import AZURE, reachability
from tests.conftest import DIGEST, estate, resources_of
from tests.stack_plans import all_stacks, plan_of

AZURE_STACKS = [s for s in all_stacks() if not s.startswith("aws-")]
RULES = {rule.id: rule for rule in AZURE}
SUBSCRIPTION = "5f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def _vnet(group: str, cidr: str) -> dict:
    return {"virtualNetworkId": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network/"
                                f"virtualNetworks/{group}-vnet", "addressSpace": [cidr]}


WORKLOADS, AGENTS = _vnet("aks", "10.50.0.0/16"), _vnet("agents", "10.60.0.0/24")


def _prod(tier: int = 1, **changes) -> dict:
    changes.setdefault("tenants", [{"name": "bank", "tier": tier, "users": 30, "hostname": "bank.erp.example.com"}])
    changes.setdefault("azure", {"workloadNetwork": WORKLOADS, "agentNetwork": AGENTS})
    return estate(environment="prod", image=DIGEST, **changes)


def _resources(plan: dict) -> list[Resource]:
    return [Resource(r["type"], r["urn"], r["inputs"], r["protect"], dependencies=tuple(r["dependsOn"]))
            for r in plan["resources"]]


def _one(plan: dict, type_: str, suffix: str = "") -> dict:
    (found,) = [r for r in resources_of(plan, type_) if r["name"].endswith(suffix)]
    return found


def test_geo_redundant_backup_uses_a_key_and_identity_in_the_paired_region(plan_for):
    plan = plan_for(_prod(1))
    server = _one(plan, "azure-native:dbforpostgresql:Server")["inputs"]
    geo_vault = _one(plan, "azure-native:keyvault:Vault", "-geo-kv")
    geo_identity = _one(plan, "azure-native:managedidentity:UserAssignedIdentity", "-geo-identity")
    assert server["backup"]["geoRedundantBackup"] == "Enabled"
    assert geo_vault["inputs"]["location"] == geo_identity["inputs"]["location"] == "northeurope"  # westeurope's pair
    assert server["dataEncryption"]["geoBackupKeyURI"].startswith(f"https://{geo_vault['inputs']['vaultName']}.")
    assert server["dataEncryption"]["geoBackupUserAssignedIdentityId"] in server["identity"]["userAssignedIdentities"]
    assert geo_vault["protect"] and geo_identity["protect"]


def test_without_geo_backup_there_is_no_second_key(plan_for):
    plan = plan_for(_prod(3))
    assert "geoBackupKeyURI" not in _one(plan, "azure-native:dbforpostgresql:Server")["inputs"]["dataEncryption"]
    assert len(resources_of(plan, "azure-native:keyvault:Vault")) == 1


def test_a_region_without_a_known_pair_needs_paired_region():
    document = _prod(1, region="polandcentral")
    with pytest.raises(EstateConfigError, match="azure.pairedRegion"):
        parse_estate(document).azure.geo_backup_region("polandcentral")
    assert parse_estate(_prod(1, azure={"pairedRegion": "germanywestcentral"})).azure.geo_backup_region(
        "polandcentral") == "germanywestcentral"


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_every_user_of_a_key_or_role_depends_on_the_grant(stack):
    resources = _resources(plan_of(stack))
    assert RULES["AZ-07"].check_stack(resources, Context("prod")) == []
    assert RULES["AZ-08"].check_stack(resources, Context("prod")) == []
    assert all(r.protect for r in resources if r.type in ("azure-native:managedidentity:UserAssignedIdentity",
                                                          "azure-native:authorization:RoleAssignment"))


def test_a_server_created_before_its_grant_propagates_is_caught(plan_for):
    plan = plan_for(_prod(1))
    server = _one(plan, "azure-native:dbforpostgresql:Server")
    server["dependsOn"] = [d for d in server["dependsOn"] if "Sleep" not in d]
    findings = RULES["AZ-07"].check_stack(_resources(plan), Context("prod"))
    assert [urn for urn, _ in findings] == [server["urn"], server["urn"]]  # the primary and the geo identity


def test_archive_immutability_is_created_unlocked_and_locked_by_an_approved_change(plan_for):
    unlocked = _one(plan_for(_prod(2, azure={"workloadNetwork": WORKLOADS})), "azure-native:storage:StorageAccount")
    assert unlocked["inputs"]["immutableStorageWithVersioning"]["immutabilityPolicy"]["state"] == "Unlocked"
    locked = _one(plan_for(_prod(2, azure={"workloadNetwork": WORKLOADS, "archiveLockChange": "CHG-7"})),
                  "azure-native:storage:StorageAccount")["inputs"]
    assert locked["immutableStorageWithVersioning"]["immutabilityPolicy"]["state"] == "Locked"
    assert locked["tags"]["immutability-lock-change"] == "CHG-7"


def test_zone_redundant_archives_never_tier_to_archive(plan_for):
    plan = plan_for(_prod(1))
    policy = _one(plan, "azure-native:storage:ManagementPolicy")["inputs"]
    assert "tierToArchive" not in policy["policy"]["rules"][0]["definition"]["actions"]["baseBlob"]
    assert RULES["AZ-09"].check_stack(_resources(plan), Context("prod")) == []


def test_the_backup_vault_identity_holds_the_roles_azure_backup_needs(plan_for):
    plan = plan_for(_prod(2))
    vault = _one(plan, "azure-native:dataprotection:BackupVault")
    assert vault["inputs"]["identity"]["type"] == "SystemAssigned,UserAssigned"
    roles = {r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1]: r["inputs"]["scope"]
             for r in resources_of(plan, "azure-native:authorization:RoleAssignment") if r["name"].startswith("backup-")}
    server_id = _one(plan, "azure-native:dataprotection:BackupInstance")["inputs"]["properties"]["dataSourceInfo"]["resourceID"]
    assert roles == {"c088a766-074b-43ba-90d4-1fb21feae531": server_id,
                     "acdd72a7-3385-48ef-bd42-f606fba81ae7": server_id.split("/providers/")[0]}


def test_the_cluster_key_encrypts_and_the_cluster_reaches_its_private_vault(plan_for):
    plan = plan_for(_prod(2, kubernetes={"createCluster": True}, azure={"agentNetwork": AGENTS}))
    key = _one(plan, "azure-native:keyvault:Key", "keys-cluster-cmk")["inputs"]
    assert {"encrypt", "decrypt"} <= set(key["properties"]["keyOps"])
    cluster = _one(plan, "azure-native:containerservice:ManagedCluster")
    assert cluster["inputs"]["kubernetesVersion"] == "1.35"
    assert RULES["AZ-06"].evaluate(Resource(cluster["type"], cluster["urn"], cluster["inputs"]), Context("prod")) is None
    roles = {r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1]
             for r in resources_of(plan, "azure-native:authorization:RoleAssignment") if r["name"].startswith("cluster-")}
    assert roles == {"12338af0-0e69-4776-bea7-57ae8d297424", "4d97b98b-1d4f-4787-a291-c67834d212e7",
                     "b12aa53e-6015-4669-85d0-8515ebb3ae7f"}


@pytest.mark.parametrize("version, accepted", [("1.35", True), ("1.36", True), ("1.30", False), ("1.34", False),
                                               ("1.37", False), ("2.0", False)])
def test_kubernetes_version_is_a_supported_one(version, accepted):
    document = _prod(2, kubernetes={"version": version})
    if accepted:
        assert parse_estate(document).kubernetes.version == version
    else:
        with pytest.raises(EstateConfigError, match="supported Kubernetes minor version"):
            parse_estate(document)


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_every_azure_stack_reaches_its_endpoints_and_api_server(stack):
    assert reachability(_resources(plan_of(stack))) == []


def test_an_existing_cluster_without_a_peered_network_reaches_nothing(plan_for):
    findings = reachability(_resources(plan_for(_prod(2, azure={}))))
    targets = {urn.rsplit("::", 1)[-1] for urn, _ in findings}
    assert {"postgres-shared-server", "keys-shared-kv-pe", "backup-shared-archive-pe", "redis-shared-cache-pe"} <= targets


def test_a_missing_dns_link_or_one_sided_peering_is_caught(plan_for):
    plan = plan_for(_prod(2, azure={"workloadNetwork": WORKLOADS}))
    no_link = copy.deepcopy(plan)
    no_link["resources"] = [r for r in no_link["resources"] if r["name"] != "estate-dns-vault-link-workloads"]
    assert [m for _, m in reachability(_resources(no_link))] == [
        "privatelink.vaultcore.azure.net is not linked to aks-vnet, so its private name does not resolve there"]
    one_sided = copy.deepcopy(plan)
    one_sided["resources"] = [r for r in one_sided["resources"] if r["name"] != "estate-peer-workloads-back"]
    assert len(reachability(_resources(one_sided))) == len(resources_of(plan, "azure-native:network:PrivateEndpoint")) + 1


def test_a_created_cluster_needs_the_agent_network_to_reach_its_api_server(plan_for):
    plan = plan_for(_prod(2, kubernetes={"createCluster": True}, azure={}))
    assert [m for _, m in reachability(_resources(plan))] == [
        "the private API server is reachable from no peered network with its DNS zone linked (the deploying agent's: "
        "azure.agentNetwork)"]


def test_peered_networks_may_not_overlap_the_estate(plan_for):
    with pytest.raises(Exception, match="overlaps the estate's network"):
        plan_for(_prod(2, azure={"workloadNetwork": _vnet("aks", "10.40.128.0/17")}))
