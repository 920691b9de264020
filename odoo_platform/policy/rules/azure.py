"""Azure: documented cross-property constraints a first `pulumi up` would otherwise discover.

The SDK's types (and so the offline mocks) accept every combination below; Azure refuses it, or accepts it and
fails later (a backup that never runs, a key nobody can use). Each rule names the documentation it comes from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from odoo_platform.policy.rule import Context, Resource, Rule, Severity, get
from odoo_platform.policy.rules.types import AZURE_PG, STORAGE_ACCOUNT

MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
BACKUP_INSTANCE = "azure-native:dataprotection:BackupInstance"
MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
DNS_LINK = "azure-native:privatedns:VirtualNetworkLink"
PEERING = "azure-native:network:VirtualNetworkPeering"
SUBNET = "azure-native:network:Subnet"

# Built-in role ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
POSTGRES_LTR_BACKUP_ROLE = "c088a766-074b-43ba-90d4-1fb21feae531"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
LOCK_CHANGE_TAG = "immutability-lock-change"
ZONE_REDUNDANT_SKUS = ("Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS", "Premium_ZRS")


def _geo_backup_key(resource: Resource, _: Context) -> Optional[str]:
    # https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-data-encryption#requirements-for-configuring-data-encryption
    # A CMK-encrypted server with geo-redundant backup needs a key in the paired region and the identity reading it.
    if get(resource.props, "backup", "geoRedundantBackup") != "Enabled":
        return None
    encryption = get(resource.props, "dataEncryption", default={}) or {}
    if encryption.get("type") != "AzureKeyVault":
        return None
    identity = encryption.get("geoBackupUserAssignedIdentityId")
    if not encryption.get("geoBackupKeyURI") or not identity:
        return ("geo-redundant backup with a customer-managed key has no geo-backup key (set geoBackupKeyURI to a key in "
                "the paired region and geoBackupUserAssignedIdentityId)")
    if identity not in (get(resource.props, "identity", "userAssignedIdentities", default={}) or {}):
        return "the geo-backup identity is not assigned to the server (add it to identity.userAssignedIdentities)"
    return None


def _lock_at_creation(resource: Resource, _: Context) -> Optional[str]:
    # https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies#configure-a-version-level-immutability-policy
    # An account-level policy is created Disabled or Unlocked; Locked is a later update of an existing account.
    state = get(resource.props, "immutableStorageWithVersioning", "immutabilityPolicy", "state")
    if state != "Locked" or (get(resource.props, "tags", default={}) or {}).get(LOCK_CHANGE_TAG):
        return None
    return ("the immutability policy is Locked without a recorded lock change (create it Unlocked; lock it with the "
            "approved azure.archiveLockChange after the first deployment)")


def _ha_tier(resource: Resource, _: Context) -> Optional[str]:
    # https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-high-availability#limitations
    # High availability is not supported on the Burstable tier.
    mode = get(resource.props, "highAvailability", "mode", default="Disabled")
    tier = get(resource.props, "sku", "tier")
    if mode == "Disabled" or tier != "Burstable":
        return None
    return f"high availability {mode} on the {tier} tier (use a General Purpose or Memory Optimized SKU)"


def _cmk_identity_attached(resource: Resource, _: Context) -> Optional[str]:
    # The identity a resource reads its CMK with must be assigned to it:
    # https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-data-encryption,
    # https://learn.microsoft.com/azure/storage/common/customer-managed-keys-configure-existing-account,
    # https://learn.microsoft.com/azure/backup/encryption-at-rest-with-cmk-for-backup-vault.
    props = resource.props
    if resource.type == AZURE_PG:
        used = get(props, "dataEncryption", "primaryUserAssignedIdentityId")
    elif resource.type == STORAGE_ACCOUNT:
        used = get(props, "encryption", "encryptionIdentity", "encryptionUserAssignedIdentity")
    else:
        used = get(props, "properties", "securitySettings", "encryptionSettings", "kekIdentity", "identityId")
    assigned = get(props, "identity", "userAssignedIdentities", default={}) or {}
    if not used or used in assigned:
        return None
    return f"the key is read with identity {used}, which is not assigned (add it to identity.userAssignedIdentities)"


def _protected_identity(resource: Resource, _: Context) -> Optional[str]:
    # Deleting a CMK identity or its grant makes the encrypted resource inaccessible
    # (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-data-encryption#inaccessible-customer-managed-key-condition).
    return None if resource.protect else "an identity or role assignment the data depends on is not protected (protect=True)"


def _kms_vnet_integration(resource: Resource, _: Context) -> Optional[str]:
    # https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption#turn-on-kms-for-a-private-key-vault
    kms = get(resource.props, "securityProfile", "azureKeyVaultKms", default={}) or {}
    if not kms.get("enabled") or kms.get("keyVaultNetworkAccess") != "Private":
        return None
    access = get(resource.props, "apiServerAccessProfile", default={}) or {}
    if access.get("enableVnetIntegration") and access.get("subnetId"):
        return None
    return "KMS with a private key vault needs API server VNet integration (enableVnetIntegration and subnetId)"


def _depends_on(resources: Sequence[Resource]) -> Mapping[str, set[str]]:
    """Every resource's transitive dependencies (URNs)."""
    direct = {r.urn: set(r.dependencies) for r in resources}
    closed: dict[str, set[str]] = {}

    def walk(urn: str, seen: frozenset[str]) -> set[str]:
        if urn not in closed:
            found: set[str] = set()
            for dep in direct.get(urn, ()):
                if dep not in seen:
                    found |= {dep} | walk(dep, seen | {dep})
            closed[urn] = found
        return closed[urn]

    for urn in direct:
        walk(urn, frozenset({urn}))
    return closed


def _role(assignment: Resource) -> str:
    return str(assignment.props.get("roleDefinitionId", "")).rsplit("/", 1)[-1]


def _grants_before_use(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    """Every resource using a user-assigned identity waits for a role assignment to that identity.

    Azure RBAC takes minutes to propagate (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting):
    a server created in the same second as its key grant cannot read the key."""
    closure = _depends_on(resources)
    identities = {r.urn for r in resources if r.type == IDENTITY}
    grants = {r.urn: r for r in resources if r.type == ROLE_ASSIGNMENT}
    granted_to = {urn: set(r.dependencies) & identities for urn, r in grants.items()}
    findings = []
    for resource in resources:
        if resource.type in (ROLE_ASSIGNMENT, IDENTITY) or resource.type.startswith("time:"):
            continue
        used = set(resource.dependencies) & identities
        waits_for = {identity for urn, ids in granted_to.items() if urn in closure[resource.urn] for identity in ids}
        for identity in sorted(used - waits_for):
            findings.append((resource.urn, f"uses identity {identity.rsplit('::', 1)[-1]} without depending on its role "
                                           "assignment (depend on the grant and its propagation wait)"))
    return findings


def _feature_roles(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    """Identities a feature needs, granted before it is used:
    - a backup instance of a flexible server: the vault's identity has the LTR backup role on the server and Reader on
      its resource group (https://learn.microsoft.com/azure/backup/backup-azure-database-postgresql-flex-overview);
    - AKS KMS: the cluster identity has Key Vault Crypto User (https://learn.microsoft.com/azure/aks/use-kms-etcd-encryption).
    """
    closure = _depends_on(resources)
    grants = [r for r in resources if r.type == ROLE_ASSIGNMENT]
    findings = []
    for resource in resources:
        if resource.type == BACKUP_INSTANCE:
            server = get(resource.props, "properties", "dataSourceInfo", "resourceID", default="")
            group = server.split("/providers/", 1)[0]
            needed = {(POSTGRES_LTR_BACKUP_ROLE, server): "the LTR backup role on the server",
                      (READER, group): "Reader on the server's resource group"}
        elif resource.type == MANAGED_CLUSTER and get(resource.props, "securityProfile", "azureKeyVaultKms", "enabled"):
            vault = get(resource.props, "securityProfile", "azureKeyVaultKms", "keyVaultResourceId", default="")
            needed = {(KEY_VAULT_CRYPTO_USER, vault): "Key Vault Crypto User on the KMS vault"}
        else:
            continue
        held = {(_role(g), g.props.get("scope")) for g in grants if g.urn in closure[resource.urn]}
        for (role, scope), what in needed.items():
            if (role, scope) not in held:
                findings.append((resource.urn, f"does not depend on a grant of {what}"))
    return findings


def _archive_tier(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    # https://learn.microsoft.com/azure/storage/blobs/access-tiers-overview#archive-access-tier:
    # the archive tier does not exist on ZRS, GZRS and RA-GZRS accounts.
    skus = {r.props.get("accountName"): get(r.props, "sku", "name") for r in resources if r.type == STORAGE_ACCOUNT}
    findings = []
    for policy in (r for r in resources if r.type == MANAGEMENT_POLICY):
        if skus.get(policy.props.get("accountName")) not in ZONE_REDUNDANT_SKUS:
            continue
        for rule in get(policy.props, "policy", "rules", default=[]) or []:
            actions = get(rule, "definition", "actions", default={}) or {}
            if any("tierToArchive" in (actions.get(kind) or {}) for kind in ("baseBlob", "snapshot", "version")):
                findings.append((policy.urn, f"rule {rule.get('name')!r} moves blobs to archive on a zone-redundant account"))
    return findings


def network_of(resource_id: str) -> Optional[tuple[str, str]]:
    """(resource group, virtual network) of a virtual network or subnet id, case-insensitively."""
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    if "virtualnetworks" not in lowered or "resourcegroups" not in lowered:
        return None
    return (lowered[lowered.index("resourcegroups") + 1], lowered[lowered.index("virtualnetworks") + 1])


def reachability(resources: Sequence[Resource]) -> list[tuple[str, str]]:
    """Can the workloads reach every private endpoint and server, and the pipeline the private API server?

    A client reaches a private address in another virtual network only through a peering in both directions
    (https://learn.microsoft.com/azure/virtual-network/virtual-network-peering-overview), and resolves the private
    name only where the private DNS zone is linked to its own network
    (https://learn.microsoft.com/azure/dns/private-dns-virtual-network-links)."""
    links = {(str(r.props.get("privateZoneName", "")).lower(), network_of(get(r.props, "virtualNetwork", "id", default="")))
             for r in resources if r.type == DNS_LINK}
    peerings = {((str(r.props.get("resourceGroupName", "")).lower(), str(r.props.get("virtualNetworkName", "")).lower()),
                 network_of(get(r.props, "remoteVirtualNetwork", "id", default=""))) for r in resources if r.type == PEERING}

    def connected(a: Any, b: Any) -> bool:
        return a == b or ((a, b) in peerings and (b, a) in peerings)

    zone_of = {}
    for group in (r for r in resources if r.type == DNS_ZONE_GROUP):
        for config in group.props.get("privateDnsZoneConfigs") or []:
            zone_of[group.props.get("privateEndpointName")] = str(config.get("privateDnsZoneId", "")).rsplit("/", 1)[-1].lower()
    targets: list[tuple[Resource, Any, str]] = []
    for resource in resources:
        if resource.type == PRIVATE_ENDPOINT:
            zone = zone_of.get(resource.props.get("privateEndpointName"), "")
            targets.append((resource, network_of(get(resource.props, "subnet", "id", default="")), zone))
        elif resource.type == AZURE_PG:
            network = get(resource.props, "network", default={}) or {}
            targets.append((resource, network_of(network.get("delegatedSubnetResourceId", "")),
                            str(network.get("privateDnsZoneArmResourceId", "")).rsplit("/", 1)[-1].lower()))
    clusters = [r for r in resources if r.type == MANAGED_CLUSTER]
    homes = {home for _, home, _ in targets}
    if clusters:
        sources = {network_of(str(pool.get("vnetSubnetId", ""))) for c in clusters
                   for pool in c.props.get("agentPoolProfiles") or []}
    else:
        # Workloads run in an existing cluster: in the networks peered with the estate's.
        sources = {remote for local, remote in peerings if local in homes and (remote, local) in peerings}
    findings = [(target.urn, "no network the workloads run in reaches it (peer the existing cluster's network: "
                             "azure.workloadNetwork)") for target, _, _ in targets if not sources]
    for target, home, zone in targets:
        for source in sorted(s for s in sources if s):
            if not zone:
                findings.append((target.urn, "has no private DNS zone"))
            elif not connected(source, home):
                findings.append((target.urn, f"is in {home[1] if home else '?'}, not reachable from {source[1]} (no peering)"))
            elif (zone, source) not in links:
                findings.append((target.urn, f"{zone} is not linked to {source[1]}, so its private name does not resolve there"))
    for cluster in clusters:
        access = get(cluster.props, "apiServerAccessProfile", default={}) or {}
        if not access.get("enablePrivateCluster"):
            continue
        api_home = network_of(str(access.get("subnetId", "")))
        zone = str(access.get("privateDNSZone", "")).rsplit("/", 1)[-1].lower()
        agents = {remote for local, remote in peerings if local == api_home and (remote, local) in peerings}
        if not any((zone, agent) in links for agent in agents):
            findings.append((cluster.urn, "the private API server is reachable from no peered network with its DNS zone "
                                          "linked (the deploying agent's: azure.agentNetwork)"))
    return findings


def _reachable(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    return reachability(resources)


AZURE: list[Rule] = [
    Rule("AZ-01", "azure-postgres-geo-backup-require-geo-key",
         "A CMK-encrypted server with geo-redundant backup has a geo-backup key and identity.",
         Severity.CRITICAL, "Set dataEncryption.geoBackupKeyURI (a key in the paired region) and geoBackupUserAssignedIdentityId.",
         (AZURE_PG,), _geo_backup_key),
    Rule("AZ-02", "azure-storage-immutability-unlocked-at-creation",
         "An archive's immutability policy is locked only by a recorded, approved change.",
         Severity.HIGH, "Create it Unlocked; set azure.archiveLockChange to the approved change after the first deployment.",
         (STORAGE_ACCOUNT,), _lock_at_creation),
    Rule("AZ-03", "azure-postgres-ha-require-non-burstable", "Zone-redundant HA runs on General Purpose or Memory Optimized.",
         Severity.HIGH, "Use a General Purpose SKU for highly available servers.", (AZURE_PG,), _ha_tier),
    Rule("AZ-04", "azure-cmk-identity-require-assignment", "The identity a resource reads its CMK with is assigned to it.",
         Severity.CRITICAL, "Add the key's identity to the resource's user-assigned identities.",
         (AZURE_PG, STORAGE_ACCOUNT, "azure-native:dataprotection:BackupVault"), _cmk_identity_attached),
    Rule("AZ-05", "azure-identity-require-protect", "CMK identities and their role assignments are protected.",
         Severity.CRITICAL, "Create them with protect=True.", (IDENTITY, ROLE_ASSIGNMENT), _protected_identity),
    Rule("AZ-06", "azure-aks-kms-private-vault-require-vnet-integration",
         "AKS KMS with a private vault uses API server VNet integration.",
         Severity.HIGH, "Enable apiServerAccessProfile.enableVnetIntegration with a delegated subnet.",
         (MANAGED_CLUSTER,), _kms_vnet_integration),
    Rule("AZ-07", "azure-identity-require-grant-before-use",
         "Resources using an identity wait for its role assignment (stack rule).",
         Severity.HIGH, "Depend on the role assignment's propagation wait (pulumiverse-time Sleep).",
         check_stack=_grants_before_use),
    Rule("AZ-08", "azure-feature-require-identity-roles",
         "Backup instances and AKS KMS depend on the roles their identities need (stack rule).",
         Severity.HIGH, "Grant the LTR backup role and Reader to the backup vault; Key Vault Crypto User to the cluster.",
         check_stack=_feature_roles),
    Rule("AZ-09", "azure-storage-no-archive-tier-on-zone-redundant",
         "Lifecycle rules do not move blobs to archive on ZRS/GZRS accounts (stack rule).",
         Severity.MEDIUM, "Tier to cool (or cold) only, or use an LRS/GRS account.", check_stack=_archive_tier),
    Rule("AZ-10", "azure-network-require-reachability",
         "Workloads reach every private database, cache, vault and archive; the pipeline the private API server (stack rule).",
         Severity.CRITICAL, "Peer azure.workloadNetwork / azure.agentNetwork and link the private DNS zones to them.",
         check_stack=_reachable),
]
