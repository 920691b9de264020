"""Plans of every stack in stacks/, made once per test session."""

from __future__ import annotations

import functools
from typing import Any

from odoo_platform.offline.engine import run_program
from odoo_platform.offline.plan import build_plan, kubernetes_objects
from odoo_platform.offline.stackfiles import load_project, read_stack_config
from tests.conftest import ROOT


@functools.cache
def plan_of(stack: str) -> dict[str, Any]:
    project = load_project(ROOT)
    config = read_stack_config(project, project.stack_file(stack))
    region = config.values["odoo-platform:region"]
    return build_plan(run_program(project, stack, config, region=region), config)


def all_stacks() -> list[str]:
    return load_project(ROOT).stack_names()


def manifests_of(stack: str) -> list[dict[str, Any]]:
    return kubernetes_objects(plan_of(stack))
