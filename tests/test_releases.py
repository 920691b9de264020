"""Release rings: digests move ring by ring, environment by environment, and skipping is refused."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from odoo_platform.cli import main
from odoo_platform.config import Environment, parse_estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.releases import predecessor
from tests.conftest import DIGEST, ROOT, estate

ORDER = ["canary", "early", "broad"]
NEW = "registry.example.com/odoo/odoo@sha256:" + "cd" * 32


def test_each_ring_follows_the_one_before_it_and_environments_chain():
    assert predecessor(Environment.DEV, "canary", ORDER) is None
    assert predecessor(Environment.DEV, "early", ORDER) == ("dev", "canary")
    assert predecessor(Environment.STAGING, "canary", ORDER) == ("dev", "broad")
    assert predecessor(Environment.PROD, "canary", ORDER) == ("staging", "broad")
    assert predecessor(Environment.PROD, "broad", ORDER) == ("prod", "early")


def test_ring_settings_are_validated():
    tenants = [{"name": "a", "tier": 2, "users": 5, "hostname": "a.example.com", "ring": "beta"}]
    with pytest.raises(EstateConfigError, match=r"tenants\[0\]\.ring: 'beta' is not a release ring \(use one of canary, early, broad\)"):
        parse_estate(estate(tenants=tenants))
    with pytest.raises(EstateConfigError, match=r"rings\.canary: 'docker\.io/library/odoo:18\.0' is a tag; prod promotes images by digest"):
        parse_estate(estate(environment="prod", image=DIGEST, rings={"canary": "docker.io/library/odoo:18.0"}))
    model = parse_estate(estate(rings={"canary": NEW}, tenants=[
        {"name": "a", "tier": 2, "users": 5, "hostname": "a.example.com", "ring": "canary"},
        {"name": "b", "tier": 2, "users": 5, "hostname": "b.example.com", "ring": "broad"}]))
    assert [model.image_for(t) for t in model.tenants] == [NEW, "docker.io/library/odoo:17.0"]


def test_the_plan_shows_which_tenants_run_which_digest(plan_for):
    tenants = [{"name": "a", "tier": 2, "users": 5, "hostname": "a.example.com", "ring": "canary"},
               {"name": "b", "tier": 2, "users": 5, "hostname": "b.example.com", "ring": "broad"}]
    plan = plan_for(estate(rings={"canary": NEW}, tenants=tenants))
    assert plan["outputs"]["tenants"]["a"]["image"] == NEW
    assert plan["outputs"]["tenants"]["b"]["image"] == "docker.io/library/odoo:17.0"
    images = {r["name"]: r["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"]
              for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment" and r["name"].endswith("-web")}
    assert images == {"a-web": NEW, "b-web": "docker.io/library/odoo:17.0"}


def test_a_hand_edited_ring_that_skipped_its_predecessor_does_not_plan(plan_for):
    with pytest.raises(EstateConfigError, match=r"rings\.early: .* has not run in prod/canary yet"):
        plan_for(estate(environment="prod", image=DIGEST, rings={"early": NEW}))


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_promote_walks_the_rings_records_the_ledger_and_refuses_skips(project_copy, capsys):
    assert main(["promote", "--stack", "staging", "--ring", "canary", "--image", NEW]) == 2
    assert "promotion refused:" in capsys.readouterr().err
    for stack, ring in (("dev", "canary"), ("dev", "early"), ("dev", "broad"), ("staging", "canary")):
        assert main(["promote", "--stack", stack, "--ring", ring, "--image", NEW]) == 0
    ledger = [r for r in yaml.safe_load((project_copy / "stacks" / "releases.yaml").read_text())["releases"] if r["image"] == NEW]
    assert [(r["environment"], r["ring"]) for r in ledger] == [("dev", "canary"), ("dev", "early"), ("dev", "broad"),
                                                                ("staging", "canary")]
    staging = (project_copy / "stacks" / "Pulumi.staging.yaml").read_text()
    assert yaml.safe_load(staging)["config"]["odoo-platform:rings"]["canary"] == NEW
    assert staging.startswith("# Multi-tenant staging")  # comments survive
    assert main(["promote", "--stack", "staging", "--ring", "broad", "--image", NEW]) == 2
    assert "has not run in staging/early yet" in capsys.readouterr().err
    assert main(["plan", "--stack", "staging", "--out", str(project_copy / "out"), "--no-policy"]) == 0
    repository, digest = NEW.split("@sha256:")
    assert f"{repository}@sha256:{digest[:12]}...: acme (canary)" in capsys.readouterr().out  # the summary cuts digests


def test_promote_refuses_a_tag_in_production_and_leaves_the_stack_file_alone(project_copy, capsys):
    before = (project_copy / "stacks" / "Pulumi.dev.yaml").read_text()
    assert main(["promote", "--stack", "dev", "--ring", "nightly", "--image", NEW]) == 2
    assert "is not a release ring" in capsys.readouterr().err
    assert (project_copy / "stacks" / "Pulumi.dev.yaml").read_text() == before


def _ledger(*entries):
    from odoo_platform.releases import Release

    return [Release(environment=env, ring=ring, image=image, stack=env, promotedAt="2026-11-01T00:00:00+00:00",
                    promotedBy="test") for env, ring, image in entries]


def test_a_production_image_must_have_run_in_stagings_last_ring():
    from odoo_platform.releases import check_rings

    prod = parse_estate(estate(environment="prod", image=NEW))
    with pytest.raises(EstateConfigError) as caught:
        check_rings(prod, _ledger(("staging", "early", NEW), ("dev", "broad", NEW)))
    assert str(caught.value) == (
        f"image: {NEW} has not run in staging/broad yet "
        f"(promote it there first with: odoo-platform promote --stack <staging stack> --ring broad --image {NEW})")
    check_rings(prod, _ledger(("staging", "broad", NEW)))
    # Outside production the estate's image is where a release starts (dev) or is checked by ring (staging).
    check_rings(parse_estate(estate(environment="staging", image=NEW)), [])


def test_the_program_refuses_a_production_image_missing_from_the_ledger(plan_for):
    with pytest.raises(EstateConfigError, match=r"^image: .*@sha256:(cd)+ has not run in staging/broad yet"):
        plan_for(estate(environment="prod", image=NEW))
    assert plan_for(estate(environment="prod", image=DIGEST))["resources"]  # in the shipped ledger through staging/broad


INJECTIONS = [
    'registry.example.com/odoo/odoo:18.0"',
    "registry.example.com/odoo/odoo:18.0\nodoo-platform:environment: dev",
    "registry.example.com/odoo/odoo:18.0}",
    "registry.example.com/odoo/odoo@sha256:" + "cd" * 32 + '", odoo-platform:owner: "x',
    "registry.example.com/odoo/odoo: 18.0",
]


@pytest.mark.parametrize("image", INJECTIONS)
def test_promote_refuses_an_image_that_is_not_a_reference_and_writes_nothing(project_copy, capsys, image):
    stack_file = project_copy / "stacks" / "Pulumi.dev.yaml"
    ledger = project_copy / "stacks" / "releases.yaml"
    before, ledger_before = stack_file.read_text(), ledger.read_text()
    assert main(["promote", "--stack", "dev", "--ring", "canary", "--image", image]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: --image: ") and "is not an image reference" in error and "\n" not in error
    assert stack_file.read_text() == before and ledger.read_text() == ledger_before


def test_promote_refuses_an_unapproved_registry_and_a_tag_in_staging(project_copy, capsys):
    assert main(["promote", "--stack", "dev", "--ring", "canary", "--image", "ghcr.io/someone/odoo:18.0"]) == 2
    assert "--image: 'ghcr.io/someone/odoo:18.0' is not from an approved registry" in capsys.readouterr().err
    assert main(["promote", "--stack", "staging", "--ring", "canary", "--image", "registry.example.com/odoo/odoo:18.0"]) == 2
    assert "--image: 'registry.example.com/odoo/odoo:18.0' is a tag; staging promotes images by digest" in capsys.readouterr().err


def test_the_rings_line_is_written_by_the_yaml_library_and_stays_inert(tmp_path):
    from odoo_platform.releases import set_ring_image

    stack_file = tmp_path / "Pulumi.dev.yaml"
    shutil.copy(ROOT / "stacks" / "Pulumi.dev.yaml", stack_file)
    original = yaml.safe_load(stack_file.read_text())["config"]
    hostile = 'x"}\nodoo-platform:environment: prod # : {'
    set_ring_image(stack_file, "early", hostile, {"canary": NEW})
    written = stack_file.read_text()
    config = yaml.safe_load(written)["config"]
    assert config["odoo-platform:rings"] == {"canary": NEW, "early": hostile}  # data, not keys
    assert {k: v for k, v in config.items() if k != "odoo-platform:rings"} == {
        k: v for k, v in original.items() if k != "odoo-platform:rings"}
    assert sum(1 for line in written.splitlines() if "odoo-platform:rings" in line) == 1
    assert written.startswith((ROOT / "stacks" / "Pulumi.dev.yaml").read_text().splitlines()[0])  # comments kept


def test_a_promoted_stack_file_reads_back_as_the_same_estate_plus_the_ring(project_copy):
    from odoo_platform.offline.stackfiles import load_project, read_stack_config
    from odoo_platform.stack_reader import estate_from_config

    def read(stack):
        project = load_project(project_copy)
        values = read_stack_config(project, project.stack_file(stack)).values
        return estate_from_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}, ROOT / "stacks")

    before = read("dev")
    assert main(["promote", "--stack", "dev", "--ring", "canary", "--image", NEW]) == 0
    after = read("dev")
    assert after.rings == before.rings | {"canary": NEW}
    assert after.model_dump(exclude={"rings"}) == before.model_dump(exclude={"rings"})
