"""The one interface every cloud adapter implements.

Components are generic: they decide what must exist (a private, encrypted, protected
PostgreSQL server for these tenants) and hand the cloud-specific creation to an adapter.
Only modules in this package import a cloud SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

import pulumi

from odoo_platform.config import Estate
from odoo_platform.rotation import RotatedSecret
from odoo_platform.tiers import TierSpec
from odoo_platform.topology import ServerPlan, TenantPlan


@dataclass(frozen=True)
class Foundation:
    """What every later resource of the estate is placed into (resource group, network)."""

    location: str
    database_cidrs: tuple[str, ...]
    """Private address ranges PostgreSQL and managed caches live in: tenant egress targets."""
    cluster_cidrs: tuple[str, ...]
    """Address ranges the cluster's nodes and pods use: the only sources databases admit."""
    handles: dict[str, Any]


@dataclass(frozen=True)
class KeyRing:
    """One placement's keys and secret store (the estate's shared one, or a dedicated tenant's)."""

    key_id: pulumi.Output[str]
    """Customer-managed key: Key Vault key URI or KMS key ARN."""
    store_id: pulumi.Output[str]
    """Where secrets of this placement are kept: Key Vault id, or the KMS key encrypting Secrets Manager."""
    handles: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PostgresServer:
    host: pulumi.Output[str]
    port: int
    resource_id: pulumi.Output[str]
    admin_login: str
    handles: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BackupStore:
    vault_id: pulumi.Output[str]
    archive_url: pulumi.Output[str]
    """Object storage URL logical dumps and filestore archives are written to."""


@dataclass(frozen=True)
class CacheEndpoint:
    host: pulumi.Output[str]
    port: int
    password: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    revision: Optional[pulumi.Output[str]] = None
    """Changes when the password rotates (None where the cloud's keys are not rotated by the program)."""


@dataclass(frozen=True)
class ClusterAccess:
    kubeconfig: pulumi.Output[str]
    """A Pulumi secret: credentials of the created cluster."""
    oidc_issuer: pulumi.Output[str]
    """Issuer URL workload identities federate with."""
    oidc_provider_id: Optional[pulumi.Output[str]] = None
    """AWS: ARN of the cluster's IAM OIDC provider, which IRSA roles trust (None where the cloud needs none)."""
    install: Optional[Callable[[pulumi.ProviderResource], None]] = None
    """AWS: what goes into the new cluster once its Kubernetes provider exists (storage class, load balancer
    controller); None where the cloud's managed cluster brings them."""


class CloudAdapter(Protocol):
    cloud: str
    rwx_storage_class: str
    database_cidrs: tuple[str, ...]
    """Where databases and caches live (fixed per cloud, so shard stacks know them without the foundation)."""
    archive_cidrs: tuple[str, ...]
    """Private ranges the backup archive is reached in (a private endpoint's subnet); empty where it is public."""
    cluster_cidrs: tuple[str, ...]
    postgres_port: int
    redis_port: int
    """Port of the managed cache (TLS)."""
    postgres_port: int
    redis_port: int
    """Port of the managed cache (TLS)."""

    def create_foundation(self, name: str, owner: pulumi.Resource, estate: Estate) -> Foundation:
        """Resource group or VPC and its private subnets, parented to `owner`."""
        ...

    def create_key_ring(
        self, name: str, owner: pulumi.Resource, estate: Estate, placement: str, foundation: Foundation,
        stateful: pulumi.ResourceOptions,
    ) -> KeyRing:
        """A customer-managed key with rotation and a secret store, protected by `stateful`."""
        ...

    def store_secret(
        self, name: str, owner: pulumi.Resource, key_ring: KeyRing, secret_name: str, secret: RotatedSecret,
        foundation: Foundation, tags: dict[str, str],
    ) -> pulumi.Output[str]:
        """Keep `secret` in the placement's secret store, expiring when its rotation is due; returns its id."""
        ...

    def create_postgres_server(
        self, name: str, owner: pulumi.Resource, estate: Estate, server: ServerPlan, foundation: Foundation,
        key_ring: KeyRing, admin_password: pulumi.Output[str], stateful: pulumi.ResourceOptions,
    ) -> PostgresServer:
        """A private, encrypted PostgreSQL server; `stateful` carries parent and protection."""
        ...

    def create_tenant_database(
        self, name: str, owner: pulumi.Resource, server: PostgresServer, tenant: TenantPlan, foundation: Foundation,
        stateful: pulumi.ResourceOptions,
    ) -> Optional[pulumi.Resource]:
        """The tenant's database where the cloud API manages databases (None where the bootstrap Job does)."""
        ...

    def create_backup_vault(
        self, name: str, owner: pulumi.Resource, estate: Estate, placement: str, tier: TierSpec,
        foundation: Foundation, key_ring: KeyRing, server: PostgresServer, stateful: pulumi.ResourceOptions,
    ) -> BackupStore:
        ...

    def create_cluster(
        self, name: str, owner: pulumi.Resource, estate: Estate, foundation: Foundation, key_ring: KeyRing,
        stateful: pulumi.ResourceOptions,
    ) -> ClusterAccess:
        """A private Kubernetes cluster: private API, secrets encrypted with `key_ring`, workload identity,
        autoscaling nodes spread over three zones."""
        ...

    def create_redis_cache(
        self, name: str, owner: pulumi.Resource, estate: Estate, placement: str, tier: TierSpec, foundation: Foundation,
        key_ring: KeyRing, stateful: pulumi.ResourceOptions,
    ) -> CacheEndpoint:
        ...
