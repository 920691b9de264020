"""Run the project's Pulumi program under the SDK's mocks and record what it registers."""

from __future__ import annotations

import logging
import runpy
from dataclasses import dataclass
from typing import Any

from google.protobuf import empty_pb2
from pulumi.runtime import settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockEngine, MockSettings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from odoo_platform.offline.mocks import PlanMocks
from odoo_platform.offline.recorder import RecordingMonitor, Registration
from odoo_platform.offline.stackfiles import Project, StackConfig

ORGANIZATION = "organization"


@dataclass(frozen=True)
class Recording:
    project: str
    stack: str
    registrations: list[Registration]
    stack_outputs: dict[str, Any]


def run_program(
    project: Project, stack: str, config: StackConfig, region: str,
    stack_references: dict[str, dict[str, Any]] | None = None,
) -> Recording:
    """Run `project.main` exactly as `pulumi preview` would, against a recording mock monitor.

    `stack_references` answers the program's StackReferences with other stacks' recorded outputs.
    """
    monitor = RecordingMonitor(PlanMocks(region=region, stack_references=stack_references))
    # The same settings `pulumi.runtime.set_mocks` builds, without the root stack it creates:
    # `run_in_stack` below creates the root stack itself, as the real language host does, so
    # stack outputs are registered once the program has finished.
    settings.configure(
        MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures),
            engine=MockEngine(logging.getLogger("odoo_platform.offline")),
            project=project.name,
            stack=stack,
            dry_run=True,
            organization=ORGANIZATION,
            callbacks=None,
        )
    )
    settings.set_root_resource(None)  # type: ignore[arg-type]
    set_all_config(dict(config.values), list(config.secret_keys))
    main = str(project.main)
    _sync_await(run_in_stack(lambda: runpy.run_path(main, run_name="__main__")))
    return Recording(
        project=project.name,
        stack=stack,
        registrations=list(monitor.registrations),
        stack_outputs=dict(monitor.stack_outputs),
    )
