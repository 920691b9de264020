"""Runs pipeline steps the way an agent would, with every external command replaced by a recording fake.

`pulumi`, `az`, `aws`, `kubectl`, `kubelogin`, `git`, `curl`, `make`, `odoo-platform` and the
agent's `python`/`.venv/bin/*` are one fake that appends what it was called with (arguments, working
directory, the environment that matters) to a log and answers from a list of rules; bash, coreutils
and python3 are real. `odoo-platform` is faked because each real offline plan takes about 20 seconds;
its commands have tests of their own.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.pipeline_yaml import job_steps

FAKED = ("pulumi", "az", "aws", "kubectl", "kubelogin", "git", "curl", "make", "odoo-platform", "python")
VENV_FAKES = ("python", "pip", "odoo-platform")
RECORDED_ENV = ("STACK", "KUBECONFIG", "AAD_LOGIN_METHOD", "PULUMI_BACKEND_URL", "PYTHONPATH", "GIT_CONFIG_COUNT",
                "GIT_CONFIG_KEY_0")
SECRET_ENV = ("SYSTEM_ACCESSTOKEN", "ARM_OIDC_TOKEN", "GIT_CONFIG_VALUE_0")
FAKE = f"""#!{sys.executable} -S
import json, os, sys
name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
env = {{k: v for k, v in os.environ.items() if k.startswith(("ARM_", "AWS_", "AZURE_")) or k in {RECORDED_ENV!r}}}
env.update({{k: "<set>" for k in {SECRET_ENV!r} if os.environ.get(k)}})
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"cmd": [name, *args], "cwd": os.getcwd(), "env": env}}) + "\\n")
if name == "git" and args[:2] == ["worktree", "add"]:
    os.makedirs(args[-2])
for rule in json.load(open(os.environ["FAKE_RULES"])):
    if (rule["cmd"] == name and all(word in args for word in rule.get("with", []))
            and not any(word in args for word in rule.get("without", []))
            and all(any(part in arg for arg in args) for part in rule.get("containing", []))):
        if "write_after" in rule:
            path = args[args.index(rule["write_after"]) + 1]
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").write(rule["content"])
        sys.stdout.write(rule.get("stdout", ""))
        sys.exit(rule.get("exit", 0))
"""
MACRO = re.compile(r"\$\(([\w.]+)\)")
OUTPUT = re.compile(r"##vso\[task\.setvariable variable=(\w+);isOutput=true\](.*)")


@dataclass
class Agent:
    """One pipeline run on a fake agent: its variables, published artifacts and command log."""

    tmp: Path
    variables: dict[str, str]
    rules: list[dict[str, Any]]
    secret_variables: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.repo = self.tmp / "repo"
        for part in (".azure-pipelines", "stacks", "policypacks"):
            shutil.copytree(ROOT / part, self.repo / part)
        shutil.copy(ROOT / "requirements.lock", self.repo)
        self.bin = self.tmp / "bin"
        self.bin.mkdir()
        (self.repo / ".venv" / "bin").mkdir(parents=True)
        fake = self.tmp / "fake"
        fake.write_text(FAKE)
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        for name in FAKED:
            (self.bin / name).symlink_to(fake)
        for name in VENV_FAKES:
            (self.repo / ".venv" / "bin" / name).symlink_to(fake)
        self.log = self.tmp / "commands.jsonl"
        self.rules_file = self.tmp / "rules.json"
        for name in ("staging", "temp", "workspace", "home"):
            (self.tmp / name).mkdir()

    def bootstrap_secrets(self) -> None:
        """What `pulumi stack change-secrets-provider` adds to each stack file in the organisation."""
        for path in (self.repo / "stacks").rglob("Pulumi.*.yaml"):
            text = path.read_text()
            path.write_text(text.replace("\nconfig:", "\nencryptedkey: ZmFrZS13cmFwcGVkLWtleQ==\nconfig:", 1))

    def _macros(self, text: str, job_variables: dict[str, str]) -> str:
        known = self.variables | self.secret_variables | job_variables
        return MACRO.sub(lambda m: known.get(m.group(1), m.group(0)), text)

    def run_job(self, stage: str, job: dict, job_variables: dict[str, str] | None = None) -> int:
        """Each step in order; after a failure only `condition: always()` steps run. Returns the job's status."""
        job_variables = job_variables or {}
        self.rules_file.write_text(json.dumps(self.rules))
        for name in ("staging", "temp"):  # each job starts with empty staging and temporary directories
            shutil.rmtree(self.tmp / name)
            (self.tmp / name).mkdir()
        status = 0
        for step in job_steps(job):
            if status and step.get("condition") != "always()":
                continue
            if "publish" in step:
                name = self._macros(step["artifact"], job_variables)
                assert name not in self.artifacts, f"artifact {name} published twice"
                self.artifacts[name] = self.tmp / "artifacts" / name
                # Publishing a path that does not exist fails the step on a real agent too.
                shutil.copytree(Path(self._macros(step["publish"], job_variables)), self.artifacts[name])
                self.events.append({"stage": stage, "publish": name})
            elif "download" in step:
                name = self._macros(step["artifact"], job_variables)
                shutil.copytree(self.artifacts[name], Path(self.variables["Pipeline.Workspace"]) / name)
                self.events.append({"stage": stage, "download": name})
            elif "script" in step or step.get("task") == "AzureCLI@2":
                status = self._run_script(stage, step, job_variables)
        return status

    def _run_script(self, stage: str, step: dict, job_variables: dict[str, str]) -> int:
        script = step["script"] if "script" in step else step["inputs"]["inlineScript"]
        env = {"PATH": f"{self.bin}:{self.repo / '.venv' / 'bin'}:/usr/bin:/bin", "HOME": str(self.tmp / "home"),
               "FAKE_LOG": str(self.log), "FAKE_RULES": str(self.rules_file)}
        # Azure DevOps maps every non-secret variable into the environment (Build.BuildId -> BUILD_BUILDID).
        env |= {name.upper().replace(".", "_"): value for name, value in (self.variables | job_variables).items()}
        if step.get("task") == "AzureCLI@2" and step["inputs"].get("addSpnToEnvironment"):
            env |= {"servicePrincipalId": "1c2d3e4f-0000-4000-8000-00000000d001",
                    "tenantId": "33333333-3333-3333-3333-333333333333", "idToken": "eyJ.oidc.token"}
        env |= {name: self._macros(str(value), job_variables) for name, value in (step.get("env") or {}).items()}
        start = len(self.log.read_text().splitlines()) if self.log.exists() else 0
        result = subprocess.run(["bash", "-c", self._macros(script, job_variables)], cwd=self.repo, env=env,
                                capture_output=True, text=True, timeout=120)
        for line in result.stdout.splitlines():
            match = OUTPUT.search(line)
            if match and step.get("name"):
                self.outputs[f"{stage}.{step['name']}.{match.group(1)}"] = match.group(2)
        lines = self.log.read_text().splitlines()[start:] if self.log.exists() else []
        self.events.extend({"stage": stage} | json.loads(line) for line in lines)
        self.events.append({"stage": stage, "exit": result.returncode, "stderr": result.stderr, "stdout": result.stdout})
        return result.returncode

    def commands(self, stage: str) -> list[list[str]]:
        return [e["cmd"] for e in self.events if e["stage"] == stage and "cmd" in e]

    def calls(self, stage: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["stage"] == stage and "cmd" in e]
