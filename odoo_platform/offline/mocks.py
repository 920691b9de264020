"""Mocks that answer like the providers would: realistic ids and computed outputs per type.

Only ids and computed outputs are invented here; inputs always come back unchanged, so
what the plan shows is exactly what the program asked for.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pulumi

from odoo_platform.errors import ToolFailure

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
AWS_ACCOUNT = "123456789012"
MOCK_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"

AZURE_PROVIDERS = {
    "resources:ResourceGroup": None,
    "network:VirtualNetwork": "Microsoft.Network/virtualNetworks",
    "network:Subnet": "Microsoft.Network/virtualNetworks/subnets",
    "privatedns:PrivateZone": "Microsoft.Network/privateDnsZones",
    "privatedns:VirtualNetworkLink": "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    "dbforpostgresql:Server": "Microsoft.DBforPostgreSQL/flexibleServers",
    "dbforpostgresql:Configuration": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
    "dbforpostgresql:Database": "Microsoft.DBforPostgreSQL/flexibleServers/databases",
    "dataprotection:BackupVault": "Microsoft.DataProtection/backupVaults",
    "dataprotection:BackupPolicy": "Microsoft.DataProtection/backupVaults/backupPolicies",
    "dataprotection:BackupInstance": "Microsoft.DataProtection/backupVaults/backupInstances",
    "keyvault:Vault": "Microsoft.KeyVault/vaults",
    "keyvault:Key": "Microsoft.KeyVault/vaults/keys",
    "keyvault:Secret": "Microsoft.KeyVault/vaults/secrets",
    "managedidentity:UserAssignedIdentity": "Microsoft.ManagedIdentity/userAssignedIdentities",
    "storage:StorageAccount": "Microsoft.Storage/storageAccounts",
    "redis:Redis": "Microsoft.Cache/redis",
    "network:PrivateEndpoint": "Microsoft.Network/privateEndpoints",
    "containerservice:ManagedCluster": "Microsoft.ContainerService/managedClusters",
    "network:VirtualNetworkPeering": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
    "network:PrivateDnsZoneGroup": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    "authorization:RoleAssignment": "Microsoft.Authorization/roleAssignments",
}

# The input that carries a resource's own name, where the program sets one (else: auto-named).
AZURE_OWN_NAME_INPUT = {
    "resources:ResourceGroup": "resourceGroupName",
    "network:VirtualNetwork": "virtualNetworkName",
    "network:Subnet": "subnetName",
    "privatedns:PrivateZone": "privateZoneName",
    "privatedns:VirtualNetworkLink": "virtualNetworkLinkName",
    "dbforpostgresql:Server": "serverName",
    "dbforpostgresql:Configuration": "configurationName",
    "dbforpostgresql:Database": "databaseName",
    "dataprotection:BackupVault": "vaultName",
    "dataprotection:BackupPolicy": "backupPolicyName",
    "keyvault:Key": "keyName",
    "keyvault:Secret": "secretName",
    "storage:StorageAccount": "accountName",
    "network:PrivateEndpoint": "privateEndpointName",
    "keyvault:Vault": "vaultName",
    "redis:Redis": "name",
    "network:VirtualNetworkPeering": "virtualNetworkPeeringName",
    "network:PrivateDnsZoneGroup": "privateDnsZoneGroupName",
    "containerservice:ManagedCluster": "resourceName",
}


def autoname(name: str) -> str:
    """A stable stand-in for Pulumi's random auto-name suffix."""
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:7]}"


SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"


class PlanMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str, stack_references: dict[str, dict[str, Any]] | None = None) -> None:
        self.region = region
        self.stack_references = stack_references or {}
        """Recorded outputs of other stacks (a sharded estate's foundation), by fully qualified name."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        package = args.typ.split(":", 1)[0]
        inputs = dict(args.inputs)
        if package == "kubernetes":
            return _kubernetes(args.name, inputs)
        if package == "azure-native":
            return self._azure(args.typ, args.name, inputs)
        if package == "aws":
            return self._aws(args.typ, args.name, inputs)
        if args.typ == "random:index/randomId:RandomId":
            digest = hashlib.sha256(f"mock-id:{args.name}".encode()).hexdigest()[: 2 * int(inputs.get("byteLength", 8))]
            return args.name, inputs | {"hex": digest, "b64Url": base64.urlsafe_b64encode(bytes.fromhex(digest)).decode()}
        if args.typ == "random:index/randomPassword:RandomPassword":
            return args.name, inputs | {"result": _fake_secret(args.name, int(inputs.get("length", 32)))}
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(str(inputs.get("name")))
        if args.typ == "time:index/rotating:Rotating":
            return _rotation(inputs)
        if package == "azuredevops":
            return _azure_devops(args.typ, args.name, inputs)
        return args.name, inputs

    def _stack_reference(self, name: str) -> tuple[str, dict[str, Any]]:
        if name not in self.stack_references:
            raise ToolFailure(f"the offline engine has no outputs of stack {name} (plan the foundation stack first)")
        outputs = self.stack_references[name]
        secret = sorted(key for key, value in outputs.items() if _is_secret(value))
        plain = {key: value.get("value") if _is_secret(value) else value for key, value in outputs.items()}
        return name, {"name": name, "outputs": plain, "secretOutputNames": secret}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list]:
        answers = {
            "azure-native:authorization:getClientConfig": lambda: {
                "clientId": "11111111-1111-1111-1111-111111111111", "objectId": "22222222-2222-2222-2222-222222222222",
                "subscriptionId": SUBSCRIPTION, "tenantId": "33333333-3333-3333-3333-333333333333",
            },
            "azure-native:redis:listRedisKeys": lambda: {
                "primaryKey": _fake_secret(str(args.args.get("name")), 44), "secondaryKey": _fake_secret("2", 44),
            },
            "azure-native:containerservice:listManagedClusterUserCredentials": lambda: {
                "kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(MOCK_KUBECONFIG.encode()).decode()}],
            },
            "azuredevops:index/getProject:getProject": lambda: {
                "id": _guid(f"project/{args.args.get('name')}"), "name": args.args.get("name"), "visibility": "private",
                "versionControl": "Git", "processTemplateId": _guid("process/Agile"),
            },
            "azuredevops:index/getGitRepository:getGitRepository": lambda: {
                "id": _guid(f"repository/{args.args.get('name')}"), "name": args.args.get("name"),
                "projectId": args.args.get("projectId"), "defaultBranch": "refs/heads/main",
            },
            "aws:index/getCallerIdentity:getCallerIdentity": lambda: {
                "accountId": AWS_ACCOUNT, "arn": f"arn:aws:iam::{AWS_ACCOUNT}:role/deployer", "userId": "AIDEXAMPLE",
                "id": AWS_ACCOUNT,
            },
        }
        if args.token not in answers:
            raise ToolFailure(f"the offline engine has no answer for the invoke {args.token} (add it to offline/mocks.py)")
        return answers[args.token](), []

    def _azure(self, token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kind = token.split(":", 1)[1]
        physical = inputs.get(AZURE_OWN_NAME_INPUT.get(kind, "")) or autoname(name)
        group = inputs.get("resourceGroupName", physical if kind == "resources:ResourceGroup" else "rg")
        path = AZURE_PROVIDERS.get(kind)
        if kind == "resources:ResourceGroup":
            resource_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{physical}"
        elif kind == "network:Subnet":
            # A child resource's id names its parent: the reachability rule reads the network from it.
            resource_id = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network/"
                           f"virtualNetworks/{inputs.get('virtualNetworkName')}/subnets/{physical}")
        else:
            resource_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{path or kind}/{physical}"
        state = inputs | {"name": physical, "id": resource_id} | _azure_computed(kind, physical, inputs)
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # ARM answers with a map keyed by identity id, whatever shape the request used.
            state["identity"] = identity | {"userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        return resource_id, state

    def _aws(self, token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        service = token.split(":")[1].split("/")[0]
        physical = (inputs.get("name") or inputs.get("identifier") or inputs.get("replicationGroupId")
                    or inputs.get("bucket") or autoname(name))
        if token == "aws:kms/key:Key":
            physical = resource_id = _uuid(hashlib.sha256(name.encode()).hexdigest())
        elif service == "efs" and token == "aws:efs/fileSystem:FileSystem":
            resource_id = f"fs-{hashlib.sha256(name.encode()).hexdigest()[:17]}"
        elif service == "ec2":
            resource_id = f"{token.rsplit(':', 1)[1].lower()[:6]}-{hashlib.sha256(name.encode()).hexdigest()[:17]}"
        else:
            resource_id = physical
        arn = f"arn:aws:{service}:{inputs.get('region') or self.region}:{AWS_ACCOUNT}:{token.rsplit(':', 1)[1].lower()}/{physical}"
        state = inputs | {"id": resource_id, "arn": arn, "name": physical}
        if token == "aws:eks/cluster:Cluster":
            state["endpoint"] = f"https://{hashlib.sha256(name.encode()).hexdigest()[:32].upper()}.gr7.{self.region}.eks.amazonaws.com"
            state["certificateAuthority"] = {"data": base64.b64encode(b"mock-ca").decode()}
            state["identities"] = [{"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/EXAMPLE"}]}]
        if token == "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation":
            resource_id = f"vpc-cidr-assoc-{hashlib.sha256(name.encode()).hexdigest()[:17]}"
            state["id"] = resource_id
        if token == "aws:ec2/eip:Eip":
            state["allocationId"] = f"eipalloc-{hashlib.sha256(name.encode()).hexdigest()[:17]}"
        if token == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            state["arn"] = f"arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/{str(inputs.get('url', '')).removeprefix('https://')}"
        if token == "aws:rds/instance:Instance":
            state["address"] = f"{physical}.c0ffee0example.{self.region}.rds.amazonaws.com"
            state["endpoint"] = f"{state['address']}:5432"
        return resource_id, state


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE


def _guid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"odoo-platform-offline/{name}"))


def _azure_devops(token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Azure DevOps ids: GUIDs, except pipelines (build definitions), which are numbered."""
    if token == "azuredevops:index/buildDefinition:BuildDefinition":
        resource_id = str(int(hashlib.sha256(name.encode()).hexdigest()[:6], 16) % 900 + 100)
        return resource_id, inputs | {"id": resource_id, "revision": 1}
    resource_id = _guid(name)
    state = inputs | {"id": resource_id}
    if token == "azuredevops:index/group:Group":
        state |= {"descriptor": f"aadgp.{base64.b64encode(name.encode()).decode().rstrip('=')}"}
    return resource_id, state


def _rotation(inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A rotation started at a fixed instant, so plans stay byte-identical from run to run."""
    started = datetime(2026, 1, 1, tzinfo=timezone.utc)
    due = started + timedelta(days=int(inputs.get("rotationDays") or 0), hours=int(inputs.get("rotationHours") or 0))
    stamp = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    return stamp, inputs | {"rfc3339": stamp, "rotationRfc3339": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "unix": int(started.timestamp())}


def _azure_computed(kind: str, physical: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs Azure computes that the program reads."""
    digest = hashlib.sha256(physical.encode()).hexdigest()
    if kind == "dbforpostgresql:Server":
        return {"fullyQualifiedDomainName": f"{physical}.postgres.database.azure.com"}
    if kind == "keyvault:Vault":
        return {"properties": inputs.get("properties", {}) | {"vaultUri": f"https://{physical}.vault.azure.net/"}}
    if kind == "keyvault:Key":
        vault = inputs.get("vaultName", "vault")
        return {"keyUri": f"https://{vault}.vault.azure.net/keys/{physical}",
                "keyUriWithVersion": f"https://{vault}.vault.azure.net/keys/{physical}/{digest[:32]}"}
    if kind == "managedidentity:UserAssignedIdentity":
        return {"principalId": _uuid(digest), "clientId": _uuid(digest[::-1]), "tenantId": _uuid(digest[3:])}
    if kind == "storage:StorageAccount":
        return {"primaryEndpoints": {"blob": f"https://{physical}.blob.core.windows.net/",
                                     "file": f"https://{physical}.file.core.windows.net/"}}
    if kind == "dataprotection:BackupVault":
        # The system-assigned identity ARM creates with the vault (Azure Backup reads the server with it).
        return {"identity": inputs.get("identity", {}) | {"principalId": _uuid(digest), "tenantId": _uuid(digest[3:])}}
    if kind == "containerservice:ManagedCluster":
        return {"oidcIssuerProfile": {"enabled": True, "issuerUrl": f"https://westeurope.oic.prod-aks.azure.com/{digest[:36]}/"}}
    if kind == "redis:Redis":
        return {"hostName": f"{physical}.redis.cache.windows.net", "sslPort": 6380}
    return {}


def _uuid(digest: str) -> str:
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _kubernetes(name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    metadata = inputs.get("metadata") or {}
    object_name = metadata.get("name") or autoname(name)
    namespace = metadata.get("namespace")
    resource_id = f"{namespace}/{object_name}" if namespace else object_name
    return resource_id, inputs


def _fake_secret(name: str, length: int) -> str:
    # Deterministic so plans are reproducible; it is a secret output and is masked everywhere.
    digest = hashlib.sha256(f"mock-secret:{name}".encode()).hexdigest()
    return (digest * (length // len(digest) + 1))[:length]
