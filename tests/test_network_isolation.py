"""Tenant isolation, read from the rendered NetworkPolicies as a CNI would enforce them.

Pods are taken from the workload templates of manifests.yaml (plus Traefik's pod); a
connection is allowed only if the source's egress policies and the destination's ingress
policies both allow it. Pod IPs come from a pod range outside the estate's private
database ranges.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from tests.stack_plans import all_stacks, manifests_of

POD_NETWORK = ipaddress.ip_network("10.244.0.0/16")
TENANT_PORTS = (8069, 8072, 6379)


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    ip: ipaddress.IPv4Address

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        present, value = expression["key"] in labels, labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and present and value in expression["values"]:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


class Cluster:
    def __init__(self, objects: list[dict[str, Any]]):
        self.namespace_labels = {"kube-system": {"kubernetes.io/metadata.name": "kube-system"}}
        self.policies: list[dict[str, Any]] = []
        self.pods: list[Pod] = []
        addresses = POD_NETWORK.hosts()
        for obj in objects:
            kind, meta = obj["kind"], obj["metadata"]
            if kind == "Namespace":
                self.namespace_labels[meta["name"]] = meta.get("labels", {})
            elif kind == "NetworkPolicy":
                self.policies.append(obj)
            elif kind in ("Deployment", "Job", "CronJob"):
                template = obj["spec"]["template"] if kind != "CronJob" else obj["spec"]["jobTemplate"]["spec"]["template"]
                labels = template["metadata"]["labels"]
                self.pods.append(Pod(meta["namespace"], meta["name"], tuple(sorted(labels.items())), next(addresses)))
        self.pods.append(
            Pod("traefik", "traefik", (("app.kubernetes.io/name", "traefik"),), next(addresses))
        )
        self.namespace_labels.setdefault("traefik", {"kubernetes.io/metadata.name": "traefik"})

    def _peer_matches(self, peer: dict[str, Any], policy_ns: str, pod: Pod) -> bool:
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            inside = pod.ip in ipaddress.ip_network(block["cidr"])
            return inside and not any(pod.ip in ipaddress.ip_network(e) for e in block.get("except", []))
        if "namespaceSelector" in peer:
            if not _selects(peer["namespaceSelector"], self.namespace_labels.get(pod.namespace, {})):
                return False
        elif pod.namespace != policy_ns:
            return False
        return _selects(peer.get("podSelector"), pod.label_map)

    def _allowed(self, direction: str, subject: Pod, other: Pod, port: int) -> bool:
        key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        applying = [
            p for p in self.policies
            if p["metadata"]["namespace"] == subject.namespace
            and direction in p["spec"].get("policyTypes", [])
            and _selects(p["spec"]["podSelector"], subject.label_map)
        ]
        if not applying:
            return True
        for policy in applying:
            for rule in policy["spec"].get(key, []):
                peers = rule.get(peers_key)
                ports = rule.get("ports")
                peer_ok = not peers or any(self._peer_matches(peer, subject.namespace, other) for peer in peers)
                port_ok = not ports or any(p.get("port") == port for p in ports)
                if peer_ok and port_ok:
                    return True
        return False

    def can_connect(self, source: Pod, target: Pod, port: int) -> bool:
        return self._allowed("Egress", source, target, port) and self._allowed("Ingress", target, source, port)

    def tenant_pods(self) -> dict[str, list[Pod]]:
        grouped: dict[str, list[Pod]] = {}
        for pod in self.pods:
            if pod.namespace.startswith("odoo-"):
                grouped.setdefault(pod.namespace, []).append(pod)
        return grouped


@pytest.mark.parametrize("stack", all_stacks())
def test_no_pod_of_one_tenant_reaches_a_pod_of_another(stack):
    cluster = Cluster(manifests_of(stack))
    tenants = cluster.tenant_pods()
    assert len(tenants) >= 2
    for (ns_a, pods_a), (ns_b, pods_b) in itertools.permutations(tenants.items(), 2):
        for source, target, port in itertools.product(pods_a, pods_b, TENANT_PORTS):
            assert not cluster.can_connect(source, target, port), f"{ns_a}/{source.name} reaches {ns_b}/{target.name}:{port}"


@pytest.mark.parametrize("stack", all_stacks())
def test_traefik_reaches_each_tenants_web_pods_and_nothing_else(stack):
    cluster = Cluster(manifests_of(stack))
    traefik = next(p for p in cluster.pods if p.namespace == "traefik")
    for namespace, pods in cluster.tenant_pods().items():
        web = next(p for p in pods if p.name == "odoo-web")
        assert cluster.can_connect(traefik, web, 8069), namespace
        assert cluster.can_connect(traefik, web, 8072), namespace
        for other in pods:
            if other.name != "odoo-web":
                assert not cluster.can_connect(traefik, other, 8069) and not cluster.can_connect(traefik, other, 6379), other


def test_odoo_reaches_its_own_redis_and_the_evaluator_has_teeth():
    objects = manifests_of("dev")  # in-cluster Redis
    cluster = Cluster(objects)
    pods = next(iter(cluster.tenant_pods().values()))
    web = next(p for p in pods if p.name == "odoo-web")
    redis = next(p for p in pods if p.name == "redis")
    assert cluster.can_connect(web, redis, 6379)
    # Without the default-deny and the Traefik-only ingress policies, tenants would meet.
    open_cluster = Cluster([o for o in objects if o["kind"] != "NetworkPolicy"])
    tenants = list(open_cluster.tenant_pods().values())
    assert open_cluster.can_connect(tenants[0][0], tenants[1][0], 8069)
