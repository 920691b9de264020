"""Encryption: data at rest under keys the customer controls, TLS on every hop, no plain secrets."""

from __future__ import annotations

from collections.abc import Sequence

from odoo_platform.policy.rule import K8S_WORKLOADS, Context, Resource, Rule, Severity, get, pod, traefik
from odoo_platform.policy.rules.types import (
    AWS_BACKUP_VAULT,
    AZURE_BACKUP_VAULT,
    AZURE_KEY,
    AZURE_PG,
    AZURE_REDIS,
    ELASTICACHE,
    KEY_VAULT,
    KMS_KEY,
    PASSWORD,
    RDS,
    ROTATION,
    S3_BUCKET,
    S3_ENCRYPTION,
    S3_POLICY,
    SECRET_NAME,
    STORAGE_ACCOUNT,
)
from odoo_platform.rotation import ROTATION_KEEPER


def _no_plain_secret_env(resource: Resource, _: Context) -> list[str]:
    workload = pod(resource)
    return [
        container.says(f"sets {env['name']} as a plain value (use valueFrom.secretKeyRef)")
        for container in (workload.containers if workload else ())
        for env in container.spec.get("env") or []
        if SECRET_NAME.search(env.get("name", "")) and "value" in env
    ]


def _traefik_tls_only(resource: Resource, _: Context) -> str | None:
    spec = resource.props.get("spec") or {}
    entry_points = list(spec.get("entryPoints") or [])
    if "websecure" in entry_points and not spec.get("tls"):
        return "the route listens on websecure without tls (set spec.tls with a secretName and TLS options)"
    # Without entryPoints Traefik attaches the route to every entry point, plain HTTP included.
    if not entry_points and not spec.get("tls"):
        return "the route listens on every entry point without tls (set spec.entryPoints: [websecure] and spec.tls)"
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


def _no_secret_in_configmap(resource: Resource, _: Context) -> str | None:
    data = {**(resource.props.get("data") or {}), **(resource.props.get("binaryData") or {})}
    leaked = sorted(key for key in data if SECRET_NAME.search(key) or key.endswith(".conf") and "passw" in str(data[key]))
    return f"ConfigMap keys {', '.join(leaked)} look like secrets (move them to a Secret)" if leaked else None


def _has_password(arguments: list[str]) -> bool:
    """`--requirepass <value>` with a value: an empty one (`--requirepass ""`) leaves Redis open."""
    return any(arg == "--requirepass" and index + 1 < len(arguments) and str(arguments[index + 1]).strip()
               for index, arg in enumerate(arguments))


def _redis_auth(resource: Resource, _: Context) -> list[str]:
    workload = pod(resource)
    return [
        container.says("runs Redis without a password (pass --requirepass from a Secret)")
        for container in (workload.containers if workload else ())
        if "redis" in container.spec.get("image", "")
        and not _has_password([*(container.spec.get("command") or []), *(container.spec.get("args") or [])])
    ]


def _rds_force_ssl(resource: Resource, _: Context) -> str | None:
    parameters = {p.get("name"): str(p.get("value")) for p in resource.props.get("parameters") or []}
    if not str(resource.props.get("family", "")).startswith("postgres"):
        return None
    return None if parameters.get("rds.force_ssl") == "1" else "rds.force_ssl is not 1 (add the parameter rds.force_ssl=1)"


def _azure_pg_cmk(resource: Resource, _: Context) -> str | None:
    encryption = resource.props.get("dataEncryption") or {}
    if encryption.get("type") != "AzureKeyVault" or not encryption.get("primaryKeyURI"):
        return "data is encrypted with platform keys (set data_encryption to AzureKeyVault with a customer key)"
    return None


def _rds_cmk(resource: Resource, _: Context) -> str | None:
    return None if resource.props.get("kmsKeyId") else "storage uses the AWS-managed key (set kms_key_id to the placement's KMS key)"


def _storage_account(resource: Resource, _: Context) -> str | None:
    props = resource.props
    encryption = props.get("encryption") or {}
    if props.get("enableHttpsTrafficOnly") is not True:
        return "HTTP is allowed (set enable_https_traffic_only=True)"
    if props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
        return f"minimum TLS is {props.get('minimumTlsVersion') or 'unset'} (set minimum_tls_version=TLS1_2)"
    if encryption.get("keySource") != "Microsoft.Keyvault" or encryption.get("requireInfrastructureEncryption") is not True:
        return "blobs are not double-encrypted with a customer key (Key Vault key source and infrastructure encryption)"
    return None


def _backup_vault_cmk(resource: Resource, _: Context) -> str | None:
    if resource.type == AZURE_BACKUP_VAULT:
        state = get(resource.props, "properties", "securitySettings", "encryptionSettings", "state")
        return None if state == "Enabled" else "backups are encrypted with platform keys (enable encryptionSettings with the placement's key)"
    return None if resource.props.get("kmsKeyArn") else "backups are encrypted with the default key (set kms_key_arn)"


def _redis_tls(resource: Resource, _: Context) -> str | None:
    props = resource.props
    if resource.type == AZURE_REDIS:
        if props.get("enableNonSslPort") is not False or props.get("minimumTlsVersion") not in ("1.2", "1.3"):
            return "the cache accepts plain or old-TLS connections (disable the non-TLS port, minimum TLS 1.2)"
        return None
    if not (props.get("transitEncryptionEnabled") and props.get("atRestEncryptionEnabled") and props.get("kmsKeyId")):
        return "the cache is not encrypted in transit and at rest with the placement's key"
    return None if props.get("authToken") else "the cache has no AUTH token (set auth_token from a generated secret)"


def _kms_rotation(resource: Resource, _: Context) -> str | None:
    return None if resource.props.get("enableKeyRotation") is True else "the key never rotates (set enable_key_rotation=True)"


def _s3_kms(resource: Resource, _: Context) -> str | None:
    for rule in resource.props.get("rules") or []:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        if default.get("sseAlgorithm") == "aws:kms" and default.get("kmsMasterKeyId"):
            return None
    return "objects are not encrypted with SSE-KMS under the placement's key (sse_algorithm aws:kms with kms_master_key_id)"


def _s3_tls_only(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    guarded = {
        dependency
        for r in resources
        if r.type == S3_POLICY and "aws:SecureTransport" in str(r.props.get("policy", ""))
        for dependency in r.dependencies
    }
    return [
        (r.urn, "the bucket has no policy denying non-TLS requests (add a Deny on aws:SecureTransport=false)")
        for r in resources
        if r.type == S3_BUCKET and r.urn not in guarded
    ]


def _key_vault_hardening(resource: Resource, _: Context) -> str | None:
    props = resource.props.get("properties") or {}
    if not (props.get("enablePurgeProtection") and props.get("enableRbacAuthorization")):
        return "the vault lacks purge protection or RBAC authorization (enable both)"
    return None


def _secrets_rotate(resources: Sequence[Resource], context: Context) -> list[tuple[str, str]]:
    if not context.production:
        return []
    rotations = {r.urn for r in resources if r.type == ROTATION}
    return [
        (r.urn, "the password never rotates (key it to a time.Rotating with odoo_platform.rotation.rotating_password)")
        for r in resources
        if r.type == PASSWORD and not (ROTATION_KEEPER in (r.props.get("keepers") or {}) and rotations & set(r.dependencies))
    ]


def _azure_key_rotation(resource: Resource, _: Context) -> str | None:
    actions = get(resource.props, "properties", "rotationPolicy", "lifetimeActions", default=[]) or []
    if not any(get(a, "action", "type", default="").lower() == "rotate" and get(a, "trigger") for a in actions):
        return "the key has no automatic rotation (add a rotationPolicy lifetime action of type Rotate)"
    return None


ENCRYPTION = [
    Rule("ENC-01", "k8s-container-disallow-plain-secret-env", "Containers must not carry secrets as plain environment values.",
         Severity.HIGH, "Reference a Secret with valueFrom.secretKeyRef.", K8S_WORKLOADS, _no_plain_secret_env),
    Rule("ENC-02", "traefik-ingressroute-require-tls", "Traefik routes serve only over TLS.",
         Severity.HIGH, "Serve on websecure with spec.tls; plain HTTP may only redirect.", traefik("IngressRoute"), _traefik_tls_only),
    Rule("ENC-03", "traefik-tlsoption-require-tls12", "TLS options require TLS 1.2 or later.",
         Severity.HIGH, "Set spec.minVersion to VersionTLS12.", traefik("TLSOption"), _tls12),
    Rule("ENC-04", "aws-rds-instance-require-storage-encryption", "RDS storage is encrypted at rest.",
         Severity.CRITICAL, "Set storage_encrypted=True and kms_key_id.", (RDS,), _rds_encrypted),
    Rule("ENC-05", "k8s-configmap-disallow-secrets", "ConfigMaps hold no secrets.",
         Severity.HIGH, "Move credentials to a Secret.", ("kubernetes:core/v1:ConfigMap",), _no_secret_in_configmap),
    Rule("ENC-06", "k8s-redis-require-auth", "In-cluster Redis requires a password.",
         Severity.HIGH, "Start redis-server with --requirepass read from a Secret.", K8S_WORKLOADS, _redis_auth),
    Rule("ENC-07", "aws-rds-parametergroup-require-tls", "RDS PostgreSQL parameter groups force TLS.",
         Severity.HIGH, "Set rds.force_ssl=1.", ("aws:rds/parameterGroup:ParameterGroup",), _rds_force_ssl),
    Rule("ENC-08", "azure-postgres-require-cmk", "PostgreSQL flexible servers encrypt data with a customer-managed key.",
         Severity.CRITICAL, "Set data_encryption (AzureKeyVault) with the placement's key and identity.", (AZURE_PG,), _azure_pg_cmk),
    Rule("ENC-09", "aws-rds-instance-require-cmk", "RDS instances encrypt data with a customer-managed KMS key.",
         Severity.CRITICAL, "Set kms_key_id.", (RDS,), _rds_cmk),
    Rule("ENC-10", "azure-storage-require-https-tls12-cmk", "Storage accounts are HTTPS-only, TLS 1.2+, double-encrypted with a customer key.",
         Severity.CRITICAL, "Set HTTPS only, TLS1_2, Key Vault key source and infrastructure encryption.", (STORAGE_ACCOUNT,), _storage_account),
    Rule("ENC-11", "backup-vault-require-cmk", "Backup vaults encrypt backups with a customer-managed key.",
         Severity.CRITICAL, "Use the placement's key for the vault.", (AZURE_BACKUP_VAULT, AWS_BACKUP_VAULT), _backup_vault_cmk),
    Rule("ENC-12", "redis-require-tls-and-encryption", "Managed Redis accepts only TLS 1.2+ and is encrypted and authenticated.",
         Severity.HIGH, "Disable plain ports, require TLS 1.2, encrypt at rest, require AUTH.", (AZURE_REDIS, ELASTICACHE), _redis_tls),
    Rule("ENC-13", "aws-kms-key-require-rotation", "KMS keys rotate automatically.",
         Severity.HIGH, "Set enable_key_rotation=True.", (KMS_KEY,), _kms_rotation),
    Rule("ENC-14", "aws-s3-require-sse-kms", "Archive buckets use SSE-KMS with the placement's key.",
         Severity.CRITICAL, "Configure aws:kms default encryption.", (S3_ENCRYPTION,), _s3_kms),
    Rule("ENC-15", "aws-s3-require-tls-only-policy", "Every bucket denies requests that are not over TLS (stack rule).",
         Severity.HIGH, "Attach a bucket policy denying aws:SecureTransport=false.", check_stack=_s3_tls_only),
    Rule("ENC-16", "azure-keyvault-require-purge-protection-rbac", "Key Vaults have purge protection and RBAC authorization.",
         Severity.HIGH, "Enable purge protection and RBAC.", (KEY_VAULT,), _key_vault_hardening),
    Rule("ENC-17", "secret-require-rotation", "In production, every generated password rotates on a schedule (stack rule).",
         Severity.HIGH, "Generate it with rotating_password() so a time.Rotating keeper renews it.",
         check_stack=_secrets_rotate),
    Rule("ENC-18", "azure-keyvault-key-require-rotation", "Key Vault keys rotate automatically.",
         Severity.HIGH, "Add a rotation policy with a Rotate lifetime action.", (AZURE_KEY,), _azure_key_rotation),
]
