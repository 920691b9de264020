"""The tenant catalogue: tenants in files, so no stack's config approaches the 128 KiB a policy pack receives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from odoo_platform.cli import main
from odoo_platform.errors import EstateConfigError
from odoo_platform.offline.engine import run_program
from odoo_platform.offline.plan import build_plan
from odoo_platform.offline.sharded import plan_sharded, stack_config
from odoo_platform.offline.stackfiles import StackConfig, load_project
from odoo_platform.policy.runner import ENVIRONMENT_STRING_LIMIT
from odoo_platform.sharding import shards_of
from odoo_platform.stack_reader import estate_from_config
from tests.conftest import DIGEST, ROOT, estate

STACKS = ROOT / "stacks"
RINGS = ("canary", "early", "broad")


def _tenants(count: int, per_shard: int = 2) -> list[dict]:
    """Tenants in name order (the catalogue's order), each naming its ring and shard."""
    tenants, filled = [], {}
    for i in range(count):
        ring = RINGS[0] if i % 5 == 0 else RINGS[1] if i % 5 == 1 else RINGS[2]
        filled[ring] = filled.get(ring, 0) + 1
        tenants.append({"name": f"t{i:04d}", "tier": 1 + i % 3, "users": 5, "hostname": f"t{i:04d}.example.com",
                        "ring": ring, "isolation": "dedicated" if i == 3 else "shared",
                        "shard": (filled[ring] - 1) // per_shard + 1})
    return tenants


def _catalogue(directory: Path, tenants: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for tenant in tenants:
        fields = {key: value for key, value in tenant.items() if key != "name"}
        (directory / f"{tenant['name']}.yaml").write_text(yaml.safe_dump(fields))
    return directory


def _values(document: dict) -> dict[str, str]:
    return {f"odoo-platform:{key}": value if isinstance(value, str) else json.dumps(value) for key, value in document.items()}


def _inline_and_catalogued(tmp_path: Path, count: int, **changes) -> tuple[StackConfig, StackConfig]:
    document = estate(tenancy="hybrid", tenants=_tenants(count), sharding={"maxTenantsPerShard": 2}, **changes)
    tenants = document.pop("tenants")
    # An absolute directory: the program reads a relative one from the stack files' directory (stacks/).
    catalogued = document | {"tenantCatalogue": str(_catalogue(tmp_path / "catalogue", tenants))}
    return StackConfig(values=_values(document | {"tenants": tenants})), StackConfig(values=_values(catalogued))


def _without_config(plan: dict) -> dict:
    return {key: value for key, value in plan.items() if key != "config"}


def test_a_catalogued_estate_plans_exactly_as_the_same_estate_listed_inline(tmp_path):
    inline, catalogued = _inline_and_catalogued(tmp_path, 3)
    project = load_project(ROOT)
    plans = [build_plan(run_program(project, "cat", config, region="westeurope"), config) for config in (inline, catalogued)]
    assert _without_config(plans[0]) == _without_config(plans[1])
    assert len(plans[1]["outputs"]["tenants"]) == 3
    assert plans[1]["config"]["odoo-platform:tenantCatalogue"] == catalogued.values["odoo-platform:tenantCatalogue"]
    assert "odoo-platform:tenants" not in plans[1]["config"]


@pytest.mark.slow
def test_a_sharded_catalogued_estate_merges_to_the_inline_estates_plan(tmp_path):
    inline, catalogued = _inline_and_catalogued(tmp_path, 6, environment="staging", image=DIGEST)
    merged = [plan_sharded(ROOT, "cat", config, region="westeurope", jobs=2) for config in (inline, catalogued)]
    assert list(merged[0].stacks) == list(merged[1].stacks)
    assert _without_config(merged[0].merged) == _without_config(merged[1].merged)
    # Each shard stack read only the files naming it.
    for name, plan in merged[1].stacks.items():
        assert set(plan["outputs"].get("tenants", {})) == set(merged[0].stacks[name]["outputs"].get("tenants", {}))


def test_a_shard_stack_reads_only_the_tenants_naming_it_and_its_config_stays_small(tmp_path):
    tenants = _tenants(2000, per_shard=50)
    directory = _catalogue(tmp_path / "big", tenants)
    document = estate(environment="staging", image=DIGEST, tenancy="hybrid", sharding={"maxTenantsPerShard": 50},
                      tenantCatalogue=str(directory))
    document.pop("tenants")
    config = StackConfig(values=_values(document))
    whole = estate_from_config(config.values, STACKS)
    assert len(whole.tenants) == 2000
    for shard in shards_of(whole):
        values = stack_config(config, "big", shard.name, whole).values
        assert len(json.dumps(values).encode()) < ENVIRONMENT_STRING_LIMIT // 16
        assert tuple(t.name for t in estate_from_config(values, STACKS).tenants) == shard.tenants
    foundation = stack_config(config, "big", "foundation", whole).values
    assert len(estate_from_config(foundation, STACKS).tenants) == 2000


def test_the_shipped_catalogue_is_read_relative_to_the_stack_files():
    from odoo_platform.offline.stackfiles import read_stack_config

    project = load_project(ROOT)
    # The program resolves the catalogue from its own directory: Pulumi.yaml's main must be the stack files' directory.
    assert project.main.parent == project.stack_config_dir
    config = read_stack_config(project, project.stack_file("hybrid-staging"))
    assert config.values["odoo-platform:tenantCatalogue"] == "tenants/hybrid-staging"
    names = [t.name for t in estate_from_config(config.values, project.stack_config_dir).tenants]
    assert names == ["atlas-audit", "brightworks", "keystone", "meridian"]


def _error(tmp_path: Path, files: dict[str, str], **changes) -> str:
    directory = tmp_path / "catalogue"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    document = estate(**changes) | {"tenantCatalogue": str(directory)}
    document.pop("tenants")
    document.update(changes)
    with pytest.raises(EstateConfigError) as raised:
        estate_from_config(_values(document), STACKS)
    return str(raised.value)


ACME = "tier: 2\nusers: 25\nhostname: acme.erp.example.com\n"


@pytest.mark.parametrize(("files", "changes", "expected"), [
    ({"acme.yaml": ACME.replace("tier: 2", "tier: high")}, {},
     r"^/\S+/catalogue/acme.yaml: tier: 'high': input should be a valid integer"),
    ({"acme.yaml": ACME, "globex.yaml": ACME}, {},
     r"^/\S+/catalogue/globex.yaml: hostname: 'acme.erp.example.com' is already used by /\S+/catalogue/acme.yaml"),
    ({"acme.yaml": "name: globex\n" + ACME}, {}, r"^/\S+/acme.yaml: name 'globex' differs from the file's name \(rename"),
    ({"acme.yaml": "- tier: 2\n"}, {}, r"^/\S+/acme.yaml: is not a mapping"),
    ({"acme.yaml": ACME + "tier: 3\n"}, {}, r"^/\S+/acme.yaml: line 4: duplicate key 'tier'"),
    ({}, {}, r"^tenantCatalogue: /\S+/catalogue holds no <tenant>.yaml file \(add one"),
    ({"acme.yaml": ACME, "globex.yml": ACME}, {}, r"^/\S+/globex.yml: is not a <tenant>.yaml file .*rename it"),
    ({"acme.yaml": ACME, "README.md": "notes"}, {}, r"^/\S+/README.md: is not a <tenant>.yaml file"),
    ({"acme.yaml": ACME}, {"tenants": [{"name": "x", "tier": 1, "users": 1, "hostname": "x.example.com"}]},
     r"^tenantCatalogue: is set beside tenants \(keep an estate's tenants in one place"),
    ({"acme.yaml": ACME}, {"shard": "early-1", "foundationStack": "dev-foundation"},
     r"^shard: no tenant file of /\S+/catalogue names shard 'early-1' .*pulumi destroy"),
])
def test_catalogue_errors_name_the_file_and_the_fix(tmp_path, files, changes, expected):
    assert len((message := _error(tmp_path, files, **changes)).splitlines()) == 1
    assert __import__("re").match(expected, message), message


def test_a_missing_catalogue_is_one_line_naming_the_setting(tmp_path):
    document = estate(tenantCatalogue=str(tmp_path / "nowhere"))
    document.pop("tenants")
    with pytest.raises(EstateConfigError, match=r"^tenantCatalogue: /\S+/nowhere is not a directory \(create it"):
        estate_from_config(_values(document), STACKS)


def test_the_plan_command_reads_a_catalogue_and_reports_a_bad_file_in_one_line(tmp_path, capsys):
    document = estate(tenantCatalogue=str(_catalogue(tmp_path / "catalogue", _tenants(2))))
    document.pop("tenants")
    stack = tmp_path / "Pulumi.cat.yaml"
    stack.write_text(yaml.safe_dump({"config": _values(document)}))
    assert main(["plan", "--stack", "cat", "--config", str(stack), "--out", str(tmp_path / "out"), "--no-policy"]) == 0
    assert json.loads((tmp_path / "out" / "plan.json").read_text())["outputs"]["tenants"].keys() == {"t0000", "t0001"}
    (tmp_path / "catalogue" / "t0001.yaml").write_text("tier: 9\nusers: 5\nhostname: t0001.example.com\n")
    capsys.readouterr()
    assert main(["plan", "--stack", "cat", "--config", str(stack), "--out", str(tmp_path / "out"), "--no-policy"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "catalogue/t0001.yaml: tier: 9: input should be less than or equal to 3" in error
    assert len(error.splitlines()) == 1


def test_an_error_found_after_reading_names_the_tenant_file(tmp_path, capsys):
    # Sizing is checked when the estate is planned, not when it is read: the message still names the file.
    tenants = _tenants(2)
    tenants[1]["users"] = 5000
    document = estate(tenantCatalogue=str(_catalogue(tmp_path / "catalogue", tenants)))
    document.pop("tenants")
    stack = tmp_path / "Pulumi.cat.yaml"
    stack.write_text(yaml.safe_dump({"config": _values(document)}))
    assert main(["plan", "--stack", "cat", "--config", str(stack), "--out", str(tmp_path / "out"), "--no-policy",
                 "--no-cache"]) == 2
    error = capsys.readouterr().err.strip()
    assert "catalogue/t0001.yaml: users: 5000" in error and "tenants[" not in error, error
