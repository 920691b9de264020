"""The plan summary: every name for a small estate, a screen for a 1,000-tenant one.

Plans are built directly (no Pulumi run) with the mix of types the program registers: shared
platform resources, some forty resources per tenant (more for tier 1), and rotated passwords.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from odoo_platform.offline.plan import LISTED, PASSWORD_TYPE, ROTATION_TYPE, summary

IMAGE = "registry.example.com/odoo/odoo@sha256:" + "9a8b7c6d5e4f" * 5 + "3021"
SHARED_TYPES = {
    "azure-native:authorization:RoleAssignment": 3, "azure-native:dataprotection:BackupVault": 1,
    "azure-native:keyvault:Vault": 1, "azure-native:managedidentity:UserAssignedIdentity": 1,
    "azure-native:network:VirtualNetwork": 1, "azure-native:network:Subnet": 3,
    "azure-native:network:PrivateEndpoint": 2, "azure-native:privatedns:PrivateZone": 4,
    "azure-native:privatedns:VirtualNetworkLink": 12, "azure-native:resources:ResourceGroup": 1,
    "azure-native:storage:StorageAccount": 1, "azure-native:storage:BlobContainer": 1,
    "kubernetes:helm.sh/v3:Release": 2, "kubernetes:kyverno.io/v1:ClusterPolicy": 1,
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": 1, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": 1,
    "kubernetes:core/v1:Namespace": 3, "kubernetes:core/v1:ServiceAccount": 4, "time:index/sleep:Sleep": 3,
}
TENANT_TYPES = {
    "kubernetes:apps/v1:Deployment": 3, "kubernetes:batch/v1:CronJob": 5, "kubernetes:batch/v1:Job": 2,
    "kubernetes:core/v1:ConfigMap": 2, "kubernetes:core/v1:Namespace": 1, "kubernetes:core/v1:Secret": 2,
    "kubernetes:core/v1:Service": 2, "kubernetes:core/v1:ServiceAccount": 3, "kubernetes:core/v1:ResourceQuota": 1,
    "kubernetes:core/v1:LimitRange": 1, "kubernetes:core/v1:PersistentVolumeClaim": 1,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": 8, "kubernetes:rbac.authorization.k8s.io/v1:Role": 3,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 3, "kubernetes:traefik.io/v1alpha1:IngressRoute": 2,
    "kubernetes:traefik.io/v1alpha1:Middleware": 4, "azure-native:dbforpostgresql:Database": 1,
}
TIER_1_TYPES = {"kubernetes:autoscaling/v2:HorizontalPodAutoscaler": 1, "kubernetes:policy/v1:PodDisruptionBudget": 1}
RINGS = ("canary", "early", "broad", "broad", "broad")


def _resource(type_: str, name: str, tenant: str | None = None, inputs: dict | None = None,
              depends_on: list[str] | None = None) -> dict[str, Any]:
    labels = {"metadata": {"labels": {"odoo-platform.io/tenant": tenant}}} if tenant else {}
    return {"urn": f"urn:pulumi:big::odoo-platform::{type_}::{name}", "type": type_, "name": name, "parent": None,
            "inputs": labels | (inputs or {}), "protect": False, "retainOnDelete": False,
            "dependsOn": depends_on or [], "component": False}


def estate_plan(servers: dict[str, list[str]]) -> dict[str, Any]:
    """A plan of the tenants on each database server (server key -> tenant names)."""
    resources = [_resource(type_, f"shared-{type_}-{i}") for type_, count in SHARED_TYPES.items() for i in range(count)]
    resources += [_resource("azure-native:dbforpostgresql:Server", f"postgres-{key}") for key in servers]
    tenants = {}
    for index, (name, server) in enumerate((name, key) for key, names in servers.items() for name in names):
        tier = 1 + index % 3
        tenants[name] = {"image": IMAGE, "ring": RINGS[index % len(RINGS)], "postgresServer": server, "tier": tier}
        kinds = TENANT_TYPES | (TIER_1_TYPES if tier == 1 else {})
        resources += [_resource(type_, f"{name}-{type_}-{i}", name) for type_, count in kinds.items() for i in range(count)]
        for secret, days in (("admin", 30), ("redis", 60), ("role", 90)):
            rotation = _resource(ROTATION_TYPE, f"{name}-{secret}-rotation", name, {"rotationDays": days})
            resources += [rotation, _resource(PASSWORD_TYPE, f"{name}-{secret}-password", name,
                                              depends_on=[rotation["urn"]])]
    return {"version": 1, "stack": "big", "project": "odoo-platform", "config": {}, "resources": resources,
            "outputs": {"tenants": tenants, "postgresServers": {key: f"{key}.postgres.example.com" for key in servers}}}


def pooled(tenants: int, per_server: int, dedicated: int = 0) -> dict[str, list[str]]:
    """Tenants pooled `per_server` to a shared server (shared, shared-2, ...), the last `dedicated` alone."""
    names = [f"tenant-{index + 1:04d}" for index in range(tenants)]
    pools = names[: tenants - dedicated]
    servers = {"shared" if i == 0 else f"shared-{i // per_server + 1}": pools[i:i + per_server]
               for i in range(0, len(pools), per_server)}
    return servers | {f"dedicated-{name}": [name] for name in names[tenants - dedicated:]}


def section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(title) + 1
    return lines[start:lines.index("", start) if "" in lines[start:] else len(lines)]


@pytest.mark.parametrize("servers", [pooled(1000, 50), pooled(1000, 14, dedicated=300)],
                         ids=["20 shared servers", "50 shared and 300 dedicated servers"])
def test_a_1000_tenant_summary_fits_a_screen(servers):
    text = summary(estate_plan(servers))
    assert len(text.splitlines()) <= 60
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "  1000 tenants: min 50, median 50, max 52 resources" in section(text, "resources by tenant:")
    # The counts add up: each server group states how many servers hold how many tenants.
    groups = [re.match(r"  (\d+) servers? with (\d+) tenants?:", line) for line in section(text, "database servers:")]
    assert sum(int(g[1]) * int(g[2]) for g in groups if g) == 1000
    assert sum(int(g[1]) for g in groups if g) == len(servers)


def test_a_1000_tenant_summary_names_every_server_with_its_tenant_count():
    servers = pooled(1000, 50)
    named: dict[str, int] = {}
    count = 0  # of the group whose names a continuation line goes on with
    for line in section(summary(estate_plan(servers)), "database servers:"):
        group = re.match(r"  \d+ servers with (\d+) tenants:(.*)", line)
        count, names = (int(group[1]), group[2]) if group else (count, line)
        named |= {name.strip(): count for name in names.split(",") if name.strip()}
    assert named == {key: len(tenants) for key, tenants in servers.items()}


def test_many_tenants_are_summarised_and_the_deviating_ones_stand_out():
    text = summary(estate_plan(pooled(1000, 50)))
    by_tenant = section(text, "resources by tenant:")
    # Tiers 2 and 3 have 50 resources, tier 1 two more (autoscaler, disruption budget).
    assert by_tenant == [
        "  1000 tenants: min 50, median 50, max 52 resources",
        "     66  (shared)",
        "     50  666 tenants: tenant-0002, tenant-0003, tenant-0005, tenant-0006, ... and 662 more",
        "     52  334 tenants: tenant-0001, tenant-0004, tenant-0007, tenant-0010, ... and 330 more",
    ]
    assert section(text, "images by tenant (ring):") == [
        "  registry.example.com/odoo/odoo@sha256:9a8b7c6d5e4f...: 1000 tenants",
        "    canary (200 tenants): tenant-0001, tenant-0006, tenant-0011, tenant-0016, ... and 196 more",
        "    early (200 tenants): tenant-0002, tenant-0007, tenant-0012, tenant-0017, ... and 196 more",
        "    broad (600 tenants): tenant-0003, tenant-0004, tenant-0005, tenant-0008, ... and 596 more",
    ]
    assert section(text, "generated secrets by rotation period:")[:2] == [
        "   1000  every 30 days: tenant-0001-admin-password, tenant-0002-admin-password,",
        "         tenant-0003-admin-password, tenant-0004-admin-password, ... and 996 more",
    ]


def test_a_small_estate_shows_every_name():
    text = summary(estate_plan({"shared": ["acme", "globex", "initech"], "dedicated-bigco": ["bigco"]}))
    assert section(text, "database servers:") == ["  dedicated-bigco (1 tenant): bigco",
                                                  "  shared (3 tenants): acme, globex, initech"]
    assert section(text, "resources by tenant:")[1:] == [
        "     52  acme", "     52  bigco", "     50  globex", "     50  initech"]
    assert section(text, "images by tenant (ring):") == [
        "  registry.example.com/odoo/odoo@sha256:9a8b7c6d5e4f...: acme (canary), bigco (broad),",
        "    globex (early), initech (broad)"]
    assert section(text, "generated secrets by rotation period:")[:2] == [
        "      4  every 30 days: acme-admin-password, bigco-admin-password, globex-admin-password,",
        "         initech-admin-password"]


def test_up_to_a_dozen_tenants_are_listed_one_by_one():
    names = [f"t{index}" for index in range(LISTED + 1)]
    listed = section(summary(estate_plan({"shared": names[:LISTED]})), "resources by tenant:")
    summarised = section(summary(estate_plan({"shared": names})), "resources by tenant:")
    assert [line.split()[-1] for line in listed[1:]] == names[:LISTED]
    assert summarised[0] == f"  {LISTED + 1} tenants: min 50, median 50, max 52 resources"


def test_long_lines_wrap_to_the_width_given():
    text = summary(estate_plan(pooled(40, 14, dedicated=12)), width=80)  # the narrowest the CLI asks for
    assert max(len(line) for line in text.splitlines()) <= 80
    assert ("    527  kubernetes:core/v1: ConfigMap 80, LimitRange 40, Namespace 43,\n"
            "           PersistentVolumeClaim 40, ResourceQuota 40, Secret 80, Service 80,\n") in text
