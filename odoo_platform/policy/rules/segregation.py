"""Segregation: tenants cannot see, reach or starve each other; nothing is public."""

from __future__ import annotations

from collections.abc import Sequence

from odoo_platform.policy.rule import K8S_WORKLOADS, Context, Resource, Rule, Severity, containers, get, pod_spec
from odoo_platform.policy.rules.types import (
    AZURE_PG,
    NAMESPACE,
    NETWORK_POLICY,
    RDS,
    tenant_namespace,
)


def _namespace_labels(resource: Resource, _: Context) -> str | None:
    name = get(resource.props, "metadata", "name", default="")
    labels = get(resource.props, "metadata", "labels", default={}) or {}
    if not tenant_namespace(name):
        return None
    if labels.get("odoo-platform.io/tenant") != name.removeprefix("odoo-"):
        return f"namespace {name} has no matching odoo-platform.io/tenant label (label it with the tenant name)"
    if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
        return f"namespace {name} does not enforce Pod Security 'restricted' (set pod-security.kubernetes.io/enforce: restricted)"
    return None


def _no_host_access(resource: Resource, _: Context) -> str | None:
    spec = pod_spec(resource)
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        return "the pod shares a host namespace (remove hostNetwork/hostPID/hostIPC)"
    if any("hostPath" in volume for volume in spec.get("volumes") or []):
        return "the pod mounts a hostPath volume (use a PersistentVolumeClaim or emptyDir)"
    for container in containers(resource):
        if get(container, "securityContext", "privileged"):
            return f"container {container.get('name')!r} is privileged (remove securityContext.privileged)"
    return None


def _non_root(resource: Resource, _: Context) -> str | None:
    pod_level = get(pod_spec(resource), "securityContext", "runAsNonRoot")
    for container in containers(resource):
        if not (get(container, "securityContext", "runAsNonRoot", default=pod_level)):
            return f"container {container.get('name')!r} may run as root (set runAsNonRoot: true)"
    return None


def _azure_pg_private(resource: Resource, _: Context) -> str | None:
    if get(resource.props, "network", "publicNetworkAccess") != "Disabled":
        return "public network access is not disabled (set network.public_network_access=Disabled with a delegated subnet)"
    return None


def _rds_private(resource: Resource, _: Context) -> str | None:
    return "the instance is publicly accessible (set publicly_accessible=False)" if resource.props.get("publiclyAccessible") else None


def _default_deny_everywhere(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    denied = set()
    for r in resources:
        if r.type == NETWORK_POLICY:
            spec = r.props.get("spec") or {}
            selects_all = not (get(spec, "podSelector", default={}) or {})
            if selects_all and set(spec.get("policyTypes") or []) >= {"Ingress", "Egress"} and not spec.get("ingress") and not spec.get("egress"):
                denied.add(get(r.props, "metadata", "namespace"))
    return [
        (r.urn, f"namespace {name} has no default-deny NetworkPolicy (add one denying all ingress and egress)")
        for r in resources
        if r.type == NAMESPACE
        and tenant_namespace(name := get(r.props, "metadata", "name", default=""))
        and name not in denied
    ]


def _no_cross_tenant_selector(resource: Resource, _: Context) -> str | None:
    own = get(resource.props, "metadata", "namespace", default="")
    spec = resource.props.get("spec") or {}
    for rule in [*(spec.get("ingress") or []), *(spec.get("egress") or [])]:
        for peer in [*(rule.get("from") or []), *(rule.get("to") or [])]:
            target = get(peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")
            if target and tenant_namespace(target) and target != own:
                return f"the policy opens {own} to tenant namespace {target} (tenants may never reach each other)"
    return None


def _no_cluster_role(resource: Resource, _: Context) -> str | None:
    namespace = get(resource.props, "metadata", "namespace", default="")
    if tenant_namespace(namespace) and get(resource.props, "roleRef", "kind") == "ClusterRole":
        return "a tenant RoleBinding grants a ClusterRole (bind a namespace-scoped Role instead)"
    return None


SEGREGATION = [
    Rule("SEG-01", "k8s-namespace-require-tenant-label-and-psa", "Tenant namespaces carry their tenant label and enforce Pod Security restricted.",
         Severity.HIGH, "Label the namespace and set pod-security.kubernetes.io/enforce: restricted.", (NAMESPACE,), _namespace_labels),
    Rule("SEG-02", "k8s-namespace-require-default-deny", "Every tenant namespace has a default-deny NetworkPolicy.",
         Severity.CRITICAL, "Add a NetworkPolicy selecting all pods with no ingress or egress rules.", check_stack=_default_deny_everywhere),
    Rule("SEG-03", "k8s-networkpolicy-disallow-cross-tenant", "No NetworkPolicy opens a tenant to another tenant's namespace.",
         Severity.CRITICAL, "Remove the peer naming the other tenant's namespace.", (NETWORK_POLICY,), _no_cross_tenant_selector),
    Rule("SEG-04", "k8s-pod-disallow-host-access", "Pods use no host namespaces, hostPath volumes or privileged containers.",
         Severity.CRITICAL, "Remove hostNetwork/hostPID/hostIPC, hostPath and privileged.", K8S_WORKLOADS, _no_host_access),
    Rule("SEG-05", "k8s-container-require-non-root", "Containers run as non-root.",
         Severity.HIGH, "Set securityContext.runAsNonRoot: true.", K8S_WORKLOADS, _non_root),
    Rule("SEG-06", "azure-postgres-disallow-public-access", "PostgreSQL flexible servers are reachable only privately.",
         Severity.CRITICAL, "Disable public network access; use a delegated subnet and private DNS.", (AZURE_PG,), _azure_pg_private),
    Rule("SEG-07", "aws-rds-instance-disallow-public-access", "RDS instances are not publicly accessible.",
         Severity.CRITICAL, "Set publicly_accessible=False.", (RDS,), _rds_private),
    Rule("SEG-08", "k8s-rolebinding-disallow-cluster-role", "Tenant RoleBindings never grant ClusterRoles.",
         Severity.HIGH, "Bind a Role defined in the tenant namespace.", ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",), _no_cluster_role),
]


