"""Pulumi Kubernetes Operator objects that keep an environment stack at its last approved deployment.

GitOps and the pipeline share each stack with one rule: only the delivery pipeline moves a stack
to a new commit. Its deploy job applies the reviewed plan after the environment's approvals, the
freeze calendar, the evidence check and the policy packs, then pushes that commit to
`refs/heads/deployed/<stack>` (.azure-pipelines/scripts/deploy.sh). The operator tracks that ref,
never `main`: it re-applies an approved commit (reverting drift in dev and staging; in production
drift stops the run for investigation instead, `expectNoRefreshChanges`) and so cannot take a
commit anywhere no gate has seen. Stacks are never destroyed when the Stack object is deleted.

The workspace gets the stack's cloud identity (workload identity: no secret), the backend (with its
storage account) and the secrets provider that wrapped the stack file's `encryptedkey`, and rights on
the Kubernetes objects the program manages. `toolchain: pip` installs requirements.txt (the lock file
and the project) into the program's virtualenv.
"""

from __future__ import annotations

from typing import Any

from odoo_platform.config import Cloud, Environment, Estate
from odoo_platform.errors import EstateConfigError

NAMESPACE = "pulumi-stacks"
GIT_SECRET = "odoo-platform-git"
"""Secret (key `accessToken`) with a read-only token for the approved repository."""
RESYNC_MINUTES = {Environment.DEV: 10, Environment.STAGING: 30, Environment.PROD: 60}
DEFAULT_BACKENDS = {Cloud.AZURE: "azblob://pulumi-state?storage_account=stodooplatformstate",
                    Cloud.AWS: "s3://odoo-platform-state?region=eu-central-1"}
"""The pipelines' backends (azure-pipelines.yml): the azblob URL names its storage account."""
PULUMI_VERSION = "3.272.0"
"""The CLI of the workspace image, as in the pipelines (PULUMI_VERSION)."""
DEPLOYED_REF = "refs/heads/deployed/{stack}"
AZURE_TOKEN_FILE = "/var/run/secrets/azure/tokens/azure-identity-token"
"""Where the AKS workload identity webhook projects the service account token."""

# What the program creates on a cluster (tenant namespaces and their objects, the Traefik chart with
# its CRDs and cluster roles, Kyverno policies, monitoring rules, the EFS StorageClass on AWS). The program creates Roles for the
# tenants' jobs and the chart creates ClusterRoles, hence escalate and bind on RBAC.
MANAGED: dict[str, tuple[str, ...]] = {
    "": ("namespaces", "configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims",
         "limitranges", "resourcequotas"),
    "apps": ("deployments", "daemonsets", "statefulsets"),
    "batch": ("jobs", "cronjobs"),
    "autoscaling": ("horizontalpodautoscalers",),
    "policy": ("poddisruptionbudgets",),
    "networking.k8s.io": ("networkpolicies", "ingressclasses", "ingresses"),
    "rbac.authorization.k8s.io": ("roles", "rolebindings", "clusterroles", "clusterrolebindings"),
    "apiextensions.k8s.io": ("customresourcedefinitions",),
    "kyverno.io": ("clusterpolicies",),
    "monitoring.coreos.com": ("prometheusrules", "servicemonitors"),
    "traefik.io": ("ingressroutes", "middlewares", "tlsoptions"),
    "storage.k8s.io": ("storageclasses",),
}
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]


def secrets_provider(estate: Estate, stack: str) -> str:
    if estate.gitops.secrets_provider:
        return estate.gitops.secrets_provider
    if estate.cloud is Cloud.AZURE:
        return f"azurekeyvault://kv-odoo-platform.vault.azure.net/keys/pulumi-{stack}"
    return f"awskms://alias/pulumi-{stack}?region={estate.region}"


def _literal(value: str) -> dict[str, Any]:
    return {"type": "Literal", "literal": {"value": value}}


def _credentials(estate: Estate, stack: str) -> dict[str, dict[str, Any]]:
    """The workspace's environment: the stack's cloud identity by workload identity, never a key."""
    gitops = estate.gitops
    missing = [key for key, value in (("deployIdentity", gitops.deploy_identity),) if not value]
    if estate.cloud is Cloud.AZURE:
        missing += [key for key, value in (("tenantId", gitops.tenant_id), ("subscriptionId", gitops.subscription_id))
                    if not value]
    if missing:
        raise EstateConfigError(
            f"odoo-platform:gitops.{missing[0]} of {stack} is not set: the operator's workspace would have no "
            "cloud credentials (set deployIdentity" + (", tenantId and subscriptionId" if estate.cloud is Cloud.AZURE else "")
            + " under odoo-platform:gitops)")
    if estate.cloud is Cloud.AWS:
        # EKS injects AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE for the annotated service account (IRSA).
        return {"AWS_REGION": _literal(estate.region)}
    # azure-native reads ARM_*; the kubelogin exec plugin of a created cluster's kubeconfig AAD_LOGIN_METHOD.
    return {
        "ARM_USE_OIDC": _literal("true"), "ARM_CLIENT_ID": _literal(gitops.deploy_identity),
        "ARM_TENANT_ID": _literal(gitops.tenant_id), "ARM_SUBSCRIPTION_ID": _literal(gitops.subscription_id),
        "ARM_OIDC_TOKEN_FILE_PATH": _literal(AZURE_TOKEN_FILE), "AAD_LOGIN_METHOD": _literal("workloadidentity"),
    }


def operator_objects(estate: Estate, stack: str, project: str) -> list[dict[str, Any]]:
    """ServiceAccount, its rights (auth-delegator for the operator's workspaces, the managed objects) and the Stack."""
    gitops = estate.gitops
    production = estate.environment is Environment.PROD
    env_refs = _credentials(estate, stack)
    account = f"pulumi-{stack}"
    labels = {"app.kubernetes.io/managed-by": "odoo-platform", "odoo-platform.io/stack": stack,
              "odoo-platform.io/environment": estate.environment.value}
    key = "azure.workload.identity/client-id" if estate.cloud is Cloud.AZURE else "eks.amazonaws.com/role-arn"
    service_account: dict[str, Any] = {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": account, "namespace": NAMESPACE, "labels": labels, "annotations": {key: gitops.deploy_identity}},
    }
    subjects = [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]
    delegator = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{NAMESPACE}:{account}:system:auth-delegator", "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
        "subjects": subjects,
    }
    role_name = f"{NAMESPACE}:{account}:deployer"
    deployer = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": role_name, "labels": labels},
        "rules": [{"apiGroups": [group], "resources": list(resources),
                   "verbs": VERBS + (["escalate", "bind"] if group == "rbac.authorization.k8s.io" else [])}
                  for group, resources in MANAGED.items()],
    }
    deployer_binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": role_name, "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
        "subjects": subjects,
    }
    workload_identity = {"azure.workload.identity/use": "true"} if estate.cloud is Cloud.AZURE else {}
    workspace: dict[str, Any] = {"securityProfile": "restricted", "serviceAccountName": account,
                                 "image": f"pulumi/pulumi:{PULUMI_VERSION}-nonroot"}
    if workload_identity:
        workspace["podTemplate"] = {"metadata": {"labels": workload_identity}}
    stack_object = {
        "apiVersion": "pulumi.com/v1", "kind": "Stack",
        "metadata": {"name": f"{project}-{stack}", "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "stack": stack,
            "projectRepo": gitops.repository,
            "branch": DEPLOYED_REF.format(stack=stack),
            "repoDir": ".",
            "gitAuth": {"accessToken": {"type": "Secret", "secret": {"name": GIT_SECRET, "key": "accessToken"}}},
            "backend": gitops.backend or DEFAULT_BACKENDS[estate.cloud],
            "secretsProvider": secrets_provider(estate, stack),
            "envRefs": env_refs,
            "refresh": True,
            "expectNoRefreshChanges": production,
            "continueResyncOnCommitMatch": True,
            "resyncFrequencySeconds": 60 * (gitops.resync_minutes or RESYNC_MINUTES[estate.environment]),
            "destroyOnFinalize": False,
            "retryOnUpdateConflict": True,
            "serviceAccountName": account,
            "workspaceTemplate": {"spec": workspace},
        },
    }
    return [service_account, delegator, deployer, deployer_binding, stack_object]

