"""The rules, by pack. Each check returns None when compliant, else what to change."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from odoo_platform.policy.rule import K8S_WORKLOADS, Context, Resource, Rule, Severity, containers, get, pod_spec

AZURE_PG = "azure-native:dbforpostgresql:Server"
RDS = "aws:rds/instance:Instance"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute"
TLS_OPTION = "kubernetes:traefik.io/v1alpha1:TLSOption"
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY", re.IGNORECASE)
STATEFUL = (AZURE_PG, RDS, "azure-native:dataprotection:BackupVault", "aws:backup/vault:Vault",
            "kubernetes:core/v1:PersistentVolumeClaim")


def _tenant_namespace(name: str) -> bool:
    return name.startswith("odoo-")


# --- encryption -------------------------------------------------------------------------

def _no_plain_secret_env(resource: Resource, _: Context) -> str | None:
    for container in containers(resource):
        for env in container.get("env") or []:
            if SECRET_NAME.search(env.get("name", "")) and "value" in env:
                return f"container {container.get('name')!r} sets {env['name']} as a plain value (use valueFrom.secretKeyRef)"
    return None


def _traefik_tls_only(resource: Resource, _: Context) -> str | None:
    spec = resource.props.get("spec") or {}
    entry_points = list(spec.get("entryPoints") or [])
    if "websecure" in entry_points and not spec.get("tls"):
        return "the route listens on websecure without tls (set spec.tls with a secretName and TLS options)"
    if entry_points and "websecure" not in entry_points:
        for route in spec.get("routes") or []:
            names = [m.get("name") for m in route.get("middlewares") or []]
            if "redirect-https" not in names:
                return "a plain-HTTP route serves content (attach the redirect-https middleware or use websecure)"
    return None


def _tls12(resource: Resource, _: Context) -> str | None:
    version = get(resource.props, "spec", "minVersion", default="")
    if version not in ("VersionTLS12", "VersionTLS13"):
        return f"minVersion is {version or 'unset'} (set spec.minVersion to VersionTLS12 or VersionTLS13)"
    return None


def _rds_encrypted(resource: Resource, _: Context) -> str | None:
    return None if resource.props.get("storageEncrypted") is True else "storage is not encrypted (set storage_encrypted=True with a KMS key)"


ENCRYPTION = [
    Rule("ENC-01", "k8s-container-disallow-plain-secret-env", "Containers must not carry secrets as plain environment values.",
         Severity.HIGH, "Reference a Secret with valueFrom.secretKeyRef.", K8S_WORKLOADS, _no_plain_secret_env),
    Rule("ENC-02", "traefik-ingressroute-require-tls", "Traefik routes serve only over TLS.",
         Severity.HIGH, "Serve on websecure with spec.tls; plain HTTP may only redirect.", (INGRESS_ROUTE,), _traefik_tls_only),
    Rule("ENC-03", "traefik-tlsoption-require-tls12", "TLS options require TLS 1.2 or later.",
         Severity.HIGH, "Set spec.minVersion to VersionTLS12.", (TLS_OPTION,), _tls12),
    Rule("ENC-04", "aws-rds-instance-require-storage-encryption", "RDS storage is encrypted at rest.",
         Severity.CRITICAL, "Set storage_encrypted=True and kms_key_id.", (RDS,), _rds_encrypted),
]


# --- segregation ------------------------------------------------------------------------

def _namespace_labels(resource: Resource, _: Context) -> str | None:
    name = get(resource.props, "metadata", "name", default="")
    labels = get(resource.props, "metadata", "labels", default={}) or {}
    if not _tenant_namespace(name):
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
        and _tenant_namespace(name := get(r.props, "metadata", "name", default=""))
        and name not in denied
    ]


def _no_cross_tenant_selector(resource: Resource, _: Context) -> str | None:
    own = get(resource.props, "metadata", "namespace", default="")
    spec = resource.props.get("spec") or {}
    for rule in [*(spec.get("ingress") or []), *(spec.get("egress") or [])]:
        for peer in [*(rule.get("from") or []), *(rule.get("to") or [])]:
            target = get(peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")
            if target and _tenant_namespace(target) and target != own:
                return f"the policy opens {own} to tenant namespace {target} (tenants may never reach each other)"
    return None


def _no_cluster_role(resource: Resource, _: Context) -> str | None:
    namespace = get(resource.props, "metadata", "namespace", default="")
    if _tenant_namespace(namespace) and get(resource.props, "roleRef", "kind") == "ClusterRole":
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


# --- resilience -------------------------------------------------------------------------

def _retention(resource: Resource, _: Context) -> str | None:
    days = get(resource.props, "backup", "backupRetentionDays") if resource.type == AZURE_PG else resource.props.get("backupRetentionPeriod")
    return None if (days or 0) >= 7 else f"backups are kept {days or 0} days (keep at least 7; the tier catalogue sets more)"


def _protected(resource: Resource, _: Context) -> str | None:
    return None if resource.protect else "the resource holds data but is not protected (create it with protect=True)"


def _rds_deletion_protection(resource: Resource, _: Context) -> str | None:
    return None if resource.props.get("deletionProtection") is True else "deletion protection is off (set deletion_protection=True)"


def _pinned_images(resource: Resource, context: Context) -> str | None:
    if not context.pinned_images_required:
        return None
    for container in containers(resource):
        image = container.get("image", "")
        if "@sha256:" not in image and _tenant_namespace(get(resource.props, "metadata", "namespace", default="")):
            if get(resource.props, "metadata", "labels", "app.kubernetes.io/name") == "odoo":
                return f"image {image} is not pinned by digest (use repo@sha256:<digest>)"
    return None


def _limits(resource: Resource, _: Context) -> str | None:
    for container in containers(resource):
        limits = get(container, "resources", "limits", default={}) or {}
        if not {"cpu", "memory"} <= set(limits):
            return f"container {container.get('name')!r} has no cpu and memory limits (set resources.limits)"
    return None


def _immutable_vault(resource: Resource, context: Context) -> str | None:
    if not context.production:
        return None
    state = get(resource.props, "properties", "securitySettings", "immutabilitySettings", "state")
    return None if state == "Locked" else f"immutability is {state or 'unset'} (lock it in production)"


RESILIENCE = [
    Rule("RES-01", "postgres-require-backup-retention", "PostgreSQL backups are kept at least 7 days.",
         Severity.HIGH, "Raise the backup retention (the tier catalogue sets 7/14/35 days).", (AZURE_PG, RDS), _retention),
    Rule("RES-02", "stateful-require-protect", "Stateful resources are protected from delete and replace.",
         Severity.CRITICAL, "Create databases, vaults and volumes with protect=True.", STATEFUL, _protected),
    Rule("RES-03", "aws-rds-instance-require-deletion-protection", "RDS instances have deletion protection.",
         Severity.HIGH, "Set deletion_protection=True.", (RDS,), _rds_deletion_protection),
    Rule("RES-04", "k8s-odoo-require-image-digest", "Staging and production run Odoo images pinned by digest.",
         Severity.HIGH, "Promote images by digest (repo@sha256:...).", K8S_WORKLOADS, _pinned_images),
    Rule("RES-05", "k8s-container-require-limits", "Every container has cpu and memory limits.",
         Severity.MEDIUM, "Set resources.limits.cpu and resources.limits.memory.", K8S_WORKLOADS, _limits),
    Rule("RES-06", "azure-backupvault-require-locked-immutability", "Production backup vaults are locked immutable.",
         Severity.CRITICAL, "Set immutability state Locked.", ("azure-native:dataprotection:BackupVault",), _immutable_vault),
]

PACKS: Mapping[str, list[Rule]] = {"encryption": ENCRYPTION, "segregation": SEGREGATION, "resilience": RESILIENCE}
