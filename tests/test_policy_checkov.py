"""Checkov, the outside reference (issue 20): on the same third-party-style workloads, every Checkov
finding of a kind our packs claim has a matching violation from our packs.

The manifests in tests/third_party_workloads/ cover every kind that runs pods and each way of getting
one wrong. Checkov reads them as YAML; our packs read them as the Pulumi inputs of `kubernetes:*`
resources, through the offline runner (the packs in their own processes, over gRPC), in production.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import pytest
import yaml

from odoo_platform.policy.runner import Finding, run_packs
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "third_party_workloads"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
PINNED = re.search(r"^CHECKOV_VERSION=(\S+)$", (ROOT / "tools" / "checkov-venv.sh").read_text(), re.M).group(1)

CLAIMED = {
    "CKV_K8S_16": "SEG-04",  # privileged container
    "CKV_K8S_17": "SEG-04",  # host PID
    "CKV_K8S_18": "SEG-04",  # host IPC
    "CKV_K8S_19": "SEG-04",  # host network
    "CKV_K8S_26": "SEG-04",  # host port
    "CKV_K8S_27": "SEG-04",  # the Docker socket as a hostPath volume (Checkov's only hostPath check)
    "CKV_K8S_23": "SEG-05",  # root containers
    "CKV_K8S_20": "SEG-17",  # allowPrivilegeEscalation not false
    "CKV_K8S_25": "SEG-17",  # added capabilities (but see ALLOWED_BY_US)
    "CKV_K8S_39": "SEG-17",  # SYS_ADMIN
    "CKV_K8S_11": "RES-05",  # cpu limit
    "CKV_K8S_13": "RES-05",  # memory limit
    "CKV_K8S_43": "RES-04",  # image by digest (production)
}
"""Checkov check (ids as in checkov/kubernetes/checks/resource/k8s/ of the pinned version) -> our rule.

Not claimed: CKV_K8S_40 (UID >= 10000: a lower non-zero UID is not root, and Pod Security 'restricted'
does not ask for it), CKV_K8S_28/37 (drop NET_RAW/ALL), requests, probes, read-only root filesystem,
seccomp and the other hardening checks our packs do not promise."""
ALLOWED_BY_US = {"NET_BIND_SERVICE"}
"""SEG-17 lets a container add NET_BIND_SERVICE, as Pod Security 'restricted' does; CKV_K8S_25 flags any."""

pytestmark = pytest.mark.skipif(not CHECKOV.exists(), reason=(
    "Checkov's own venv is missing: run tools/checkov-venv.sh (.ci/run does)"))


def _manifests() -> list[dict[str, Any]]:
    return [doc for path in sorted(FIXTURES.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def _type(manifest: dict[str, Any]) -> str:
    version = manifest["apiVersion"] if "/" in manifest["apiVersion"] else f"core/{manifest['apiVersion']}"
    return f"kubernetes:{version}:{manifest['kind']}"


def _pod_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    spec = manifest["spec"]
    if manifest["kind"] == "Pod":
        return spec
    if manifest["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    return spec["template"]["spec"]


def _plan(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifests as a production plan: each a custom resource whose inputs are the manifest."""
    resources = []
    for manifest in manifests:
        name = f"{manifest['metadata']['namespace']}-{manifest['metadata']['name']}"
        resources.append({"urn": f"urn:pulumi:prod::third-party::{_type(manifest)}::{name}", "type": _type(manifest),
                          "name": name, "inputs": manifest, "component": False, "protect": False, "parent": None,
                          "dependsOn": []})
    return {"project": "third-party", "stack": "prod", "config": {"odoo-platform:environment": "prod"}, "resources": resources}


@pytest.fixture(scope="module")
def checkov() -> dict[str, Any]:
    # BC_SKIP_MAPPING: no download of guideline links (CI has no route to that service).
    result = subprocess.run(
        [str(CHECKOV), "-d", ".", "--framework", "kubernetes", "-o", "json", "--quiet", "--compact", "--skip-download",
         "--soft-fail"],
        cwd=FIXTURES, capture_output=True, text=True, timeout=300, env=os.environ | {"BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def ours() -> list[Finding]:
    return run_packs([ROOT / "policypacks" / pack for pack in ("encryption", "governance", "resilience", "segregation")],
                     _plan(_manifests()))


def _container(manifest: dict[str, Any], evaluated_keys: list[str]) -> str:
    """The container a Checkov finding is about, from its evaluated keys (`.../initContainers/[0]/...`)."""
    for key in evaluated_keys:
        found = re.search(r"(?:^|/)(containers|initContainers)/\[(\d+)\]", key)
        if found:
            return _pod_spec(manifest)[found.group(1)][int(found.group(2))]["name"]
    return ""


def test_checkov_is_the_pinned_version(checkov):
    assert checkov["summary"]["checkov_version"] == PINNED
    assert checkov["summary"]["parsing_errors"] == 0


def test_the_fixtures_cover_every_kind_and_container_list():
    manifests = _manifests()
    assert {m["kind"] for m in manifests} == {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                                              "ReplicationController", "Job", "CronJob"}
    assert {key for m in manifests for key in ("containers", "initContainers") if _pod_spec(m).get(key)} == {
        "containers", "initContainers"}


def test_every_claimed_checkov_finding_is_a_violation_of_our_packs(checkov, ours):
    manifests = {(m["metadata"]["namespace"], m["metadata"]["name"]): m for m in _manifests()}
    ours_by = {(f.rule, f.namespace, f.name, f.container) for f in ours}
    ours_anywhere = {(f.rule, f.namespace, f.name) for f in ours}
    claimed, missed = [], []
    for failed in checkov["results"]["failed_checks"]:
        rule = CLAIMED.get(failed["check_id"])
        if rule is None:
            continue
        # `Kind.namespace.name`, or `Pod.namespace.name.app-name` for the pod Checkov derives from a template.
        _, namespace, name = failed["resource"].split(".")[:3]
        manifest = manifests[(namespace, name)]
        container = _container(manifest, failed["check_result"].get("evaluated_keys") or [])
        if failed["check_id"] == "CKV_K8S_25" and container:
            added = next(c for c in _pod_spec(manifest)["containers"] + _pod_spec(manifest).get("initContainers", [])
                         if c["name"] == container)["securityContext"]["capabilities"]["add"]
            if set(added) <= ALLOWED_BY_US:
                continue
        claimed.append(failed)
        matched = (rule, namespace, name, container) in ours_by if container else (rule, namespace, name) in ours_anywhere
        if not matched:
            missed.append(f"{failed['check_id']} on {failed['resource']} {container or ''} has no {rule} violation")
    assert not missed, "\n".join(missed)
    # The fixtures exercise every claimed check at least once, so none of them passes for want of a case.
    assert {f["check_id"] for f in claimed} == set(CLAIMED)
    print(f"Checkov {checkov['summary']['checkov_version']}: {len(manifests)} workloads, {len(claimed)} claimed findings, "
          f"all matched by our packs ({len(ours)} findings of ours)")


def test_the_hardened_workloads_pass_the_claimed_rules(ours):
    hardened = {(m["metadata"]["namespace"], m["metadata"]["name"])
                for m in yaml.safe_load_all((FIXTURES / "hardened.yaml").read_text()) if m}
    assert not [f for f in ours if (f.namespace, f.name) in hardened and f.rule in set(CLAIMED.values())]


def test_our_packs_see_what_checkov_misses(ours):
    """Checkov's root check reads `containers` only; SEG-05 reads init containers too."""
    assert ("SEG-05", "vendor", "old-web", "init") in {(f.rule, f.namespace, f.name, f.container) for f in ours}

