"""Each rule: a compliant case and a violating case, written like the plan's resources."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from odoo_platform.policy.rule import Context, Resource
from odoo_platform.policy.rules import PACKS
from odoo_platform.policy.runner import run_pack
from tests.conftest import ROOT
from tests.stack_plans import plan_of
from tests.test_aws_policy import AWS_CASES
from tests.test_azure_policy import AZURE_CASES, AZURE_STACK_RULES

DEV, PROD = Context("dev"), Context("prod")
RULES = {rule.id: rule for rules in PACKS.values() for rule in rules}

POD = {"securityContext": {"runAsNonRoot": True},
       "containers": [{"name": "odoo", "image": "r/odoo@sha256:" + "a" * 64,
                       "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                       "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}
DEPLOYMENT = Resource("kubernetes:apps/v1:Deployment", "urn:d", {
    "metadata": {"name": "odoo-web", "namespace": "odoo-acme", "labels": {"app.kubernetes.io/name": "odoo"}},
    "spec": {"template": {"spec": POD}}})


def _with(resource: Resource, path: list, value) -> Resource:
    props = copy.deepcopy(dict(resource.props))
    target = props
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return Resource(resource.type, resource.urn, props, resource.protect)


CONTAINER = ["spec", "template", "spec", "containers", 0]
S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def R(type_: str, props: dict, **extra) -> Resource:  # noqa: N802 - reads like a constructor in the table
    return Resource(type_, f"urn:{type_}", props, **extra)


STORAGE = R("azure-native:storage:StorageAccount", {
    "enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False,
    "publicNetworkAccess": "Disabled",
    "encryption": {"keySource": "Microsoft.Keyvault", "requireInfrastructureEncryption": True},
    "immutableStorageWithVersioning": {"enabled": True, "immutabilityPolicy": {"state": "Locked"}},
})
INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute"
WEB = _with(_with(DEPLOYMENT, ["metadata", "labels"], {"app.kubernetes.io/component": "web"}), ["spec", "replicas"], 2)
WEB = _with(WEB, CONTAINER + ["livenessProbe"], {"httpGet": {"path": "/web/health"}})
CRON = _with(_with(DEPLOYMENT, ["metadata", "labels"], {"app.kubernetes.io/component": "cron"}), ["spec", "replicas"], 1)
SIGNED_REPO = "registry.example.com/odoo/odoo"
SIGNED_PROD = Context("prod", approved_registries=("registry.example.com/odoo", "docker.io/library"),
                      signed_repositories=(SIGNED_REPO,))
CLUSTER_POLICY = "kubernetes:kyverno.io/v1:ClusterPolicy"
VERIFY_RULE = {"name": "signed", "verifyImages": [{"imageReferences": [SIGNED_REPO + ":*", SIGNED_REPO + "@*"], "failureAction": "Enforce",
                                                   "attestors": [{"entries": [{"keys": {"kms": "awskms:///alias/k"}}]}]}]}
TAGS = {"environment": "prod", "owner": "platform-team", "cost-centre": "client-a", "tenant": "a", "tier": "2"}
LABELS = {f"odoo-platform.io/{k}": v for k, v in TAGS.items()}
ADO = "azuredevops:index/"
REVIEWS = {"reviewerCount": 2, "submitterCanVote": False, "lastPusherCannotApprove": True}
CASES = {
    "ENC-01": (DEPLOYMENT, _with(DEPLOYMENT, CONTAINER + ["env"], [{"name": "DB_PASSWORD", "value": "hunter2"}]), DEV),
    "ENC-02": (Resource("kubernetes:traefik.io/v1alpha1:IngressRoute", "u", {"spec": {"entryPoints": ["websecure"], "tls": {"secretName": "t"}}}),
               Resource("kubernetes:traefik.io/v1alpha1:IngressRoute", "u", {"spec": {"entryPoints": ["web"], "routes": [{"match": "Host(`a`)"}]}}), DEV),
    "ENC-03": (Resource("kubernetes:traefik.io/v1alpha1:TLSOption", "u", {"spec": {"minVersion": "VersionTLS12"}}),
               Resource("kubernetes:traefik.io/v1alpha1:TLSOption", "u", {"spec": {"minVersion": "VersionTLS10"}}), DEV),
    "ENC-04": (Resource("aws:rds/instance:Instance", "u", {"storageEncrypted": True}),
               Resource("aws:rds/instance:Instance", "u", {"storageEncrypted": False}), DEV),
    "SEG-01": (Resource("kubernetes:core/v1:Namespace", "u", {"metadata": {"name": "odoo-acme", "labels": {
                   "odoo-platform.io/tenant": "acme", "pod-security.kubernetes.io/enforce": "restricted"}}}),
               Resource("kubernetes:core/v1:Namespace", "u", {"metadata": {"name": "odoo-acme", "labels": {
                   "odoo-platform.io/tenant": "acme", "pod-security.kubernetes.io/enforce": "baseline"}}}), DEV),
    "SEG-03": (Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", "u", {"metadata": {"namespace": "odoo-a"}, "spec": {
                   "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}]}]}}),
               Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", "u", {"metadata": {"namespace": "odoo-a"}, "spec": {
                   "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "odoo-b"}}}]}]}}), DEV),
    "SEG-04": (DEPLOYMENT, _with(DEPLOYMENT, ["spec", "template", "spec", "hostNetwork"], True), DEV),
    "SEG-05": (DEPLOYMENT, _with(DEPLOYMENT, ["spec", "template", "spec", "securityContext"], {}), DEV),
    "SEG-17": (_with(DEPLOYMENT, CONTAINER + ["securityContext"], {"allowPrivilegeEscalation": False}), DEPLOYMENT, DEV),
    "SEG-06": (Resource("azure-native:dbforpostgresql:Server", "u", {"network": {"publicNetworkAccess": "Disabled"}}),
               Resource("azure-native:dbforpostgresql:Server", "u", {"network": {"publicNetworkAccess": "Enabled"}}), DEV),
    "SEG-07": (Resource("aws:rds/instance:Instance", "u", {"publiclyAccessible": False}),
               Resource("aws:rds/instance:Instance", "u", {"publiclyAccessible": True}), DEV),
    "SEG-08": (Resource("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "u", {"metadata": {"namespace": "odoo-a"}, "roleRef": {"kind": "Role"}}),
               Resource("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "u", {"metadata": {"namespace": "odoo-a"}, "roleRef": {"kind": "ClusterRole"}}), DEV),
    "RES-01": (Resource("aws:rds/instance:Instance", "u", {"backupRetentionPeriod": 14}),
               Resource("aws:rds/instance:Instance", "u", {"backupRetentionPeriod": 1}), DEV),
    "RES-02": (Resource("aws:backup/vault:Vault", "u", {}, protect=True), Resource("aws:backup/vault:Vault", "u", {}), DEV),
    "RES-03": (Resource("aws:rds/instance:Instance", "u", {"deletionProtection": True}),
               Resource("aws:rds/instance:Instance", "u", {"deletionProtection": False}), DEV),
    "RES-04": (DEPLOYMENT, _with(DEPLOYMENT, CONTAINER + ["image"], "docker.io/library/odoo:17.0"), PROD),
    "RES-05": (DEPLOYMENT, _with(DEPLOYMENT, CONTAINER + ["resources"], {}), DEV),
    "RES-06": (Resource("azure-native:dataprotection:BackupVault", "u", {"properties": {"securitySettings": {"immutabilitySettings": {"state": "Locked"}}}}),
               Resource("azure-native:dataprotection:BackupVault", "u", {"properties": {"securitySettings": {"immutabilitySettings": {"state": "Unlocked"}}}}), PROD),
    "ENC-05": (Resource("kubernetes:core/v1:ConfigMap", "u", {"data": {"LOG_LEVEL": "info"}}),
               Resource("kubernetes:core/v1:ConfigMap", "u", {"data": {"DB_PASSWORD": "x"}}), DEV),
    "ENC-06": (_with(DEPLOYMENT, CONTAINER, {"name": "redis", "image": "redis:7", "args": ["--requirepass", "$(P)"]}),
               _with(DEPLOYMENT, CONTAINER, {"name": "redis", "image": "redis:7", "args": []}), DEV),
    "ENC-07": (Resource("aws:rds/parameterGroup:ParameterGroup", "u", {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "1"}]}),
               Resource("aws:rds/parameterGroup:ParameterGroup", "u", {"family": "postgres16", "parameters": []}), DEV),
    "SEG-09": (_with(DEPLOYMENT, ["spec", "template", "spec", "automountServiceAccountToken"], False), DEPLOYMENT, DEV),
    "SEG-10": (Resource("kubernetes:core/v1:Service", "u", {"metadata": {"namespace": "odoo-a"}, "spec": {"type": "ClusterIP"}}),
               Resource("kubernetes:core/v1:Service", "u", {"metadata": {"namespace": "odoo-a"}, "spec": {"type": "LoadBalancer"}}), DEV),
    "RES-07": (_with(WEB, ["spec", "replicas"], 2), _with(WEB, ["spec", "replicas"], 1), PROD),
    "RES-08": (Resource("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "u", {"metadata": {"namespace": "odoo-a"}, "spec": {"minReplicas": 2}}),
               Resource("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "u", {"metadata": {"namespace": "odoo-a"}, "spec": {"minReplicas": 1}}), PROD),
    "RES-10": (_with(WEB, CONTAINER + ["readinessProbe"], {"httpGet": {"path": "/web/health"}}), WEB, DEV),
    "RES-11": (_with(CRON, ["spec", "strategy"], {"type": "Recreate"}), _with(CRON, ["spec", "strategy"], {"type": "RollingUpdate"}), DEV),
    "RES-12": (Resource("aws:rds/instance:Instance", "u", {"tags": {"tier": "1"}, "multiAz": True}),
               Resource("aws:rds/instance:Instance", "u", {"tags": {"tier": "1"}, "multiAz": False}), PROD),
    "RES-13": (Resource("azure-native:dbforpostgresql:Server", "u", {"tags": {"tier": "1"}, "backup": {"geoRedundantBackup": "Enabled"}}),
               Resource("azure-native:dbforpostgresql:Server", "u", {"tags": {"tier": "1"}, "backup": {"geoRedundantBackup": "Disabled"}}), PROD),
    "ENC-08": (R("azure-native:dbforpostgresql:Server", {"dataEncryption": {"type": "AzureKeyVault", "primaryKeyURI": "https://kv/keys/k"}}),
               R("azure-native:dbforpostgresql:Server", {"dataEncryption": {"type": "SystemManaged"}}), DEV),
    "ENC-09": (R("aws:rds/instance:Instance", {"kmsKeyId": "arn:aws:kms:k"}), R("aws:rds/instance:Instance", {}), DEV),
    "ENC-10": (STORAGE, R(STORAGE.type, {**STORAGE.props, "minimumTlsVersion": "TLS1_0"}), DEV),
    "ENC-11": (R("aws:backup/vault:Vault", {"kmsKeyArn": "arn:aws:kms:k"}), R("aws:backup/vault:Vault", {}), DEV),
    "ENC-12": (R("azure-native:redis:Redis", {"enableNonSslPort": False, "minimumTlsVersion": "1.2"}),
               R("azure-native:redis:Redis", {"enableNonSslPort": True, "minimumTlsVersion": "1.2"}), DEV),
    "ENC-13": (R("aws:kms/key:Key", {"enableKeyRotation": True}), R("aws:kms/key:Key", {"enableKeyRotation": False}), DEV),
    "ENC-14": (R(S3_SSE, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"}}]}),
               R(S3_SSE, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}), DEV),
    "ENC-16": (R("azure-native:keyvault:Vault", {"properties": {"enablePurgeProtection": True, "enableRbacAuthorization": True}}),
               R("azure-native:keyvault:Vault", {"properties": {"enablePurgeProtection": False, "enableRbacAuthorization": True}}), DEV),
    "SEG-13": (STORAGE, R(STORAGE.type, {**STORAGE.props, "publicNetworkAccess": "Enabled"}), DEV),
    "SEG-14": (R(S3_PAB, dict.fromkeys(PAB_FLAGS, True)), R(S3_PAB, dict.fromkeys(PAB_FLAGS, True) | {"restrictPublicBuckets": False}), DEV),
    "SEG-16": (R("aws:ec2/securityGroup:SecurityGroup", {"ingress": [{"cidrBlocks": ["10.50.16.0/20"]}]}),
               R("aws:ec2/securityGroup:SecurityGroup", {"ingress": [{"cidrBlocks": ["0.0.0.0/0"]}]}), DEV),
    "RES-14": (R("aws:rds/instance:Instance", {"tags": {"tier": "1"}, "backupRetentionPeriod": 35}),
               R("aws:rds/instance:Instance", {"tags": {"tier": "1"}, "backupRetentionPeriod": 14}), Context("dev", {1: 35})),
    "RES-16": (R(S3_LOCK, {"rule": {"defaultRetention": {"mode": "COMPLIANCE", "days": 365}}}),
               R(S3_LOCK, {"rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": 365}}}), PROD),
    "RES-17": (STORAGE, R(STORAGE.type, {**STORAGE.props, "immutableStorageWithVersioning": {
                   "enabled": True, "immutabilityPolicy": {"state": "Unlocked"}}}), PROD),
    "ENC-18": (R("azure-native:keyvault:Key", {"properties": {"rotationPolicy": {"lifetimeActions": [
                   {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P90D"}}]}}}),
               R("azure-native:keyvault:Key", {"properties": {"rotationPolicy": {"lifetimeActions": [
                   {"action": {"type": "notify"}, "trigger": {"timeBeforeExpiry": "P30D"}}]}}}), DEV),
    "SUP-01": (_with(DEPLOYMENT, CONTAINER + ["image"], SIGNED_REPO + "@sha256:" + "a" * 64), _with(DEPLOYMENT, CONTAINER + ["image"], "ghcr.io/someone/odoo@sha256:" + "a" * 64), SIGNED_PROD),
    "SUP-02": (_with(DEPLOYMENT, CONTAINER + ["image"], SIGNED_REPO + "@sha256:" + "b" * 64),
               _with(DEPLOYMENT, CONTAINER + ["image"], SIGNED_REPO + ":17.0"), SIGNED_PROD),
    "SUP-04": (R(CLUSTER_POLICY, {"spec": {"webhookConfiguration": {"failurePolicy": "Fail"}, "rules": [VERIFY_RULE]}}),
               R(CLUSTER_POLICY, {"spec": {"webhookConfiguration": {"failurePolicy": "Ignore"}, "rules": [VERIFY_RULE]}}),
               SIGNED_PROD),
    "TAG-01": (R("azure-native:keyvault:Vault", {"tags": TAGS}),
               R("azure-native:keyvault:Vault", {"tags": {k: v for k, v in TAGS.items() if k != "cost-centre"}}), DEV),
    "TAG-02": (_with(DEPLOYMENT, ["metadata", "labels"], LABELS),
               _with(DEPLOYMENT, ["metadata", "labels"], {k: v for k, v in LABELS.items() if not k.endswith("/owner")}), DEV),
    "DEL-02": (R(ADO + "checkApproval:CheckApproval", {"approvers": ["g"], "requesterCanApprove": False}),
               R(ADO + "checkApproval:CheckApproval", {"approvers": ["g"], "requesterCanApprove": True}), DEV),
    "DEL-05": (R(ADO + "serviceEndpointAzureRM:ServiceEndpointAzureRM", {
                   "serviceEndpointAuthenticationScheme": "WorkloadIdentityFederation"}),
               R(ADO + "serviceEndpointAzureRM:ServiceEndpointAzureRM", {
                   "serviceEndpointAuthenticationScheme": "ServicePrincipal"}), DEV),
    "DEL-06": (R(ADO + "branchPolicyMinReviewers:BranchPolicyMinReviewers", {"settings": REVIEWS}),
               R(ADO + "branchPolicyMinReviewers:BranchPolicyMinReviewers", {"settings": REVIEWS | {"submitterCanVote": True}}),
               DEV),
}
STACK_RULES = {"SEG-02", "SEG-11", "SEG-12", "RES-09", "ENC-15", "SEG-15", "RES-15", "RES-18", "ENC-17", "SUP-03",
               "DEL-01", "DEL-03", "DEL-04"}
# The cloud pack's AWS rules: cases and stack-rule tests in tests/test_aws_policy.py.
CASES |= AWS_CASES
STACK_RULES |= {"AWS-02", "AWS-03", "AWS-04", "AWS-05"}
# The cloud pack's rules keep their cases beside them.
CASES |= AZURE_CASES
STACK_RULES |= AZURE_STACK_RULES


def test_rule_ids_are_unique_and_every_rule_has_cases():
    ids = [rule.id for rules in PACKS.values() for rule in rules]
    assert len(ids) == len(set(ids)) >= 30
    assert set(ids) == set(CASES) | STACK_RULES
    for rules in PACKS.values():
        for rule in rules:
            assert rule.description.endswith(".") and rule.remediation.endswith(".")
            assert (rule.check is None) != (rule.check_stack is None)
            assert rule.name == rule.name.lower() and " " not in rule.name


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_compliant_passes_and_violating_fails(rule_id):
    compliant, violating, context = CASES[rule_id]
    rule = RULES[rule_id]
    assert rule.evaluate(compliant, context) is None
    message = rule.evaluate(violating, context)
    assert message and "(" in message  # says what to change


def test_quota_and_pdb_are_stack_rules():
    namespace = Resource("kubernetes:core/v1:Namespace", "urn:ns", {"metadata": {"name": "odoo-a"}})
    quota = Resource("kubernetes:core/v1:ResourceQuota", "urn:q", {"metadata": {"namespace": "odoo-a"}})
    assert RULES["SEG-11"].check_stack([namespace, quota], DEV) == []
    assert [u for u, _ in RULES["SEG-11"].check_stack([namespace], DEV)] == ["urn:ns"]
    web = _with(WEB, ["metadata", "namespace"], "odoo-a")
    pdb = Resource("kubernetes:policy/v1:PodDisruptionBudget", "urn:p", {"metadata": {"namespace": "odoo-a"}})
    assert RULES["RES-09"].check_stack([web, pdb], DEV) == []
    assert [u for u, _ in RULES["RES-09"].check_stack([web], DEV)] == [web.urn]


def test_data_plane_stack_rules():
    bucket = R("aws:s3/bucket:Bucket", {})
    tls_policy = R("aws:s3/bucketPolicy:BucketPolicy", {"policy": '{"Condition": {"Bool": {"aws:SecureTransport": "false"}}}'},
                   dependencies=(bucket.urn,))
    assert RULES["ENC-15"].check_stack([bucket, tls_policy], DEV) == []
    assert [u for u, _ in RULES["ENC-15"].check_stack([bucket], DEV)] == [bucket.urn]

    key = Resource("aws:kms/key:Key", "urn:key", {})
    own_key = Resource("aws:kms/key:Key", "urn:own", {})
    shared = Resource("aws:rds/instance:Instance", "urn:shared", {"tags": {"postgres-server": "shared"}}, dependencies=("urn:key",))
    dedicated = Resource("aws:rds/instance:Instance", "urn:ded", {"tags": {"postgres-server": "dedicated-bank"}},
                         dependencies=("urn:own",))
    assert RULES["SEG-15"].check_stack([key, own_key, shared, dedicated], DEV) == []
    leaking = Resource(dedicated.type, dedicated.urn, dedicated.props, dependencies=("urn:key",))
    assert [u for u, _ in RULES["SEG-15"].check_stack([key, shared, leaking], DEV)] == ["urn:ded"]

    vault = Resource("aws:backup/vault:Vault", "urn:vault", {})
    lock = Resource("aws:backup/vaultLockConfiguration:VaultLockConfiguration", "urn:lock", {"changeableForDays": 3},
                    dependencies=("urn:vault",))
    governance = Resource(lock.type, lock.urn, {}, dependencies=("urn:vault",))
    assert RULES["RES-15"].check_stack([vault, lock], PROD) == []
    assert RULES["RES-15"].check_stack([vault, governance], DEV) == []
    assert len(RULES["RES-15"].check_stack([vault, governance], PROD)) == 1
    assert len(RULES["RES-15"].check_stack([vault], DEV)) == 1

    server = R("azure-native:dbforpostgresql:Server", {})
    delete_lock = R("azure-native:authorization:ManagementLockAtResourceLevel", {"level": "CanNotDelete"},
                    dependencies=(server.urn,))
    assert RULES["RES-18"].check_stack([server, delete_lock], DEV) == []
    assert [u for u, _ in RULES["RES-18"].check_stack([server], DEV)] == [server.urn]


def test_production_passwords_must_rotate():
    rotation = R("time:index/rotating:Rotating", {"rotationDays": 30})
    rotated = R("random:index/randomPassword:RandomPassword", {"keepers": {"rotation": "2026-01-01T00:00:00Z"}},
                dependencies=(rotation.urn,))
    static = Resource(rotated.type, "urn:static", {"length": 32})
    check = RULES["ENC-17"].check_stack
    assert check([rotation, rotated], PROD) == []
    assert [urn for urn, _ in check([rotation, rotated, static], PROD)] == ["urn:static"]
    assert check([static], DEV) == []  # dev may keep a password; the rule is about production


def test_signature_verification_covers_every_odoo_image():
    policy = R(CLUSTER_POLICY, {"spec": {"rules": [VERIFY_RULE]}})
    signed = _with(DEPLOYMENT, CONTAINER + ["image"], SIGNED_REPO + "@sha256:" + "c" * 64)
    other_path = Resource(DEPLOYMENT.type, "urn:other", _with(
        DEPLOYMENT, CONTAINER + ["image"], "registry.example.com/odoo/odoo-custom@sha256:" + "d" * 64).props)
    check = RULES["SUP-03"].check_stack
    assert check([policy, signed], SIGNED_PROD) == []
    assert [urn for urn, _ in check([policy, signed, other_path], SIGNED_PROD)] == ["urn:other"]
    auditing = R(CLUSTER_POLICY, {"spec": {"rules": [{"verifyImages": [
        dict(VERIFY_RULE["verifyImages"][0], failureAction="Audit")]}]}})
    assert [urn for urn, _ in check([auditing, signed], SIGNED_PROD)] == [signed.urn]
    assert check([signed], DEV) == []


@pytest.mark.slow  # imports every cloud SDK module the stacks use: a check against outside packages
def test_taggable_types_follow_the_sdks():
    """TAG-01 covers exactly the cloud types of the stacks whose SDK class accepts `tags`."""
    import importlib
    import inspect

    from odoo_platform.policy.rules.types import TAGGABLE

    cloud_types = {r["type"] for stack in ("prod", "aws-hybrid-prod", "dedicated-prod") for r in plan_of(stack)["resources"]
                   if r["type"].startswith(("azure-native:", "aws:")) and not r["component"]}
    taggable = set()
    for token in cloud_types:
        package, module, name = token.split(":")
        sdk = f"pulumi_azure_native.{module}" if package == "azure-native" else f"pulumi_aws.{module.split('/')[0]}"
        if "tags" in inspect.signature(getattr(importlib.import_module(sdk), name)._internal_init).parameters:
            taggable.add(token)
    assert taggable <= set(TAGGABLE)
    assert len(taggable) >= 25


def test_production_environment_gates_are_stack_rules():
    prod = R(ADO + "environment:Environment", {"name": "odoo-prod"})
    dev = Resource(ADO + "environment:Environment", "urn:dev", {"name": "odoo-dev"})
    approval = R(ADO + "checkApproval:CheckApproval", {"approvers": ["g"]}, dependencies=(prod.urn,))
    main_only = R(ADO + "checkBranchControl:CheckBranchControl",
                  {"allowedBranches": "refs/heads/main", "verifyBranchProtection": True}, dependencies=(prod.urn,))
    assert RULES["DEL-01"].check_stack([prod, dev, approval], PROD) == []
    assert [u for u, _ in RULES["DEL-01"].check_stack([prod, dev], PROD)] == [prod.urn]  # dev needs none
    assert RULES["DEL-04"].check_stack([prod, main_only], PROD) == []
    any_branch = Resource(main_only.type, main_only.urn, {"allowedBranches": "refs/heads/*", "verifyBranchProtection": True},
                          dependencies=(prod.urn,))
    assert [u for u, _ in RULES["DEL-04"].check_stack([prod, any_branch], PROD)] == [prod.urn]


def test_a_service_connection_identity_is_never_shared_between_environments():
    def connection(urn: str, parent: str, identity: str) -> Resource:
        return Resource(ADO + "serviceEndpointAzureRM:ServiceEndpointAzureRM", urn, {
            "serviceEndpointName": urn, "credentials": {"serviceprincipalid": identity}}, parent=parent)

    check = RULES["DEL-03"].check_stack
    assert check([connection("a", "env-prod", "1"), connection("b", "env-staging", "2")], PROD) == []
    assert check([connection("a", "env-prod", "1"), connection("b", "env-prod", "1")], PROD) == []
    assert sorted(u for u, _ in check([connection("a", "env-prod", "1"), connection("b", "env-staging", "1")], PROD)) == ["a", "b"]


def test_default_deny_is_a_stack_rule():
    namespace = Resource("kubernetes:core/v1:Namespace", "urn:ns", {"metadata": {"name": "odoo-acme"}})
    deny = Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", "urn:np", {
        "metadata": {"namespace": "odoo-acme"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
    check = RULES["SEG-02"].check_stack
    assert check([namespace, deny], DEV) == []
    assert [urn for urn, _ in check([namespace], DEV)] == ["urn:ns"]


PACKS_DIR = ROOT / "policypacks"


def test_the_runner_speaks_the_analyzer_protocol_and_enforces_by_environment():
    plan = json.loads(json.dumps(plan_of("dev")))
    assert run_pack(PACKS_DIR / "segregation", plan) == []
    for resource in plan["resources"]:
        if resource["type"] == "azure-native:dbforpostgresql:Server":
            resource["inputs"]["network"]["publicNetworkAccess"] = "Enabled"
    (advisory,) = run_pack(PACKS_DIR / "segregation", plan)
    assert (advisory.rule, advisory.level) == ("SEG-06", "advisory")
    plan["config"]["odoo-platform:environment"] = "prod"
    (mandatory,) = run_pack(PACKS_DIR / "segregation", plan)
    assert (mandatory.rule, mandatory.level) == ("SEG-06", "mandatory")
    assert mandatory.urn.endswith("::postgres-shared-server")


def test_the_stack_context_needs_no_tenants_and_falls_back_to_defaults_on_a_bad_image_policy():
    from odoo_platform.config import DEFAULT_APPROVED_REGISTRIES
    from odoo_platform.policy.pack import stack_context
    from odoo_platform.policy.runner import stack_config
    from odoo_platform.stack_reader import estate_from_config

    config = stack_config(plan_of("hybrid-prod"))
    estate = estate_from_config(config, ROOT / "stacks")
    context = stack_context(config)
    assert context.production and context.signed_repositories == tuple(estate.signed_repositories)
    assert context.approved_registries == tuple(estate.image_policy.approved_registries)
    # A stack whose tenants live in a catalogue has no tenants key at all.
    assert stack_context({k: v for k, v in config.items() if k != "odoo-platform:tenants"}) == context
    broken = stack_context(config | {"odoo-platform:imagePolicy": json.dumps({"approvedRegistries": ["not a registry"]})})
    assert (broken.approved_registries, broken.signed_repositories) == (DEFAULT_APPROVED_REGISTRIES, ())


def test_a_pack_that_cannot_start_is_an_error(tmp_path: Path):
    from odoo_platform.errors import ToolFailure

    (tmp_path / "__main__.py").write_text("raise SystemExit('broken pack')\n")
    with pytest.raises(ToolFailure, match="did not start"):
        run_pack(tmp_path, plan_of("dev"))


def test_readme_rule_table_is_generated_from_the_registry():
    from odoo_platform.policy.rules import rules_table

    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- rules:start (generated by `odoo-platform rules`) -->\n", 1)[1].split("<!-- rules:end -->", 1)[0]
    assert section == rules_table()
    for rule in RULES.values():
        assert f"| {rule.id} |" in section, rule.id


NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _netpol(namespace: str, **spec) -> Resource:
    return Resource(NETPOL, "urn:np", {"metadata": {"namespace": namespace}, "spec": spec})


def _from(*peers) -> dict:
    return {"ingress": [{"from": list(peers)}]}


TRAEFIK_PEER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}}}


@pytest.mark.parametrize(("spec", "opens"), [
    (_from(TRAEFIK_PEER), False),
    (_from({"podSelector": {}}), False),  # own namespace only
    (_from({"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["traefik", "monitoring"]}]}}), False),
    (_from({"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["odoo-a"]}]}}), False),
    (_from({"namespaceSelector": {"matchLabels": {"odoo-platform.io/tenant": "a"}}}), False),
    (_from({"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "DoesNotExist"}]}}), False),
    (_from({"ipBlock": {"cidr": "203.0.113.0/24"}}), False),
    (_from({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]}}), False),
    (_from({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "odoo-b"}}}), True),
    (_from({"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["traefik", "odoo-b"]}]}}), True),
    (_from({"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["odoo-a"]}]}}), True),
    (_from({"namespaceSelector": {"matchExpressions": [{"key": "odoo-platform.io/tenant", "operator": "Exists"}]}}), True),
    (_from({"namespaceSelector": {"matchLabels": {"odoo-platform.io/tenant": "b"}}}), True),
    (_from({"namespaceSelector": {"matchLabels": {"odoo-platform.io/tier": "2"}}}), True),  # every tier-2 tenant
    (_from({"namespaceSelector": {}}), True),  # the empty selector: every namespace
    (_from({"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "x"}}}), True),
    (_from({"ipBlock": {"cidr": "0.0.0.0/0"}}), True),
    (_from({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/9"]}}), True),  # 10.128.0.0/9 stays open
    (_from({"ipBlock": {"cidr": "10.0.0.0/8"}}), True),
    ({"ingress": [{"ports": [{"port": 8069}]}]}, True),  # no `from`: every source
    ({"ingress": [{}]}, True),
    ({"egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "odoo-b"}}}]}]}, True),
    ({"egress": [{"to": [{"namespaceSelector": {"matchExpressions": [
        {"key": "odoo-platform.io/tenant", "operator": "In", "values": ["b"]}]}}]}]}, True),
    # Egress to anywhere (API server, internet) is stopped at every other tenant by its default-deny ingress.
    ({"egress": [{"ports": [{"port": 443}]}]}, False),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}, False),
])
def test_cross_tenant_network_policies_in_every_form(spec, opens):
    found = RULES["SEG-03"].violations(_netpol("odoo-a", podSelector={}, **spec), DEV)
    assert bool(found) is opens, found
    assert all(message.endswith(")") for message in found)


def test_cross_tenant_is_about_tenant_namespaces():
    """The traefik namespace must reach every tenant: only a tenant's own policies can open it."""
    assert RULES["SEG-03"].violations(_netpol("traefik", egress=[{"to": [{"namespaceSelector": {}}]}]), DEV) == []


@pytest.mark.parametrize(("spec", "violates"), [
    ({"type": "ClusterIP"}, False),
    ({}, False),  # the default type
    ({"clusterIP": "None"}, False),  # headless
    ({"type": "NodePort"}, True),
    ({"type": "LoadBalancer"}, True),
    ({"type": "ExternalName", "externalName": "db.example.com"}, True),
    ({"type": "ClusterIP", "externalIPs": ["203.0.113.10"]}, True),
])
def test_tenant_services_in_every_form(spec, violates):
    service = Resource("kubernetes:core/v1:Service", "u", {"metadata": {"namespace": "odoo-a"}, "spec": spec})
    assert bool(RULES["SEG-10"].evaluate(service, DEV)) is violates
    shared = Resource(service.type, "u", {"metadata": {"namespace": "monitoring"}, "spec": spec})
    assert RULES["SEG-10"].evaluate(shared, DEV) is None  # tenant-scoped


@pytest.mark.parametrize(("spec", "violates"), [
    ({"entryPoints": ["websecure"], "tls": {"secretName": "t"}}, False),
    ({"tls": {"secretName": "t"}}, False),
    ({"entryPoints": ["web"], "routes": [{"match": "Host(`a`)", "middlewares": [{"name": "redirect-https"}]}]}, False),
    ({"routes": [{"match": "Host(`a`)"}]}, True),  # no entryPoints: every entry point, plain HTTP included
    ({"entryPoints": ["websecure"]}, True),
    ({"entryPoints": ["web"], "routes": [{"match": "Host(`a`)"}]}, True),
])
def test_traefik_routes_require_tls_in_both_api_groups(spec, violates):
    for group in ("traefik.io", "traefik.containo.us"):
        route = Resource(f"kubernetes:{group}/v1alpha1:IngressRoute", "u", {"spec": spec})
        assert bool(RULES["ENC-02"].evaluate(route, DEV)) is violates, (group, spec)


MIDDLEWARE = "kubernetes:traefik.io/v1alpha1:Middleware"


def _allow_list(namespace: str, name: str, *ranges: str, key: str = "ipAllowList") -> Resource:
    return Resource(MIDDLEWARE, f"urn:{namespace}/{name}", {
        "metadata": {"namespace": namespace, "name": name}, "spec": {key: {"sourceRange": list(ranges)}}})


def _manager_route(*middlewares: dict, type_: str = INGRESS_ROUTE) -> Resource:
    return Resource(type_, "urn:route", {"metadata": {"namespace": "odoo-a"}, "spec": {"entryPoints": ["websecure"], "routes": [
        {"match": "Host(`a`) && PathPrefix(`/web/database`)", "middlewares": list(middlewares), "services": [{"port": 8069}]},
        {"match": "Host(`a`)", "services": [{"port": 8069}]}]}})


ALLOW = {"name": "database-manager-allowlist"}


@pytest.mark.parametrize(("resources", "context", "violates"), [
    ([_allow_list("odoo-a", "database-manager-allowlist", "10.40.250.0/28"), _manager_route(ALLOW)], PROD, False),
    ([_allow_list("odoo-a", "database-manager-allowlist", "127.0.0.1/32"), _manager_route(ALLOW)], PROD, False),  # closed
    ([_allow_list("odoo-a", "database-manager-allowlist", "0.0.0.0/0"), _manager_route(ALLOW)], PROD, True),  # issue 20
    ([_allow_list("odoo-a", "database-manager-allowlist", "0.0.0.0/0"), _manager_route(ALLOW)], DEV, False),
    ([_allow_list("odoo-a", "database-manager-allowlist", "10.40.250.0/28", "::/0"), _manager_route(ALLOW)], PROD, True),
    ([_allow_list("odoo-a", "database-manager-allowlist", "198.51.100.7/32"), _manager_route(ALLOW)], PROD, True),  # public
    ([_allow_list("odoo-a", "database-manager-allowlist", "10.0.0.0/8"), _manager_route(ALLOW)], PROD, True),  # too wide
    ([_allow_list("odoo-a", "database-manager-allowlist", "10.40.250.0/28", key="ipWhiteList"), _manager_route(ALLOW)], PROD, False),
    # A second, narrow allow-list in the chain closes the route whatever the first admits.
    ([_allow_list("odoo-a", "database-manager-allowlist", "0.0.0.0/0"), _allow_list("odoo-a", "admins", "10.40.250.0/28"),
      _manager_route(ALLOW, {"name": "admins"})], PROD, False),
    # References across namespaces, in both forms Traefik reads.
    ([_allow_list("shared", "admins", "10.40.250.0/28"), _manager_route({"name": "admins", "namespace": "shared"})], PROD, False),
    ([_allow_list("shared", "admins", "0.0.0.0/0"), _manager_route({"name": "admins", "namespace": "shared"})], PROD, True),
    ([_allow_list("shared", "admins", "10.40.250.0/28"), _manager_route({"name": "shared-admins@kubernetescrd"})], PROD, False),
    ([_allow_list("shared", "admins", "10.40.250.0/28"), _manager_route({"name": "admins"})], PROD, True),  # not in odoo-a
    ([_manager_route(ALLOW)], PROD, True),  # a name with no Middleware behind it
    ([_allow_list("odoo-a", "database-manager-allowlist", "10.40.250.0/28"),
      _manager_route(ALLOW, type_="kubernetes:traefik.containo.us/v1alpha1:IngressRoute")], PROD, False),
])
def test_the_database_manager_allow_list_must_be_narrow_and_private(resources, context, violates):
    found = RULES["SEG-12"].check_stack(resources, context)
    assert bool(found) is violates, found
    assert all(urn == "urn:route" for urn, _ in found)


def test_an_odoo_route_without_a_database_manager_route_is_public():
    route = Resource(INGRESS_ROUTE, "urn:r", {"spec": {"routes": [{"match": "Host(`a`)", "services": [{"port": 8069}]}]}})
    assert [u for u, _ in RULES["SEG-12"].check_stack([route], DEV)] == ["urn:r"]  # no entryPoints: websecure too


@pytest.mark.parametrize(("resource", "violates"), [
    (R("aws:ec2/securityGroup:SecurityGroup", {"ingress": [{"cidrBlocks": ["10.50.16.0/20"]}]}), False),
    (R("aws:ec2/securityGroup:SecurityGroup", {"ingress": [{"cidrBlocks": ["203.0.113.0/24"]}]}), False),
    (R("aws:ec2/securityGroup:SecurityGroup", {"ingress": [{"cidrBlocks": ["0.0.0.0/1", "128.0.0.0/1"]}]}), True),
    (R("aws:ec2/securityGroup:SecurityGroup", {"ingress": [{"ipv6CidrBlocks": ["::/0"]}]}), True),
    (R("aws:ec2/securityGroupRule:SecurityGroupRule", {"type": "ingress", "cidrBlocks": ["0.0.0.0/0"]}), True),
    (R("aws:ec2/securityGroupRule:SecurityGroupRule", {"type": "egress", "cidrBlocks": ["0.0.0.0/0"]}), False),
    (R("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {"cidrIpv4": "0.0.0.0/0"}), True),
    (R("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {"cidrIpv4": "10.50.16.0/20"}), False),
])
def test_security_groups_in_every_form(resource, violates):
    assert bool(RULES["SEG-16"].evaluate(resource, DEV)) is violates


def test_a_finding_names_its_fix_once():
    rule = RULES["SEG-04"]
    assert rule.report_text("the pod mounts hostPath volumes x (use a PersistentVolumeClaim)") == \
        "[SEG-04] the pod mounts hostPath volumes x (use a PersistentVolumeClaim)"
    assert rule.report_text("no fix of its own") == f"[SEG-04] no fix of its own ({rule.remediation.removesuffix('.')})"
    for each in RULES.values():  # every reported text is "[ID] violation (fix)": the report's fix field reads it
        assert each.report_text("x").endswith(")")


def test_a_finding_names_the_kind_namespace_name_and_container(tmp_path: Path):
    from odoo_platform.policy.inprocess import evaluate_packs
    from odoo_platform.policy.runner import report, table

    plan = json.loads(json.dumps(plan_of("dev")))
    web = next(r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment"
               and r["inputs"]["metadata"]["labels"].get("app.kubernetes.io/component") == "web")
    pod_spec = web["inputs"]["spec"]["template"]["spec"]
    pod_spec.setdefault("initContainers", []).append(dict(pod_spec["containers"][0], name="sneaky",
                                                          securityContext={"privileged": True, "runAsNonRoot": True,
                                                                           "allowPrivilegeEscalation": False}))
    (finding,) = evaluate_packs(["segregation"], plan)
    metadata = web["inputs"]["metadata"]
    assert (finding.rule, finding.kind, finding.namespace, finding.name, finding.container) == (
        "SEG-04", "Deployment", metadata["namespace"], metadata["name"], "sneaky")
    assert finding.message == "[SEG-04] init container 'sneaky' is privileged (remove securityContext.privileged)"
    assert finding.fix == "Remove securityContext.privileged."
    (row,) = report([finding], plan, ["segregation"])["findings"]
    assert {row[key] for key in ("kind", "namespace", "name", "container", "fix")} >= {"Deployment", "sneaky"}
    assert f"Deployment {metadata['namespace']}/{metadata['name']} [sneaky]" in table([finding])


@pytest.mark.parametrize(("spec", "audits"), [
    ({"rules": [VERIFY_RULE]}, False),
    ({"rules": [{"name": "r", "validate": {"failureAction": "Enforce"}}]}, False),
    ({"validationFailureAction": "Enforce", "rules": [{"name": "r", "validate": {"pattern": {}}}]}, False),
    ({"rules": [{"name": "r", "validate": {"pattern": {}}}]}, True),  # Kyverno's default is Audit
    ({"validationFailureAction": "Audit", "rules": [{"name": "r", "verifyImages": [{"imageReferences": ["*"]}]}]}, True),
    ({"validationFailureAction": "Enforce", "rules": [{"name": "r", "validate": {"failureAction": "Audit"}}]}, True),
    ({"rules": [{"name": "m", "mutate": {"patchStrategicMerge": {}}}]}, False),  # nothing to enforce
])
def test_admission_policies_enforce_whatever_form_the_action_takes(spec, audits):
    policy = R(CLUSTER_POLICY, {"spec": {"webhookConfiguration": {"failurePolicy": "Fail"}, **spec}})
    assert bool(RULES["SUP-04"].evaluate(policy, SIGNED_PROD)) is audits
    assert RULES["SUP-04"].evaluate(policy, DEV) is None


@pytest.mark.parametrize(("subjects", "violates"), [
    ([{"kind": "ServiceAccount", "name": "traefik", "namespace": "traefik"}], False),
    ([{"kind": "Group", "name": "admins"}], False),
    ([{"kind": "ServiceAccount", "name": "default", "namespace": "odoo-a"}], True),
])
def test_no_cluster_role_binding_names_a_tenant_service_account(subjects, violates):
    binding = R("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", {"roleRef": {"kind": "ClusterRole", "name": "view"},
                                                                               "subjects": subjects})
    assert bool(RULES["SEG-08"].evaluate(binding, DEV)) is violates


@pytest.mark.parametrize(("args", "violates"), [
    (["--requirepass", "$(REDIS_PASSWORD)", "--save", ""], False),
    (["--save", "", "--requirepass", ""], True),  # an empty password leaves Redis open
    (["--requirepass"], True),
    (["--appendonly", "no"], True),
])
def test_redis_needs_a_password_not_just_the_flag(args, violates):
    redis = _with(DEPLOYMENT, CONTAINER, {"name": "redis", "image": "redis:7", "args": args})
    assert bool(RULES["ENC-06"].evaluate(redis, DEV)) is violates
