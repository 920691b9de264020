"""The estate model: what a platform team writes under `odoo-platform:` in a stack file.

The six keys `cloud`, `region`, `environment`, `tenancy`, `image` and `tenants` are a
contract other tools rely on; everything else has defaults a team can override.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from odoo_platform.errors import EstateConfigError
from odoo_platform.tiers import DEFAULT_TIER_CATALOGUE, TierSpec

CONFIG_NAMESPACE = "odoo-platform"

SHARED_SERVER = re.compile(r"^shared(-([2-9]|[1-9][0-9]+))?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
FQDN_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
ODOO_VERSION_IN_TAG = re.compile(r":(\d{2})(\.\d)?(?:[-@.]|$)")

# Kubernetes "Labels and Selectors": a label value is at most 63 characters, beginning and ending
# with an alphanumeric character, with '-', '_', '.' and alphanumerics between (Kubernetes also
# allows an empty value; an empty owner or cost centre would charge nobody, so it is refused). The
# same values become Azure and AWS tags, whose rules are looser.
LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def _label_value(value: str) -> str:
    if not LABEL_VALUE.match(value):
        example = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:63].strip("-") or "platform-team"
        raise ValueError(
            f"{value!r} is not a valid Kubernetes label value (use letters, digits, '-', '_', '.', at most 63 characters, "
            f"beginning and ending with a letter or digit, e.g. {example})"
        )
    return value


LabelValue = Annotated[str, AfterValidator(_label_value)]
"""A config value that is written into Kubernetes labels and cloud tags."""


# Image references as the distribution reference grammar defines them (github.com/distribution/
# reference, reference.go): [domain[:port]/]path-component(/path-component)*[:tag][@digest]. Parsed,
# never prefix-matched: `docker.io/library/../../evil/odoo` has the invalid components `..`.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
PATH_COMPONENT = re.compile(rf"^{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*$")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN = re.compile(rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
SHA256_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
NAME_TOTAL_LENGTH_MAX = 255
IMAGE_FIX = "use registry/repository:tag or registry/repository@sha256:<64 hex>"


@dataclass(frozen=True)
class ImageReference:
    domain: str
    """Registry host and port; empty when the reference names none (Docker would assume docker.io)."""
    path: tuple[str, ...]
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        return "/".join((self.domain, *self.path) if self.domain else self.path)

    def is_under(self, prefix: "ImageReference") -> bool:
        """Whether this image lives under a registry prefix, compared component by component."""
        return (
            self.domain.lower() == prefix.domain.lower()
            and len(self.path) > len(prefix.path)
            and self.path[: len(prefix.path)] == prefix.path
        )


def parse_image_reference(value: str) -> ImageReference:
    """An image reference split into domain, path components, tag and digest; ValueError naming the fault."""

    def refuse(fault: str) -> ValueError:
        return ValueError(f"{value!r} is not an image reference: {fault} ({IMAGE_FIX})")

    name, at, digest = value.partition("@")
    if at and not SHA256_DIGEST.match(digest):
        raise refuse(f"the digest {digest!r} is not sha256:<64 lowercase hex>")
    slash = name.rfind("/")
    tag = ""
    if ":" in name[slash + 1:]:
        name, _, tag = name.rpartition(":")
        if not TAG.match(tag):
            raise refuse(f"the tag {tag!r} is not a tag (letters, digits, '_', '.', '-', at most 128)")
    if not name:
        raise refuse("it names no repository")
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise refuse(f"the name is longer than {NAME_TOTAL_LENGTH_MAX} characters")
    components = name.split("/")
    domain = ""
    # As the reference grammar's splitDomain: the first component is a registry when it has a '.' or a
    # port, is `localhost`, or has capitals (which a path never has).
    first = components[0]
    if len(components) > 1 and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain = components.pop(0)
        if not DOMAIN.match(domain):
            raise refuse(f"the registry {domain!r} is not a host[:port]")
    for component in components:
        if not PATH_COMPONENT.match(component):
            raise refuse(f"the path component {component!r} is invalid (lowercase letters and digits, "
                         "separated by '.', '_', '__' or '-')")
    return ImageReference(domain=domain, path=tuple(components), tag=tag, digest=digest)


def _image(value: str) -> str:
    parse_image_reference(value)
    return value


ImageRef = Annotated[str, AfterValidator(_image)]
"""A config value naming a container image."""


class Cloud(str, Enum):
    AZURE = "azure"
    AWS = "aws"


class Environment(str, Enum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class Tenancy(str, Enum):
    MULTI_TENANT = "multi-tenant"
    DEDICATED = "dedicated"
    HYBRID = "hybrid"


class RedisMode(str, Enum):
    IN_CLUSTER = "in-cluster"
    MANAGED = "managed"


class Isolation(str, Enum):
    SHARED = "shared"
    DEDICATED = "dedicated"


class _Model(BaseModel):
    """Stack files use Pulumi's camelCase keys; Python code uses snake_case attributes."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Tenant(_Model):
    name: str = Field(description="DNS-1123 label, at most 30 characters; names the namespace and database.")
    # Strict: `tier: true` or `users: "25"` is a mistake, not tier 1 or 25 users. Pulumi hands
    # structured config to the program as JSON, so YAML numbers arrive as numbers.
    tier: Annotated[StrictInt, Field(ge=1, le=3, description="Service tier 1 (critical) to 3 (standard).")]
    users: Annotated[StrictInt, Field(ge=1, le=5000, description="Concurrent users; drives Odoo workers and sizing.")]
    hostname: str = Field(description="Public FQDN the tenant's Odoo answers on.")
    isolation: Optional[Isolation] = Field(
        default=None,
        description="shared or dedicated; defaults from the estate's tenancy model.",
    )
    ring: str = Field(default="broad", description="Release ring the tenant belongs to.")
    cost_centre: Optional[LabelValue] = Field(default=None, description="Cost centre charged for this tenant.")
    server: Optional[str] = Field(
        default=None,
        description="Shared PostgreSQL server of a shared tenant: shared (the default), shared-2, shared-3, ... "
        "Only this entry moves the tenant: placements never follow other tenants' edits.",
    )
    shard: Optional[StrictInt] = Field(
        default=None, ge=1, description="Shard stack number within the tenant's ring in a sharded estate (default 1)."
    )

    @field_validator("server")
    @classmethod
    def _shared_server(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not SHARED_SERVER.match(value):
            raise ValueError(f"{value!r} is not a shared server (use shared, shared-2, shared-3, ...)")
        return value

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if len(value) > 30:
            raise ValueError(f"{value!r} is longer than 30 characters (shorten it)")
        if not DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a DNS label (use lowercase letters, digits and '-')")
        return value

    @field_validator("hostname")
    @classmethod
    def _fqdn(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value.strip("[]"))
        except ValueError:
            pass
        else:
            raise ValueError(f"{value!r} is an IP address (use the tenant's DNS name, e.g. erp.example.com: "
                             "Traefik routes and certificates are issued by hostname)")
        labels = value.split(".")
        if len(value) > 253 or len(labels) < 2 or not all(FQDN_LABEL.match(label) for label in labels):
            raise ValueError(
                f"{value!r} is not a fully qualified domain name (use lowercase labels separated by dots, e.g. erp.example.com)"
            )
        return value

    @field_validator("ring")
    @classmethod
    def _ring_label(cls, value: str) -> str:
        return _ring_name(value)


def _ring_name(value: str) -> str:
    # A ring names shard stacks and is a label value: a DNS label (at most 63 characters).
    if not DNS_LABEL.match(value):
        raise ValueError(f"{value!r} is not a ring name (use lowercase letters, digits and '-', at most 63 characters)")
    return value


class PostgresSettings(_Model):
    version: Annotated[StrictInt, Field(ge=14, le=17)] = 16
    max_connections: Annotated[StrictInt, Field(ge=50, le=5000)] = 800
    reserved_connections: Annotated[StrictInt, Field(ge=5, le=500)] = 50
    storage_gb: Annotated[StrictInt, Field(ge=32, le=16384)] = 128


class Window(_Model):
    """A weekly window in the estate's time zone, e.g. Sunday 02:00 for 4 hours."""

    day_of_week: Annotated[StrictInt, Field(ge=0, le=6, description="0 is Sunday.")] = 0
    start_hour: Annotated[StrictInt, Field(ge=0, le=23)] = 2
    duration_hours: Annotated[StrictInt, Field(ge=1, le=12)] = 4


class DatedFreeze(_Model):
    start: date
    end: date
    reason: str

    @model_validator(mode="after")
    def _ordered(self) -> "DatedFreeze":
        if self.end < self.start:
            raise ValueError("end is before start (swap them)")
        return self


class ChangeCalendar(_Model):
    """When changes may happen: month-, quarter- and year-end close are frozen."""

    month_end_business_days: Annotated[StrictInt, Field(ge=0, le=10)] = 3
    month_start_days: Annotated[StrictInt, Field(ge=0, le=10)] = 2
    quarter_end_business_days: Annotated[StrictInt, Field(ge=0, le=15)] = 5
    quarter_start_days: Annotated[StrictInt, Field(ge=0, le=15)] = 3
    year_end_from: str = Field(default="12-15", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    year_end_until: str = Field(default="01-05", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    freezes: list[DatedFreeze] = Field(default_factory=list)


class BusinessHours(_Model):
    """When non-production Odoo runs; outside these hours dev and staging scale to zero."""

    start_hour: Annotated[StrictInt, Field(ge=0, le=23)] = 7
    end_hour: Annotated[StrictInt, Field(ge=1, le=24)] = 20
    days: str = Field(default="1-5", pattern=r"^[0-6](-[0-6])?(,[0-6](-[0-6])?)*$", description="Cron day-of-week list.")

    @model_validator(mode="after")
    def _ordered(self) -> "BusinessHours":
        if self.end_hour <= self.start_hour:
            raise ValueError("endHour must be after startHour (business hours cannot wrap midnight)")
        return self


def _cidr(value: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR range (use e.g. 203.0.113.10/32)") from None


class EgressEndpoint(_Model):
    """A host Odoo connects to outside the cluster. NetworkPolicies match addresses, not names, so the
    ranges the host resolves into are part of the endpoint."""

    host: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9.-]+$")]
    port: Annotated[int, Field(ge=1, le=65535)]
    cidrs: Annotated[list[str], Field(min_length=1)]
    tls: bool = Field(default=True, description="SMTP relay only: STARTTLS (odoo.conf smtp_ssl).")

    @field_validator("cidrs")
    @classmethod
    def _ranges(cls, values: list[str]) -> list[str]:
        return [_cidr(value) for value in values]


class OdooEgress(_Model):
    """What Odoo may reach beyond its database and Redis; everything is closed by default."""

    smtp_relay: Optional[EgressEndpoint] = Field(default=None, description="Outgoing mail relay (odoo.conf smtp_server).")
    incoming_mail: list[EgressEndpoint] = Field(
        default_factory=list, description="IMAP/POP servers the fetchmail module polls (configured in Odoo)."
    )
    https_proxy: Optional[EgressEndpoint] = Field(
        default=None, description="Egress proxy for the HTTPS services Odoo calls (HTTPS_PROXY), e.g. bank feeds."
    )
    https_cidrs: list[str] = Field(default_factory=list, description="Ranges Odoo may call directly on port 443.")

    @field_validator("https_cidrs")
    @classmethod
    def _ranges(cls, values: list[str]) -> list[str]:
        return [_cidr(value) for value in values]


def _cidr_list(values: list[str], example: str) -> list[str]:
    """Every entry a CIDR range with its network address (10.40.0.0/16, not 10.40.1.2/16)."""
    for value in values:
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a CIDR range ({exc}; use a network address and prefix, "
                             f"e.g. {example})") from None
    return values
KUBERNETES_VERSIONS = ("1.35", "1.36")
"""Minor versions the program may create a cluster with: those still in community support on 2026-11-30
(1.34 ended 2026-10-27: https://kubernetes.io/releases/1.34/, 1.35 ends 2027-02-28: https://kubernetes.io/releases/1.35/)
and in AKS's GA calendar (https://learn.microsoft.com/azure/aks/supported-kubernetes-versions#aks-kubernetes-release-calendar).
Widen it when a release reaches AKS GA; drop one when it leaves support."""


def _chart_image(value: str) -> str:
    # The charts' image helpers all render `repository:tag` (see ChartImage), so a digest travels
    # inside the tag; a digest without a tag could not be rendered.
    if value:
        reference = parse_image_reference(value)
        if reference.digest and not reference.tag:
            raise ValueError(f"{value!r} has a digest but no tag; the chart renders repository:tag, so give both "
                             "(use registry/repository:tag@sha256:<64 hex>)")
    return value


ChartImageRef = Annotated[str, AfterValidator(_chart_image)]
"""A config value naming an image a Helm chart runs; empty: the chart's own image for its version."""


@dataclass(frozen=True)
class ChartImage:
    """A chart image setting split as the charts' values take it. Traefik (traefik/traefik-helm-chart
    v36.3.0, traefik/templates/_helpers.tpl `traefik.image-name`) renders `registry/repository:tag`;
    Kyverno (kyverno/kyverno kyverno-chart-3.3.4, charts/kyverno/templates/_helpers/_image.tpl and the
    controllers' `*.image` helpers) renders `registry/repository:tag`; the AWS Load Balancer Controller
    (aws/eks-charts stable/aws-load-balancer-controller 1.13.4, templates/deployment.yaml) renders
    `repository:tag`. None has a digest field, so `tag` is `tag@sha256:...`, which each prints verbatim
    (Traefik's `traefik.proxyVersion` drops what follows '@' from the tag before its version checks)."""

    registry: str
    repository: str
    tag: str

    @classmethod
    def of(cls, value: str) -> "ChartImage":
        reference = parse_image_reference(value)
        tag = f"{reference.tag}@{reference.digest}" if reference.digest else reference.tag
        return cls(registry=reference.domain, repository="/".join(reference.path), tag=tag)

    def registry_values(self) -> dict[str, str]:
        """{registry, repository, tag}: the Traefik and Kyverno charts' image keys."""
        return {"registry": self.registry, "repository": self.repository, "tag": self.tag}

    def repository_values(self) -> dict[str, str]:
        """{repository (with the registry), tag}: the AWS Load Balancer Controller chart's image keys."""
        return {"repository": "/".join(filter(None, (self.registry, self.repository))), "tag": self.tag}


class KyvernoImages(_Model):
    """The images the Kyverno chart runs, by its values keys at chart 3.3.4 (kyverno/kyverno tag
    kyverno-chart-3.3.4, charts/kyverno/values.yaml); empty: the chart's own (ghcr.io/kyverno/*:<appVersion>,
    and docker.io bitnami/kubectl:1.30.2 for the hooks). The `test.image` busybox only runs under `helm test`."""

    admission_controller: ChartImageRef = Field(default="", description="admissionController.container.image")
    init: ChartImageRef = Field(default="", description="admissionController.initContainer.image (kyvernopre)")
    background_controller: ChartImageRef = Field(default="", description="backgroundController.image")
    cleanup_controller: ChartImageRef = Field(default="", description="cleanupController.image")
    reports_controller: ChartImageRef = Field(default="", description="reportsController.image")
    cli: ChartImageRef = Field(default="", description="crds.migration.image: the post-upgrade CRD migration hook "
                               "(kyverno-cli)")
    kubectl: ChartImageRef = Field(default="", description="webhooksCleanup.image and policyReportsCleanup.image: the "
                                   "pre/post-delete and post-upgrade hooks, which run kubectl under /bin/bash with awk "
                                   "(mirror the chart's bitnami/kubectl)")


class KubernetesSettings(_Model):
    version: str = Field(
        default="1.35", description=f"Kubernetes minor version of a created cluster, one of {', '.join(KUBERNETES_VERSIONS)}."
    )
    create_cluster: StrictBool = Field(
        default=False,
        description="Create a private AKS/EKS cluster; false uses the existing cluster of the ambient kubeconfig.",
    )
    node_vm_size: str = Field(default="", description="Node size (default Standard_D4ds_v5 on Azure, m7g.xlarge on AWS).")
    nodes_min: Annotated[StrictInt, Field(ge=1, le=100)] = 3
    nodes_max: Annotated[StrictInt, Field(ge=1, le=500)] = 12
    ingress_namespace: str = "traefik"
    traefik_chart_version: str = "36.3.0"
    traefik_image: ChartImageRef = Field(
        default="", description="Traefik's image (chart values image.registry/repository/tag); empty: the chart's own.")
    kyverno_images: KyvernoImages = KyvernoImages()
    load_balancer_controller_image: ChartImageRef = Field(
        default="", description="AWS with createCluster: the Load Balancer Controller's image (chart values "
        "image.repository/tag); empty: the chart's own.")
    scaler_image: ImageRef = "registry.k8s.io/kubectl:v1.30.14"
    redis_image: ImageRef = "docker.io/library/redis:7.4.2"
    postgres_client_image: ImageRef = "docker.io/library/postgres:16.6"
    azure_cli_image: ImageRef = "mcr.microsoft.com/azure-cli:2.67.0"
    aws_cli_image: ImageRef = "docker.io/amazon/aws-cli:2.22.35"
    curl_image: ImageRef = "docker.io/curlimages/curl:8.11.1"
    pushgateway_url: str = Field(
        default="http://prometheus-pushgateway.monitoring.svc:9091",
        description="Where backup and restore-drill jobs report their result metrics.",
    )
    operations_identity: str = Field(
        default="",
        description="Workload identity of the operations jobs: Azure client id or AWS IAM role ARN (empty: node identity).",
    )
    admin_cidrs: list[str] = Field(
        default_factory=list, description="Source ranges allowed to reach /web/database; empty blocks it entirely."
    )
    session_redis_repositories: list[str] = Field(
        default_factory=lambda: ["registry.example.com/odoo/odoo"],
        description="Odoo image repositories built with the OCA session_redis module and python3-redis (the "
        "platform's derived image); any other image, such as the official one, keeps file sessions.",
    )
    odoo_egress: OdooEgress = OdooEgress()
    database_ca_bundle: str = Field(
        default="",
        pattern=r"^(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?)*$",
        description="PEM CA certificates Odoo verifies the PostgreSQL server with (AWS: the RDS global bundle); "
        "empty: the image's system store on Azure, whose server certificates chain to public roots.",
    )

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value not in KUBERNETES_VERSIONS:
            raise ValueError(f"{value!r} is not a supported Kubernetes minor version (use one of "
                             f"{', '.join(KUBERNETES_VERSIONS)}: older ones are out of support)")
        return value

    @field_validator("admin_cidrs")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        return _cidr_list(values, "10.40.250.0/28")


AZURE_VNET_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]{1,90}/providers/Microsoft\.Network/virtualNetworks/[-\w.]{2,64}$"
)
PAIRED_REGIONS = {
    "westeurope": "northeurope", "northeurope": "westeurope", "germanywestcentral": "germanynorth",
    "germanynorth": "germanywestcentral", "francecentral": "francesouth", "francesouth": "francecentral",
    "uksouth": "ukwest", "ukwest": "uksouth", "swedencentral": "swedensouth", "swedensouth": "swedencentral",
    "switzerlandnorth": "switzerlandwest", "switzerlandwest": "switzerlandnorth", "norwayeast": "norwaywest",
    "norwaywest": "norwayeast", "eastus": "westus", "westus": "eastus", "eastus2": "centralus", "centralus": "eastus2",
}
"""Azure region pairs (https://learn.microsoft.com/azure/reliability/cross-region-replication-azure#azure-paired-regions):
geo-redundant PostgreSQL backups go to the pair, so the geo-backup key lives there."""


class PeerNetwork(_Model):
    """An existing virtual network the estate's network is peered with and whose DNS resolves the private zones."""

    virtual_network_id: str = Field(description="ARM id of the virtual network.")
    address_space: Annotated[list[str], Field(min_length=1)] = Field(
        description="Its address prefixes (peered networks may not overlap: the plan checks it)."
    )

    @field_validator("virtual_network_id")
    @classmethod
    def _vnet_id(cls, value: str) -> str:
        if not AZURE_VNET_ID.match(value):
            raise ValueError(f"{value!r} is not a virtual network id (use /subscriptions/<id>/resourceGroups/<group>/"
                             "providers/Microsoft.Network/virtualNetworks/<name>)")
        return value

    @field_validator("address_space")
    @classmethod
    def _prefixes(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=True)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a CIDR range ({exc})") from None
        return values


class AzureSettings(_Model):
    """Azure-only settings (`odoo-platform:azure`)."""

    paired_region: str = Field(default="", description="Region of the geo-backup key; default: the region's Azure pair.")
    workload_network: Optional[PeerNetwork] = Field(
        default=None,
        description="Without createCluster: the virtual network of the existing cluster's nodes, peered with the estate's "
                    "and linked to its private DNS zones so workloads reach the database, cache, vault and archive.",
    )
    agent_network: Optional[PeerNetwork] = Field(
        default=None,
        description="The virtual network the deploying agent runs in, peered and DNS-linked so it reaches the private "
                    "API server (createCluster) and private endpoints.",
    )
    archive_lock_change: str = Field(
        default="",
        description="The approved change that locks the archive's immutability policy (Azure creates it only "
                    "Unlocked); empty: Unlocked.",
    )

    def geo_backup_region(self, region: str) -> str:
        paired = self.paired_region or PAIRED_REGIONS.get(region, "")
        if not paired:
            raise EstateConfigError(f"azure.pairedRegion: {region} has no known Azure pair; set odoo-platform:azure."
                                    "pairedRegion to the region geo-redundant backups go to")
        return paired


KMS_KEY_REFERENCE = re.compile(r"^(azurekms|awskms|gcpkms|hashivault)://\S+$")
PEM_PUBLIC_KEY = re.compile(r"^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$")
DEFAULT_APPROVED_REGISTRIES = (
    "registry.example.com/odoo", "registry.example.com/mirror", "docker.io/library", "docker.io/amazon", "docker.io/curlimages", "registry.k8s.io",
    "mcr.microsoft.com",
)


class ImagePolicy(_Model):
    """Which images the cluster admits into tenant and operations namespaces (enforced by Kyverno)."""

    approved_registries: Annotated[list[str], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_APPROVED_REGISTRIES),
        description="Registry prefixes (host or host/path) images may come from.",
    )
    signed_repositories: list[str] = Field(
        default_factory=list,
        description="Repositories whose images must carry a cosign signature (default: the Odoo image's repository).",
    )
    signing_key: str = Field(
        default="",
        description="Cosign public key (PEM) or KMS reference (azurekms://, awskms://) signatures are verified with.",
    )
    kyverno_chart_version: str = "3.3.4"

    @field_validator("approved_registries", "signed_repositories")
    @classmethod
    def _prefixes(cls, values: list[str]) -> list[str]:
        for value in values:
            _registry_prefix(value)
        return values

    @field_validator("signing_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if value and not (KMS_KEY_REFERENCE.match(value) or PEM_PUBLIC_KEY.match(value)):
            raise ValueError("is neither a PEM public key nor a KMS reference (use azurekms://... or awskms://...)")
        return value

    def approves(self, image: str) -> bool:
        """Whether the image lies under an approved registry prefix, component by component."""
        try:
            reference = parse_image_reference(image)
        except ValueError:
            return False
        return any(reference.is_under(_registry_prefix(registry)) for registry in self.approved_registries)


def _registry_prefix(value: str) -> ImageReference:
    """A registry prefix (host[:port][/path]) as a reference without tag or digest."""
    domain, _, path = value.partition("/")
    components = tuple(path.split("/")) if path else ()
    if (
        "." not in domain.split(":")[0]
        or not DOMAIN.match(domain)
        or not all(PATH_COMPONENT.match(component) for component in components)
    ):
        raise ValueError(f"{value!r} is not a registry prefix (use a host with a dot, e.g. registry.example.com/odoo)")
    return ImageReference(domain=domain, path=components)


class GitOps(_Model):
    """How the Pulumi Kubernetes Operator reconciles this stack from the approved repository."""

    repository: str = Field(
        default="https://dev.azure.com/fin-hosting/odoo-platform/_git/odoo-platform",
        pattern=r"^(https://|ssh://|git@)\S+$", description="Approved repository the operator deploys from.",
    )
    backend: str = Field(default="", description="State backend URL (default: the pipeline's backend for the cloud).")
    secrets_provider: str = Field(default="", description="Secrets provider URL (default: a key per stack).")
    deploy_identity: str = Field(default="", description="Workload identity of the operator's workspace (client id or role ARN).")
    tenant_id: str = Field(default="", pattern=r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$",
                           description="Azure: Entra tenant of the deploy identity.")
    subscription_id: str = Field(default="", pattern=r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$",
                                 description="Azure: subscription the stack deploys to.")
    resync_minutes: Annotated[StrictInt, Field(ge=1, le=1440)] = 0
    """0: by environment (10 minutes in dev, 30 in staging, 60 in production)."""


class Sharding(_Model):
    """How a large estate is split into a foundation stack and shard stacks (see sharding.py)."""

    max_tenants_per_shard: Annotated[StrictInt, Field(ge=1, le=1000)] = 50


# RFC 1918 (private IPv4) and RFC 4193 (unique local IPv6). Not `is_private`, which also counts
# documentation, benchmarking and loopback ranges as private.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
ADMIN_CIDR_WIDEST_PREFIX = {4: 16, 6: 48}
"""The widest admin range production accepts, per IP version (a /16 is 65,536 addresses)."""

IMAGE_SETTINGS = ("scaler_image", "redis_image", "postgres_client_image", "azure_cli_image", "aws_cli_image", "curl_image")


class Estate(_Model):
    cloud: Cloud
    region: str
    environment: Environment
    tenancy: Tenancy
    image: ImageRef
    tenants: Annotated[list[Tenant], Field(min_length=1)]
    owner: LabelValue = Field(default="platform-team", description="Team accountable for the estate (tagged on every resource).")
    cost_centre: LabelValue = Field(default="hosting", description="Default cost centre for shared services.")
    time_zone: str = Field(default="UTC", description="IANA time zone for windows and schedules.")
    maintenance_window: Window = Window()
    maintenance_windows: dict[int, Window] = Field(
        default_factory=dict, description="Per-tier maintenance windows; tiers not listed use maintenanceWindow."
    )
    business_hours: BusinessHours = BusinessHours()
    change_calendar: ChangeCalendar = ChangeCalendar()
    kubernetes: KubernetesSettings = KubernetesSettings()
    postgres: PostgresSettings = PostgresSettings()
    azure: AzureSettings = AzureSettings()
    redis: Optional[RedisMode] = Field(
        default=None, description="in-cluster or managed Redis for sessions; managed by default in prod."
    )
    image_policy: ImagePolicy = ImagePolicy()
    gitops: GitOps = GitOps()
    sharding: Sharding = Sharding()
    shard: str = Field(
        default="",
        description="Set by `odoo-platform fleet` on shard stacks: 'foundation' or a shard name; empty: the whole estate.",
    )
    foundation_stack: str = Field(default="", description="Set on shard stacks: the foundation stack they read.")
    aws: AwsSettings = Field(default_factory=lambda: AwsSettings(), description="AWS-only settings (ignored on Azure).")
    tiers: dict[int, TierSpec] = Field(default_factory=lambda: dict(DEFAULT_TIER_CATALOGUE))
    ring_order: Annotated[list[str], Field(min_length=1)] = Field(
        default_factory=lambda: ["canary", "early", "broad"], description="Release rings, first to last."
    )
    rings: dict[str, str] = Field(
        default_factory=dict,
        description="Image per ring while a release is being promoted (written by `odoo-platform promote`).",
    )
    _tenant_files: tuple[Path, ...] = PrivateAttr(default=())
    """Where each tenant came from, in order, for a catalogued estate (stack_reader): not a setting."""

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]{2,30}$", value):
            raise ValueError(f"{value!r} is not a region name (use the cloud's region id, e.g. westeurope or eu-central-1)")
        return value

    @field_validator("ring_order")
    @classmethod
    def _ring_order(cls, values: list[str]) -> list[str]:
        for position, ring in enumerate(values):
            _ring_name(ring)
            if ring in values[:position]:
                raise ValueError(f"{ring!r} is listed twice (list each ring once, first to last)")
        return values

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (use e.g. Europe/Brussels or UTC)") from None
        return value

    @field_validator("tiers", mode="before")
    @classmethod
    def _merge_tier_overrides(cls, value: object) -> object:
        # A stack file overrides single fields of a tier; the rest comes from the catalogue.
        if not isinstance(value, dict):
            return value
        # Keys stay camelCase, as written in stack files, so an error names the key the user wrote.
        merged: dict[int, object] = {t: spec.model_dump(by_alias=True) for t, spec in DEFAULT_TIER_CATALOGUE.items()}
        for key, override in value.items():
            tier = int(key) if str(key).isdigit() else key
            if tier not in merged or not isinstance(override, dict):
                merged[tier] = override
            else:
                base = dict(merged[tier])  # type: ignore[arg-type]
                base.update({to_camel(k): v for k, v in override.items()})
                merged[tier] = base
        return merged

    @model_validator(mode="after")
    def _estate_rules(self) -> "Estate":
        if self.environment in (Environment.STAGING, Environment.PROD) and not self.pinned_by_digest:
            raise FieldError(
                "image",
                f"{self.image!r} is a tag; {self.environment.value} needs an image pinned by digest (use repo@sha256:<64 hex>)",
            )
        for ring, ring_image in self.rings.items():
            if ring not in self.ring_order:
                raise FieldError(f"rings.{ring}", f"{ring!r} is not a release ring (use one of {', '.join(self.ring_order)})")
            try:
                pinned = bool(parse_image_reference(ring_image).digest)
            except ValueError as exc:
                raise FieldError(f"rings.{ring}", str(exc)) from None
            if self.environment in (Environment.STAGING, Environment.PROD) and not pinned:
                raise FieldError(
                    f"rings.{ring}",
                    f"{ring_image!r} is a tag; {self.environment.value} promotes images by digest (use repo@sha256:<64 hex>)",
                )
        self._check_image_policy()
        self._check_admin_cidrs()
        seen_names: dict[str, int] = {}
        seen_hosts: dict[str, int] = {}
        for index, tenant in enumerate(self.tenants):
            if tenant.name in seen_names:
                raise FieldError(
                    f"tenants[{index}].name",
                    f"{tenant.name!r} is already used by tenants[{seen_names[tenant.name]}] (tenant names must be unique)",
                )
            if tenant.hostname in seen_hosts:
                raise FieldError(
                    f"tenants[{index}].hostname",
                    f"{tenant.hostname!r} is already used by tenants[{seen_hosts[tenant.hostname]}] (hostnames must be unique)",
                )
            seen_names[tenant.name] = index
            seen_hosts[tenant.hostname] = index
            if tenant.ring not in self.ring_order:
                raise FieldError(
                    f"tenants[{index}].ring", f"{tenant.ring!r} is not a release ring (use one of {', '.join(self.ring_order)})"
                )
            if tenant.tier not in self.tiers:
                raise FieldError(f"tenants[{index}].tier", f"tier {tenant.tier} is not in the tier catalogue (use one of {sorted(self.tiers)})")
            expected = _isolation_for(self.tenancy)
            if expected is not None and tenant.isolation not in (None, expected):
                raise FieldError(
                    f"tenants[{index}].isolation",
                    f"{tenant.isolation.value!r} contradicts tenancy {self.tenancy.value!r} "
                    f"(use {expected.value!r} or set tenancy to 'hybrid')",
                )
            if self.tenancy is Tenancy.HYBRID and tenant.isolation is None:
                raise FieldError(
                    f"tenants[{index}].isolation",
                    "is required in a hybrid estate (set it to 'shared' or 'dedicated')",
                )
            if tenant.server is not None and self.isolation_of(tenant) is Isolation.DEDICATED:
                raise FieldError(
                    f"tenants[{index}].server",
                    f"{tenant.server!r} is for shared tenants; a dedicated tenant has its own server (remove server)",
                )
        self._check_nested_hostnames(seen_hosts)
        return self

    def _check_nested_hostnames(self, hosts: dict[str, int]) -> None:
        # A hostname under another tenant's (x.a.example.com under a.example.com) could be covered by
        # that tenant's wildcard certificate and routes; each tenant's name must stand alone.
        for index, tenant in enumerate(self.tenants):
            labels = tenant.hostname.split(".")
            for cut in range(1, len(labels) - 1):
                parent = ".".join(labels[cut:])
                if parent in hosts:
                    raise FieldError(
                        f"tenants[{index}].hostname",
                        f"{tenant.hostname!r} is under tenants[{hosts[parent]}]'s hostname {parent!r} "
                        f"(give each tenant a hostname of its own, not under another tenant's, e.g. {labels[0]}-{parent})",
                    )

    def _check_admin_cidrs(self) -> None:
        # The allow-list opens Odoo's database manager (backup, restore, drop of the whole database):
        # in production only an administrators' private network may reach it.
        if self.environment is not Environment.PROD:
            return
        for index, value in enumerate(self.kubernetes.admin_cidrs):
            network = ipaddress.ip_network(value)
            narrowest = ADMIN_CIDR_WIDEST_PREFIX[network.version]
            private = any(network.version == block.version and network.subnet_of(block) for block in PRIVATE_NETWORKS)
            if not private or network.prefixlen < narrowest:
                raise FieldError(
                    f"kubernetes.adminCidrs[{index}]",
                    f"{value!r} would open Odoo's database manager to a public or wide range; prod admits only private "
                    f"ranges of /{narrowest} or narrower (use your administrators' private subnet, e.g. 10.40.250.0/28)",
                )

    def _check_image_policy(self) -> None:
        policy = self.image_policy
        images = {"image": self.image, **{f"rings.{ring}": image for ring, image in self.rings.items()}}
        images |= {f"kubernetes.{field}": getattr(self.kubernetes, field) for field in IMAGE_SETTINGS}
        images |= {path: image for path, image in self.chart_image_settings(running_only=False).items() if image}
        for path, image in images.items():
            if not policy.approves(image):
                raise FieldError(path, f"{image!r} is not from an approved registry "
                                        "(add its registry to imagePolicy.approvedRegistries or use an approved one)")
        if self.environment is Environment.PROD:
            # A tag can be moved to other content after review; production runs exactly what was
            # reviewed (RES-04 checks the same in the rendered pods). Only what the estate runs counts.
            for field in self.running_image_settings:
                image = getattr(self.kubernetes, field)
                if not parse_image_reference(image).digest:
                    raise FieldError(f"kubernetes.{to_camel(field)}", f"{image!r} is a tag; prod runs images pinned by "
                                     "digest (mirror it and set registry/repository:tag@sha256:<64 hex>)")
            # The charts' own images are tags of their upstream registries (ghcr.io, docker.io, public.ecr.aws);
            # production names a mirrored copy pinned by digest instead.
            for path, image in self.chart_image_settings().items():
                if not image:
                    raise FieldError(path, "is required in prod: the chart would run its own image by tag (mirror it "
                                           "and set registry/repository:tag@sha256:<64 hex>)")
                if not parse_image_reference(image).digest:
                    raise FieldError(path, f"{image!r} is a tag; prod runs images pinned by digest (mirror it and set "
                                           "registry/repository:tag@sha256:<64 hex>)")
        if self.environment in (Environment.STAGING, Environment.PROD) and not policy.signing_key:
            raise FieldError("imagePolicy.signingKey", f"is required in {self.environment.value}: images are admitted only "
                                                        "with a verified signature (set the cosign public key or KMS key)")

    @property
    def running_image_settings(self) -> tuple[str, ...]:
        """The `kubernetes.*Image` settings whose images this estate runs (the operations jobs' client
        and cloud CLI and reporter, in-cluster Redis, the night scalers outside production)."""
        cli = "azure_cli_image" if self.cloud is Cloud.AZURE else "aws_cli_image"
        redis = () if self.managed_redis else ("redis_image",)
        scaler = () if self.environment is Environment.PROD else ("scaler_image",)
        return ("postgres_client_image", cli, "curl_image", *redis, *scaler)

    def chart_image_settings(self, running_only: bool = True) -> dict[str, str]:
        """The Helm charts' image settings by config path ("" = the chart's own image): Traefik's and Kyverno's,
        and the Load Balancer Controller's when the estate creates an EKS cluster (or always, `running_only=False`)."""
        settings = self.kubernetes
        images = {"kubernetes.traefikImage": settings.traefik_image}
        images |= {f"kubernetes.kyvernoImages.{to_camel(field)}": getattr(settings.kyverno_images, field)
                   for field in KyvernoImages.model_fields}
        if not running_only or (self.cloud is Cloud.AWS and settings.create_cluster):
            images["kubernetes.loadBalancerControllerImage"] = settings.load_balancer_controller_image
        return images

    @property
    def signed_repositories(self) -> list[str]:
        """Repositories whose images need a verified signature: configured, else the Odoo images' own."""
        if self.image_policy.signed_repositories:
            return list(self.image_policy.signed_repositories)
        return sorted({repository_of(image) for image in (self.image, *self.rings.values())})

    def window_for(self, tier: int) -> Window:
        return self.maintenance_windows.get(tier, self.maintenance_window)

    def image_for(self, tenant: Tenant) -> str:
        """The image a tenant runs: its ring's while a release is being promoted, else the estate's."""
        return self.rings.get(tenant.ring, self.image)

    def isolation_of(self, tenant: Tenant) -> Isolation:
        return tenant.isolation or _isolation_for(self.tenancy) or Isolation.SHARED

    def tier(self, tenant: Tenant) -> TierSpec:
        return self.tiers[tenant.tier]

    @contextmanager
    def located(self) -> Iterator[None]:
        """Errors of the block that name `tenants[i]` name that tenant's catalogue file instead."""
        try:
            yield
        except EstateConfigError as exc:
            if not self._tenant_files:
                raise
            raise EstateConfigError(locate(str(exc), list(self._tenant_files))) from None

    def tenant(self, name: str) -> Tenant:
        for tenant in self.tenants:
            if tenant.name == name:
                return tenant
        known = ", ".join(t.name for t in self.tenants)
        raise EstateConfigError(f"tenant {name!r} is not in this estate (known tenants: {known})")

    @property
    def managed_redis(self) -> bool:
        if self.redis is None:
            return self.environment is Environment.PROD
        return self.redis is RedisMode.MANAGED

    @property
    def pinned_by_digest(self) -> bool:
        return bool(parse_image_reference(self.image).digest)

    @property
    def odoo_major_version(self) -> int:
        """Odoo's major version from the image tag; digests without a tag are assumed current (17)."""
        found = ODOO_VERSION_IN_TAG.search(self.image.split("@")[0])
        return int(found.group(1)) if found else 17


def repository_of(image: str) -> str:
    """registry/path/name of an image reference, without tag or digest (a registry port is kept)."""
    return parse_image_reference(image).repository


def _isolation_for(tenancy: Tenancy) -> Optional[Isolation]:
    return {Tenancy.MULTI_TENANT: Isolation.SHARED, Tenancy.DEDICATED: Isolation.DEDICATED}.get(tenancy)


class FieldError(ValueError):
    """Raised inside model validators so the error names a path other than the one validated."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def locate(message: str, files: list[Path]) -> str:
    """A message with `tenants[i]` replaced by the file that entry came from (a tenant catalogue's)."""

    def file_of(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(files):
            return match.group(0)
        return f"{files[index]}: " if match.group(2) else str(files[index])

    return re.sub(r"tenants\[(\d+)\](\.)?", file_of, message)


def parse_estate(raw: dict[str, object]) -> Estate:
    """Validate raw config (keys without the `odoo-platform:` prefix) into an Estate."""
    try:
        return Estate.model_validate(raw)
    except ValidationError as exc:
        raise EstateConfigError(one_line(exc)) from None


def one_line(exc: ValidationError, namespace: str = CONFIG_NAMESPACE) -> str:
    """A validation error as one line naming the field and the fix (`namespace`: the stack file's keys)."""
    errors = exc.errors()
    first = errors[0]
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        return f"{cause.path}: {cause.message}{more}"
    path = _format_path(first["loc"])
    kind = first["type"]
    if kind == "missing":
        return f"{path or 'config'}: is required (add {namespace}:{first['loc'][0]} to the stack file){more}"
    if kind == "extra_forbidden":
        return f"{path}: is not a known setting (remove it or check its spelling against the README){more}"
    message = str(cause) if cause is not None else first["msg"]
    if kind in ("enum", "literal_error"):
        message = f"{first['input']!r} is not allowed ({first['msg'][0].lower()}{first['msg'][1:]})"
    elif kind.startswith(("greater_than", "less_than", "int_", "string_", "too_short", "too_long", "list_", "dict_", "bool_")):
        message = f"{first['input']!r}: {first['msg'][0].lower()}{first['msg'][1:]} (change the value)"
    return f"{path or 'config'}: {message}{more}"


def _format_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


# ---- AWS-only settings -------------------------------------------------------------------------

AWS_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")


class AwsEgress(str, Enum):
    NAT = "nat"
    """Public subnets with an internet gateway and a NAT gateway per zone (losing one zone keeps the others out)."""
    ENDPOINTS = "endpoints"
    """No route to the internet: interface endpoints (ECR api/dkr, STS, EC2, logs, EKS auth) and the S3 gateway;
    every image must then come from ECR in the estate's region (a pull-through cache)."""


class AwsExistingVpc(_Model):
    """The VPC of an existing cluster: the estate's database subnets are added to it, so nodes reach them locally."""

    vpc_id: str = Field(pattern=AWS_VPC_ID.pattern, description="Id of the existing cluster's VPC (vpc-...).")
    node_cidrs: Annotated[list[str], Field(min_length=1, description="Address ranges of the cluster's nodes and pods.")]

    @field_validator("node_cidrs")
    @classmethod
    def _node_cidrs(cls, values: list[str]) -> list[str]:
        return _cidr_list(values, "10.40.16.0/20")


class AwsSettings(_Model):
    egress: AwsEgress = Field(default=AwsEgress.NAT, description="How nodes reach AWS APIs and image registries.")
    existing_vpc: Optional[AwsExistingVpc] = Field(
        default=None, description="Required when kubernetes.createCluster is false: the existing cluster's VPC."
    )
    deploy_agent_cidrs: list[str] = Field(
        default_factory=list,
        description="Where `pulumi up` runs (a self-hosted agent inside the VPC or a peered network): the only sources "
                    "admitted to the private EKS endpoint. Required with kubernetes.createCluster.",
    )

    @field_validator("deploy_agent_cidrs")
    @classmethod
    def _agent_cidrs(cls, values: list[str]) -> list[str]:
        return _cidr_list(values, "10.40.16.0/20")


Estate.model_rebuild()
