"""Every Kubernetes object of every stack against the real contract for its kind.

Built-in kinds: kubernetes-validate, strict, Kubernetes 1.30. Traefik kinds: the vendored
Traefik CRD schemas, made strict (the API server would prune unknown fields silently).
Prometheus-operator and Kyverno kinds: the required shape of the fields we use (neither
project's CRDs are vendored here). Any other kind fails:
nothing is skipped silently.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.conftest import CONTRACTS
from tests.stack_plans import all_stacks, manifests_of

KUBERNETES_VERSION = "1.30"
BUILTIN_GROUPS = {"", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
                  "storage.k8s.io"}

_RULE = {
    "type": "object",
    "required": ["alert", "expr", "for", "labels", "annotations"],
    "additionalProperties": False,
    "properties": {
        "alert": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
        "expr": {"type": "string", "minLength": 1},
        "for": {"type": "string", "pattern": "^[0-9]+[smh]$"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
MONITORING_SPECS = {
    "PrometheusRule": {
        "type": "object",
        "required": ["groups"],
        "additionalProperties": False,
        "properties": {
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "rules"],
                    "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "rules": {"type": "array", "items": _RULE, "minItems": 1}},
                },
            }
        },
    },
    "ServiceMonitor": {
        "type": "object",
        "required": ["selector", "endpoints"],
        "additionalProperties": False,
        "properties": {
            "selector": {"type": "object"},
            "namespaceSelector": {"type": "object", "properties": {"matchNames": {"type": "array"}}},
            "endpoints": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["port"]}},
        },
    },
}


_IMAGE_PATTERN = {"type": "array", "items": {"type": "object", "required": ["image"], "additionalProperties": False,
                                              "properties": {"image": {"type": "string"}}}}
_MATCH = {"type": "object", "additionalProperties": False, "properties": {"any": {"type": "array", "minItems": 1, "items": {
    "type": "object", "additionalProperties": False, "properties": {"resources": {
        "type": "object", "required": ["kinds"], "additionalProperties": False, "properties": {
            "kinds": {"type": "array", "items": {"type": "string"}}, "namespaces": {"type": "array"},
            "namespaceSelector": {"type": "object"}}}}}}}}
_ACTION = {"enum": ["Audit", "Enforce"]}
# Kyverno 1.13 ClusterPolicy (kyverno.io/v1), the fields we use, as its CRD defines them.
KYVERNO_SPECS = {
    "ClusterPolicy": {
        "type": "object",
        "required": ["rules"],
        "additionalProperties": False,
        "properties": {
            "background": {"type": "boolean"},
            "webhookConfiguration": {"type": "object", "additionalProperties": False, "properties": {
                "failurePolicy": {"enum": ["Fail", "Ignore"]}, "timeoutSeconds": {"type": "integer"}}},
            "rules": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["name", "match"], "additionalProperties": False,
                "oneOf": [{"required": ["validate"]}, {"required": ["verifyImages"]}],
                "properties": {
                    "name": {"type": "string", "maxLength": 63},
                    "match": _MATCH,
                    "validate": {"type": "object", "required": ["pattern"], "additionalProperties": False, "properties": {
                        "failureAction": _ACTION, "message": {"type": "string"},
                        "pattern": {"type": "object", "additionalProperties": False, "properties": {"spec": {
                            "type": "object", "additionalProperties": False, "required": ["containers"], "properties": {
                                "=(ephemeralContainers)": _IMAGE_PATTERN, "=(initContainers)": _IMAGE_PATTERN,
                                "containers": _IMAGE_PATTERN}}}}}},
                    "verifyImages": {"type": "array", "items": {
                        "type": "object", "required": ["imageReferences", "attestors"], "additionalProperties": False,
                        "properties": {
                            "imageReferences": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                            "failureAction": _ACTION, "verifyDigest": {"type": "boolean"},
                            "mutateDigest": {"type": "boolean"}, "required": {"type": "boolean"},
                            "attestors": {"type": "array", "minItems": 1, "items": {
                                "type": "object", "required": ["entries"], "additionalProperties": False, "properties": {
                                    "count": {"type": "integer", "minimum": 1},
                                    "entries": {"type": "array", "minItems": 1, "items": {
                                        "type": "object", "required": ["keys"], "additionalProperties": False,
                                        "properties": {"keys": {
                                            "type": "object", "additionalProperties": False,
                                            "oneOf": [{"required": ["kms"]}, {"required": ["publicKeys"]}],
                                            "properties": {"kms": {"type": "string"},
                                                           "publicKeys": {"type": "string"}}}}}}}}}}}},
                }}},
        },
    },
}


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@functools.cache
def traefik_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    path = CONTRACTS / "traefik" / "kubernetes-crd-definition-v1.yml"
    schemas = {}
    for crd in yaml.safe_load_all(path.read_text()):
        if not crd:
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


def validate(obj: dict[str, Any]) -> None:
    api_version, kind = obj["apiVersion"], obj["kind"]
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    if group in BUILTIN_GROUPS:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    elif group == "traefik.io":
        schema = traefik_schemas().get((api_version, kind))
        assert schema is not None, f"no Traefik CRD schema for {api_version} {kind}"
        jsonschema.Draft7Validator(schema).validate(obj)
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}, KUBERNETES_VERSION, strict=True
        )
    elif group == "monitoring.coreos.com":
        jsonschema.Draft7Validator(MONITORING_SPECS[kind]).validate(obj["spec"])
    elif group == "kyverno.io":
        jsonschema.Draft7Validator(KYVERNO_SPECS[kind]).validate(obj["spec"])
    else:
        pytest.fail(f"no contract to validate {api_version} {kind} against: add one before rendering it")


@pytest.mark.parametrize("stack", all_stacks())
def test_every_object_of_every_stack_validates(stack):
    objects = manifests_of(stack)
    assert objects, f"{stack} renders no Kubernetes objects"
    failures = []
    for obj in objects:
        try:
            validate(obj)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as exc:
            failures.append(f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_the_validators_reject_what_they_should():
    """The contracts have teeth: a misspelled field fails each of the three validators."""
    with pytest.raises(kubernetes_validate.ValidationError):
        validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"prots": []}})
    with pytest.raises(jsonschema.ValidationError):
        validate({"apiVersion": "traefik.io/v1alpha1", "kind": "TLSOption", "metadata": {"name": "x"},
                  "spec": {"minVersoin": "VersionTLS12"}})
    with pytest.raises(jsonschema.ValidationError):
        validate({"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "x"},
                  "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up"}]}]}})
    with pytest.raises(jsonschema.ValidationError):
        validate({"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "x"},
                  "spec": {"rules": [{"name": "r", "match": {"any": []}, "validate": {"pattern": {}}}]}})
    with pytest.raises(pytest.fail.Exception):
        validate({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "x"}, "spec": {}})


def _pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    if obj["kind"] in ("Deployment", "Job"):
        return [obj["spec"]["template"]["spec"]]
    if obj["kind"] == "CronJob":
        return [obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


@pytest.mark.parametrize("stack", all_stacks())
def test_every_container_is_restricted_and_bounded(stack):
    for obj in manifests_of(stack):
        for spec in _pod_specs(obj):
            assert spec["securityContext"]["runAsNonRoot"] is True
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
            assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
            assert not any("hostPath" in volume for volume in spec.get("volumes", []))
            for container in spec["containers"]:
                where = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}/{container['name']}"
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["capabilities"]["drop"] == ["ALL"], where
                assert context["readOnlyRootFilesystem"] is True, where
                assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
                assert not any("value" in env and "PASSWORD" in env["name"] for env in container.get("env", [])), where


@pytest.mark.parametrize("stack", all_stacks())
def test_web_pods_probe_odoo_health_and_web_waits_for_the_upgrade_job(stack):
    from tests.stack_plans import plan_of

    plan = plan_of(stack)
    by_urn = {r["urn"]: r for r in plan["resources"]}
    webs = [r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment" and r["name"].endswith("-web")]
    assert webs
    for web in webs:
        container = web["inputs"]["spec"]["template"]["spec"]["containers"][0]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == "/web/health"
        assert any(by_urn[d]["type"] == "kubernetes:batch/v1:Job" for d in web["dependsOn"])
