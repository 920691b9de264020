"""Release rings: digests move ring by ring, environment by environment, and skipping is refused."""

from __future__ import annotations

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
    assert f"{NEW}: acme (canary)" in capsys.readouterr().out


def test_promote_refuses_a_tag_in_production_and_leaves_the_stack_file_alone(project_copy, capsys):
    before = (project_copy / "stacks" / "Pulumi.dev.yaml").read_text()
    assert main(["promote", "--stack", "dev", "--ring", "nightly", "--image", NEW]) == 2
    assert "is not a release ring" in capsys.readouterr().err
    assert (project_copy / "stacks" / "Pulumi.dev.yaml").read_text() == before
