"""The Azure DevOps pipelines: valid against Microsoft's schema, and the gates they promise.

Templates are compiled as Azure DevOps does (tests/pipeline_yaml.py); what the steps run is checked
by the dry run (tests/test_pipeline_dry_run.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import tomllib
import yaml
from packaging.requirements import Requirement

from tests.conftest import CONTRACTS, ROOT
from tests.pipeline_yaml import compile_pipeline, job_steps, pipeline_variables, run_variables, stages_that_run
from tests.stack_plans import all_stacks

PIPELINE_FILES = [ROOT / "azure-pipelines.yml", ROOT / ".azure-pipelines" / "drift.yml",
                  ROOT / ".azure-pipelines" / "delivery-stack.yml",
                  *sorted((ROOT / ".azure-pipelines" / "templates").glob("*.yml"))]
DELIVERY = ROOT / "azure-pipelines.yml"
DRIFT = ROOT / ".azure-pipelines" / "drift.yml"
MAIN = run_variables("IndividualCI", "refs/heads/main")
PULL_REQUEST = run_variables("PullRequest", "refs/pull/42/merge")
NIGHTLY = run_variables("Schedule", "refs/heads/main")


def _run(pipeline: Path, variables: dict[str, str]) -> dict[str, dict]:
    return stages_that_run(compile_pipeline(pipeline)[1], variables)


@pytest.mark.parametrize("path", PIPELINE_FILES, ids=lambda p: p.name)
def test_pipeline_files_validate_against_the_azure_pipelines_schema(path: Path):
    schema = json.loads((CONTRACTS / "azure-pipelines" / "service-schema.json").read_text())
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load(path.read_text()))


def _stack_document(stack: str) -> dict:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())


def _environment(stack: str) -> str:
    return _stack_document(stack)["config"]["odoo-platform:environment"]


def _task(job: dict) -> dict:
    (task,) = [step for step in job_steps(job) if step.get("task") == "AzureCLI@2"]
    return task


def test_validate_stage_runs_the_tests_and_plans_every_stack_and_the_delivery_stack_with_policy():
    _, stages = compile_pipeline(DELIVERY)
    (job,) = stages["Validate"]["jobs"]
    scripts = "\n".join(step.get("script", "") for step in job["steps"])
    assert ".venv/bin/python -m pytest" in scripts
    assert 'odoo-platform plan --stack "$stack"' in scripts and "stacks/Pulumi.*.yaml" in scripts
    assert "odoo-platform plan --project stacks/delivery --stack fin-hosting" in scripts
    assert any(step.get("artifact") == "offline-plans-$(System.JobAttempt)" for step in job["steps"])


@pytest.mark.parametrize("stack", all_stacks())
def test_every_stack_is_previewed_and_deployed_through_its_environment_one_run_at_a_time(stack):
    stages = _run(DELIVERY, MAIN)
    name = stack.replace("-", "_")
    (preview,) = stages[f"Preview_{name}"]["jobs"]
    assert _task(preview)["env"]["STACK"] == stack and _task(preview)["env"]["GOVERNANCE"] == "true"
    deploy_stage = stages[f"Deploy_{name}"]
    (deploy,) = deploy_stage["jobs"]
    assert "deployment" in deploy, "deploys must be deployment jobs so environment approvals and checks apply"
    assert deploy["environment"] == f"odoo-{_environment(stack)}"
    assert deploy_stage["condition"] == "and(succeeded(), eq(variables['Build.SourceBranch'], 'refs/heads/main'))"
    # With the environment's exclusive lock only the newest waiting run deploys; older ones are cancelled.
    assert deploy_stage["lockBehavior"] == "runLatest"
    assert f"Preview_{name}" in deploy_stage["dependsOn"]
    assert deploy["variables"] == [{"name": "previewArtifact",
                                    "value": f"$[ stageDependencies.Preview_{name}.preview.outputs['preview.artifact'] ]"}]
    assert _task(preview)["name"] == "preview"  # the step whose output the deploy reads
    for key in ("CLOUD", "PULUMI_BACKEND_URL", "AWS_ROLE_ARN", "CLUSTER_NAME", "CLUSTER_RESOURCE_GROUP"):
        assert _task(preview)["env"][key] == _task(deploy)["env"][key], key
    assert _task(preview)["inputs"]["azureSubscription"] == _task(deploy)["inputs"]["azureSubscription"]
    assert preview["pool"] == deploy["pool"]


@pytest.mark.parametrize("stack", all_stacks())
def test_clusters_are_reached_from_inside_their_network(stack):
    """Private clusters answer only in their network: staging and production run on pools there."""
    _, stages = compile_pipeline(DELIVERY)
    (preview,) = stages[f"Preview_{stack.replace('-', '_')}"]["jobs"]
    creates = _stack_document(stack)["config"].get("odoo-platform:kubernetes", {}).get("createCluster", False)
    env = _task(preview)["env"]
    assert bool(env["CLUSTER_NAME"]) is not creates  # an existing cluster is named, a created one never
    if env["CLOUD"] == "azure" and env["CLUSTER_NAME"]:
        assert env["CLUSTER_RESOURCE_GROUP"]
    if _environment(stack) == "dev":
        assert preview["pool"] == {"vmImage": "ubuntu-latest"}
    else:
        assert preview["pool"] == {"name": ("mdp-odoo-" if env["CLOUD"] == "azure" else "odoo-aws-") + _environment(stack)}


def test_deploys_go_dev_then_staging_then_prod():
    _, stages = compile_pipeline(DELIVERY)
    environment_of = {name: stage["jobs"][0]["environment"] for name, stage in stages.items() if name.startswith("Deploy_")}
    order = {"odoo-dev": 0, "odoo-staging": 1, "odoo-prod": 2}
    for name, environment in environment_of.items():
        needed = {d for d in stages[name]["dependsOn"] if d.startswith("Deploy_")}
        earlier = {other for other, env in environment_of.items() if order[env] == order[environment] - 1}
        assert needed == earlier, name


def test_each_environment_has_its_own_service_connections():
    environments_of: dict[str, set[str]] = {}
    for pipeline, variables in ((DELIVERY, MAIN), (DELIVERY, PULL_REQUEST), (DRIFT, NIGHTLY)):
        for stage in _run(pipeline, variables).values():
            for job in stage["jobs"]:
                for step in job_steps(job):
                    if step.get("task") == "AzureCLI@2" and "STACK" in step["env"]:  # the estates' stacks
                        connection = step["inputs"]["azureSubscription"]
                        environments_of.setdefault(connection, set()).add(_environment(step["env"]["STACK"]))
    assert len(environments_of) == 10  # deploy and read-only, Azure and AWS, per environment (no AWS dev)
    for connection, environments in environments_of.items():
        assert len(environments) == 1, f"{connection} is shared by {sorted(environments)}"
        assert re.fullmatch(rf"sc-odoo-(azure|aws)-{next(iter(environments))}(-read)?", connection), connection


def test_pull_requests_use_only_the_dev_read_only_connection():
    stages = _run(DELIVERY, PULL_REQUEST)
    assert list(stages) == ["Validate", "Preview_dev_pull_request"]
    assert list(_run(DELIVERY, MAIN)) == [name for name in compile_pipeline(DELIVERY)[1] if name != "Preview_dev_pull_request"]
    connections = {_task(job)["inputs"]["azureSubscription"] for s in stages.values() for job in s["jobs"]
                   if any(step.get("task") == "AzureCLI@2" for step in job_steps(job))}
    assert connections == {"sc-odoo-azure-dev-read"}
    assert not any("deployment" in job for s in stages.values() for job in s["jobs"])


def test_every_artifact_name_carries_the_attempt():
    published = []
    for pipeline, variables in ((DELIVERY, MAIN), (DELIVERY, PULL_REQUEST), (DRIFT, NIGHTLY)):
        for stage in _run(pipeline, variables).values():
            for job in stage["jobs"]:
                published += [step["artifact"] for step in job_steps(job) if "publish" in step]
    assert published and all(name.endswith("-$(System.JobAttempt)") for name in published)
    # The deploy downloads the preview's artifact by the name the preview job output.
    preview = (ROOT / ".azure-pipelines" / "templates" / "preview.yml").read_text()
    assert "artifact;isOutput=true]preview-$STACK-$SYSTEM_JOBATTEMPT" in preview
    assert "artifact: preview-${{ parameters.stack }}-$(System.JobAttempt)" in preview


def test_state_backends_name_their_account_and_region():
    for pipeline in (DELIVERY, DRIFT):
        variables = pipeline_variables(yaml.safe_load(pipeline.read_text()))
        assert re.fullmatch(r"azblob://[a-z0-9-]+\?storage_account=[a-z0-9]{3,24}", variables["PULUMI_BACKEND_AZURE"])
        assert re.fullmatch(r"s3://[a-z0-9.-]+\?region=[a-z0-9-]+", variables["PULUMI_BACKEND_AWS"])


@pytest.mark.parametrize("stack", all_stacks())
def test_every_stack_gets_a_nightly_drift_check_with_read_only_identities(stack):
    pipeline = yaml.safe_load(DRIFT.read_text())
    assert pipeline["trigger"] == "none" and pipeline["pr"] == "none"
    assert pipeline["schedules"][0]["always"] == "true" and pipeline["schedules"][0]["branches"]["include"] == ["main"]
    name = stack.replace("-", "_")
    (drift,) = _run(DRIFT, NIGHTLY)[f"Drift_{name}"]["jobs"]
    (preview,) = _run(DELIVERY, MAIN)[f"Preview_{name}"]["jobs"]
    deploy_env, drift_env = _task(preview)["env"], _task(drift)["env"]
    for key in ("STACK", "CLOUD", "PULUMI_BACKEND_URL", "CLUSTER_NAME", "CLUSTER_RESOURCE_GROUP", "AWS_REGION"):
        assert drift_env[key] == deploy_env[key], key
    assert _task(drift)["inputs"]["azureSubscription"] == _task(preview)["inputs"]["azureSubscription"] + "-read"
    if drift_env["CLOUD"] == "aws":
        assert drift_env["AWS_ROLE_ARN"] == deploy_env["AWS_ROLE_ARN"].replace("-deploy-", "-drift-")
    assert drift["pool"] == preview["pool"]
    assert any(step.get("artifact") == f"drift-{stack}-$(System.JobAttempt)" and step.get("condition") == "always()"
               for step in drift["steps"])


def test_both_pipelines_extend_the_templates_the_delivery_stack_requires():
    from odoo_platform.delivery.settings import Delivery

    required = {Delivery.model_fields["pipeline_template"].default, Delivery.model_fields["drift_template"].default}
    assert yaml.safe_load(DELIVERY.read_text())["extends"]["template"] in required
    drift = ".azure-pipelines/" + yaml.safe_load(DRIFT.read_text())["extends"]["template"]
    assert drift in required


def test_the_lock_file_pins_every_dependency_within_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            pins[re.sub(r"[-_.]+", "-", requirement.name).lower()] = specifier.version
    for text in project["dependencies"] + project["optional-dependencies"]["test"]:
        requirement = Requirement(text)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins and requirement.specifier.contains(pins[name]), text
