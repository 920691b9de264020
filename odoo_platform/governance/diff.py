"""Compare two plans: what is created, updated, replaced or deleted, and how risky each change is.

Risk follows what a finance estate can lose: deleting or replacing anything that holds data is
critical; database parameters, network rules and NetworkPolicies are high; an image change is
medium; labels and tags are low, whatever the resource. The change's class is the highest of its
parts. Besides resources, the diff compares what the plans' outputs say about each tenant (its
database server and host, tier, ring, image): a tenant whose database moves is critical even
where masked secrets hide the new host from the resource diff.
"""

from __future__ import annotations

import json
import re
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
# Cloud tags (Azure `tags`; AWS `tags` and the provider-merged `tagsAll`) are read by people and cost
# reports, never by the estate itself: changing them is low on any resource.
TAG_PROPERTIES = ("tags", "tagsAll")
# Kubernetes labels, including those of pod templates. A pod template's labels roll the workload's
# pods when they change, but with the same image and configuration and under its disruption budget,
# so that alone is low. A label is more than a label when something selects on it: which
# NetworkPolicy admits a pod, which Service routes to it, whether its Deployment still owns it,
# which namespaces an admission policy guards. So a label key that any selector of either plan
# reads (see `selected_label_keys`) is not "labels only".
LABEL_PROPERTIES = ("metadata.labels", "spec.template.metadata.labels", "spec.jobTemplate.spec.template.metadata.labels")
ANNOTATION_PROPERTIES = ("metadata.annotations",)
# Label and annotation keys the cluster or the cloud acts on: changing one is a change of security or
# exposure, not of metadata.
ACTING_KEYS = {
    "pod-security.kubernetes.io/": "changes the Pod Security admission level of a namespace",
    "azure.workload.identity/": "changes the cloud identity a workload acts as",
    "eks.amazonaws.com/role-arn": "changes the cloud identity a workload acts as",
    "service.beta.kubernetes.io/": "changes how the cloud's load balancer exposes a Service",
}


# What a plan's outputs say about each tenant, the risk of a change to it, and why. The database host
# is derived (the host of the tenant's server in `postgresServers`): the resource diff cannot show it,
# because odoo.conf is a masked secret and the credentials revision is mocked offline.
TENANT_FACTS: dict[str, tuple[Risk, str]] = {
    "postgresServer": (Risk.CRITICAL, "moves to another database server: its data is on the old one until migrated"),
    "databaseHost": (Risk.CRITICAL, "moves to another database server: its data is on the old one until migrated"),
    "namespace": (Risk.CRITICAL, "moves to another namespace: its filestore volume is created anew"),
    "isolation": (Risk.HIGH, "changes what the tenant shares with other tenants"),
    "tier": (Risk.HIGH, "changes the tenant's recovery promises (RPO, RTO, backups, HA)"),
    "rpoMinutes": (Risk.HIGH, "changes the tenant's recovery promises (RPO, RTO, backups, HA)"),
    "rtoMinutes": (Risk.HIGH, "changes the tenant's recovery promises (RPO, RTO, backups, HA)"),
    "hostname": (Risk.HIGH, "changes the address the tenant's users and integrations reach"),
    "image": (Risk.MEDIUM, "changes the running image (an upgrade Job migrates the database)"),
    "ring": (Risk.LOW, "changes the release ring the tenant follows"),
}
# A fact a newer program exports that this table does not know yet is still shown, at the class of a
# configuration change.
OTHER_TENANT_FACT = (Risk.MEDIUM, "changes what the plan says about the tenant")
DATABASE_HOST = "databaseHost"
PROPERTY_LINES = 8
"""Property changes shown per resource in text and Markdown (JSON has all)."""
VALUE_WIDTH = 60
"""Characters of a value shown in text and Markdown before it is cut around where the two sides differ."""
VALUE_CONTEXT = 12
"""Characters of the common part shown before the first difference, so a reader can place it."""


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
class TenantChange:
    """A change to what the plans' outputs say about one tenant (server, database host, tier, ring, image, ...)."""

    tenant: str
    action: str  # add, remove, update
    risk: Risk
    reason: str
    changes: list[PropertyChange] = field(default_factory=list)


@dataclass
class PlanDiff:
    before_stack: str
    after_stack: str
    changes: list[ResourceChange]
    unchanged: int
    tenants: list[TenantChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What makes the comparison itself doubtful (plans of two different stacks)."""

    @property
    def risk(self) -> Risk | None:
        return max((c.risk for c in [*self.changes, *self.tenants]), default=None)

    @property
    def protected_deletions(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.protected and c.action in ("delete", "replace")]

    def counts(self) -> dict[str, int]:
        return {action: sum(1 for c in self.changes if c.action == action) for action in ("create", "update", "replace", "delete")}


def diff_plans(before: dict[str, Any], after: dict[str, Any]) -> PlanDiff:
    old = {r["urn"]: r for r in before["resources"] if not r["component"]}
    new = {r["urn"]: r for r in after["resources"] if not r["component"]}
    selected = selected_label_keys(before, after)
    changes: list[ResourceChange] = []
    unchanged = 0
    for urn in sorted(old.keys() | new.keys()):
        if urn not in old:
            changes.append(resource_change(new[urn], "create", [], selected_labels=selected))
        elif urn not in new:
            changes.append(resource_change(old[urn], "delete", [], selected_labels=selected))
        else:
            properties = list(_property_changes(old[urn]["inputs"], new[urn]["inputs"]))
            protect_changed = old[urn]["protect"] != new[urn]["protect"]
            if not properties and not protect_changed:
                unchanged += 1
                continue
            if protect_changed:
                properties.append(PropertyChange("(protect)", old[urn]["protect"], new[urn]["protect"]))
            replaced = any(_forces_replacement(old[urn]["type"], p.path) for p in properties)
            changes.append(resource_change(old[urn], "replace" if replaced else "update", properties, selected_labels=selected))
    order = {"delete": 0, "replace": 1, "update": 2, "create": 3}
    changes.sort(key=lambda c: (not (c.protected and c.action in ("delete", "replace")), -c.risk, order[c.action], c.urn))
    return PlanDiff(before_stack=before["stack"], after_stack=after["stack"], changes=changes, unchanged=unchanged,
                    tenants=tenant_changes(before, after), warnings=_warnings(before, after))


def _warnings(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    # URNs carry the stack and project, so plans of two estates share no resource: everything would
    # read as deleted and created, and the risk class would describe no real change.
    warnings = []
    for key in ("stack", "project"):
        if before.get(key) != after.get(key):
            warnings.append(f"BEFORE is a plan of {key} {before.get(key)!r} and AFTER of {key} {after.get(key)!r}: "
                            f"this compares two different estates, not a change to one")
    return warnings


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


def selected_label_keys(*plans: dict[str, Any]) -> frozenset[str]:
    """Label keys some Kubernetes selector of the plans reads (label selectors, Service selectors, Helm values)."""
    keys: set[str] = set()
    for plan in plans:
        for resource in plan["resources"]:
            if resource["type"].startswith("kubernetes:"):
                _collect_selector_keys(resource["inputs"], keys)
    return frozenset(keys)


def _collect_selector_keys(value: Any, keys: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "matchLabels" and isinstance(item, dict):
                keys.update(item)
            elif key == "matchExpressions" and isinstance(item, list):
                keys.update(e["key"] for e in item if isinstance(e, dict) and "key" in e)
            elif key == "selector" and isinstance(item, dict) and all(isinstance(v, str) for v in item.values()):
                keys.update(item)  # a Service's selector is a plain label map
            _collect_selector_keys(item, keys)
    elif isinstance(value, list):
        for item in value:
            _collect_selector_keys(item, keys)


def resource_change(
    resource: dict[str, Any], action: str, properties: list[PropertyChange], reason_prefix: str = "",
    selected_labels: frozenset[str] = frozenset(),
) -> ResourceChange:
    """A plan resource's change with its risk class (the diff's and the drift report's one classification).

    `selected_labels` are the label keys selectors read (`selected_label_keys`): a change to one of
    them is not a labels-only change."""
    stateful = resource["type"] in STATEFUL_TYPES or bool(resource["protect"])
    risk, reason = _classify(resource["type"], action, stateful, properties, selected_labels)
    return ResourceChange(urn=resource["urn"], type=resource["type"], name=resource["name"], action=action, risk=risk,
                          reason=reason_prefix + reason, protected=bool(resource["protect"]), stateful=stateful,
                          changes=properties)


def _classify(type_: str, action: str, stateful: bool, properties: list[PropertyChange],
              selected_labels: frozenset[str]) -> tuple[Risk, str]:
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
    # Before the type's class: a tag on a security group or a database server changes neither.
    metadata = _metadata_keys(properties)
    if metadata is not None:
        labels, annotations = metadata
        acting = [reason for key in sorted(labels | annotations) for prefix, reason in ACTING_KEYS.items()
                  if key.startswith(prefix)]
        if acting:
            return Risk.HIGH, acting[0]
        if not labels & selected_labels:
            return Risk.LOW, "labels and tags only"
    paths = [p.path for p in properties]
    if type_ in HIGH_RISK_TYPES:
        return Risk.HIGH, "changes network rules, access or database parameters"
    if any(any(_covers(prefix, path) for prefix in HIGH_RISK_PROPERTIES) for path in paths):
        return Risk.HIGH, "changes recovery, encryption or network settings of a data service"
    if any(path.endswith(".image") or path == "image" for path in paths):
        return Risk.MEDIUM, "changes the running image (an upgrade Job migrates the database)"
    if metadata is not None:
        return Risk.MEDIUM, "changes labels that selectors read (network policies, services, workload ownership)"
    return Risk.MEDIUM, "changes configuration"


def _metadata_keys(properties: list[PropertyChange]) -> tuple[set[str], set[str]] | None:
    """The label and the annotation keys the changes touch, or None when anything besides tags, labels and
    annotations changes."""
    labels: set[str] = set()
    annotations: set[str] = set()
    for prop in properties:
        if any(_covers(prefix, prop.path) for prefix in TAG_PROPERTIES):
            continue
        for prefixes, keys in ((LABEL_PROPERTIES, labels), (ANNOTATION_PROPERTIES, annotations)):
            prefix = next((prefix for prefix in prefixes if _covers(prefix, prop.path)), None)
            if prefix is not None:
                keys.update(_keys_under(prefix, prop))
                break
        else:
            return None
    return labels, annotations


def _keys_under(prefix: str, prop: PropertyChange) -> set[str]:
    if prop.path != prefix:
        return {prop.path[len(prefix) + 1:]}
    # The whole map appeared or went: each of its keys changed.
    return {key for side in (prop.before, prop.after) if isinstance(side, dict) for key in side}


def _tenant_facts(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    outputs = plan.get("outputs") or {}
    hosts = outputs.get("postgresServers") or {}
    facts = {}
    for name, tenant in (outputs.get("tenants") or {}).items():
        facts[name] = dict(tenant)
        if tenant.get("postgresServer") in hosts:
            facts[name][DATABASE_HOST] = hosts[tenant["postgresServer"]]
    return facts


def tenant_changes(before: dict[str, Any], after: dict[str, Any]) -> list[TenantChange]:
    """Tenants added, removed or changed according to the plans' outputs, riskiest first."""
    old, new = _tenant_facts(before), _tenant_facts(after)
    changes = []
    for name in sorted(old.keys() | new.keys()):
        if name not in old:
            changes.append(TenantChange(name, "add", Risk.LOW, "joins the estate",
                                        [PropertyChange(k, None, v) for k, v in sorted(new[name].items())]))
        elif name not in new:
            changes.append(TenantChange(name, "remove", Risk.CRITICAL, "leaves the estate: its database and filestore go with it",
                                        [PropertyChange(k, v, None) for k, v in sorted(old[name].items())]))
        else:
            # Only facts both plans state: a fact one program version does not export is no change of the tenant.
            properties = [PropertyChange(k, old[name][k], new[name][k])
                          for k in sorted(old[name].keys() & new[name].keys()) if old[name][k] != new[name][k]]
            if properties:
                risk, reason = max((TENANT_FACTS.get(p.path, OTHER_TENANT_FACT) for p in properties), key=lambda c: c[0])
                changes.append(TenantChange(name, "update", risk, reason, properties))
    changes.sort(key=lambda c: (-c.risk, c.tenant))
    return changes


def to_json(diff: PlanDiff) -> str:
    document = {
        "before": diff.before_stack,
        "after": diff.after_stack,
        "warnings": diff.warnings,
        "risk": diff.risk.label if diff.risk else "none",
        "counts": diff.counts() | {"unchanged": diff.unchanged},
        "tenants": [asdict(c) | {"risk": c.risk.label} for c in diff.tenants],
        "protectedDeletions": [c.urn for c in diff.protected_deletions],
        "changes": [asdict(c) | {"risk": c.risk.label} for c in diff.changes],
    }
    return json.dumps(document, indent=2, default=str) + "\n"


def _render(value: Any) -> str:
    # A plain string reads as itself; one that is empty or spans lines is quoted, so it stays on its line.
    if isinstance(value, str) and value.isprintable() and value:
        return value
    return json.dumps(value, default=str)


def shown_values(before: Any, after: Any) -> tuple[str, str]:
    """Both sides of a change as short text that still differs: a long value is cut around where the sides differ.

    Both sides are cut at the same place, a little before their first difference, so what is shown
    of each starts alike and then parts exactly where the values part (digests differing in their
    last characters, rule expressions differing in the middle)."""
    old, new = _render(before), _render(after)
    if old == new:  # the string "2" and the number 2, the string "null" and null
        old, new = json.dumps(before, default=str), json.dumps(after, default=str)
    if len(old) <= VALUE_WIDTH and len(new) <= VALUE_WIDTH:
        return old, new
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    start = max(0, prefix - VALUE_CONTEXT)
    return _window(old, start, len(old) - suffix), _window(new, start, len(new) - suffix)


def _window(text: str, start: int, differs_until: int) -> str:
    # Through the end of this side's differing part and a little after, within the width.
    end = min(len(text), differs_until + VALUE_CONTEXT, start + VALUE_WIDTH)
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def _code(text: str) -> str:
    """A Markdown code span that holds any text: its fence is longer than any run of backticks in it."""
    run = max((len(m) for m in re.findall("`+", text)), default=0)
    pad = " " if run else ""
    return f"{'`' * (run + 1)}{pad}{text}{pad}{'`' * (run + 1)}"


def to_text(diff: PlanDiff, markdown: bool = False) -> str:
    """The diff for people: plain text, or Markdown that nests under any heading (no headings of its own)."""
    show = _code if markdown else str
    counts = diff.counts()
    risk = diff.risk.label if diff.risk else "none"
    lines = []
    for warning in diff.warnings:
        lines += [f"> **WARNING:** {warning}" if markdown else f"WARNING: {warning}", ""]
    lines += [
        f"**change risk: {risk.upper()}**" if markdown else f"change risk: {risk.upper()}",
        "",
        f"{counts['create']} to create, {counts['update']} to update, {counts['replace']} to replace, "
        f"{counts['delete']} to delete, {diff.unchanged} unchanged; "
        f"{len(diff.tenants)} tenant{'' if len(diff.tenants) == 1 else 's'} added, removed or changed",
    ]

    def values(prop: PropertyChange) -> str:
        old, new = shown_values(prop.before, prop.after)
        return f"{show(prop.path)}: {show(old)} -> {show(new)}"

    tenants = [(f"[{c.risk.label}] {c.action} tenant {show(c.tenant)}: {c.reason}", [values(p) for p in c.changes])
               for c in diff.tenants]
    protected = [(f"{c.action} {show(c.type)} {show(c.name)}: {c.reason}", []) for c in diff.protected_deletions]
    resources = []
    for change in diff.changes:
        details = [values(p) for p in change.changes[:PROPERTY_LINES]]
        if len(change.changes) > PROPERTY_LINES:
            details.append(f"... and {len(change.changes) - PROPERTY_LINES} more properties")
        resources.append((f"[{change.risk.label}] {change.action} {show(change.type)} {show(change.name)}: {change.reason}",
                          details))
    for title, items in (("tenants", tenants), ("PROTECTED RESOURCES THAT WOULD BE DELETED OR REPLACED", protected),
                         ("changes", resources)):
        if items:
            lines += ["", f"**{title}:**" if markdown else f"{title}:"]
            lines += [""] if markdown else []
            for headline, details in items:
                lines.append(f"- {headline}" if markdown else f"  {headline}")
                lines += [f"  - {d}" if markdown else f"      {d}" for d in details]
    if not diff.changes and not diff.tenants:
        lines += ["", "no changes"]
    return "\n".join(lines) + "\n"
