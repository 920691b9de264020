"""Mocks that answer like the providers would: realistic ids and computed outputs per type.

Only ids and computed outputs are invented here; inputs always come back unchanged, so
what the plan shows is exactly what the program asked for.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi

from odoo_platform.errors import ToolFailure

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
AWS_ACCOUNT = "123456789012"

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
}

AZURE_NAME_INPUTS = (
    "resourceGroupName",
    "virtualNetworkName",
    "subnetName",
    "privateZoneName",
    "virtualNetworkLinkName",
    "serverName",
    "configurationName",
    "databaseName",
    "vaultName",
)


def autoname(name: str) -> str:
    """A stable stand-in for Pulumi's random auto-name suffix."""
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:7]}"


class PlanMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str) -> None:
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        package = args.typ.split(":", 1)[0]
        inputs = dict(args.inputs)
        if package == "kubernetes":
            return _kubernetes(args.name, inputs)
        if package == "azure-native":
            return self._azure(args.typ, args.name, inputs)
        if package == "aws":
            return self._aws(args.typ, args.name, inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            return args.name, inputs | {"result": _fake_secret(args.name, int(inputs.get("length", 32)))}
        return args.name, inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list]:
        raise ToolFailure(f"the offline engine has no answer for the invoke {args.token} (add it to offline/mocks.py)")

    def _azure(self, token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kind = token.split(":", 1)[1]
        own_name = next((inputs[k] for k in AZURE_NAME_INPUTS if k in inputs and _is_own_name(kind, k)), None)
        physical = own_name or autoname(name)
        group = inputs.get("resourceGroupName", physical if kind == "resources:ResourceGroup" else "rg")
        path = AZURE_PROVIDERS.get(kind)
        if kind == "resources:ResourceGroup":
            resource_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{physical}"
        else:
            resource_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{path or kind}/{physical}"
        state = inputs | {"name": physical, "id": resource_id}
        if kind == "dbforpostgresql:Server":
            state["fullyQualifiedDomainName"] = f"{physical}.postgres.database.azure.com"
        return resource_id, state

    def _aws(self, token: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        service = token.split(":")[1].split("/")[0]
        physical = inputs.get("name") or inputs.get("identifier") or autoname(name)
        if service == "ec2":
            resource_id = f"{token.rsplit(':', 1)[1].lower()[:6]}-{hashlib.sha256(name.encode()).hexdigest()[:17]}"
        else:
            resource_id = physical
        arn = f"arn:aws:{service}:{self.region}:{AWS_ACCOUNT}:{token.rsplit(':', 1)[1].lower()}/{physical}"
        state = inputs | {"id": resource_id, "arn": arn, "name": physical}
        if token == "aws:rds/instance:Instance":
            state["address"] = f"{physical}.c0ffee0example.{self.region}.rds.amazonaws.com"
            state["endpoint"] = f"{state['address']}:5432"
        return resource_id, state


def _is_own_name(kind: str, key: str) -> bool:
    own = {
        "resources:ResourceGroup": "resourceGroupName",
        "network:VirtualNetwork": "virtualNetworkName",
        "network:Subnet": "subnetName",
        "privatedns:PrivateZone": "privateZoneName",
        "privatedns:VirtualNetworkLink": "virtualNetworkLinkName",
        "dbforpostgresql:Server": "serverName",
        "dbforpostgresql:Configuration": "configurationName",
        "dbforpostgresql:Database": "databaseName",
        "dataprotection:BackupVault": "vaultName",
    }
    return own.get(kind) == key


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
