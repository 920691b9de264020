"""Every Kubernetes name and label the program writes fits the API server's limits, for the longest tenant."""

from __future__ import annotations

import re

import pytest

from odoo_platform.components.k8s_common import fit_name
from odoo_platform.offline.plan import kubernetes_objects
from tests.conftest import DIGEST, estate

# Kubernetes "Object Names and IDs": most names are DNS-1123 subdomains (253); Namespaces are DNS-1123
# labels and Services RFC 1035 labels (63). A Job's name becomes its pods' `job-name` label value (63),
# and a CronJob's at most 52, because the controller appends 11 characters to name its Jobs.
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RFC1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
NAME_RULES = {"Namespace": (DNS_LABEL, 63), "Service": (RFC1035_LABEL, 63), "Job": (DNS_LABEL, 63), "CronJob": (DNS_LABEL, 52)}
# Kubernetes "Labels and Selectors": a value is at most 63 characters, alphanumeric at both ends.
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

LONGEST = "a" * 10 + "-" + "b" * 19  # 30 characters, the documented maximum
TENANTS = [
    {"name": LONGEST, "tier": 1, "users": 40, "hostname": "long.erp.example.com", "isolation": "dedicated"},
    {"name": "c" * 30, "tier": 3, "users": 8, "hostname": "other.erp.example.com", "isolation": "shared"},
]


def _labels(document, found):
    """Every `labels` mapping in an object (metadata, pod templates, job templates)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("labels", "matchLabels") and isinstance(value, dict):
                found.extend(value.items())
            else:
                _labels(value, found)
    elif isinstance(document, list):
        for item in document:
            _labels(item, found)
    return found


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_names_and_labels_fit_with_a_30_character_tenant_shared_and_dedicated(plan_for, environment):
    plan = plan_for(estate(environment=environment, image=DIGEST, tenancy="hybrid", tenants=TENANTS))
    objects = kubernetes_objects(plan)
    assert any(LONGEST in o["metadata"].get("name", "") for o in objects)  # the long name reaches names
    faults = []
    for document in objects:
        kind, name = document["kind"], document["metadata"].get("name", "")
        pattern, limit = NAME_RULES.get(kind, (DNS_SUBDOMAIN, 253))
        if len(name) > limit or not pattern.match(name):
            faults.append(f"{kind} {name!r} ({len(name)} characters, limit {limit})")
        for key, value in _labels(document, []):
            if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
                faults.append(f"{kind} {name!r}: label {key}={value!r}")
    assert faults == []


def test_fit_name_keeps_short_names_and_shortens_long_ones_stably():
    assert fit_name("db-bootstrap-shared-1ffa64dbdb") == "db-bootstrap-shared-1ffa64dbdb"  # existing names never change
    long = f"db-bootstrap-dedicated-{LONGEST}-9cbe28b87d"
    fitted = fit_name(long)
    assert len(long) == 64 and len(fitted) == 63 and DNS_LABEL.match(fitted)
    assert fitted == fit_name(long) and fitted != fit_name(long.replace("9cbe", "0cbe"))  # stable, and distinct
    assert fitted.startswith("db-bootstrap-dedicated-aaaaaaaaaa-")
    assert len(fit_name("restore-drill-" + "x" * 40, 52)) == 52
