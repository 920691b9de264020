"""Segregation: tenants cannot see, reach or starve each other; nothing is public."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from odoo_platform.config import ADMIN_CIDR_WIDEST_PREFIX, PRIVATE_NETWORKS
from odoo_platform.policy.rule import K8S_WORKLOADS, Context, Resource, Rule, Severity, get, pod, traefik
from odoo_platform.policy.rules.types import (
    AZURE_KEY,
    AZURE_PG,
    AZURE_REDIS,
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


def _no_host_access(resource: Resource, _: Context) -> list[str]:
    workload = pod(resource)
    if workload is None:
        return []
    found = []
    shared = [key for key in ("hostNetwork", "hostPID", "hostIPC") if workload.spec.get(key)]
    if shared:
        found.append(f"the pod shares host namespaces through {', '.join(shared)} (remove them from the pod spec)")
    host_paths = [str(v.get("name")) for v in workload.spec.get("volumes") or [] if "hostPath" in v]
    if host_paths:
        found.append(f"the pod mounts hostPath volumes {', '.join(host_paths)} (use a PersistentVolumeClaim or emptyDir)")
    for container in workload.containers:
        if container.security.get("privileged"):
            found.append(container.says("is privileged (remove securityContext.privileged)"))
        ports = sorted({int(p["hostPort"]) for p in container.spec.get("ports") or [] if p.get("hostPort")})
        if ports:
            found.append(container.says(f"binds host ports {', '.join(map(str, ports))} (remove hostPort; expose it through a Service)"))
    return found


def _non_root(resource: Resource, _: Context) -> list[str]:
    workload = pod(resource)
    return [
        container.says("runs as UID 0 (set a non-zero runAsUser and runAsNonRoot: true)")
        if container.security.get("runAsUser") == 0 else container.says("may run as root (set runAsNonRoot: true)")
        for container in (workload.containers if workload else ()) if container.runs_as_root
    ]


ALLOWED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
"""The one capability Pod Security 'restricted' lets a container add."""


def _no_privilege_gain(resource: Resource, _: Context) -> list[str]:
    workload = pod(resource)
    found = []
    for container in workload.containers if workload else ():
        # Unset means allowed: the kubelet sets no_new_privs only on an explicit false.
        if container.security.get("allowPrivilegeEscalation") is not False:
            found.append(container.says("may escalate privileges (set securityContext.allowPrivilegeEscalation: false)"))
        added = {str(c).upper().removeprefix("CAP_") for c in get(container.security, "capabilities", "add", default=[]) or []}
        if added - ALLOWED_CAPABILITIES:
            found.append(container.says(f"adds capabilities {', '.join(sorted(added - ALLOWED_CAPABILITIES))} "
                                        "(drop them; only NET_BIND_SERVICE may be added)"))
    return found


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


TENANT_LABEL = "odoo-platform.io/tenant"
NAME_LABEL = "kubernetes.io/metadata.name"


def _requirements(selector: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    """A label selector as (key, operator, values): matchLabels are `In` with one value."""
    return [(key, "In", [str(value)]) for key, value in (selector.get("matchLabels") or {}).items()] + [
        (str(e.get("key")), str(e.get("operator")), [str(v) for v in e.get("values") or []])
        for e in selector.get("matchExpressions") or []
    ]


def _other_tenants(selector: Mapping[str, Any], own: str) -> str | None:
    """Which other tenants' namespaces a namespaceSelector may select, in words; None when it selects none.

    A tenant namespace is known only by its name and tenant label: a selector confined by neither
    (empty, `Exists`, `NotIn`, or any other label such as a tier every tenant shares) may select them all.
    """
    for key, operator, values in _requirements(selector):
        if key not in (NAME_LABEL, TENANT_LABEL):
            continue
        if operator == "In":
            names = values if key == NAME_LABEL else [f"odoo-{v}" for v in values]
            return ", ".join(n for n in names if tenant_namespace(n) and n != own) or None
        if operator == "DoesNotExist":
            return None  # no namespace lacks its name label; no tenant namespace lacks its tenant label
    return "every other tenant's namespace"


PRIVATE_BLOCKS = tuple(ipaddress.ip_network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))
"""Where a cluster's pod addresses live (RFC 1918, carrier-grade NAT, IPv6 unique local)."""


def _opens_pod_network(block: Mapping[str, Any]) -> bool:
    """Whether an ipBlock, less its `except`, still covers a whole private block (so other tenants' pods)."""
    try:
        cidr = ipaddress.ip_network(str(block.get("cidr")), strict=False)
        excepted = [ipaddress.ip_network(str(e), strict=False) for e in block.get("except") or []]
    except ValueError:
        return True  # an unreadable range is not a proof of a narrow one
    return any(
        private.version == cidr.version and private.subnet_of(cidr)
        and not any(e.version == private.version and private.subnet_of(e) for e in excepted)
        for private in PRIVATE_BLOCKS
    )


def _no_cross_tenant_selector(resource: Resource, _: Context) -> list[str]:
    """A tenant's NetworkPolicy may not admit another tenant, nor name one as a destination.

    Ingress is checked in every form (no `from` at all, an empty or unconfined namespaceSelector, an
    ipBlock spanning the pod network): it is what lets another tenant in. Egress is checked for peers
    naming another tenant; egress to "anywhere" (API server, internet) is stopped at the other tenant by
    that tenant's own default-deny ingress.
    """
    own = get(resource.props, "metadata", "namespace", default="")
    if not tenant_namespace(own):
        return []
    spec = resource.props.get("spec") or {}
    found = []
    for rule in spec.get("ingress") or []:
        peers = rule.get("from") or []
        if not peers:
            found.append(f"an ingress rule without `from` admits every pod of every namespace into {own} "
                         "(name the peers it needs)")
        for peer in peers:
            if "ipBlock" in peer and _opens_pod_network(peer["ipBlock"]):
                found.append(f"ingress from ipBlock {get(peer, 'ipBlock', 'cidr')} spans the pod network, other tenants' "
                             "pods included (except 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and 100.64.0.0/10)")
            if "namespaceSelector" in peer and (others := _other_tenants(peer["namespaceSelector"] or {}, own)):
                found.append(f"ingress opens {own} to {others} (select namespaces by kubernetes.io/metadata.name)")
    for rule in spec.get("egress") or []:
        for peer in rule.get("to") or []:
            selector = peer.get("namespaceSelector") or {}
            names_tenants = any(key in (NAME_LABEL, TENANT_LABEL) for key, _, _ in _requirements(selector))
            if names_tenants and (others := _other_tenants(selector, own)):
                found.append(f"egress opens {own} to {others} (tenants may never reach each other)")
    return found


ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"


def _no_cluster_role(resource: Resource, _: Context) -> str | None:
    if resource.type == CLUSTER_ROLE_BINDING:
        # Binding a tenant's service account cluster-wide grants it far more than any ClusterRole in its namespace.
        tenants = sorted({str(s.get("namespace")) for s in resource.props.get("subjects") or []
                          if s.get("kind") == "ServiceAccount" and tenant_namespace(str(s.get("namespace") or ""))})
        if tenants:
            return (f"a ClusterRoleBinding grants cluster-wide rights to service accounts of {', '.join(tenants)} "
                    "(bind a Role in the tenant namespace instead)")
        return None
    namespace = get(resource.props, "metadata", "namespace", default="")
    if tenant_namespace(namespace) and get(resource.props, "roleRef", "kind") == "ClusterRole":
        return "a tenant RoleBinding grants a ClusterRole (bind a namespace-scoped Role instead)"
    return None


def _no_token_automount(resource: Resource, _: Context) -> str | None:
    workload = pod(resource)
    namespace = get(resource.props, "metadata", "namespace", default="")
    if workload is None or not tenant_namespace(namespace) or workload.spec.get("serviceAccountName") == "odoo-scaler":
        return None
    if workload.spec.get("automountServiceAccountToken") is not False:
        return "the pod mounts a Kubernetes API token it does not need (set automountServiceAccountToken: false)"
    return None


def _cluster_ip_only(resource: Resource, _: Context) -> str | None:
    namespace = get(resource.props, "metadata", "namespace", default="")
    if not tenant_namespace(namespace):
        return None
    kind = get(resource.props, "spec", "type", default="ClusterIP") or "ClusterIP"
    if kind != "ClusterIP":
        return f"a tenant Service is of type {kind} (use ClusterIP; traffic enters through Traefik only)"
    # A ClusterIP Service with externalIPs is reachable on those addresses from outside the cluster.
    if get(resource.props, "spec", "externalIPs"):
        return "a tenant Service takes external IPs (remove spec.externalIPs; traffic enters through Traefik only)"
    return None


def _quota_everywhere(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    quoted = {get(r.props, "metadata", "namespace") for r in resources if r.type == "kubernetes:core/v1:ResourceQuota"}
    return [
        (r.urn, f"namespace {name} has no ResourceQuota (add one sized from the tenant's users)")
        for r in resources
        if r.type == NAMESPACE and tenant_namespace(name := get(r.props, "metadata", "name", default="")) and name not in quoted
    ]


def _public_or_wide(cidr: str) -> bool:
    """A source range that is public, or private but wider than an administrators' subnet (the
    thresholds the estate config applies to adminCidrs); loopback admits no one from outside."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return True  # an unreadable range is not a proof of a narrow one
    if network.is_loopback:
        return False
    private = any(network.version == block.version and network.subnet_of(block) for block in PRIVATE_NETWORKS)
    return not private or network.prefixlen < ADMIN_CIDR_WIDEST_PREFIX[network.version]


def _middleware(middlewares: Mapping[tuple[str, str], Mapping[str, Any]], reference: Mapping[str, Any],
                namespace: str) -> Mapping[str, Any] | None:
    """The Middleware a route names: `{name, namespace}` (its own namespace by default) or the provider
    form `<namespace>-<name>@kubernetescrd`."""
    name = str(reference.get("name", ""))
    if "@" in name:
        qualified = name.split("@", 1)[0]
        return next((spec for (ns, n), spec in middlewares.items() if f"{ns}-{n}" == qualified), None)
    return middlewares.get((str(reference.get("namespace") or namespace), name))


def _database_manager_closed(resources: Sequence[Resource], context: Context) -> list[tuple[str, str]]:
    """/web/database (backup, restore, drop of a whole database) passes through an IP allow-list of
    administrators' private subnets; in production a public or wide range counts as no allow-list."""
    middlewares = {
        (get(r.props, "metadata", "namespace", default="") or "default", get(r.props, "metadata", "name", default="")):
            r.props.get("spec") or {}
        for r in resources if r.type in traefik("Middleware")
    }
    found = []
    for route in (r for r in resources if r.type in traefik("IngressRoute")):
        namespace = get(route.props, "metadata", "namespace", default="") or "default"
        routes = get(route.props, "spec", "routes", default=[]) or []
        for entry in routes:
            if "/web/database" not in entry.get("match", ""):
                continue
            used = [_middleware(middlewares, m, namespace) or {} for m in entry.get("middlewares") or []]
            allow_lists = [[str(c) for c in (m.get("ipAllowList") or m.get("ipWhiteList") or {}).get("sourceRange") or []]
                           for m in used if m.get("ipAllowList") or m.get("ipWhiteList")]
            if not allow_lists:
                found.append((route.urn, "the route exposes /web/database without an IP allow-list middleware "
                                         "(attach database-manager-allowlist)"))
            # Traefik applies every middleware in turn: one allow-list of narrow ranges closes the route.
            elif context.production and all(any(_public_or_wide(c) for c in ranges) for ranges in allow_lists):
                wide = ", ".join(c for c in allow_lists[0] if _public_or_wide(c))
                found.append((route.urn, f"the database manager's allow-list admits {wide}, a public or wide range "
                                         "(admit only administrators' private subnets of /16 or narrower in adminCidrs)"))
        serves_odoo = any(s.get("port") == 8069 for r in routes for s in r.get("services") or [])
        guarded = any("/web/database" in r.get("match", "") for r in routes)
        entry_points = get(route.props, "spec", "entryPoints", default=[]) or []
        # No entryPoints means every entry point, the public ones included.
        if serves_odoo and (not entry_points or "websecure" in entry_points) and not guarded:
            found.append((route.urn, "Odoo's database manager is reachable through this route "
                                     "(add a /web/database route with the allow-list)"))
    return found


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


SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def _internet_wide(cidr: str) -> bool:
    """Public and wider than a /16 (IPv4) or /48 (IPv6): `0.0.0.0/1` admits half the internet."""
    try:
        network = ipaddress.ip_network(str(cidr).strip(), strict=False)
    except ValueError:
        return True
    return not network.is_private and network.prefixlen < ADMIN_CIDR_WIDEST_PREFIX[network.version]


def _no_open_security_group(resource: Resource, _: Context) -> str | None:
    props = resource.props
    if resource.type == SECURITY_GROUP:
        rules = props.get("ingress") or []
    elif resource.type == SECURITY_GROUP_RULE:
        rules = [props] if props.get("type") == "ingress" else []
    else:  # the standalone ingress rule: one cidrIpv4 or cidrIpv6
        rules = [{"cidrBlocks": [props.get("cidrIpv4")] if props.get("cidrIpv4") else [],
                  "ipv6CidrBlocks": [props.get("cidrIpv6")] if props.get("cidrIpv6") else []}]
    for rule in rules:
        wide = [c for c in [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])] if _internet_wide(c)]
        if wide:
            return f"the security group admits {', '.join(wide)} from the internet (admit the cluster's node subnets only)"
    return None


SEGREGATION = [
    Rule("SEG-01", "k8s-namespace-require-tenant-label-and-psa", "Tenant namespaces carry their tenant label and enforce Pod Security restricted.",
         Severity.HIGH, "Label the namespace and set pod-security.kubernetes.io/enforce: restricted.", (NAMESPACE,), _namespace_labels),
    Rule("SEG-02", "k8s-namespace-require-default-deny", "Every tenant namespace has a default-deny NetworkPolicy.",
         Severity.CRITICAL, "Add a NetworkPolicy selecting all pods with no ingress or egress rules.", check_stack=_default_deny_everywhere),
    Rule("SEG-03", "k8s-networkpolicy-disallow-cross-tenant", "No NetworkPolicy admits another tenant into a tenant namespace, or names one as a destination.",
         Severity.CRITICAL, "Name each peer namespace by kubernetes.io/metadata.name; never another tenant's.", (NETWORK_POLICY,), _no_cross_tenant_selector),
    Rule("SEG-04", "k8s-pod-disallow-host-access", "Pods use no host namespaces, host ports, hostPath volumes or privileged containers.",
         Severity.CRITICAL, "Remove hostNetwork/hostPID/hostIPC, hostPort, hostPath and privileged.", K8S_WORKLOADS, _no_host_access),
    Rule("SEG-05", "k8s-container-require-non-root", "Containers run as non-root (runAsNonRoot, inherited from the pod or set, and never UID 0).",
         Severity.HIGH, "Set securityContext.runAsNonRoot: true and a non-zero runAsUser.", K8S_WORKLOADS, _non_root),
    Rule("SEG-06", "azure-postgres-disallow-public-access", "PostgreSQL flexible servers are reachable only privately.",
         Severity.CRITICAL, "Disable public network access; use a delegated subnet and private DNS.", (AZURE_PG,), _azure_pg_private),
    Rule("SEG-07", "aws-rds-instance-disallow-public-access", "RDS instances are not publicly accessible.",
         Severity.CRITICAL, "Set publicly_accessible=False.", (RDS,), _rds_private),
    Rule("SEG-08", "k8s-rolebinding-disallow-cluster-role", "Tenant RoleBindings never grant ClusterRoles; no ClusterRoleBinding names a tenant's service account.",
         Severity.HIGH, "Bind a Role defined in the tenant namespace.", (ROLE_BINDING, CLUSTER_ROLE_BINDING), _no_cluster_role),
    Rule("SEG-09", "k8s-pod-disallow-token-automount", "Tenant pods mount no Kubernetes API token unless they manage the tenant.",
         Severity.MEDIUM, "Set automountServiceAccountToken: false.", K8S_WORKLOADS, _no_token_automount),
    Rule("SEG-10", "k8s-service-require-cluster-ip", "Tenant Services are ClusterIP without external IPs; nothing bypasses Traefik.",
         Severity.HIGH, "Use type ClusterIP.", ("kubernetes:core/v1:Service",), _cluster_ip_only),
    Rule("SEG-11", "k8s-namespace-require-quota", "Every tenant namespace has a ResourceQuota (stack rule).",
         Severity.HIGH, "Add a ResourceQuota so one tenant cannot starve the others.", check_stack=_quota_everywhere),
    Rule("SEG-12", "traefik-ingressroute-block-database-manager", "Odoo's database manager is reachable only through an allow-list of private admin subnets (stack rule).",
         Severity.CRITICAL, "Route /web/database through an ipAllowList middleware of narrow private ranges.",
         check_stack=_database_manager_closed),
    Rule("SEG-13", "azure-data-services-disallow-public-access", "Storage, Key Vault and Redis are reachable only privately.",
         Severity.CRITICAL, "Disable public network access and use private endpoints.", (STORAGE_ACCOUNT, KEY_VAULT, AZURE_REDIS),
         _no_public_endpoint),
    Rule("SEG-14", "aws-s3-require-public-access-block", "Archive buckets block every form of public access.",
         Severity.CRITICAL, "Enable all four public access block settings.", (S3_PUBLIC_ACCESS_BLOCK,), _s3_public_access_block),
    Rule("SEG-15", "dedicated-tenants-disallow-shared-keys", "Dedicated tenants' servers never share an encryption key (stack rule).",
         Severity.CRITICAL, "Give every dedicated placement its own key.", check_stack=_dedicated_keys_unshared),
    Rule("SEG-16", "aws-security-group-disallow-internet-ingress", "Security groups never admit the whole internet, or a wide public range.",
         Severity.CRITICAL, "Restrict ingress to the cluster's subnets.", (SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
         _no_open_security_group),
    Rule("SEG-17", "k8s-container-disallow-privilege-escalation",
         "Containers cannot gain privileges: no privilege escalation, no capability beyond NET_BIND_SERVICE.",
         Severity.HIGH, "Set allowPrivilegeEscalation: false and add no capabilities.", K8S_WORKLOADS, _no_privilege_gain),
]
