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
