"""Segregation: tenants cannot see, reach or starve each other; nothing is public."""

from __future__ import annotations

from collections.abc import Sequence

from odoo_platform.policy.rule import K8S_WORKLOADS, Context, Resource, Rule, Severity, containers, get, pod_spec
from odoo_platform.policy.rules.types import (
    AZURE_KEY,
    AZURE_PG,
    AZURE_REDIS,
    INGRESS_ROUTE,
    KEY_VAULT,
    KMS_KEY,
    NAMESPACE,
    NETWORK_POLICY,
    RDS,
    S3_PUBLIC_ACCESS_BLOCK,
    STORAGE_ACCOUNT,
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


def _no_token_automount(resource: Resource, _: Context) -> str | None:
    namespace = get(resource.props, "metadata", "namespace", default="")
    spec = pod_spec(resource)
    if not tenant_namespace(namespace) or spec.get("serviceAccountName") == "odoo-scaler":
        return None
    if spec.get("automountServiceAccountToken") is not False:
        return "the pod mounts a Kubernetes API token it does not need (set automountServiceAccountToken: false)"
    return None


def _cluster_ip_only(resource: Resource, _: Context) -> str | None:
    namespace = get(resource.props, "metadata", "namespace", default="")
    kind = get(resource.props, "spec", "type", default="ClusterIP")
    if tenant_namespace(namespace) and kind != "ClusterIP":
        return f"a tenant Service is of type {kind} (use ClusterIP; traffic enters through Traefik only)"
    return None


def _quota_everywhere(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    quoted = {get(r.props, "metadata", "namespace") for r in resources if r.type == "kubernetes:core/v1:ResourceQuota"}
    return [
        (r.urn, f"namespace {name} has no ResourceQuota (add one sized from the tenant's users)")
        for r in resources
        if r.type == NAMESPACE and tenant_namespace(name := get(r.props, "metadata", "name", default="")) and name not in quoted
    ]


def _database_manager_closed(resource: Resource, _: Context) -> str | None:
    for route in get(resource.props, "spec", "routes", default=[]) or []:
        match = route.get("match", "")
        names = [m.get("name") for m in route.get("middlewares") or []]
        if "/web/database" in match and "database-manager-allowlist" not in names:
            return "the route exposes /web/database without the allow-list middleware (attach database-manager-allowlist)"
    routes = get(resource.props, "spec", "routes", default=[]) or []
    serves_odoo = any(s.get("port") == 8069 for r in routes for s in r.get("services") or [])
    guarded = any("/web/database" in r.get("match", "") for r in routes)
    if serves_odoo and "websecure" in (get(resource.props, "spec", "entryPoints", default=[]) or []) and not guarded:
        return "Odoo's database manager is reachable through this route (add a /web/database route with the allow-list)"
    return None


def _no_public_endpoint(resource: Resource, _: Context) -> str | None:
    props = resource.props
    access = props.get("publicNetworkAccess") or get(props, "properties", "publicNetworkAccess")
    if access != "Disabled":
        return "the service accepts connections from the internet (set public_network_access=Disabled, use a private endpoint)"
    if resource.type == STORAGE_ACCOUNT and props.get("allowBlobPublicAccess") is not False:
        return "blobs may be made public (set allow_blob_public_access=False)"
    return None


def _s3_public_access_block(resource: Resource, _: Context) -> str | None:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    missing = [flag for flag in flags if resource.props.get(flag) is not True]
    return f"public access is not fully blocked ({', '.join(missing)} must be true)" if missing else None


def _dedicated_keys_unshared(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    keys = {r.urn for r in resources if r.type in (AZURE_KEY, KMS_KEY)}
    users: dict[str, list[Resource]] = {}
    for server in (r for r in resources if r.type in (AZURE_PG, RDS)):
        for key in set(server.dependencies) & keys:
            users.setdefault(key, []).append(server)
    return [
        (server.urn, f"dedicated server {get(server.props, 'tags', 'postgres-server')} shares its key with another server "
                     "(give every dedicated tenant its own key)")
        for servers in users.values() if len(servers) > 1
        for server in servers if str(get(server.props, "tags", "postgres-server", default="")).startswith("dedicated-")
    ]


def _no_open_security_group(resource: Resource, _: Context) -> str | None:
    for rule in resource.props.get("ingress") or []:
        if "0.0.0.0/0" in (rule.get("cidrBlocks") or []) or "::/0" in (rule.get("ipv6CidrBlocks") or []):
            return "the security group admits the whole internet (admit the cluster's node subnets only)"
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
    Rule("SEG-09", "k8s-pod-disallow-token-automount", "Tenant pods mount no Kubernetes API token unless they manage the tenant.",
         Severity.MEDIUM, "Set automountServiceAccountToken: false.", K8S_WORKLOADS, _no_token_automount),
    Rule("SEG-10", "k8s-service-require-cluster-ip", "Tenant Services are ClusterIP; nothing bypasses Traefik.",
         Severity.HIGH, "Use type ClusterIP.", ("kubernetes:core/v1:Service",), _cluster_ip_only),
    Rule("SEG-11", "k8s-namespace-require-quota", "Every tenant namespace has a ResourceQuota (stack rule).",
         Severity.HIGH, "Add a ResourceQuota so one tenant cannot starve the others.", check_stack=_quota_everywhere),
    Rule("SEG-12", "traefik-ingressroute-block-database-manager", "Odoo's database manager is never public.",
         Severity.CRITICAL, "Route /web/database through the allow-list middleware.", (INGRESS_ROUTE,), _database_manager_closed),
    Rule("SEG-13", "azure-data-services-disallow-public-access", "Storage, Key Vault and Redis are reachable only privately.",
         Severity.CRITICAL, "Disable public network access and use private endpoints.", (STORAGE_ACCOUNT, KEY_VAULT, AZURE_REDIS),
         _no_public_endpoint),
    Rule("SEG-14", "aws-s3-require-public-access-block", "Archive buckets block every form of public access.",
         Severity.CRITICAL, "Enable all four public access block settings.", (S3_PUBLIC_ACCESS_BLOCK,), _s3_public_access_block),
    Rule("SEG-15", "dedicated-tenants-disallow-shared-keys", "Dedicated tenants' servers never share an encryption key (stack rule).",
         Severity.CRITICAL, "Give every dedicated placement its own key.", check_stack=_dedicated_keys_unshared),
    Rule("SEG-16", "aws-security-group-disallow-internet-ingress", "Security groups never admit the whole internet.",
         Severity.CRITICAL, "Restrict ingress to the cluster's subnets.", ("aws:ec2/securityGroup:SecurityGroup",), _no_open_security_group),
]
