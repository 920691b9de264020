"""A dry run of every pipeline step: the scripts as the agent runs them, with recording fakes on PATH.

Asserts the exact commands, flags, environment and order per stage, so a broken step fails here and
not in the first real run. The stack files as committed lack `encryptedkey:` (only the organisation's
vault can wrap a data key), so the full runs first add it as `pulumi stack change-secrets-provider`
would, and one test shows the steps refuse without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.pipeline_dry_run import Agent
from tests.pipeline_yaml import compile_pipeline, condition_holds, pipeline_variables, run_variables

# The dry runs (the tests marked slow) run the steps' bash scripts with a fake process per command: the slow
# group (`make test-slow`, CI). The pipeline's YAML (stages, conditions, connections) is checked in `make test`
# by tests/test_pipeline.py.

COMMIT = "c0ffee0000000000000000000000000000000001"
DEPLOYED = "dep10yed000000000000000000000000000000002"
RUN = 4711
PACKS = ["--policy-pack", "policypacks/encryption", "--policy-pack", "policypacks/segregation",
         "--policy-pack", "policypacks/resilience", "--policy-pack", "policypacks/governance",
         "--policy-pack", "policypacks/cloud"]


def test_preview_and_deploy_run_every_policy_pack_of_the_repository():
    packs = {f"policypacks/{d.name}" for d in (ROOT / "policypacks").iterdir() if (d / "PulumiPolicy.yaml").is_file()}
    assert set(PACKS[1::2]) == packs  # a new pack is never left out of the gates
AZURE_BACKEND = "azblob://pulumi-state?storage_account=stodooplatformstate"
AWS_BACKEND = "s3://odoo-platform-state?region=eu-central-1"
HISTORY = [  # newest first: the nightly refresh is not a deployment
    {"kind": "refresh", "result": "succeeded", "environment": {"git.head": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}},
    {"kind": "update", "result": "failed", "environment": {"git.head": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}},
    {"kind": "update", "result": "succeeded", "environment": {"git.head": DEPLOYED}},
]
PULL_REQUESTS = {"value": [
    {"lastMergeCommit": {"commitId": "0" * 40}, "createdBy": {"uniqueName": "mallory@fin-hosting.example"}, "reviewers": []},
    {"lastMergeCommit": {"commitId": COMMIT}, "createdBy": {"uniqueName": "alice@fin-hosting.example"},
     "reviewers": [{"uniqueName": "bob@fin-hosting.example", "vote": 10},
                   {"uniqueName": "carol@fin-hosting.example", "vote": -5},
                   {"uniqueName": "[odoo-platform]\\Platform Leads", "vote": 10, "isContainer": True}]},
]}
APPROVALS = {"value": [
    {"pipeline": {"owner": {"id": RUN}}, "steps": [
        {"status": "approved", "assignedApprover": {"displayName": "[odoo-platform]\\Change Board"},
         "actualApprover": {"uniqueName": "dave@fin-hosting.example"}},
        {"status": "pending", "assignedApprover": {"displayName": "[odoo-platform]\\Service Owners"}}]},
    {"pipeline": {"owner": {"id": RUN - 1}}, "steps": [  # another run's approval never counts
        {"status": "approved", "assignedApprover": {"displayName": "[odoo-platform]\\Service Owners"},
         "actualApprover": {"uniqueName": "erin@fin-hosting.example"}}]},
]}


def _rules(evidence_exit: int = 0, freeze_exit: int = 0, expect_no_changes_exit: int = 0, plan_exit: int = 0) -> list[dict]:
    return [
        {"cmd": "odoo-platform", "with": ["plan"], "without": ["--no-policy"], "exit": plan_exit},
        {"cmd": "az", "with": ["account", "show"], "stdout": "0a1b2c3d-0000-4000-8000-00000000d001\n"},
        {"cmd": "pulumi", "with": ["history"], "stdout": json.dumps(HISTORY)},
        {"cmd": "pulumi", "with": ["--expect-no-changes"], "exit": expect_no_changes_exit},
        {"cmd": "curl", "containing": ["/pipelines/approvals?"], "write_after": "-o", "content": json.dumps(APPROVALS)},
        {"cmd": "curl", "containing": ["/pullrequests?"], "write_after": "-o", "content": json.dumps(PULL_REQUESTS)},
        {"cmd": "odoo-platform", "with": ["diff"], "stdout": json.dumps({"risk": "high"})},
        {"cmd": "odoo-platform", "with": ["freeze"], "exit": freeze_exit},
        {"cmd": "odoo-platform", "with": ["evidence"], "exit": evidence_exit},
        {"cmd": "odoo-platform", "with": ["drift"], "write_after": "--out",
         "content": json.dumps({"passed": True, "blocking": 0, "checked": 3, "drifted": [], "unmanaged": []})},
    ]


def _agent(tmp_path: Path, pipeline: Path, rules: list[dict], bootstrapped: bool = True) -> Agent:
    root, _ = compile_pipeline(pipeline)
    agent = Agent(tmp_path, {}, rules)
    agent.variables = pipeline_variables(root) | {
        "Build.ArtifactStagingDirectory": str(tmp_path / "staging"), "Agent.TempDirectory": str(tmp_path / "temp"),
        "Pipeline.Workspace": str(tmp_path / "workspace"), "Build.SourcesDirectory": str(agent.repo),
        "System.JobAttempt": "2", "Build.BuildId": str(RUN), "Build.SourceVersion": COMMIT,
        "System.CollectionUri": "https://dev.azure.com/fin-hosting/", "System.TeamProject": "odoo-platform",
        "Build.Repository.ID": "5e1f0000-0000-4000-8000-000000000001", "Build.RequestedForEmail": "merger@fin-hosting.example"}
    agent.secret_variables = {"System.AccessToken": "ado-run-token"}
    if bootstrapped:
        agent.bootstrap_secrets()
    return agent


DELIVERY = ROOT / "azure-pipelines.yml"


def _run_main(tmp_path: Path, rules: list[dict], only: set[str] | None = None,
              pipeline: Path = DELIVERY) -> tuple[Agent, dict[str, int]]:
    """A CI run of main, stage by stage in dependency order, each stage if its condition holds."""
    _, stages = compile_pipeline(pipeline)
    agent = _agent(tmp_path, pipeline, rules)
    results: dict[str, int] = {}
    variables = run_variables("IndividualCI", "refs/heads/main")
    for name, stage in stages.items():  # the file lists every stage after the ones it depends on
        if only is not None and name not in only:
            continue
        succeeded = all(results.get(d, 0 if only is not None and d not in only else 1) == 0 for d in stage.get("dependsOn", []))
        if not condition_holds(stage.get("condition", "succeeded()"), variables, succeeded):
            continue
        (job,) = stage["jobs"]
        job_variables = {}
        for variable in job.get("variables", []):
            # $[ stageDependencies.<stage>.<job>.outputs['<step>.<name>'] ], evaluated when the job starts.
            expression = variable["value"].removeprefix("$[ stageDependencies.").removesuffix(" ]")
            source_stage, source_job, rest = expression.split(".", 2)
            assert source_stage in stage["dependsOn"] and source_job in {j.get("job") for j in stages[source_stage]["jobs"]}
            step_output = rest.removeprefix("outputs['").removesuffix("']")
            job_variables[variable["name"]] = agent.outputs[f"{source_stage}.{step_output}"]
        results[name] = agent.run_job(name, job, job_variables)
    return agent, results


def _relative(agent: Agent, command: list[str]) -> list[str]:
    staging, temp = agent.variables["Build.ArtifactStagingDirectory"], agent.variables["Agent.TempDirectory"]
    workspace = agent.variables["Pipeline.Workspace"]
    return [arg.replace(staging, "$STAGING").replace(temp, "$TEMP").replace(workspace, "$WORKSPACE") for arg in command]


SETUP = [
    ["python", "-m", "venv", ".venv"],
    ["pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.lock"],
    ["pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-e", "."],
    ["curl", "-fsSL", "https://get.pulumi.com"],
    ["az", "aks", "install-cli", "--kubelogin-version", "v0.1.6", "--client-version", "1.30.14",
     "--install-location", "$HOME/.local/bin/kubectl", "--kubelogin-install-location", "$HOME/.local/bin/kubelogin"],
]


def _governance(stack: str, out: str, approvals: bool, approvers: list[str]) -> list[list[str]]:
    work = f"{out}/governance"
    return [
        ["odoo-platform", "plan", "--stack", stack, "--out", f"{work}/plan"],
        ["pulumi", "stack", "history", "--stack", stack, "--json"],
        ["git", "worktree", "add", "--detach", f"{work}/deployed-source", DEPLOYED],
        ["odoo-platform", "plan", "--stack", stack, "--no-policy", "--out", f"{work}/deployed"],
        ["odoo-platform", "diff", f"{work}/deployed/plan.json", f"{work}/plan/plan.json", "--format", "json"],
        ["odoo-platform", "freeze", "check", "--stack", stack, "--risk", "high", "--format", "json"],
        ["curl", "-fsS", "-H", "@HEADER", "-o", f"{work}/pull-requests.json",
         "https://dev.azure.com/fin-hosting/odoo-platform/_apis/git/repositories/5e1f0000-0000-4000-8000-000000000001/"
         "pullrequests?searchCriteria.status=completed&searchCriteria.targetRefName=refs/heads/main&$top=100&api-version=7.1"],
    ] + ([["curl", "-fsS", "-H", "@HEADER", "-o", f"{work}/approvals.json",
           "https://dev.azure.com/fin-hosting/odoo-platform/_apis/pipelines/approvals?state=completed&$expand=steps"
           "&top=200&api-version=7.1"]] if approvals else []) + [
        ["odoo-platform", "evidence", "--plan", f"{work}/plan/plan.json", "--baseline", f"{work}/deployed/plan.json",
         "--out", f"{out}/evidence", "--author", "alice@fin-hosting.example"]
        + sum((["--approver", a] for a in approvers), []),
    ]


def _normalised(agent: Agent, stage: str) -> list[list[str]]:
    home = str(agent.tmp / "home")
    commands = []
    for command in agent.commands(stage):
        command = [arg.replace(home, "$HOME") for arg in _relative(agent, command)]
        commands.append(["@HEADER" if arg.startswith("@/") else arg for arg in command])
    return commands


@pytest.fixture(scope="module")
def main_run(tmp_path_factory):
    return _run_main(tmp_path_factory.mktemp("main"), _rules())


@pytest.mark.slow
def test_every_stage_of_a_main_run_succeeds_in_order(main_run):
    agent, results = main_run
    _, stages = compile_pipeline(DELIVERY)
    assert results == {name: 0 for name in stages if name != "Preview_dev_pull_request"}, [
        e for e in agent.events if e.get("exit")]


@pytest.mark.slow
def test_azure_preview_logs_in_with_the_account_selects_gets_credentials_previews_and_governs(main_run):
    agent, _ = main_run
    out = "$STAGING/preview"
    assert _normalised(agent, "Preview_dev") == SETUP + [
        ["az", "account", "show", "--query", "id", "-o", "tsv"],
        ["pulumi", "login", AZURE_BACKEND],
        ["pulumi", "stack", "select", "dev"],
        ["az", "aks", "get-credentials", "--resource-group", "rg-odoo-dev-aks", "--name", "aks-odoo-dev",
         "--file", "$TEMP/kubeconfig-dev", "--overwrite-existing"],
        ["kubelogin", "convert-kubeconfig", "--login", "azurecli", "--kubeconfig", "$TEMP/kubeconfig-dev"],
        ["kubectl", "--kubeconfig", "$TEMP/kubeconfig-dev", "get", "--raw", "/readyz"],
        ["pulumi", "preview", "--stack", "dev", "--diff", *PACKS, "--save-plan", f"{out}/update-plan.json", "--json"],
    ] + _governance("dev", out, approvals=False, approvers=["bob@fin-hosting.example:peer-reviewer"])
    preview = next(c for c in agent.calls("Preview_dev") if c["cmd"][:2] == ["pulumi", "preview"])
    assert preview["env"] == {
        "ARM_USE_OIDC": "true", "ARM_CLIENT_ID": "1c2d3e4f-0000-4000-8000-00000000d001",
        "ARM_TENANT_ID": "33333333-3333-3333-3333-333333333333", "ARM_OIDC_TOKEN": "<set>",
        "ARM_SUBSCRIPTION_ID": "0a1b2c3d-0000-4000-8000-00000000d001", "AAD_LOGIN_METHOD": "azurecli",
        "KUBECONFIG": str(agent.tmp / "temp" / "kubeconfig-dev"), "PULUMI_BACKEND_URL": AZURE_BACKEND,
        "STACK": "dev", "SYSTEM_ACCESSTOKEN": "<set>",
        "AWS_ROLE_ARN": "", "AWS_REGION": ""}  # the template's empty defaults: unused on Azure
    baseline = next(c for c in agent.calls("Preview_dev") if "--no-policy" in c["cmd"])
    assert baseline["cwd"] == baseline["env"]["PYTHONPATH"] == f"{agent.tmp}/staging/preview/governance/deployed-source"
    assert {"stage": "Preview_dev", "publish": "preview-dev-2"} in agent.events  # the attempt is in the name


@pytest.mark.slow
def test_deploy_governs_with_the_runs_approvals_then_applies_the_saved_plan(main_run):
    agent, _ = main_run
    out = "$STAGING/deploy"
    commands = _normalised(agent, "Deploy_aws_hybrid_prod")
    assert commands == SETUP + [
        ["pulumi", "login", AWS_BACKEND],
        ["pulumi", "stack", "select", "aws-hybrid-prod"],
    ] + _governance("aws-hybrid-prod", out, approvals=True,
                    approvers=["bob@fin-hosting.example:peer-reviewer", "dave@fin-hosting.example:change-board"]) + [
        ["pulumi", "up", "--stack", "aws-hybrid-prod", "--yes", *PACKS,
         "--plan", "$WORKSPACE/preview-aws-hybrid-prod-2/update-plan.json", "--json"],
        ["git", "push", "--force", "origin", "HEAD:refs/heads/deployed/aws-hybrid-prod"],
    ]
    push = agent.calls("Deploy_aws_hybrid_prod")[-1]
    assert (push["env"]["GIT_CONFIG_COUNT"], push["env"]["GIT_CONFIG_KEY_0"], push["env"]["GIT_CONFIG_VALUE_0"]) == (
        "1", "http.extraheader", "<set>")
    up = agent.calls("Deploy_aws_hybrid_prod")[-2]
    assert up["env"] == {
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/odoo-platform-deploy-prod", "AWS_REGION": "eu-central-1",
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(agent.tmp / "temp" / "aws-web-identity-token"),
        "AWS_ROLE_SESSION_NAME": f"ado-{RUN}", "KUBECONFIG": str(agent.tmp / "temp" / "kubeconfig-aws-hybrid-prod"),
        "PULUMI_BACKEND_URL": AWS_BACKEND, "STACK": "aws-hybrid-prod", "SYSTEM_ACCESSTOKEN": "<set>"}
    token = agent.tmp / "temp" / "aws-web-identity-token"
    assert token.read_text() == "eyJ.oidc.token" and oct(token.stat().st_mode & 0o777) == "0o600"
    stage_events = [e for e in agent.events if e["stage"] == "Deploy_aws_hybrid_prod" and ("download" in e or "publish" in e)]
    assert stage_events == [{"stage": "Deploy_aws_hybrid_prod", "download": "preview-aws-hybrid-prod-2"},
                            {"stage": "Deploy_aws_hybrid_prod", "publish": "deploy-aws-hybrid-prod-2"}]


@pytest.mark.slow
def test_an_existing_eks_cluster_gets_its_kubeconfig_from_aws(main_run):
    agent, _ = main_run
    commands = _normalised(agent, "Preview_aws_staging")
    start = commands.index(["pulumi", "stack", "select", "aws-staging"])
    assert commands[start + 1:start + 3] == [
        ["aws", "eks", "update-kubeconfig", "--name", "eks-odoo-staging", "--region", "eu-central-1",
         "--kubeconfig", "$TEMP/kubeconfig-aws-staging"],
        ["kubectl", "--kubeconfig", "$TEMP/kubeconfig-aws-staging", "get", "--raw", "/readyz"]]


@pytest.mark.slow
@pytest.mark.parametrize(("evidence", "freeze", "expected"), [(6, 0, 6), (4, 4, 4), (1, 0, 1), (0, 4, 4)])
def test_a_deploy_refuses_without_pulumi_up_when_governance_refuses_but_publishes_the_bundle(tmp_path, evidence, freeze, expected):
    # A policy violation (evidence exits 1) starts at the offline plan, which exits 1 as well.
    rules = _rules(evidence_exit=evidence, freeze_exit=freeze, plan_exit=1 if evidence == 1 else 0)
    agent, results = _run_main(tmp_path, rules, only={"Preview_dev", "Deploy_dev"})
    # The preview tolerates missing approvals (they are given at the gate) but not a refusal.
    assert results["Preview_dev"] == (0 if evidence == 6 and freeze == 0 else expected)
    if results["Preview_dev"] != 0:
        assert "Deploy_dev" not in results
        assert any(c[:2] == ["odoo-platform", "evidence"] for c in agent.commands("Preview_dev"))  # the bundle exists
        assert {"stage": "Preview_dev", "publish": "preview-dev-2"} in agent.events
        return
    assert results["Deploy_dev"] == expected
    assert not any(c[:2] in (["pulumi", "up"], ["git", "push"]) for c in agent.commands("Deploy_dev"))
    assert {"stage": "Deploy_dev", "publish": "deploy-dev-2"} in agent.events
    assert any(c[:2] == ["odoo-platform", "evidence"] for c in agent.commands("Deploy_dev"))


@pytest.mark.slow
def test_a_pull_request_previews_dev_read_only_and_deploys_nothing(tmp_path):
    _, stages = compile_pipeline(DELIVERY)
    (job,) = stages["Preview_dev_pull_request"]["jobs"]
    (task,) = [s for s in job["steps"] if s.get("task") == "AzureCLI@2"]
    assert task["inputs"]["azureSubscription"] == "sc-odoo-azure-dev-read"
    agent = _agent(tmp_path, DELIVERY, _rules())
    assert agent.run_job("Preview_dev_pull_request", job) == 0
    commands = _normalised(agent, "Preview_dev_pull_request")
    assert commands[-1] == ["pulumi", "preview", "--stack", "dev", "--diff", *PACKS,
                            "--save-plan", "$STAGING/preview/update-plan.json", "--json"]
    assert not any(c[0] in ("odoo-platform", "curl") and "get.pulumi.com" not in c for c in commands[len(SETUP):])


@pytest.mark.slow
def test_without_a_committed_encryptedkey_the_steps_refuse_before_touching_the_backend(tmp_path):
    _, stages = compile_pipeline(DELIVERY)
    agent = _agent(tmp_path, DELIVERY, _rules(), bootstrapped=False)
    assert agent.run_job("Preview_prod", stages["Preview_prod"]["jobs"][0]) == 3
    assert not any(c[0] == "pulumi" for c in agent.commands("Preview_prod"))
    (failed,) = [e for e in agent.events if e.get("exit")]
    assert "stacks/Pulumi.prod.yaml has no 'encryptedkey:'" in failed["stdout"]
    assert agent.events[-1] == {"stage": "Preview_prod", "publish": "preview-prod-2"}


DRIFT = ROOT / ".azure-pipelines" / "drift.yml"


@pytest.mark.slow
@pytest.mark.parametrize("preview_exit", [0, 255])
def test_drift_exports_before_refresh_and_fails_the_report_when_the_preview_sees_changes(tmp_path, preview_exit):
    _, stages = compile_pipeline(DRIFT)
    agent = _agent(tmp_path, DRIFT, _rules(expect_no_changes_exit=preview_exit))
    status = agent.run_job("Drift_aws_staging", stages["Drift_aws_staging"]["jobs"][0])
    assert status == preview_exit
    state, report = "$TEMP/drift-aws-staging", "$STAGING/drift/aws-staging"
    assert _normalised(agent, "Drift_aws_staging")[len(SETUP):] == [
        ["pulumi", "login", AWS_BACKEND],
        ["pulumi", "stack", "select", "aws-staging"],
        ["aws", "eks", "update-kubeconfig", "--name", "eks-odoo-staging", "--region", "eu-central-1",
         "--kubeconfig", "$TEMP/kubeconfig-aws-staging"],
        ["kubectl", "--kubeconfig", "$TEMP/kubeconfig-aws-staging", "get", "--raw", "/readyz"],
        ["pulumi", "stack", "export", "--stack", "aws-staging", "--file", f"{state}/before-refresh.json"],
        ["pulumi", "refresh", "--yes", "--skip-preview", "--stack", "aws-staging", "--json"],
        ["pulumi", "stack", "export", "--stack", "aws-staging", "--file", f"{state}/refreshed.json"],
        ["pulumi", "stack", "history", "--stack", "aws-staging", "--json"],
        ["git", "worktree", "add", "--detach", f"{state}/deployed-source", DEPLOYED],
        ["odoo-platform", "plan", "--stack", "aws-staging", "--no-policy", "--out", f"{report}/approved"],
        ["odoo-platform", "drift", "--state", f"{state}/refreshed.json", "--plan", f"{report}/approved/plan.json",
         "--out", f"{report}/drift.json"],
        ["pulumi", "preview", "--expect-no-changes", "--diff", "--stack", "aws-staging", "--json"],
    ]
    refresh = next(c for c in agent.calls("Drift_aws_staging") if c["cmd"][1] == "refresh")
    assert refresh["env"]["AWS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/odoo-platform-drift-staging"
    drift = json.loads((tmp_path / "staging" / "drift" / "aws-staging" / "drift.json").read_text())
    assert drift["passed"] is (preview_exit == 0)
    assert {"stage": "Drift_aws_staging", "publish": "drift-aws-staging-2"} in agent.events


def test_the_stack_files_secrets_provider_is_the_one_gitops_uses_and_the_offline_plan_ignores_it(tmp_path):
    from odoo_platform.cli import _stack_estate
    from odoo_platform.delivery.gitops import secrets_provider
    from odoo_platform.offline.stackfiles import load_project, read_stack_config

    project = load_project(ROOT)
    for stack in project.stack_names():
        document = yaml.safe_load(project.stack_file(stack).read_text())
        assert document["secretsprovider"] == secrets_provider(_stack_estate(project, stack), stack)
        config = read_stack_config(project, project.stack_file(stack))
        assert set(config.values) == set(document["config"]), stack
        bootstrapped = tmp_path / f"Pulumi.{stack}.yaml"
        bootstrapped.write_text(project.stack_file(stack).read_text().replace(
            "\nconfig:", "\nencryptedkey: ZmFrZS13cmFwcGVkLWtleQ==\nconfig:", 1))
        assert read_stack_config(project, bootstrapped) == config


@pytest.mark.slow
def test_the_delivery_stack_is_previewed_applied_from_its_saved_plan_and_checked_for_drift(tmp_path):
    agent, results = _run_main(tmp_path / "run", _rules(), only={"Preview", "Apply"},
                               pipeline=ROOT / ".azure-pipelines" / "delivery-stack.yml")
    assert results == {"Preview": 0, "Apply": 0}
    common = [["az", "account", "show", "--query", "id", "-o", "tsv"], ["pulumi", "login", AZURE_BACKEND],
              ["pulumi", "stack", "select", "fin-hosting"]]
    pack = ["--policy-pack", "../../policypacks/governance"]
    assert _normalised(agent, "Preview")[len(SETUP):] == common + [
        ["pulumi", "preview", "--stack", "fin-hosting", "--diff", *pack, "--save-plan",
         "$STAGING/delivery-stack/update-plan.json", "--json"]]
    assert _normalised(agent, "Apply")[len(SETUP):] == common + [
        ["pulumi", "up", "--stack", "fin-hosting", "--yes", *pack, "--plan",
         "$WORKSPACE/delivery-stack-preview-2/update-plan.json", "--json"]]
    up = agent.calls("Apply")[-1]
    assert up["cwd"].endswith("/repo/stacks/delivery")
    assert up["env"]["AWS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/odoo-platform-delivery"
    assert up["env"]["ARM_CLIENT_ID"] == "1c2d3e4f-0000-4000-8000-00000000d001"

    _, stages = compile_pipeline(DRIFT)
    drift = _agent(tmp_path / "drift", DRIFT, _rules(expect_no_changes_exit=255))
    assert drift.run_job("Drift_delivery", stages["Drift_delivery"]["jobs"][0]) == 255
    assert _normalised(drift, "Drift_delivery")[-1] == [
        "pulumi", "preview", "--stack", "fin-hosting", "--refresh", "--expect-no-changes", "--diff", "--json"]
    assert drift.calls("Drift_delivery")[-1]["env"]["AWS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/odoo-platform-delivery-read"
