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


# ---------------------------------------------------------------------------------------------------
# The other half: every path a workload needs is open, and nothing else is.
# ---------------------------------------------------------------------------------------------------

PROBED_PORTS = (25, 53, 80, 443, 587, 5432, 6379, 6380, 6443, 8069, 8072, 9091)
INTERNET = ipaddress.ip_address("93.184.216.34")
S3 = ipaddress.ip_address("52.216.8.10")  # a public S3 address: AWS archives are reached over the internet


@dataclass(frozen=True)
class Service:
    """An address outside the pod network and the one port its service listens on."""

    role: str
    ip: ipaddress.IPv4Address
    ports: tuple[int, ...]

    def as_pod(self) -> Pod:
        return Pod("", f"external:{self.role}", (), self.ip)


class EstateNetwork(Cluster):
    """The cluster of `Cluster` plus kube-dns, the Pushgateway and the estate's services outside the
    pod network (database, managed cache, archive endpoint, API server, the internet), addressed from the
    plan's own subnets."""

    def __init__(self, plan: dict[str, Any], objects: list[dict[str, Any]], extra: tuple[Service, ...] = ()):
        super().__init__(objects)
        self.namespace_labels["monitoring"] = {"kubernetes.io/metadata.name": "monitoring"}
        self.pods.append(Pod("kube-system", "kube-dns", (("k8s-app", "kube-dns"),), ipaddress.ip_address("10.244.255.10")))
        self.pods.append(Pod("monitoring", "pushgateway", (("app.kubernetes.io/name", "prometheus-pushgateway"),),
                             ipaddress.ip_address("10.244.255.11")))
        self.plan_config = plan["config"]
        self.cloud = self.plan_config["odoo-platform:cloud"]
        subnets = {r["name"]: ipaddress.ip_network(r["inputs"].get("addressPrefix") or r["inputs"]["cidrBlock"])
                   for r in plan["resources"] if r["type"] in ("azure-native:network:Subnet", "aws:ec2/subnet:Subnet")}

        def host(suffix: str, index: int) -> ipaddress.IPv4Address:
            (network,) = [n for name, n in subnets.items() if name.endswith(suffix)]
            return network[index]

        managed_cache = any(r["type"] == "odoo-platform:index:ManagedRedis" for r in plan["resources"])
        if self.cloud == "azure":
            services = [Service("database", host("snet-postgres", 4), (5432,)),
                        Service("archive", host("snet-endpoints", 6), (443,)),
                        Service("api-server", host("snet-nodes", 9), (443,))]
            cache = Service("cache", host("snet-endpoints", 5), (6380,))
        else:
            # With an existing cluster (aws.existingVpc) the nodes and API server are in that VPC's node ranges.
            existing = (self.plan_config.get("odoo-platform:aws") or {}).get("existingVpc")
            api_server = (ipaddress.ip_network(existing["nodeCidrs"][0])[9] if existing else host("nodes-a", 9))
            services = [Service("database", host("db-a", 4), (5432,)), Service("archive", S3, (443,)),
                        Service("api-server", api_server, (443,))]
            cache = Service("cache", host("db-b", 5), (6379,))
        self.services = {s.role: s for s in [*services, *([cache] if managed_cache else []), *extra,
                                             Service("internet", INTERNET, (25, 80, 443, 587))]}

    def allowed(self) -> set[tuple[str, str, int]]:
        """(source, destination, port) for every workload pod to every pod port and service port."""
        targets = [(pod, PROBED_PORTS) for pod in self.pods] + [(s.as_pod(), s.ports) for s in self.services.values()]
        found = set()
        for source in self.pods:
            if source.namespace in ("traefik", "kube-system", "monitoring"):
                # Only what these reach inside tenant and operations namespaces is ours to prove.
                sourced = [(t, ports) for t, ports in targets
                           if t.namespace.startswith("odoo-") or t.namespace == "platform-operations"]
            else:
                sourced = targets
            for target, ports in sourced:
                for port in ports:
                    if target is not source and self.can_connect(source, target, port):
                        found.add((_who(source), _who(target), port))
        return found

    def _peer_matches(self, peer: dict[str, Any], policy_ns: str, pod: Pod) -> bool:
        # Pod and namespace selectors select pods, never addresses outside the cluster.
        if not pod.namespace and "ipBlock" not in peer:
            return False
        return super()._peer_matches(peer, policy_ns, pod)


def _who(pod: Pod) -> str:
    return pod.name if not pod.namespace else f"{pod.namespace}/{pod.name}"


def _required(network: EstateNetwork, objects: list[dict[str, Any]]) -> tuple[set, set]:
    """The paths each workload needs, and the ones open by design beyond them (kept explicit)."""
    from odoo_platform.odoo_conf import image_contract

    session_images = (network.plan_config.get("odoo-platform:kubernetes") or {}).get(
        "sessionRedisRepositories", ["registry.example.com/odoo/odoo"])
    images = {(o["metadata"]["namespace"], o["metadata"]["name"]): o["spec"]["template"]["spec"]["containers"][0]["image"]
              for o in objects if o["kind"] == "Deployment"}
    services = network.services
    required, by_design = set(), set()
    for pod in network.pods:
        who = _who(pod)
        labels = pod.label_map
        if pod.namespace.startswith("odoo-") or pod.namespace == "platform-operations":
            required.add((who, "kube-system/kube-dns", 53))
        if pod.namespace.startswith("odoo-"):
            component = labels.get("app.kubernetes.io/component")
            if pod.name in ("odoo-web", "odoo-cron"):
                required.add((who, "external:database", 5432))
                if image_contract(images[(pod.namespace, pod.name)], session_images).session_redis:
                    if "cache" in services:
                        required.add((who, "external:cache", services["cache"].ports[0]))
                    else:
                        required.add((who, f"{pod.namespace}/redis", 6379))
                for role in ("smtp-relay", "mail-server", "https-proxy"):
                    if role in services:
                        required.add((who, f"external:{role}", services[role].ports[0]))
            if pod.name == "odoo-web":
                required |= {("traefik/traefik", who, 8069), ("traefik/traefik", who, 8072)}
            if pod.name.startswith("odoo-upgrade-"):
                required.add((who, "external:database", 5432))
            if pod.name == "filestore-archive":
                required |= {(who, "external:archive", 443), (who, "monitoring/pushgateway", 9091)}
                if network.cloud == "aws":
                    by_design.add((who, "external:internet", 443))  # S3's public endpoints
            if component in ("upgrade", "scaler"):
                required.add((who, "external:api-server", 443))
                # The API-server rule is by port only (the API server's addresses are the cluster's own).
                by_design |= {(who, target, port) for target in [*(_who(p) for p in network.pods),
                                                                  *(f"external:{r}" for r in services)]
                              for port in (443, 6443)}
        if pod.namespace == "platform-operations":
            required |= {(who, "external:database", 5432), (who, "external:archive", 443),
                         (who, "monitoring/pushgateway", 9091)}
            by_design.add((who, "external:internet", 443))  # object storage's public endpoints
    return required, by_design


def _check_paths(network: EstateNetwork, objects: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    """Asserts nothing beyond the required and by-design paths is open; returns the required paths that are not."""
    required, by_design = _required(network, objects)
    allowed = network.allowed()
    assert not allowed - required - by_design, "open but not needed:\n" + "\n".join(map(str, sorted(allowed - required - by_design)))
    assert any(path[1].startswith("external:") for path in required)
    return required - allowed


@pytest.mark.parametrize("stack", all_stacks())
def test_every_required_path_is_open_and_nothing_else(stack):
    from tests.stack_plans import plan_of

    plan, objects = plan_of(stack), manifests_of(stack)
    network = EstateNetwork(plan, objects)
    missing = _check_paths(network, objects)
    assert not missing, "needed but closed:\n" + "\n".join(map(str, sorted(missing)))


def test_configured_mail_and_https_egress_is_open_to_odoo_only(plan_for):
    from odoo_platform.offline.plan import kubernetes_objects
    from tests.conftest import estate

    egress = {"smtpRelay": {"host": "relay.example.com", "port": 587, "cidrs": ["203.0.113.10/32"]},
              "incomingMail": [{"host": "imap.example.com", "port": 993, "cidrs": ["203.0.113.20/32"]}],
              "httpsProxy": {"host": "proxy.example.com", "port": 3128, "cidrs": ["198.51.100.7/32"]}}
    plan = plan_for(estate(redis="in-cluster", kubernetes={"odooEgress": egress}))
    objects = kubernetes_objects(plan)
    extra = (Service("smtp-relay", ipaddress.ip_address("203.0.113.10"), (587,)),
             Service("mail-server", ipaddress.ip_address("203.0.113.20"), (993,)),
             Service("https-proxy", ipaddress.ip_address("198.51.100.7"), (3128,)))
    network = EstateNetwork(plan, objects, extra)
    assert not _check_paths(network, objects)
    web = next(p for p in network.pods if p.name == "odoo-web")
    assert network.can_connect(web, network.services["smtp-relay"].as_pod(), 587)
    assert not network.can_connect(web, network.services["internet"].as_pod(), 587)


def test_the_path_check_has_teeth():
    """Dropping the database policy closes a required path; an allow-all egress opens unneeded ones."""
    from tests.stack_plans import plan_of

    plan, objects = plan_of("dev"), manifests_of("dev")
    without_database = [o for o in objects if o["metadata"]["name"] != "allow-egress-postgres"]
    network = EstateNetwork(plan, without_database)
    web = next(p for p in network.pods if p.name == "odoo-web")
    assert not network.can_connect(web, network.services["database"].as_pod(), 5432)
    allow_all = {"kind": "NetworkPolicy", "metadata": {"name": "allow-all", "namespace": web.namespace},
                 "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}}
    network = EstateNetwork(plan, [*objects, allow_all])
    with pytest.raises(AssertionError, match="open but not needed"):
        _check_paths(network, objects)


@pytest.mark.parametrize("stack", all_stacks())
def test_reports_fetch_their_assets_from_their_own_pod(stack):
    """report.url is the pod's loopback on the HTTP port web and cron both serve: wkhtmltopdf's requests
    never leave the pod, so no NetworkPolicy (which only sees traffic between pods) can close them."""
    from urllib.parse import urlsplit

    from odoo_platform.odoo_conf import REPORT_URL

    url = urlsplit(REPORT_URL)
    assert ipaddress.ip_address(url.hostname).is_loopback
    served = 0
    for obj in manifests_of(stack):
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] in ("odoo-web", "odoo-cron"):
            (container,) = obj["spec"]["template"]["spec"]["containers"]
            assert url.port in [p["containerPort"] for p in container["ports"]], obj["metadata"]["name"]
            served += 1
    assert served
