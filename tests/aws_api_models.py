"""Check a plan's AWS inputs against AWS's own API models, as shipped in botocore.

The offline engine accepts whatever the SDK types accept; AWS does not. botocore carries every
service's model (`botocore/data/<service>/<version>/service-2.json`): each member's shape gives
min/max lengths or values, a pattern, an enum and the operation's required members. Some limits
(RDS and ElastiCache identifiers) exist only in the member's documentation; those sentences are
read too, so a limit is always the model's, never one copied here.

`MAPPING` ties each pulumi-aws input the estate sets to the API member that receives it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Iterator

from botocore.loaders import Loader


@dataclass(frozen=True)
class Member:
    service: str
    path: str
    """Operation input shape, then members: `CreateDBInstanceMessage.DBInstanceIdentifier`."""


# pulumi type -> {input path (`a.b`, `list[].b`) -> API member}
MAPPING: dict[str, dict[str, Member]] = {
    "aws:rds/instance:Instance": {
        "identifier": Member("rds", "CreateDBInstanceMessage.DBInstanceIdentifier"),
        "finalSnapshotIdentifier": Member("rds", "DeleteDBInstanceMessage.FinalDBSnapshotIdentifier"),
        "instanceClass": Member("rds", "CreateDBInstanceMessage.DBInstanceClass"),
        "engine": Member("rds", "CreateDBInstanceMessage.Engine"),
        "username": Member("rds", "CreateDBInstanceMessage.MasterUsername"),
        "backupRetentionPeriod": Member("rds", "CreateDBInstanceMessage.BackupRetentionPeriod"),
        "allocatedStorage": Member("rds", "CreateDBInstanceMessage.AllocatedStorage"),
    },
    "aws:rds/parameterGroup:ParameterGroup": {
        "family": Member("rds", "CreateDBParameterGroupMessage.DBParameterGroupFamily"),
        "description": Member("rds", "CreateDBParameterGroupMessage.Description"),
    },
    "aws:backup/vault:Vault": {"name": Member("backup", "CreateBackupVaultInput.BackupVaultName")},
    "aws:backup/plan:Plan": {
        "name": Member("backup", "CreateBackupPlanInput.BackupPlan.BackupPlanName"),
        "rules[].ruleName": Member("backup", "BackupRuleInput.RuleName"),
        "rules[].targetVaultName": Member("backup", "BackupRuleInput.TargetBackupVaultName"),
    },
    "aws:backup/selection:Selection": {"name": Member("backup", "BackupSelection.SelectionName")},
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration": {
        "backupVaultName": Member("backup", "PutBackupVaultLockConfigurationInput.BackupVaultName"),
    },
    "aws:kms/key:Key": {
        "description": Member("kms", "CreateKeyRequest.Description"),
        "rotationPeriodInDays": Member("kms", "EnableKeyRotationRequest.RotationPeriodInDays"),
        "deletionWindowInDays": Member("kms", "ScheduleKeyDeletionRequest.PendingWindowInDays"),
    },
    "aws:kms/alias:Alias": {"name": Member("kms", "CreateAliasRequest.AliasName")},
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": {
        "rule.defaultRetention.mode": Member("s3", "DefaultRetention.Mode"),
    },
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": {
        "rules[].transitions[].storageClass": Member("s3", "Transition.StorageClass"),
    },
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": {
        "rules[].applyServerSideEncryptionByDefault.sseAlgorithm": Member("s3", "ServerSideEncryptionByDefault.SSEAlgorithm"),
    },
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        "replicationGroupId": Member("elasticache", "CreateReplicationGroupMessage.ReplicationGroupId"),
        "description": Member("elasticache", "CreateReplicationGroupMessage.ReplicationGroupDescription"),
        "authTokenUpdateStrategy": Member("elasticache", "ModifyReplicationGroupMessage.AuthTokenUpdateStrategy"),
    },
    "aws:eks/cluster:Cluster": {
        "name": Member("eks", "CreateClusterRequest.name"),
        "accessConfig.authenticationMode": Member("eks", "CreateClusterRequest.accessConfig.authenticationMode"),
        "enabledClusterLogTypes[]": Member("eks", "LogSetup.types[]"),
    },
    "aws:eks/addon:Addon": {
        "resolveConflictsOnCreate": Member("eks", "CreateAddonRequest.resolveConflicts"),
        "resolveConflictsOnUpdate": Member("eks", "UpdateAddonRequest.resolveConflicts"),
    },
    "aws:eks/nodeGroup:NodeGroup": {
        "amiType": Member("eks", "CreateNodegroupRequest.amiType"),
        "scalingConfig.minSize": Member("eks", "NodegroupScalingConfig.minSize"),
        "scalingConfig.maxSize": Member("eks", "NodegroupScalingConfig.maxSize"),
    },
    "aws:efs/fileSystem:FileSystem": {
        "performanceMode": Member("efs", "CreateFileSystemRequest.PerformanceMode"),
        "throughputMode": Member("efs", "CreateFileSystemRequest.ThroughputMode"),
        "kmsKeyId": Member("efs", "CreateFileSystemRequest.KmsKeyId"),
        "lifecyclePolicies[].transitionToIa": Member("efs", "LifecyclePolicy.TransitionToIA"),
    },
    "aws:efs/backupPolicy:BackupPolicy": {"backupPolicy.status": Member("efs", "BackupPolicy.Status")},
    "aws:iam/role:Role": {
        "name": Member("iam", "CreateRoleRequest.RoleName"),
        "assumeRolePolicy": Member("iam", "CreateRoleRequest.AssumeRolePolicyDocument"),
    },
    "aws:iam/rolePolicy:RolePolicy": {"policy": Member("iam", "PutRolePolicyRequest.PolicyDocument")},
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
        "url": Member("iam", "CreateOpenIDConnectProviderRequest.Url"),
        "clientIdLists[]": Member("iam", "CreateOpenIDConnectProviderRequest.ClientIDList[]"),
    },
    "aws:ec2/vpcEndpoint:VpcEndpoint": {"vpcEndpointType": Member("ec2", "CreateVpcEndpointRequest.VpcEndpointType")},
    "aws:ec2/natGateway:NatGateway": {"connectivityType": Member("ec2", "CreateNatGatewayRequest.ConnectivityType")},
    "aws:ec2/eip:Eip": {"domain": Member("ec2", "AllocateAddressRequest.Domain")},
    "aws:secretsmanager/secret:Secret": {"name": Member("secretsmanager", "CreateSecretRequest.Name")},
}

# Constraints stated only in a member's documentation (RDS, ElastiCache identifiers).
_DOC_LENGTH = re.compile(
    r"(?:contain |must be |from )?(\d+) (?:to|and) (\d+) (?:alphanumeric characters|letters|characters|alphanumeric)", re.I
)
_DOC_LETTER_FIRST = re.compile(r"first character must be a letter", re.I)
_DOC_HYPHENS = re.compile(r"(?:can't|cannot) end with a hyphen or contain two consecutive hyphens", re.I)


@dataclass(frozen=True)
class Constraints:
    where: str
    type: str
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    letter_first: bool = False
    no_hyphen_runs: bool = False


@cache
def _shapes(service: str) -> dict[str, Any]:
    return Loader().load_service_model(service, "service-2")["shapes"]


@cache
def constraints(member: Member) -> Constraints:
    shapes = _shapes(member.service)
    head, *rest = member.path.split(".")
    shape_name, documentation = head, ""
    for part in rest:
        listed = part.endswith("[]")
        spec = shapes[shape_name]["members"][part.removesuffix("[]")]
        shape_name, documentation = spec["shape"], spec.get("documentation", "")
        if listed:
            shape_name = shapes[shape_name]["member"]["shape"]
    shape = shapes[shape_name]
    text = html.unescape(re.sub(r"<[^>]+>", " ", documentation))
    lengths = _DOC_LENGTH.search(text) if shape["type"] == "string" else None
    return Constraints(
        where=f"{member.service} {member.path}",
        type=shape["type"],
        min=shape.get("min", int(lengths.group(1)) if lengths else None),
        max=shape.get("max", int(lengths.group(2)) if lengths else None),
        pattern=shape.get("pattern"),
        enum=tuple(shape.get("enum", ())),
        letter_first=bool(_DOC_LETTER_FIRST.search(text)),
        no_hyphen_runs=bool(_DOC_HYPHENS.search(text)),
    )


def violations_of(value: Any, rule: Constraints) -> list[str]:
    if value is None or value == "[secret]":
        return []
    found = []
    if rule.type == "string":
        text = str(value)
        if rule.min is not None and len(text) < rule.min:
            found.append(f"{text!r} is shorter than {rule.min}")
        if rule.max is not None and len(text) > rule.max:
            found.append(f"{text!r} has {len(text)} characters, more than {rule.max}")
        if rule.pattern and not re.compile(rule.pattern).search(text):
            found.append(f"{text!r} does not match {rule.pattern}")
        if rule.enum and text not in rule.enum:
            found.append(f"{text!r} is not one of {', '.join(rule.enum)}")
        if rule.letter_first and not text[:1].isalpha():
            found.append(f"{text!r} does not start with a letter")
        if rule.no_hyphen_runs and ("--" in text or text.endswith("-")):
            found.append(f"{text!r} ends with a hyphen or has two in a row")
    elif rule.type in ("integer", "long"):
        if rule.min is not None and int(value) < rule.min:
            found.append(f"{value} is below {rule.min}")
        if rule.max is not None and int(value) > rule.max:
            found.append(f"{value} is above {rule.max}")
    return [f"{rule.where}: {message}" for message in found]


def values_at(props: Any, path: str) -> Iterator[Any]:
    head, _, rest = path.partition(".")
    listed = head.endswith("[]")
    value = props.get(head.removesuffix("[]")) if isinstance(props, dict) else None
    items = value if listed and isinstance(value, list) else [value]
    for item in items:
        if rest:
            yield from values_at(item, rest)
        else:
            yield item


def required(member: Member) -> bool:
    """Whether the operation requires the member (top-level members of the operation's input shape)."""
    shape, _, rest = member.path.partition(".")
    return "." not in rest and rest.removesuffix("[]") in _shapes(member.service)[shape].get("required", ())


def check_plan(plan: dict[str, Any]) -> list[str]:
    """Every mapped input of every AWS resource in the plan, against its API member; a member the operation requires
    must be set by the program (an auto-generated value would go unchecked)."""
    problems = []
    for resource in plan["resources"]:
        for path, member in MAPPING.get(resource["type"], {}).items():
            values = list(values_at(resource["inputs"], path))
            if required(member) and all(value is None for value in values):
                problems.append(f"{resource['name']}.{path}: {member.service} {member.path} is required but not set")
            for value in values:
                problems += [f"{resource['name']}.{path}: {p}" for p in violations_of(value, constraints(member))]
    return problems
