"""The Azure DevOps pipeline: valid against Microsoft's schema, and the gates it promises."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import CONTRACTS, ROOT
from tests.stack_plans import all_stacks

PIPELINE_FILES = [ROOT / "azure-pipelines.yml", ROOT / ".azure-pipelines" / "drift.yml",
                  *sorted((ROOT / ".azure-pipelines" / "templates").glob("*.yml"))]
PACKS = ("policypacks/encryption", "policypacks/segregation", "policypacks/resilience", "policypacks/governance")


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=lambda p: p.name)
def test_pipeline_files_validate_against_the_azure_pipelines_schema(path: Path):
    schema = json.loads((CONTRACTS / "azure-pipelines" / "service-schema.json").read_text())
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load(path.read_text()))


def _expand(template: Path, parameters: dict) -> dict:
    """Instantiate a template the way Azure DevOps does for ${{ parameters.x }} expressions."""
    text = template.read_text()
    document = yaml.safe_load(text)
    defaults = {p["name"]: p.get("default") for p in document.get("parameters", [])}
    values = defaults | parameters
    missing = [name for name, value in values.items() if value is None]
    assert not missing, f"{template} needs {missing}"
    expanded = re.sub(r"\$\{\{ parameters\.(\w+) \}\}", lambda m: str(values[m.group(1)]), text)
    return yaml.safe_load(expanded)


def _stage_list(pipeline: Path) -> tuple[list[dict], Path]:
    """A pipeline's stages and the directory its template references are relative to (via `extends`)."""
    root = yaml.safe_load(pipeline.read_text())
    base = pipeline.parent
    if "extends" in root:
        template = base / root["extends"]["template"]
        root, base = yaml.safe_load(template.read_text()), template.parent
    return root["stages"], base


def _stages(pipeline: Path = ROOT / "azure-pipelines.yml") -> dict[str, dict]:
    stage_list, base = _stage_list(pipeline)
    stages = {}
    for stage in stage_list:
        jobs = []
        for job in stage["jobs"]:
            if "template" in job:
                jobs.extend(_expand(base / job["template"], job.get("parameters", {}))["jobs"])
            else:
                jobs.append(job)
        stages[stage["stage"]] = stage | {"jobs": jobs}
    return stages


def _scripts(job: dict) -> str:
    steps = job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
    found = []
    for step in steps:
        if "template" in step:
            found.append(json.dumps(yaml.safe_load((ROOT / ".azure-pipelines" / "templates" / step["template"]).read_text())))
        found.append(step.get("script", "") + step.get("inputs", {}).get("inlineScript", ""))
    return "\n".join(found)


def test_validate_stage_runs_the_tests_and_plans_every_stack_with_policy():
    validate = _stages()["Validate"]
    script = _scripts(validate["jobs"][0])
    assert "make test" in script
    assert "odoo-platform plan --stack" in script and "stacks/Pulumi.*.yaml" in script
    assert any(step.get("artifact") == "offline-plans" for step in validate["jobs"][0]["steps"])


def _stage_for(prefix: str, stack: str) -> dict:
    return _stages()[f"{prefix}_{stack.replace('-', '_')}"]


@pytest.mark.parametrize("stack", all_stacks())
def test_every_stack_is_previewed_with_all_packs_and_deployed_through_its_environment(stack):
    preview = _stage_for("Preview", stack)
    script = _scripts(preview["jobs"][0])
    assert f'pulumi preview --diff --stack "{stack}"' in script
    assert all(f"--policy-pack {pack}" in script for pack in PACKS)
    assert any(step.get("artifact") == f"preview-{stack}" for step in preview["jobs"][0]["steps"])

    deploy = _stage_for("Deploy", stack)
    (job,) = deploy["jobs"]
    assert "deployment" in job, "deploys must be deployment jobs so environment approvals and checks apply"
    environment = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]["odoo-platform:environment"]
    assert job["environment"] == f"odoo-{environment}"
    assert "refs/heads/main" in deploy["condition"]
    assert f'pulumi up --yes --skip-preview=false --stack "{stack}"' in _scripts(job)


def test_deploys_go_dev_then_staging_then_prod():
    stages = _stages()
    environment_of = {}
    for name, stage in stages.items():
        if name.startswith("Deploy_"):
            environment_of[name] = stage["jobs"][0]["environment"]
    order = {"odoo-dev": 0, "odoo-staging": 1, "odoo-prod": 2}
    for name, environment in environment_of.items():
        needed = {d for d in stages[name]["dependsOn"] if d.startswith("Deploy_")}
        earlier = {other for other, env in environment_of.items() if order[env] == order[environment] - 1}
        assert needed == earlier, name


def test_each_environment_has_its_own_service_connections():
    environments_of: dict[str, set[str]] = {}
    for stage in _stages().values():
        for job in stage["jobs"]:
            if "environment" not in job:
                continue
            for connection in set(re.findall(r"sc-odoo-[a-z]+-[a-z]+", json.dumps(job))):
                environments_of.setdefault(connection, set()).add(job["environment"])
    assert environments_of
    for connection, environments in environments_of.items():
        assert len(environments) == 1, f"{connection} is shared by {sorted(environments)}"
        assert connection.endswith("-" + next(iter(environments)).removeprefix("odoo-"))


@pytest.mark.parametrize("stack", all_stacks())
def test_every_stack_gets_a_nightly_drift_check_that_publishes_its_report(stack):
    pipeline = yaml.safe_load((ROOT / ".azure-pipelines" / "drift.yml").read_text())
    assert pipeline["trigger"] == "none" and pipeline["pr"] == "none"
    assert pipeline["schedules"][0]["always"] == "true" and pipeline["schedules"][0]["branches"]["include"] == ["main"]
    drift_stages, base = _stage_list(ROOT / ".azure-pipelines" / "drift.yml")
    (stage,) = [s for s in drift_stages if s["stage"] == f"Drift_{stack.replace('-', '_')}"]
    job = stage["jobs"][0]
    (preview,) = [s["jobs"][0]["parameters"] for s in _stage_list(ROOT / "azure-pipelines.yml")[0]
                  if s["stage"] == f"Preview_{stack.replace('-', '_')}"]
    assert job["parameters"] == preview  # the same identity and account as the stack's preview
    expanded = _expand(base / job["template"], job["parameters"])["jobs"][0]
    script = _scripts(expanded)
    assert f'bash .azure-pipelines/scripts/drift.sh "{stack}"' in script
    assert any(step.get("artifact") == f"drift-{stack}" and step.get("condition") == "always()" for step in expanded["steps"])
    drift = (ROOT / ".azure-pipelines" / "scripts" / "drift.sh").read_text()
    for command in ("pulumi refresh --yes", "pulumi stack export", "odoo-platform drift --state",
                    "pulumi preview --expect-no-changes"):
        assert command in drift


def test_both_pipelines_extend_the_templates_the_delivery_stack_requires():
    from odoo_platform.delivery.settings import Delivery

    required = {Delivery.model_fields["pipeline_template"].default, Delivery.model_fields["drift_template"].default}
    assert yaml.safe_load((ROOT / "azure-pipelines.yml").read_text())["extends"]["template"] in required
    drift = ".azure-pipelines/" + yaml.safe_load((ROOT / ".azure-pipelines" / "drift.yml").read_text())["extends"]["template"]
    assert drift in required
