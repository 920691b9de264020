"""Encryption: data at rest under keys the customer controls, TLS on every hop, no plain secrets."""

from __future__ import annotations

from odoo_platform.policy.rule import K8S_WORKLOADS, Context, Resource, Rule, Severity, containers, get
from odoo_platform.policy.rules.types import (
    INGRESS_ROUTE,
    RDS,
    SECRET_NAME,
    TLS_OPTION,
)


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


def _no_secret_in_configmap(resource: Resource, _: Context) -> str | None:
    data = {**(resource.props.get("data") or {}), **(resource.props.get("binaryData") or {})}
    leaked = sorted(key for key in data if SECRET_NAME.search(key) or key.endswith(".conf") and "passw" in str(data[key]))
    return f"ConfigMap keys {', '.join(leaked)} look like secrets (move them to a Secret)" if leaked else None


def _redis_auth(resource: Resource, _: Context) -> str | None:
    for container in containers(resource):
        if "redis" in container.get("image", "") and "--requirepass" not in (container.get("args") or []):
            return f"Redis container {container.get('name')!r} runs without a password (pass --requirepass from a Secret)"
    return None


def _rds_force_ssl(resource: Resource, _: Context) -> str | None:
    parameters = {p.get("name"): str(p.get("value")) for p in resource.props.get("parameters") or []}
    if not str(resource.props.get("family", "")).startswith("postgres"):
        return None
    return None if parameters.get("rds.force_ssl") == "1" else "rds.force_ssl is not 1 (add the parameter rds.force_ssl=1)"


ENCRYPTION = [
    Rule("ENC-01", "k8s-container-disallow-plain-secret-env", "Containers must not carry secrets as plain environment values.",
         Severity.HIGH, "Reference a Secret with valueFrom.secretKeyRef.", K8S_WORKLOADS, _no_plain_secret_env),
    Rule("ENC-02", "traefik-ingressroute-require-tls", "Traefik routes serve only over TLS.",
         Severity.HIGH, "Serve on websecure with spec.tls; plain HTTP may only redirect.", (INGRESS_ROUTE,), _traefik_tls_only),
    Rule("ENC-03", "traefik-tlsoption-require-tls12", "TLS options require TLS 1.2 or later.",
         Severity.HIGH, "Set spec.minVersion to VersionTLS12.", (TLS_OPTION,), _tls12),
    Rule("ENC-04", "aws-rds-instance-require-storage-encryption", "RDS storage is encrypted at rest.",
         Severity.CRITICAL, "Set storage_encrypted=True and kms_key_id.", (RDS,), _rds_encrypted),
    Rule("ENC-05", "k8s-configmap-disallow-secrets", "ConfigMaps hold no secrets.",
         Severity.HIGH, "Move credentials to a Secret.", ("kubernetes:core/v1:ConfigMap",), _no_secret_in_configmap),
    Rule("ENC-06", "k8s-redis-require-auth", "In-cluster Redis requires a password.",
         Severity.HIGH, "Start redis-server with --requirepass read from a Secret.", K8S_WORKLOADS, _redis_auth),
    Rule("ENC-07", "aws-rds-parametergroup-require-tls", "RDS PostgreSQL parameter groups force TLS.",
         Severity.HIGH, "Set rds.force_ssl=1.", ("aws:rds/parameterGroup:ParameterGroup",), _rds_force_ssl),
]
