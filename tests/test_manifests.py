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

# kubernetes-validate lists its schema versions and reads and parses the schema files (the shared definitions
# are megabytes of JSON) on every call, once per object of every stack. The files never change during a run
# and validation does not modify a parsed schema, so each is read once per session; the validation itself is
# still the library's, against the same schemas.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)
kubernetes_validate.utils.all_versions = functools.cache(kubernetes_validate.utils.all_versions)
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


def _objects_by_namespace(stack: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for obj in manifests_of(stack):
        grouped.setdefault(obj["metadata"].get("namespace", ""), []).append(obj)
    return grouped


def _cpu_millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def _memory_mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / (1024 * 1024)


def _pod_limits(spec: dict[str, Any]) -> tuple[int, float]:
    """A pod's effective limits as quota admission counts them: the larger of its largest init container
    and the sum of its containers."""
    def limits(container: dict[str, Any]) -> tuple[int, float]:
        hard = container["resources"]["limits"]
        return _cpu_millis(hard["cpu"]), _memory_mib(hard["memory"])

    regular = [limits(c) for c in spec["containers"]]
    init = [limits(c) for c in spec.get("initContainers", [])]
    return (max([sum(c for c, _ in regular), *(c for c, _ in init)]),
            max([sum(m for _, m in regular), *(m for _, m in init)]))


def _running_pods(objects: list[dict[str, Any]]) -> list[tuple[str, int, dict[str, Any]]]:
    """(name, how many at most, pod spec) of every workload, as if everything ran at once: Deployments at
    their HPA maximum plus their rolling-update surge, one pod per Job and CronJob."""
    hpa_max = {o["spec"]["scaleTargetRef"]["name"]: o["spec"]["maxReplicas"]
               for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    pods = []
    for obj in objects:
        name = obj["metadata"]["name"]
        if obj["kind"] == "Deployment":
            replicas = hpa_max.get(name, obj["spec"].get("replicas", 1))
            strategy = obj["spec"].get("strategy", {})
            if strategy.get("type") == "Recreate":
                surge = 0
            else:  # Kubernetes' default maxSurge is 25 %, rounded up
                surge = (strategy.get("rollingUpdate") or {}).get("maxSurge", -(-replicas // 4))
            pods.append((name, replicas + surge, obj["spec"]["template"]["spec"]))
        elif obj["kind"] in ("Job", "CronJob"):
            pods.append((name, 1, _pod_specs(obj)[0]))
    return pods


@pytest.mark.parametrize("stack", all_stacks())
def test_every_container_fits_its_namespaces_limit_range_and_everything_at_once_fits_the_quota(stack):
    """Admission refuses a container above the LimitRange's max and a pod beyond the quota: the cron pod
    was once refused (2304Mi against a 2048Mi max)."""
    checked = 0
    for namespace, objects in _objects_by_namespace(stack).items():
        limit_ranges = [o for o in objects if o["kind"] == "LimitRange"]
        quotas = [o for o in objects if o["kind"] == "ResourceQuota"]
        if not namespace.startswith("odoo-"):
            continue
        assert len(limit_ranges) == 1 and len(quotas) == 1, namespace
        (maximum,) = [item["max"] for item in limit_ranges[0]["spec"]["limits"] if item["type"] == "Container"]
        pods = _running_pods(objects)
        assert {"odoo-web", "odoo-cron"} <= {name for name, _, _ in pods}, namespace
        for name, _, spec in pods:
            for container in [*spec.get("initContainers", []), *spec["containers"]]:
                hard = container["resources"]["limits"]
                where = f"{namespace}/{name}/{container['name']}"
                assert _cpu_millis(hard["cpu"]) <= _cpu_millis(maximum["cpu"]), where
                assert _memory_mib(hard["memory"]) <= _memory_mib(maximum["memory"]), where
                checked += 1
        quota = quotas[0]["spec"]["hard"]
        cpu = sum(count * _pod_limits(spec)[0] for _, count, spec in pods)
        memory = sum(count * _pod_limits(spec)[1] for _, count, spec in pods)
        assert cpu <= _cpu_millis(quota["limits.cpu"]), f"{namespace}: {cpu}m of {quota['limits.cpu']}"
        assert memory <= _memory_mib(quota["limits.memory"]), f"{namespace}: {memory}Mi of {quota['limits.memory']}"
        assert sum(count for _, count, _ in pods) <= int(quota["pods"]), namespace
    assert checked


def test_the_fit_check_has_teeth():
    """The cron pod of the old LimitRange (max = web and upgrade limits only) is caught."""
    cron = {"containers": [{"resources": {"limits": {"cpu": "1000m", "memory": "2304Mi"}}}]}
    assert _pod_limits(cron)[1] > _memory_mib("2048Mi")
    job = {"initContainers": [{"resources": {"limits": {"cpu": "100m", "memory": "4Gi"}}}],
           "containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}
    assert _pod_limits(job) == (1000, 4096)


def _arg(container: dict[str, Any], flag: str) -> str:
    (value,) = [a.split("=", 1)[1] for a in container.get("args", []) if a.startswith(flag + "=")]
    return value


@pytest.mark.parametrize("stack", all_stacks())
def test_probes_and_grace_respect_odoo_process_model(stack):
    from odoo_platform.sizing import LIMIT_TIME_REAL
    from tests.stack_plans import plan_of

    plan = plan_of(stack)
    by_urn = {r["urn"]: r for r in plan["resources"]}
    deployments = [r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment"]
    webs = [r for r in deployments if r["name"].endswith("-web")]
    crons = [r for r in deployments if r["name"].endswith("-cron")]
    assert webs and len(webs) == len(crons)
    for web in webs:
        spec = web["inputs"]["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        for probe in ("startupProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["path"] == "/web/health"
        # Never through the prefork workers: busy workers at month-end must not get the pod killed.
        assert "httpGet" not in container["livenessProbe"] and container["livenessProbe"]["tcpSocket"]["port"] == "http"
        assert spec["terminationGracePeriodSeconds"] > LIMIT_TIME_REAL
        assert any(by_urn[d]["type"] == "kubernetes:batch/v1:Job" for d in web["dependsOn"])
    for cron in crons:
        (container,) = cron["inputs"]["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/web/health"
        assert container["livenessProbe"]["httpGet"]["port"] in [p["name"] for p in container["ports"]]
        assert "--no-http" not in container["args"]  # wkhtmltopdf and the probe need its HTTP port
        assert any(by_urn[d]["type"] == "kubernetes:batch/v1:Job" for d in cron["dependsOn"])


@pytest.mark.parametrize("stack", all_stacks())
def test_rendered_pools_are_the_ones_the_connection_budget_counts(stack):
    from odoo_platform.sizing import CRON_CONNECTIONS_PER_THREAD, CRON_DB_MAXCONN, CRON_REPORT_REQUESTS, UPGRADE_DB_MAXCONN

    for obj in manifests_of(stack):
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "odoo-cron":
            (container,) = obj["spec"]["template"]["spec"]["containers"]
            threads, pool = int(_arg(container, "--max-cron-threads")), int(_arg(container, "--db_maxconn"))
            # Each thread's LISTEN connection plus a running job's three cursors, and the report requests.
            assert pool >= threads * CRON_CONNECTIONS_PER_THREAD + CRON_REPORT_REQUESTS
            assert pool == CRON_DB_MAXCONN and _arg(container, "--workers") == "0"
        if obj["kind"] == "Job" and obj["metadata"]["name"].startswith("odoo-upgrade-"):
            (migrate,) = [c for c in obj["spec"]["template"]["spec"]["initContainers"] if c["name"] == "migrate"]
            assert int(_arg(migrate, "--db_maxconn")) == UPGRADE_DB_MAXCONN
            assert _arg(migrate, "--max-cron-threads") == "0"


@pytest.mark.parametrize("stack", all_stacks())
def test_the_upgrade_job_stops_cron_migrates_then_sets_the_report_url(stack):
    from odoo_platform.odoo_conf import REPORT_URL

    objects = manifests_of(stack)
    jobs = [o for o in objects if o["kind"] == "Job" and o["metadata"]["name"].startswith("odoo-upgrade-")]
    starts = {o["metadata"]["namespace"]: o for o in objects
              if o["kind"] == "Job" and o["metadata"]["name"].startswith("odoo-cron-start-")}
    scripts = {o["metadata"]["namespace"]: o for o in objects
               if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "odoo-platform-scripts"}
    assert jobs
    for job in jobs:
        namespace = job["metadata"]["namespace"]
        spec = job["spec"]["template"]["spec"]
        assert [c["name"] for c in spec["initContainers"]] == ["stop-cron", "migrate"]
        assert spec["initContainers"][0]["args"][:2] == ["0", "odoo-cron"]
        assert [c["name"] for c in spec["containers"]] == ["set-report-url"]
        assert "odoo shell" in " ".join(spec["containers"][0]["command"])
        assert f"'report.url', {REPORT_URL!r}" in scripts[namespace]["data"]["set_report_url.py"]
        # The API token is mounted into the cron-scaling step only.
        assert spec["automountServiceAccountToken"] is False
        for container in [*spec["initContainers"], *spec["containers"]]:
            mounts = {m["name"] for m in container.get("volumeMounts", [])}
            assert ("api-token" in mounts) == (container["name"] == "stop-cron"), container["name"]
        key = job["metadata"]["name"].removeprefix("odoo-upgrade-")
        start = starts[namespace]
        assert start["metadata"]["name"] == f"odoo-cron-start-{key}"
        assert start["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["1", "odoo-cron"]


@pytest.mark.parametrize("stack", all_stacks())
def test_odoo_pods_follow_the_image_contract_and_verify_the_database(stack):
    from odoo_platform.config import Cloud
    from odoo_platform.odoo_conf import database_tls, image_contract
    from tests.stack_plans import plan_of

    config = plan_of(stack)["config"]
    cloud = Cloud(config["odoo-platform:cloud"])
    kubernetes = config.get("odoo-platform:kubernetes") or {}
    tls = database_tls(cloud, kubernetes.get("databaseCaBundle", ""))
    checked = 0
    for obj in manifests_of(stack):
        if obj["kind"] != "Deployment" or obj["metadata"]["name"] not in ("odoo-web", "odoo-cron"):
            continue
        template = obj["spec"]["template"]
        (container,) = template["spec"]["containers"]
        # Each tenant runs its ring's image: the contract is the image's.
        contract = image_contract(container["image"],
                                  kubernetes.get("sessionRedisRepositories", ["registry.example.com/odoo/odoo"]))
        env = {e["name"]: e for e in container.get("env", [])}
        assert ("ODOO_SESSION_REDIS" in env) == contract.session_redis
        assert (template["metadata"]["labels"].get("odoo-platform.io/redis-client") == "true") == contract.session_redis
        if contract.session_redis:
            from pulumi.runtime.rpc import UNKNOWN

            url = env["ODOO_SESSION_REDIS_URL"]["value"]  # unknown until ElastiCache exists (AWS preview)
            assert url == UNKNOWN or url.split("://", 1)[1].startswith(":$(ODOO_SESSION_REDIS_URL_PASSWORD)@"), url
            assert env["ODOO_SESSION_REDIS_URL_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "url-password"
        if tls.root_cert:
            assert env["PGSSLROOTCERT"]["value"] == tls.root_cert
        checked += 1
    assert checked


@pytest.mark.parametrize("stack", all_stacks())
def test_odoo_may_frame_itself_and_traefik_keeps_client_addresses(stack):
    from tests.stack_plans import plan_of

    headers = [o["spec"]["headers"] for o in manifests_of(stack)
               if o["kind"] == "Middleware" and o["metadata"]["name"] == "security-headers"]
    assert headers
    for header in headers:
        assert header["customFrameOptionsValue"] == "SAMEORIGIN" and not header.get("frameDeny")
    (release,) = [r for r in plan_of(stack)["resources"] if r["type"] == "kubernetes:helm.sh/v3:Release"
                  and r["inputs"]["name"] == "traefik"]
    assert release["inputs"]["values"]["service"]["spec"]["externalTrafficPolicy"] == "Local"
