"""Compare two plans: what is created, updated, replaced or deleted, and how risky each change is.

Risk follows what a finance estate can lose: deleting or replacing anything that holds data is
critical; database parameters, network rules and NetworkPolicies are high; an image change is
medium; labels and tags are low. The change's class is the highest of its parts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any, Iterator


class Risk(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


STATEFUL_TYPES = {
    "azure-native:dbforpostgresql:Server", "azure-native:dbforpostgresql:Database", "aws:rds/instance:Instance",
    "azure-native:dataprotection:BackupVault", "aws:backup/vault:Vault", "azure-native:storage:StorageAccount",
    "azure-native:storage:BlobContainer", "aws:s3/bucket:Bucket", "azure-native:keyvault:Vault", "azure-native:keyvault:Key",
    "aws:kms/key:Key", "kubernetes:core/v1:PersistentVolumeClaim", "azure-native:redis:Redis",
    "aws:elasticache/replicationGroup:ReplicationGroup", "azure-native:containerservice:ManagedCluster", "aws:eks/cluster:Cluster",
}

# Properties whose change makes the provider create a new resource and delete the old one.
REPLACING = {
    "azure-native:dbforpostgresql:Server": ("serverName", "location", "resourceGroupName", "administratorLogin",
                                            "network.delegatedSubnetResourceId", "network.privateDnsZoneArmResourceId"),
    "azure-native:dbforpostgresql:Database": ("databaseName", "serverName", "charset", "collation"),
    "aws:rds/instance:Instance": ("identifier", "engine", "kmsKeyId", "storageEncrypted", "username", "availabilityZone"),
    "azure-native:storage:StorageAccount": ("accountName", "location", "resourceGroupName",
                                            "encryption.requireInfrastructureEncryption"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "azure-native:keyvault:Vault": ("vaultName", "location", "resourceGroupName"),
    "azure-native:keyvault:Key": ("keyName", "vaultName", "properties.kty", "properties.keySize"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion"),
    "azure-native:dataprotection:BackupVault": ("vaultName", "location", "resourceGroupName"),
    "aws:backup/vault:Vault": ("name", "kmsKeyArn"),
    "kubernetes:core/v1:PersistentVolumeClaim": ("spec.storageClassName", "spec.accessModes"),
    "kubernetes:batch/v1:Job": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
}
KUBERNETES_IDENTITY = ("metadata.name", "metadata.namespace")
HIGH_RISK_TYPES = {
    "azure-native:dbforpostgresql:Configuration", "aws:rds/parameterGroup:ParameterGroup",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy", "aws:ec2/securityGroup:SecurityGroup", "azure-native:network:Subnet",
    "azure-native:network:VirtualNetwork", "azure-native:network:PrivateEndpoint", "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "kubernetes:traefik.io/v1alpha1:IngressRoute",
    "kubernetes:traefik.io/v1alpha1:Middleware", "kubernetes:traefik.io/v1alpha1:TLSOption",
}
HIGH_RISK_PROPERTIES = ("backup", "highAvailability", "network", "parameters", "dataEncryption", "securitySettings",
                        "maxConnections", "backupRetentionPeriod", "multiAz", "publiclyAccessible", "immutableStorageWithVersioning")
LOW_RISK_PROPERTIES = ("tags", "metadata.labels", "metadata.annotations", "spec.template.metadata.labels")


@dataclass
class PropertyChange:
    path: str
    before: Any
    after: Any


@dataclass
class ResourceChange:
    urn: str
    type: str
    name: str
    action: str  # create, update, replace, delete
    risk: Risk
    reason: str
    protected: bool
    stateful: bool
    changes: list[PropertyChange] = field(default_factory=list)


@dataclass
class PlanDiff:
    before_stack: str
    after_stack: str
    changes: list[ResourceChange]
    unchanged: int

    @property
    def risk(self) -> Risk | None:
        return max((c.risk for c in self.changes), default=None)

    @property
    def protected_deletions(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.protected and c.action in ("delete", "replace")]

    def counts(self) -> dict[str, int]:
        return {action: sum(1 for c in self.changes if c.action == action) for action in ("create", "update", "replace", "delete")}


def diff_plans(before: dict[str, Any], after: dict[str, Any]) -> PlanDiff:
    old = {r["urn"]: r for r in before["resources"] if not r["component"]}
    new = {r["urn"]: r for r in after["resources"] if not r["component"]}
    changes: list[ResourceChange] = []
    unchanged = 0
    for urn in sorted(old.keys() | new.keys()):
        if urn not in old:
            changes.append(resource_change(new[urn], "create", []))
        elif urn not in new:
            changes.append(resource_change(old[urn], "delete", []))
        else:
            properties = list(_property_changes(old[urn]["inputs"], new[urn]["inputs"]))
            protect_changed = old[urn]["protect"] != new[urn]["protect"]
            if not properties and not protect_changed:
                unchanged += 1
                continue
            if protect_changed:
                properties.append(PropertyChange("(protect)", old[urn]["protect"], new[urn]["protect"]))
            replaced = any(_forces_replacement(old[urn]["type"], p.path) for p in properties)
            changes.append(resource_change(old[urn] | {"protect": old[urn]["protect"]}, "replace" if replaced else "update", properties))
    order = {"delete": 0, "replace": 1, "update": 2, "create": 3}
    changes.sort(key=lambda c: (not (c.protected and c.action in ("delete", "replace")), -c.risk, order[c.action], c.urn))
    return PlanDiff(before_stack=before["stack"], after_stack=after["stack"], changes=changes, unchanged=unchanged)


def _property_changes(before: Any, after: Any, path: str = "") -> Iterator[PropertyChange]:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys()):
            yield from _property_changes(before.get(key), after.get(key), f"{path}.{key}" if path else key)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _property_changes(old, new, f"{path}[{index}]")
    elif before != after:
        yield PropertyChange(path, before, after)


def _covers(prefix: str, path: str) -> bool:
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def _forces_replacement(type_: str, path: str) -> bool:
    forcing = REPLACING.get(type_, ()) + (KUBERNETES_IDENTITY if type_.startswith("kubernetes:") else ())
    return any(_covers(prefix, path) for prefix in forcing)


def resource_change(
    resource: dict[str, Any], action: str, properties: list[PropertyChange], reason_prefix: str = ""
) -> ResourceChange:
    """A plan resource's change with its risk class (the diff's and the drift report's one classification)."""
    stateful = resource["type"] in STATEFUL_TYPES or bool(resource["protect"])
    risk, reason = _classify(resource["type"], action, stateful, properties)
    return ResourceChange(urn=resource["urn"], type=resource["type"], name=resource["name"], action=action, risk=risk,
                          reason=reason_prefix + reason, protected=bool(resource["protect"]), stateful=stateful,
                          changes=properties)


def _classify(type_: str, action: str, stateful: bool, properties: list[PropertyChange]) -> tuple[Risk, str]:
    if action in ("delete", "replace") and stateful:
        return Risk.CRITICAL, f"{action} of a resource that holds data"
    if action == "delete":
        return Risk.HIGH, "removes a running part of the estate"
    if action == "replace" and type_ == "kubernetes:batch/v1:Job":
        return Risk.MEDIUM, "runs the one-shot job again (database upgrade or bootstrap)"
    if action == "replace":
        return Risk.HIGH, "recreates the resource (downtime while it is replaced)"
    if action == "create":
        return Risk.LOW, "new resource"
    paths = [p.path for p in properties]
    if type_ in HIGH_RISK_TYPES:
        return Risk.HIGH, "changes network rules, access or database parameters"
    if any(any(_covers(prefix, path) for prefix in HIGH_RISK_PROPERTIES) for path in paths):
        return Risk.HIGH, "changes recovery, encryption or network settings of a data service"
    if any(path.endswith(".image") or path == "image" for path in paths):
        return Risk.MEDIUM, "changes the running image (an upgrade Job migrates the database)"
    if all(any(_covers(prefix, path) for prefix in LOW_RISK_PROPERTIES) for path in paths):
        return Risk.LOW, "labels and tags only"
    return Risk.MEDIUM, "changes configuration"


def to_json(diff: PlanDiff) -> str:
    document = {
        "before": diff.before_stack,
        "after": diff.after_stack,
        "risk": diff.risk.label if diff.risk else "none",
        "counts": diff.counts() | {"unchanged": diff.unchanged},
        "protectedDeletions": [c.urn for c in diff.protected_deletions],
        "changes": [asdict(c) | {"risk": c.risk.label} for c in diff.changes],
    }
    return json.dumps(document, indent=2, default=str) + "\n"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def to_text(diff: PlanDiff, markdown: bool = False) -> str:
    counts = diff.counts()
    risk = diff.risk.label if diff.risk else "none"
    bullet = "- " if markdown else "  "
    lines = [
        ("# " if markdown else "") + f"change risk: {risk.upper()}",
        "",
        f"{counts['create']} to create, {counts['update']} to update, {counts['replace']} to replace, "
        f"{counts['delete']} to delete, {diff.unchanged} unchanged",
    ]
    if diff.protected_deletions:
        lines += ["", ("## " if markdown else "") + "PROTECTED RESOURCES THAT WOULD BE DELETED OR REPLACED:"]
        lines += [f"{bullet}{c.action} {c.type} {c.name}: {c.reason}" for c in diff.protected_deletions]
    lines += ["", ("## " if markdown else "") + "changes:"]
    for change in diff.changes:
        lines.append(f"{bullet}[{change.risk.label}] {change.action} {change.type} {change.name}: {change.reason}")
        for prop in change.changes[:8]:
            lines.append(f"{bullet}    {prop.path}: {_short(prop.before)} -> {_short(prop.after)}")
        if len(change.changes) > 8:
            lines.append(f"{bullet}    ... and {len(change.changes) - 8} more properties")
    return "\n".join(lines) + "\n"
