"""Every rule that reads pods, over every workload kind and every container list (issue 20).

The table runs each pod rule over every pulumi-kubernetes type that carries a pod spec, with the
offending setting in each container list in turn; the meta-test fails when a rule reads pod specs
without the shared walker, or reads them for some kinds only, or has no row in the table.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable

import pytest

from odoo_platform.policy import rule as rule_module
from odoo_platform.policy.rule import (
    CONTAINER_LISTS,
    CONTAINER_SUBJECT,
    K8S_WORKLOADS,
    WORKLOAD_KINDS,
    Context,
    Resource,
    kind_of,
    pod,
)
from odoo_platform.policy.rules import ALL_RULES

RULES = {rule.id: rule for rule in ALL_RULES}
SIGNED_REPO = "registry.example.com/odoo/odoo"
DIGEST = "@sha256:" + "a" * 64
TOOLS = "registry.example.com/odoo/tools"
PROD = Context("prod", approved_registries=("registry.example.com/odoo",), signed_repositories=(SIGNED_REPO, TOOLS))
VERIFY = Resource("kubernetes:kyverno.io/v1:ClusterPolicy", "urn:verify", {"spec": {"rules": [{"verifyImages": [{
    "imageReferences": [SIGNED_REPO + "@*"], "failureAction": "Enforce", "attestors": [{"entries": [{"keys": {"kms": "k"}}]}]}]}]}})
LABELS = {"app.kubernetes.io/component": "web", **{f"odoo-platform.io/{k}": v for k, v in {
    "tenant": "acme", "tier": "2", "environment": "prod", "cost-centre": "c", "owner": "o"}.items()}}
PROBE = {"httpGet": {"path": "/web/health", "port": 8069}}


def safe(name: str) -> dict[str, Any]:
    """A container every rule accepts."""
    return {"name": name, "image": SIGNED_REPO + DIGEST, "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
            "readinessProbe": PROBE, "livenessProbe": PROBE}


def pod_spec(subject_list: str, subject: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
                            "automountServiceAccountToken": False, "containers": [safe("app")]}
    spec.setdefault(subject_list, []).append(subject)
    return spec


def workload(type_: str, spec: dict[str, Any]) -> Resource:
    """A workload of any kind around a pod spec, nested where that kind keeps it (written out here, not
    taken from the walker, so the walker is tested against it)."""
    kind = kind_of(type_)
    if kind == "Pod":
        body: dict[str, Any] = spec
    elif kind == "CronJob":
        body = {"schedule": "0 1 * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}}
    else:
        body = {"replicas": 2, "template": {"spec": spec}}
    return Resource(type_, f"urn:{type_}", {"metadata": {"name": "w", "namespace": "odoo-acme", "labels": LABELS}, "spec": body})


Change = Callable[[dict[str, Any], dict[str, Any]], None]
"""Makes the compliant pod violate a rule: (pod spec, subject container) -> None, in place."""


def container(**settings: Any) -> Change:
    return lambda _, subject: subject.update(copy.deepcopy(settings))


def security(**settings: Any) -> Change:
    return lambda _, subject: subject["securityContext"].update(settings)


def pod_level(**settings: Any) -> Change:
    return lambda spec, _: spec.update(copy.deepcopy(settings))


ALL_LISTS = CONTAINER_LISTS
SERVING = ("containers", "initContainers")
"""The API rejects resources on ephemeral containers, so no limits are asked of them."""

# rule id -> ways to violate it, each (label, change, whether the violation names the container, lists it applies to)
POD_TABLE: dict[str, list[tuple[str, Change, bool, tuple[str, ...]]]] = {
    "ENC-01": [("plain secret env", container(env=[{"name": "API_TOKEN", "value": "x"}]), True, ALL_LISTS)],
    "ENC-06": [("redis without password", container(image="registry.example.com/odoo/redis" + DIGEST, args=[]), True, ALL_LISTS)],
    "SEG-04": [("privileged", security(privileged=True), True, ALL_LISTS),
               ("host port", container(ports=[{"containerPort": 80, "hostPort": 80}]), True, ALL_LISTS),
               ("host network", pod_level(hostNetwork=True), False, ALL_LISTS),
               ("host PID", pod_level(hostPID=True), False, ALL_LISTS),
               ("host IPC", pod_level(hostIPC=True), False, ALL_LISTS),
               ("hostPath", pod_level(volumes=[{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}]), False, ALL_LISTS)],
    "SEG-05": [("container overrides runAsNonRoot", security(runAsNonRoot=False), True, ALL_LISTS),
               ("UID 0 despite runAsNonRoot", security(runAsNonRoot=True, runAsUser=0), True, ALL_LISTS),
               ("pod-level UID 0 inherited", lambda spec, _: spec["securityContext"].update(runAsUser=0), True, ALL_LISTS),
               ("nothing set anywhere", lambda spec, _: spec.update(securityContext={}), True, ALL_LISTS)],
    "SEG-09": [("API token mounted", pod_level(automountServiceAccountToken=True), False, ALL_LISTS)],
    "SEG-17": [("escalation unset", lambda _, subject: subject["securityContext"].pop("allowPrivilegeEscalation"), True, ALL_LISTS),
               ("escalation allowed", security(allowPrivilegeEscalation=True), True, ALL_LISTS),
               ("SYS_ADMIN added", security(capabilities={"add": ["SYS_ADMIN"]}), True, ALL_LISTS),
               ("CAP_NET_RAW added", security(capabilities={"add": ["CAP_NET_RAW"]}), True, ALL_LISTS)],
    "RES-04": [("tag in production", container(image="registry.example.com/odoo/helper:1.0"), True, ALL_LISTS),
               ("short digest", container(image="registry.example.com/odoo/helper@sha256:abc"), True, ALL_LISTS)],
    "RES-05": [("no limits", container(resources={}), True, SERVING),
               ("cpu only", container(resources={"limits": {"cpu": "1"}}), True, SERVING)],
    "RES-10": [("no readiness probe", lambda _, subject: subject.pop("readinessProbe"), True, ("containers",))],
    "SUP-01": [("unapproved registry", container(image="ghcr.io/someone/tool" + DIGEST), True, ALL_LISTS)],
    "SUP-02": [("signed repository by tag", container(image=SIGNED_REPO + ":17.0"), True, ALL_LISTS)],
    "SUP-03": [("signed repository no policy verifies", container(image=TOOLS + DIGEST), True, ALL_LISTS)],
}
CASES = [(rule_id, label, change, names, lists, type_, lst)
         for rule_id, rows in POD_TABLE.items() for label, change, names, lists in rows
         for type_ in K8S_WORKLOADS for lst in CONTAINER_LISTS]


def violations(rule_id: str, resource: Resource, context: Context) -> list[str]:
    rule = RULES[rule_id]
    if rule.check_stack:
        return [message for _, message in rule.check_stack([VERIFY, resource], context)]
    return rule.violations(resource, context)


@pytest.mark.parametrize(("rule_id", "label", "change", "names", "lists", "type_", "lst"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[5].split(':', 1)[1]}-{c[6]}" for c in CASES])
def test_every_pod_rule_over_every_kind_and_container_list(rule_id, label, change, names, lists, type_, lst):
    subject = safe("subject")
    compliant = workload(type_, pod_spec(lst, subject))
    assert violations(rule_id, compliant, PROD) == []
    spec = pod_spec(lst, copy.deepcopy(subject))
    change(spec, spec[lst][-1])
    found = violations(rule_id, workload(type_, spec), PROD)
    if lst not in lists:  # a field the API rejects in this list: nothing to ask of it
        assert found == [], found
        return
    assert found, f"{rule_id} missed {label} in {lst} of a {type_}"
    assert all(message.endswith(")") for message in found)  # each names its fix
    if names:
        assert "subject" in {m.group(1) for m in map(CONTAINER_SUBJECT.match, found) if m}, found


class Recording(Mapping):
    """Props that note every key read, and whether the shared walker was running when it was read."""

    def __init__(self, data: Mapping[str, Any], log: list[tuple[str, bool]], walking: list[bool]) -> None:
        self._data, self._log, self._walking = data, log, walking

    def __getitem__(self, key: str) -> Any:
        self._log.append((key, self._walking[0]))
        return _record(self._data[key], self._log, self._walking)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _record(value: Any, log: list[tuple[str, bool]], walking: list[bool]) -> Any:
    if isinstance(value, Mapping):
        return Recording(value, log, walking)
    if isinstance(value, list):
        return [_record(v, log, walking) for v in value]
    return value


POD_KEYS = {"template", "jobTemplate", *CONTAINER_LISTS}
"""Keys only the walker may read: where a pod spec and its containers are."""


def test_every_rule_that_reads_pods_uses_the_walker_for_every_kind(monkeypatch):
    walking, walked = [False], set()
    real = rule_module.pod

    def spy(resource: Resource):
        walking[0] = True
        try:
            walked.add(resource.type)
            return real(resource)
        finally:
            walking[0] = False

    for rule in ALL_RULES:
        module = sys.modules[(rule.check or rule.check_stack).__module__]
        if hasattr(module, "pod"):
            monkeypatch.setattr(module, "pod", spy)
    reads_pods = {}
    for rule in ALL_RULES:
        walked.clear()
        for type_ in K8S_WORKLOADS:
            subject = safe("subject") | {"image": "docker.io/library/redis:7", "securityContext": {"privileged": True}}
            probe = workload(type_, pod_spec("initContainers", subject))
            log: list[tuple[str, bool]] = []
            recorded = Resource(type_, probe.urn, Recording(probe.props, log, walking))
            if rule.check_stack:
                rule.check_stack([recorded], PROD)
            else:
                rule.violations(recorded, PROD)
            direct = sorted({key for key, inside in log if key in POD_KEYS and not inside})
            assert not direct, f"{rule.id} reads {direct} of a {type_} itself: read pods through rule.pod()"
        if walked:
            reads_pods[rule.id] = set(walked)
    assert reads_pods, "the spy saw no rule read a pod: the meta-test itself is broken"
    for rule_id, kinds in reads_pods.items():
        assert kinds == set(K8S_WORKLOADS), f"{rule_id} reads pods of {sorted(kinds)} only (use K8S_WORKLOADS)"
    assert set(reads_pods) == set(POD_TABLE), "every rule that reads pods has rows in POD_TABLE, and only those"


def test_the_workload_types_follow_the_kubernetes_sdk():
    """Every pulumi-kubernetes resource of a pod-running kind (every API version, patches included)."""
    import pulumi_kubernetes

    root = Path(pulumi_kubernetes.__file__).parent
    sdk = {
        f"kubernetes:{path.parent.parent.name}/{path.parent.name}:{path.stem}"
        for kind in WORKLOAD_KINDS for suffix in ("", "Patch") for path in root.glob(f"*/*/{kind}{suffix}.py")
    }
    assert sdk == set(K8S_WORKLOADS)
    assert {kind_of(t) for t in K8S_WORKLOADS} == set(WORKLOAD_KINDS)


@pytest.mark.parametrize(("pod_security", "container_security", "root"), [
    ({"runAsNonRoot": True}, {}, False),                                # inherits the pod's
    ({"runAsNonRoot": True}, {"runAsNonRoot": False}, True),            # an explicit container value overrides
    ({}, {"runAsNonRoot": True}, False),
    ({"runAsNonRoot": True, "runAsUser": 0}, {}, True),                 # UID 0 whatever runAsNonRoot says
    ({"runAsNonRoot": True}, {"runAsUser": 0.0}, True),                 # numbers arrive as floats from the engine
    ({"runAsNonRoot": True, "runAsUser": 0}, {"runAsUser": 1000}, False),
    ({}, {}, True),
])
def test_the_walker_applies_the_pod_security_context_like_the_kubelet(pod_security, container_security, root):
    spec = {"securityContext": pod_security, "containers": [{"name": "c", "securityContext": container_security}]}
    (walked,) = pod(workload("kubernetes:apps/v1:Deployment", spec)).containers
    assert walked.runs_as_root is root


def test_container_only_fields_are_not_inherited():
    """privileged, capabilities and allowPrivilegeEscalation exist only on containers."""
    spec = {"securityContext": {"runAsNonRoot": True, "privileged": True, "allowPrivilegeEscalation": False},
            "containers": [{"name": "c"}]}
    (walked,) = pod(workload("kubernetes:core/v1:Pod", spec)).containers
    assert "privileged" not in walked.security and "allowPrivilegeEscalation" not in walked.security


def test_a_pod_rule_reports_every_offending_container():
    spec = pod_spec("initContainers", safe("init") | {"securityContext": {"privileged": True}})
    spec["containers"].append(safe("sidecar") | {"securityContext": {"privileged": True}})
    found = RULES["SEG-04"].violations(workload("kubernetes:apps/v1:DaemonSet", spec), PROD)
    assert sorted(CONTAINER_SUBJECT.match(m).group(1) for m in found) == ["init", "sidecar"]
    assert any(m.startswith("init container 'init' ") for m in found)


def test_a_pod_is_walked_again_outside_an_evaluation_and_per_type_inside_one():
    from odoo_platform.policy.rule import Resource, pod, walking_once

    props = {"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}
    deployment = Resource(type="kubernetes:apps/v1:Deployment", urn="urn:d", props=props)
    assert [c.name for c in pod(deployment).containers] == ["a"]
    props["spec"]["template"]["spec"]["containers"].append({"name": "b"})  # a caller may edit between calls
    assert [c.name for c in pod(deployment).containers] == ["a", "b"]
    with walking_once():
        assert pod(deployment) is pod(deployment)
        # The same properties read as another kind are another pod (a CronJob's pod lies elsewhere).
        cron = Resource(type="kubernetes:batch/v1:CronJob", urn="urn:c", props=props)
        assert pod(cron).containers == ()
