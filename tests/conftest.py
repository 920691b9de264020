"""Shared fixtures: run the real program under mocks for any estate a test writes."""

from __future__ import annotations

import copy
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from odoo_platform.offline.cache import CACHE_DIR_ENV
from odoo_platform.offline.stackfiles import load_project

pytest_plugins = ["tests.real_postgres"]


def pytest_configure(config: pytest.Config) -> None:
    """One plan cache per test run (odoo_platform/offline/cache.py), never the user's: every
    `odoo-platform plan` a test runs and the shared plans of tests/stack_plans.py use it, so the
    pytest-xdist workers, which inherit this process's environment, plan each stack once between them."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a worker: the controller made the directory
    directory = tempfile.mkdtemp(prefix="odoo-platform-test-plans-")
    config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))
    os.environ[CACHE_DIR_ENV] = directory

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "tests" / "contracts"

# The release the shipped production stacks run: the ledger (stacks/releases.yaml) has it through staging/broad,
# which a production image needs.
DIGEST = "registry.example.com/odoo/odoo@sha256:3f6c2a1b9d8e7f60a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"

BASE_ESTATE: dict[str, Any] = {
    "cloud": "azure",
    "region": "westeurope",
    "environment": "dev",
    "tenancy": "multi-tenant",
    "image": "docker.io/library/odoo:17.0",
    "tenants": [
        {"name": "acme", "tier": 2, "users": 25, "hostname": "acme.erp.example.com"},
        {"name": "globex", "tier": 3, "users": 8, "hostname": "globex.erp.example.com"},
    ],
    # Staging and production need a signing key; dev accepts one (signatures are then audited).
    "imagePolicy": {"signingKey": "azurekms://kv-odoo-signing.vault.azure.net/cosign"},
    "kubernetes": {"operationsIdentity": "5b0e2c4d-1a3f-4e6b-9c8d-7f2a1b3c4d5e"},  # Azure uploads need it
    # The existing cluster's network, peered with the estate's so its workloads reach the private endpoints (AZ-10).
    "azure": {"workloadNetwork": {
        "virtualNetworkId": "/subscriptions/5f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b/resourceGroups/aks/providers/"
                            "Microsoft.Network/virtualNetworks/aks-vnet",
        "addressSpace": ["10.50.0.0/16"]}},
}


# Production runs operations images pinned by digest (mirrored), as the shipped prod stacks do.
PINNED_OPERATIONS_IMAGES = {
    "postgresClientImage": "registry.example.com/mirror/postgres:16.6@sha256:" + "5d2c4e6f8a0b1c3d" * 4,
    "curlImage": "registry.example.com/mirror/curl:8.11.1@sha256:" + "7e1f3a5b9c2d4e6f" * 4,
    "azureCliImage": "registry.example.com/mirror/azure-cli:2.67.0@sha256:" + "0a2b4c6d8e1f3a5b" * 4,
    "awsCliImage": "registry.example.com/mirror/aws-cli:2.22.35@sha256:" + "9b8a7c6d5e4f3a2b" * 4,
    # The Helm charts' images, mirrored at the charts' appVersions (Traefik 36.3.0, Kyverno 3.3.4, Load Balancer
    # Controller 1.13.4); the Load Balancer Controller's counts only on AWS with createCluster.
    "traefikImage": "registry.example.com/mirror/traefik:v3.4.3@sha256:" + "4c1e8a2f6b3d9e05" * 4,
    "kyvernoImages": {
        "admissionController": "registry.example.com/mirror/kyverno/kyverno:v1.13.2@sha256:" + "1a3c5e7f9b2d4f60" * 4,
        "init": "registry.example.com/mirror/kyverno/kyvernopre:v1.13.2@sha256:" + "2b4d6f8a0c1e3a5c" * 4,
        "backgroundController": "registry.example.com/mirror/kyverno/background-controller:v1.13.2@sha256:"
                                + "3c5e7a9b1d2f4b6d" * 4,
        "cleanupController": "registry.example.com/mirror/kyverno/cleanup-controller:v1.13.2@sha256:"
                             + "4d6f8b0c2e3a5c7e" * 4,
        "reportsController": "registry.example.com/mirror/kyverno/reports-controller:v1.13.2@sha256:"
                             + "5e7a9c1d3f4b6d8f" * 4,
        "cli": "registry.example.com/mirror/kyverno/kyverno-cli:v1.13.2@sha256:" + "6f8b0d2e4a5c7e9a" * 4,
        "kubectl": "registry.example.com/mirror/bitnami/kubectl:1.30.2@sha256:" + "7a9c1e3f5b6d8f0b" * 4,
    },
    "loadBalancerControllerImage": "registry.example.com/mirror/eks/aws-load-balancer-controller:v2.13.4@sha256:"
                                   + "8f2a6c4e0b1d3f57" * 4,
}

# AWS estates need a network answer: an existing cluster's VPC, or (with kubernetes.createCluster) the deploying agent's range.
AWS_EXISTING: dict[str, Any] = {"existingVpc": {"vpcId": "vpc-0c4f2a9e81b3d5f17", "nodeCidrs": ["10.40.0.0/16"]}}
AWS_CREATED: dict[str, Any] = {"deployAgentCidrs": ["10.50.4.0/28"]}


# The operations jobs upload with a workload identity of the estate's cloud (a managed identity's
# client id on Azure, an IAM role on AWS); a test that needs none says operationsIdentity: "".
OPERATIONS_IDENTITY = {"azure": BASE_ESTATE["kubernetes"]["operationsIdentity"],
                       "aws": "arn:aws:iam::123456789012:role/odoo-platform-operations"}


def estate(**changes: Any) -> dict[str, Any]:
    """A valid estate with top-level keys replaced; `kubernetes` settings are added to the cloud's
    operations identity, and a production estate runs pinned operations images."""
    document = copy.deepcopy(BASE_ESTATE)
    document.update(copy.deepcopy(changes))
    kubernetes = {"operationsIdentity": OPERATIONS_IDENTITY.get(document["cloud"], "")}
    if document["environment"] == "prod":
        kubernetes |= PINNED_OPERATIONS_IMAGES
    document["kubernetes"] = kubernetes | copy.deepcopy(changes.get("kubernetes", {}))
    return document


def write_stack(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"config": {f"odoo-platform:{k}": v for k, v in config.items()}}))
    return path


@pytest.fixture(scope="session")
def project():
    return load_project(ROOT)


@pytest.fixture
def plan_for(project) -> Callable[..., dict[str, Any]]:
    """Plan an estate in-process, exactly as `odoo-platform plan --config` does (tests.stack_plans.plan_of_estate:
    made once per session for each estate, a copy per call)."""
    # Imported here: pytest loads this file as `conftest` and the tests import it as `tests.conftest`, two
    # module objects; the plans' cache lives in tests.stack_plans, one module for both.
    from tests.stack_plans import plan_of_estate

    return functools.partial(plan_of_estate, project)


def resources_of(plan: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


def by_name(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in plan["resources"]}
