"""Pulumi Kubernetes Operator objects that reconcile an environment stack from the approved repository.

For teams that prefer in-cluster reconciliation to pipeline deployments: the operator
checks out the approved branch, refreshes, and runs `pulumi up` for the stack on every new
commit and every resync period, so drift is reverted without anyone running a command.
Production stacks expect no changes on refresh (drift fails the run and is investigated
instead of silently reverted) and are never destroyed when the Stack object is deleted.
"""

from __future__ import annotations

from typing import Any

from odoo_platform.config import Cloud, Environment, Estate

NAMESPACE = "pulumi-stacks"
GIT_SECRET = "odoo-platform-git"
"""Secret (key `accessToken`) with a read-only token for the approved repository."""
RESYNC_MINUTES = {Environment.DEV: 10, Environment.STAGING: 30, Environment.PROD: 60}
DEFAULT_BACKENDS = {Cloud.AZURE: "azblob://pulumi-state", Cloud.AWS: "s3://odoo-platform-state"}


def secrets_provider(estate: Estate, stack: str) -> str:
    if estate.gitops.secrets_provider:
        return estate.gitops.secrets_provider
    if estate.cloud is Cloud.AZURE:
        return f"azurekeyvault://kv-odoo-platform.vault.azure.net/keys/pulumi-{stack}"
    return f"awskms://alias/pulumi-{stack}?region={estate.region}"


def operator_objects(estate: Estate, stack: str, project: str) -> list[dict[str, Any]]:
    """ServiceAccount, its auth-delegator binding (the operator's workspaces need it) and the Stack."""
    gitops = estate.gitops
    production = estate.environment is Environment.PROD
    account = f"pulumi-{stack}"
    labels = {"app.kubernetes.io/managed-by": "odoo-platform", "odoo-platform.io/stack": stack,
              "odoo-platform.io/environment": estate.environment.value}
    annotations = {}
    if gitops.deploy_identity:
        key = "azure.workload.identity/client-id" if estate.cloud is Cloud.AZURE else "eks.amazonaws.com/role-arn"
        annotations[key] = gitops.deploy_identity
    service_account: dict[str, Any] = {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": account, "namespace": NAMESPACE, "labels": labels} | ({"annotations": annotations} if annotations else {}),
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{NAMESPACE}:{account}:system:auth-delegator", "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}],
    }
    workload_identity = {"azure.workload.identity/use": "true"} if estate.cloud is Cloud.AZURE and gitops.deploy_identity else {}
    stack_object = {
        "apiVersion": "pulumi.com/v1", "kind": "Stack",
        "metadata": {"name": f"{project}-{stack}", "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "stack": stack,
            "projectRepo": gitops.repository,
            "branch": f"refs/heads/{gitops.branch}",
            "repoDir": ".",
            "gitAuth": {"accessToken": {"type": "Secret", "secret": {"name": GIT_SECRET, "key": "accessToken"}}},
            "backend": gitops.backend or DEFAULT_BACKENDS[estate.cloud],
            "secretsProvider": secrets_provider(estate, stack),
            "refresh": True,
            "expectNoRefreshChanges": production,
            "continueResyncOnCommitMatch": True,
            "resyncFrequencySeconds": 60 * (gitops.resync_minutes or RESYNC_MINUTES[estate.environment]),
            "destroyOnFinalize": False,
            "retryOnUpdateConflict": True,
            "serviceAccountName": account,
            "workspaceTemplate": {"spec": {
                "securityProfile": "restricted",
                "serviceAccountName": account,
                "podTemplate": {"metadata": {"labels": workload_identity}} if workload_identity else {},
            }},
        },
    }
    if not workload_identity:
        del stack_object["spec"]["workspaceTemplate"]["spec"]["podTemplate"]
    return [service_account, binding, stack_object]
