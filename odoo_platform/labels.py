"""Tags and labels every resource carries, so cost, ownership and tenancy are never guessed."""

from __future__ import annotations

from typing import Optional

from odoo_platform.config import Estate, Tenant

LABEL_PREFIX = "odoo-platform.io"
CREDENTIALS_REVISION = f"{LABEL_PREFIX}/credentials-revision"
"""Pod-template annotation that changes with any rotated credential, so Deployments roll onto it."""


def cloud_tags(estate: Estate, tenant: Optional[Tenant] = None, tier: Optional[int] = None) -> dict[str, str]:
    """Tags for cloud resources (Azure tags, AWS tags): tenant, tier, environment, cost-centre, owner."""
    tags = {
        "environment": estate.environment.value,
        "owner": estate.owner,
        "cost-centre": (tenant.cost_centre if tenant and tenant.cost_centre else estate.cost_centre),
        "managed-by": "odoo-platform",
        "tenant": tenant.name if tenant else "shared",
    }
    resolved_tier = tenant.tier if tenant else tier
    if resolved_tier is not None:
        tags["tier"] = str(resolved_tier)
    return tags


def placement_tags(estate: Estate, placement: str, tier: Optional[int] = None) -> dict[str, str]:
    """Tags of a placement's resources: a dedicated tenant's are charged to that tenant, not to `shared`."""
    dedicated = next((t for t in estate.tenants if placement == f"dedicated-{t.name}"), None)
    return cloud_tags(estate, dedicated, tier) | {"placement": placement}


def k8s_labels(estate: Estate, tenant: Tenant, component: str) -> dict[str, str]:
    """Kubernetes labels: the recommended app.kubernetes.io set plus tenancy and cost labels."""
    return {
        "app.kubernetes.io/name": "odoo",
        "app.kubernetes.io/instance": tenant.name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "pulumi",
        f"{LABEL_PREFIX}/tenant": tenant.name,
        f"{LABEL_PREFIX}/tier": str(tenant.tier),
        f"{LABEL_PREFIX}/environment": estate.environment.value,
        f"{LABEL_PREFIX}/ring": tenant.ring,
        f"{LABEL_PREFIX}/cost-centre": tenant.cost_centre or estate.cost_centre,
        f"{LABEL_PREFIX}/owner": estate.owner,
    }


def selector_labels(tenant: Tenant, component: str) -> dict[str, str]:
    """The immutable subset used in selectors (a Deployment selector can never change)."""
    return {
        "app.kubernetes.io/instance": tenant.name,
        "app.kubernetes.io/component": component,
    }
