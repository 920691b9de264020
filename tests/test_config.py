"""The estate model: one valid estate per tenancy model, and every rule violated once."""

from __future__ import annotations

import pytest

from odoo_platform.config import Isolation, parse_estate
from odoo_platform.errors import EstateConfigError
from tests.conftest import DIGEST, estate


def test_multi_tenant_estate_is_valid_and_every_tenant_is_shared():
    model = parse_estate(estate())
    assert [model.isolation_of(t) for t in model.tenants] == [Isolation.SHARED, Isolation.SHARED]


def test_dedicated_estate_makes_every_tenant_dedicated():
    model = parse_estate(estate(tenancy="dedicated", environment="prod", image=DIGEST))
    assert {model.isolation_of(t) for t in model.tenants} == {Isolation.DEDICATED}


def test_hybrid_estate_lets_each_tenant_choose():
    tenants = [
        {"name": "acme", "tier": 1, "users": 40, "hostname": "acme.erp.example.com", "isolation": "dedicated"},
        {"name": "globex", "tier": 3, "users": 8, "hostname": "globex.erp.example.com", "isolation": "shared"},
    ]
    model = parse_estate(estate(tenancy="hybrid", tenants=tenants))
    assert [model.isolation_of(t) for t in model.tenants] == [Isolation.DEDICATED, Isolation.SHARED]


def test_tier_overrides_merge_with_the_catalogue():
    model = parse_estate(estate(tiers={"2": {"backupRetentionDays": 21}}))
    assert model.tiers[2].backup_retention_days == 21
    assert model.tiers[2].rpo_minutes == 60  # untouched fields keep the catalogue's value


def _error(config: dict) -> str:
    with pytest.raises(EstateConfigError) as caught:
        parse_estate(config)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _tenant(**changes):
    tenant = {"name": "acme", "tier": 2, "users": 25, "hostname": "acme.erp.example.com"}
    tenant.update(changes)
    return tenant


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            estate(tenants=[_tenant(name="Acme Corp")]),
            "tenants[0].name: 'Acme Corp' is not a DNS label (use lowercase letters, digits and '-')",
        ),
        (estate(tenants=[_tenant(name="a" * 31)]), "tenants[0].name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is longer than 30"),
        (
            estate(tenants=[_tenant(), _tenant(hostname="other.erp.example.com")]),
            "tenants[1].name: 'acme' is already used by tenants[0]",
        ),
        (
            estate(tenants=[_tenant(), _tenant(name="other")]),
            "tenants[1].hostname: 'acme.erp.example.com' is already used by tenants[0]",
        ),
        (estate(tenants=[_tenant(hostname="localhost")]), "tenants[0].hostname: 'localhost' is not a fully qualified"),
        (estate(tenants=[_tenant(tier=4)]), "tenants[0].tier: 4: input should be less than or equal to 3"),
        (estate(tenants=[_tenant(users=0)]), "tenants[0].users: 0: input should be greater than or equal to 1"),
        (estate(tenants=[]), "tenants: []: list should have at least 1 item"),
        (estate(environment="prod"), "image: 'docker.io/library/odoo:17.0' is a tag; prod needs an image pinned by digest"),
        (estate(environment="staging"), "image: 'docker.io/library/odoo:17.0' is a tag; staging needs an image pinned by digest"),
        (
            estate(tenants=[_tenant(isolation="dedicated")]),
            "tenants[0].isolation: 'dedicated' contradicts tenancy 'multi-tenant' (use 'shared' or set tenancy to 'hybrid')",
        ),
        (
            estate(tenancy="dedicated", tenants=[_tenant(isolation="shared")]),
            "tenants[0].isolation: 'shared' contradicts tenancy 'dedicated'",
        ),
        (estate(tenancy="hybrid"), "tenants[0].isolation: is required in a hybrid estate"),
        (estate(cloud="gcp"), "cloud: 'gcp' is not allowed (input should be 'azure' or 'aws')"),
        (estate(tenancy="shared"), "tenancy: 'shared' is not allowed"),
        (estate(environment="qa"), "environment: 'qa' is not allowed"),
        (estate(colour="blue"), "colour: is not a known setting (remove it or check its spelling"),
        (estate(tenants=[_tenant(size="xl")]), "tenants[0].size: is not a known setting"),
        (estate(timeZone="Mars/Olympus"), "timeZone: 'Mars/Olympus' is not an IANA time zone"),
        (estate(region="West Europe"), "region: 'West Europe' is not a region name"),
        (estate(image="Odoo 17"), "image: 'Odoo 17' is not an image reference"),
        (
            estate(tiers={"1": {"rtoMinutes": 60, "highAvailability": False}}),
            "tiers[1]: tier 'critical': an RTO under 2 hours needs highAvailability (enable it or raise rtoMinutes)",
        ),
    ],
)
def test_each_rule_names_the_field_and_the_fix(config, expected):
    assert _error(config).startswith(expected)


def test_missing_required_key_says_where_to_add_it():
    config = estate()
    del config["region"]
    assert _error(config) == "region: is required (add odoo-platform:region to the stack file)"


def test_unknown_tenant_lists_the_known_ones():
    model = parse_estate(estate())
    with pytest.raises(EstateConfigError, match=r"tenant 'nobody' is not in this estate \(known tenants: acme, globex\)"):
        model.tenant("nobody")


def test_digest_pinned_image_is_accepted_in_prod():
    assert parse_estate(estate(environment="prod", image=DIGEST)).pinned_by_digest


# Issue 15 §3: inputs that reach Kubernetes, the database manager or the registry are refused at the
# model, each with one line naming the field and the fix.

EVIL_IMAGE = "docker.io/library/../../evil/odoo"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            estate(owner="Platform Team (Finance)"),
            "owner: 'Platform Team (Finance)' is not a valid Kubernetes label value (use letters, digits, '-', '_', '.', "
            "at most 63 characters, beginning and ending with a letter or digit, e.g. platform-team-finance)",
        ),
        (estate(costCentre="c" * 64), "costCentre: 'cccc"),
        (estate(costCentre="-hosting"), "costCentre: '-hosting' is not a valid Kubernetes label value"),
        (estate(tenants=[_tenant(costCentre="client acme")]), "tenants[0].costCentre: 'client acme' is not a valid Kubernetes label"),
        (estate(tenants=[_tenant(ring="r" * 64)]), "tenants[0].ring: 'rrrr"),
        (estate(ringOrder=["canary", "r" * 64]), "ringOrder: 'rrrr"),
        (estate(ringOrder=["canary", "early", "canary"]), "ringOrder: 'canary' is listed twice (list each ring once"),
        (estate(tenants=[_tenant(tier=True)]), "tenants[0].tier: True: input should be a valid integer"),
        (estate(tenants=[_tenant(users="25")]), "tenants[0].users: '25': input should be a valid integer"),
        (estate(tenants=[_tenant(users=2.5)]), "tenants[0].users: 2.5: input should be a valid integer"),
        (estate(postgres={"maxConnections": "800"}), "postgres.maxConnections: '800': input should be a valid integer"),
        (estate(maintenanceWindow={"startHour": True}), "maintenanceWindow.startHour: True: input should be a valid integer"),
        (estate(kubernetes={"createCluster": "yes"}), "kubernetes.createCluster: 'yes': input should be a valid boolean"),
        (estate(sharding={"maxTenantsPerShard": 1.5}), "sharding.maxTenantsPerShard: 1.5: input should be a valid integer"),
        (estate(tenants=[_tenant(hostname="10.20.30.40")]), "tenants[0].hostname: '10.20.30.40' is an IP address (use the tenant's DNS name"),
        (estate(tenants=[_tenant(hostname="2001:db8::1")]), "tenants[0].hostname: '2001:db8::1' is an IP address"),
        (
            estate(tenants=[_tenant(), _tenant(name="other", hostname="x.acme.erp.example.com")]),
            "tenants[1].hostname: 'x.acme.erp.example.com' is under tenants[0]'s hostname 'acme.erp.example.com' "
            "(give each tenant a hostname of its own",
        ),
        (
            estate(tenants=[_tenant(name="other", hostname="x.acme.erp.example.com"), _tenant()]),
            "tenants[0].hostname: 'x.acme.erp.example.com' is under tenants[1]'s hostname",
        ),
        (
            estate(kubernetes={"adminCidrs": ["10.40.250.1/28"]}),
            "kubernetes.adminCidrs: '10.40.250.1/28' is not a CIDR range (10.40.250.1/28 has host bits set",
        ),
        (estate(kubernetes={"adminCidrs": ["office"]}), "kubernetes.adminCidrs: 'office' is not a CIDR range"),
        (
            estate(environment="prod", image=DIGEST, kubernetes={"adminCidrs": ["10.40.250.0/28", "0.0.0.0/0"]}),
            "kubernetes.adminCidrs[1]: '0.0.0.0/0' would open Odoo's database manager to a public or wide range; "
            "prod admits only private ranges of /16 or narrower",
        ),
        (estate(environment="prod", image=DIGEST, kubernetes={"adminCidrs": ["203.0.113.0/28"]}), "kubernetes.adminCidrs[0]: '203.0.113.0/28' would"),
        (estate(environment="prod", image=DIGEST, kubernetes={"adminCidrs": ["10.0.0.0/8"]}), "kubernetes.adminCidrs[0]: '10.0.0.0/8' would"),
        (estate(environment="prod", image=DIGEST, kubernetes={"adminCidrs": ["2001:db8::/32"]}), "kubernetes.adminCidrs[0]: '2001:db8::/32' would"),
        (
            estate(image=EVIL_IMAGE),
            f"image: {EVIL_IMAGE!r} is not an image reference: the path component '..' is invalid",
        ),
        (estate(image="registry.example.com/odoo/Odoo:17.0"), "image: 'registry.example.com/odoo/Odoo:17.0' is not an image reference: the path component 'Odoo'"),
        (estate(image="registry.example.com/odoo/odoo@sha256:abc"), "image: 'registry.example.com/odoo/odoo@sha256:abc' is not an image reference: the digest"),
        (estate(image="registry.example.com/odoo/odoo:17.0\"}"), "image: 'registry.example.com/odoo/odoo:17.0\"}' is not an image reference: the tag"),
        (estate(rings={"canary": "registry.example.com/odoo//odoo:18.0"}), "rings.canary: 'registry.example.com/odoo//odoo:18.0' is not an image reference"),
        (estate(kubernetes={"redisImage": "docker.io/library/../redis:7"}), "kubernetes.redisImage: 'docker.io/library/../redis:7' is not an image reference"),
        (
            estate(image="docker.io/libraryx/odoo:17.0"),
            "image: 'docker.io/libraryx/odoo:17.0' is not from an approved registry",
        ),
        (
            estate(imagePolicy={"approvedRegistries": ["registry.example.com/../odoo"]}),
            "imagePolicy.approvedRegistries: 'registry.example.com/../odoo' is not a registry prefix",
        ),
    ],
)
def test_inputs_that_reach_kubernetes_or_the_registry_are_refused(config, expected):
    assert _error(config).startswith(expected)


def test_the_same_classes_accept_valid_values():
    model = parse_estate(estate(
        owner="Platform_Team.Finance", costCentre="hosting-2026",
        tenants=[_tenant(costCentre="client-acme", ring="early"), _tenant(name="beta", hostname="beta.erp.example.com")],
        ringOrder=["canary", "early", "broad"],
        kubernetes={"adminCidrs": ["198.51.100.0/28", "2001:db8::/64"], "createCluster": True, "redisImage": "docker.io/library/redis@sha256:" + "0" * 64},
        postgres={"maxConnections": 900}, maintenanceWindows={"1": {"dayOfWeek": 3}},
        changeCalendar={"freezes": [{"start": "2026-12-01", "end": "2026-12-02", "reason": "audit"}]},
    ))
    assert model.owner == "Platform_Team.Finance" and model.tenants[0].cost_centre == "client-acme"
    assert model.kubernetes.create_cluster is True and model.postgres.max_connections == 900
    assert model.maintenance_windows[1].day_of_week == 3 and model.change_calendar.freezes[0].start.year == 2026
    # In production a private admin subnet is what the allow-list is for.
    prod = parse_estate(estate(environment="prod", image=DIGEST, kubernetes={"adminCidrs": ["10.40.250.0/28", "fd00:1::/64"]}))
    assert prod.kubernetes.admin_cidrs == ["10.40.250.0/28", "fd00:1::/64"]


def test_sibling_hostnames_under_a_shared_parent_are_not_nested():
    model = parse_estate(estate(tenants=[_tenant(hostname="acme.erp.example.com"),
                                         _tenant(name="other", hostname="x-acme.erp.example.com")]))
    assert [t.hostname for t in model.tenants] == ["acme.erp.example.com", "x-acme.erp.example.com"]


def test_image_references_are_parsed_and_approved_component_by_component():
    from odoo_platform.config import ImagePolicy, parse_image_reference, repository_of

    reference = parse_image_reference("localhost:5000/team/odoo_custom:17.0@sha256:" + "e" * 64)
    assert (reference.domain, reference.path, reference.tag) == ("localhost:5000", ("team", "odoo_custom"), "17.0")
    assert repository_of("registry.example.com:443/odoo/odoo:17.0") == "registry.example.com:443/odoo/odoo"
    policy = ImagePolicy(approved_registries=["registry.example.com/odoo", "docker.io/library"])
    assert policy.approves("registry.example.com/odoo/odoo:17.0")
    assert policy.approves("docker.io/library/odoo@sha256:" + "a" * 64)
    assert not policy.approves(EVIL_IMAGE)
    assert not policy.approves("registry.example.com/odoo-evil/odoo:17.0")
    assert not policy.approves("registry.example.com/odoo:17.0")  # the prefix itself is a namespace, not an image
    assert not policy.approves("registry.example.com.evil.io/odoo/odoo:17.0")


def test_production_runs_the_operations_images_pinned_by_digest():
    tagged = estate(environment="prod", image=DIGEST, kubernetes={"curlImage": "docker.io/curlimages/curl:8.11.1"})
    with pytest.raises(EstateConfigError, match=r"^kubernetes\.curlImage: 'docker.io/curlimages/curl:8.11.1' is a tag; "
                                                r"prod runs images pinned by digest"):
        parse_estate(tagged)
    pinned = parse_estate(estate(environment="prod", image=DIGEST))
    assert pinned.running_image_settings == ("postgres_client_image", "azure_cli_image", "curl_image")
    # Images the estate does not run are not asked for: the AWS CLI on Azure, Redis with a managed cache.
    assert parse_estate(estate(environment="prod", image=DIGEST, kubernetes={"awsCliImage": "docker.io/amazon/aws-cli:2"}))
    # Outside production a tag is allowed (and in staging the Odoo image alone must be a digest).
    assert parse_estate(estate(environment="staging", image=DIGEST)).kubernetes.curl_image.endswith(":8.11.1")
