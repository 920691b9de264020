"""Plans of every stack in stacks/ and of the estates tests write, each made once per test session."""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from pathlib import Path
from typing import Any

from odoo_platform.offline.cache import PlanStore, default_dir, plan_stack
from odoo_platform.offline.engine import run_program
from odoo_platform.offline.plan import build_plan, kubernetes_objects
from odoo_platform.offline.stackfiles import Project, load_project, read_stack_config
from tests.conftest import ROOT, write_stack


@functools.cache
def plan_of(stack: str) -> dict[str, Any]:
    project = load_project(ROOT)
    config = read_stack_config(project, project.stack_file(stack))
    return plan_stack(project, stack, config, config.values["odoo-platform:region"], _store())[0]


def _store() -> PlanStore:
    """The test run's plan cache (conftest.pytest_configure), shared by the test processes."""
    return PlanStore(default_dir())


def all_stacks() -> list[str]:
    return load_project(ROOT).stack_names()


def environment_of(stack: str) -> str:
    """The stack's environment, read from its stack file: choosing stacks at collection needs no plan."""
    project = load_project(ROOT)
    return read_stack_config(project, project.stack_file(stack)).values["odoo-platform:environment"]


def manifests_of(stack: str) -> list[dict[str, Any]]:
    return kubernetes_objects(plan_of(stack))


# Plans of estates, keyed by the estate and stack name: many tests read the plan of the same estate
# (estate() alone is planned by a dozen tests, test_diff's production estate by ten), and a plan takes
# seconds. The program reads nothing but the stack config and the repository's stacks/ (the release
# ledger, which no test edits; these estates list their tenants inline), so equal keys give equal plans.
_PLANS: dict[tuple[str, str], dict[str, Any]] = {}


def plan_of_estate(project: Project, config: dict[str, Any], stack: str = "test", fresh: bool = False) -> dict[str, Any]:
    """The plan of an estate, exactly as `odoo-platform plan --config` makes it.

    Each call returns a copy of the plan, made once per test session for that estate and stack (tests edit
    their plan); `fresh=True` runs the program again, for a test about what two separate runs produce."""
    key = (json.dumps(config, sort_keys=True), stack)
    if fresh or key not in _PLANS:
        with tempfile.TemporaryDirectory() as directory:
            stack_config = read_stack_config(project, write_stack(Path(directory) / f"Pulumi.{stack}.yaml", config))
        if fresh:
            return build_plan(run_program(project, stack, stack_config, region=config["region"]), stack_config)
        _PLANS[key] = plan_stack(project, stack, stack_config, config["region"], _store())[0]
    return copy.deepcopy(_PLANS[key])
