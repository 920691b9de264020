"""Azure Pipelines YAML as Azure DevOps compiles and runs it: templates, parameters, stage conditions.

Only the expression forms the pipelines use are understood; anything else fails loudly, so a new
expression cannot be silently ignored by the tests
(https://learn.microsoft.com/azure/devops/pipelines/process/template-expressions,
https://learn.microsoft.com/azure/devops/pipelines/process/expressions).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

TEMPLATES = ROOT / ".azure-pipelines" / "templates"
PARAMETER = re.compile(r"\$\{\{ parameters\.(\w+) \}\}")
TOKEN = re.compile(r"\s*(?:(?P<function>and|or|not|eq|ne|succeeded|always)\(|variables\['(?P<variable>[\w.]+)'\]|'(?P<text>[^']*)'|(?P<close>\))|(?P<comma>,))")


def _text(value: Any) -> str:
    return str(value)  # booleans render as True/False, like Azure DevOps


def _resolve(node: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {key: _resolve(value, parameters) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, parameters) for item in node]
    if isinstance(node, str):
        whole = PARAMETER.fullmatch(node)
        if whole:
            return parameters[whole.group(1)]
        assert "${{" not in PARAMETER.sub("", node), f"unsupported template expression in {node!r}"
        return PARAMETER.sub(lambda m: _text(parameters[m.group(1)]), node)
    return node


def instantiate(template: Path, given: dict[str, Any]) -> dict[str, Any]:
    """A template with its parameters checked (required, allowed values, no unknown) and substituted."""
    document = yaml.safe_load(template.read_text())
    declared = {p["name"]: p for p in document.get("parameters", [])}
    unknown = set(given) - set(declared)
    assert not unknown, f"{template.name} has no parameters {sorted(unknown)}"
    values = {}
    for name, spec in declared.items():
        assert name in given or "default" in spec, f"{template.name} needs {name}"
        values[name] = given.get(name, spec.get("default"))
        if "values" in spec:
            assert values[name] in spec["values"], f"{template.name}: {name}={values[name]!r} not in {spec['values']}"
    document.pop("parameters", None)
    return _resolve(document, values)


def _steps(steps: list[dict]) -> list[dict]:
    expanded = []
    for step in steps:
        if "template" in step:
            expanded.extend(_steps(instantiate(TEMPLATES / step["template"], step.get("parameters", {}))["steps"]))
        else:
            expanded.append(step)
    return expanded


def job_steps(job: dict) -> list[dict]:
    return job["steps"] if "steps" in job else job["strategy"]["runOnce"]["deploy"]["steps"]


def compile_pipeline(pipeline: Path) -> tuple[dict, dict[str, dict]]:
    """The root document and its stages by name, in the file's order."""
    root = yaml.safe_load(pipeline.read_text())
    template = pipeline.parent / root["extends"]["template"]
    stages = instantiate(template, root["extends"].get("parameters", {}))["stages"]
    compiled = {}
    for stage in stages:
        jobs = []
        for job in stage["jobs"]:
            if "template" in job:
                jobs.extend(instantiate(TEMPLATES / job["template"], job.get("parameters", {}))["jobs"])
            else:
                jobs.append(job)
        for job in jobs:
            if "steps" in job:
                job["steps"] = _steps(job["steps"])
            else:
                job["strategy"]["runOnce"]["deploy"]["steps"] = _steps(job_steps(job))
        assert stage["stage"] not in compiled, f"stage {stage['stage']} twice"
        compiled[stage["stage"]] = stage | {"jobs": jobs}
    return root, compiled


def pipeline_variables(root: dict) -> dict[str, str]:
    return {v["name"]: v["value"] for v in root.get("variables", [])}


def condition_holds(condition: str, variables: dict[str, str], dependencies_succeeded: bool) -> bool:
    """A stage's runtime condition (default `succeeded()`)."""
    tokens = [m for m in TOKEN.finditer(condition)]
    assert "".join(m.group(0) for m in tokens).strip() == condition.strip(), f"unsupported condition {condition!r}"
    position = 0

    def expression() -> Any:
        nonlocal position
        token = tokens[position]
        position += 1
        if token.group("variable"):
            return variables[token.group("variable")]
        if token.group("text") is not None:
            return token.group("text")
        function, arguments = token.group("function"), []
        while not tokens[position].group("close"):
            if tokens[position].group("comma"):
                position += 1
            arguments.append(expression())
        position += 1
        return {"and": lambda: all(arguments), "or": lambda: any(arguments), "not": lambda: not arguments[0],
                "eq": lambda: arguments[0].lower() == arguments[1].lower(),
                "ne": lambda: arguments[0].lower() != arguments[1].lower(),
                "succeeded": lambda: dependencies_succeeded, "always": lambda: True}[function]()

    return bool(expression())


def run_variables(reason: str, branch: str) -> dict[str, str]:
    return {"Build.Reason": reason, "Build.SourceBranch": branch}


def stages_that_run(stages: dict[str, dict], variables: dict[str, str]) -> dict[str, dict]:
    """The stages a run starts when every started stage succeeds."""
    started: dict[str, dict] = {}
    for name, stage in stages.items():
        succeeded = all(d in started for d in stage.get("dependsOn", []))
        if condition_holds(stage.get("condition", "succeeded()"), variables, succeeded):
            started[name] = stage
    return started
