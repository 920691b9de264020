"""Run the project's Pulumi program under the SDK's mocks and record what it registers."""

from __future__ import annotations

import asyncio
import logging
import runpy
from dataclasses import dataclass
from typing import Any

from google.protobuf import empty_pb2
from pulumi.runtime import settings
from pulumi.runtime import stack as sdk_stack
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
    sdk_wait, sdk_stack.wait_for_rpcs = sdk_stack.wait_for_rpcs, _wait_for_rpcs
    try:
        _sync_await(run_in_stack(lambda: runpy.run_path(main, run_name="__main__")))
    finally:
        sdk_stack.wait_for_rpcs = sdk_wait
    return Recording(
        project=project.name,
        stack=stack,
        registrations=list(monitor.registrations),
        stack_outputs=dict(monitor.stack_outputs),
    )


async def _wait_for_rpcs(await_all_outstanding_tasks: bool = True) -> None:
    """The SDK's `pulumi.runtime.stack.wait_for_rpcs`, waiting for the same RPCs and outputs in linear time.

    The SDK (3.272) drains outstanding outputs with `asyncio.wait(every pending output,
    FIRST_COMPLETED)` in a loop: each completion adds and removes a callback on every output
    still pending, so a stack of n resources costs O(n^2) callbacks (92,596 for 197 resources,
    a quarter of a small plan's time, and most of a large one's). Here each output is awaited in
    turn: one callback each. What the program registers, and when the run ends, are the same;
    an output that fails still fails the run with its own exception.
    """
    rpcs = settings._get_rpc_manager()
    while True:
        while rpcs.rpcs:
            await asyncio.sleep(0)
            try:
                await rpcs.rpcs.pop()
            except Exception as exn:
                if rpcs.unhandled_exception is not None:
                    raise exn from rpcs.unhandled_exception.with_traceback(rpcs.exception_traceback)
                raise
        if rpcs.unhandled_exception is not None:
            raise rpcs.unhandled_exception.with_traceback(rpcs.exception_traceback)
        while await_all_outstanding_tasks:
            with settings.SETTINGS.lock:
                pending = list(settings.SETTINGS.outputs)
                settings.SETTINGS.outputs.clear()
            if not pending:
                break
            for task in pending:
                await task
        if not rpcs.rpcs:
            break
