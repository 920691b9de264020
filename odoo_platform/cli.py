"""`odoo-platform`: the offline plan and the governance tools, one subcommand each."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Sequence

from odoo_platform.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_TOOL_FAILURE, EstateConfigError, ToolFailure
from odoo_platform.offline.stackfiles import Project, load_project, read_stack_config


class UsageError(EstateConfigError):
    """Bad arguments: reported like bad config, with exit code 2."""


def find_project(start: Path) -> Project:
    for directory in (start, *start.parents):
        if (directory / "Pulumi.yaml").is_file():
            return load_project(directory)
    raise UsageError(f"no Pulumi.yaml in {start} or above (run from the odoo-platform project directory)")


def cmd_plan(args: argparse.Namespace) -> int:
    from odoo_platform.offline.engine import run_program
    from odoo_platform.offline.plan import build_plan, summary, write_plan

    project = find_project(Path.cwd())
    if args.config:
        config_path = Path(args.config)
    else:
        config_path = project.stack_file(args.stack)
        if not config_path.is_file():
            known = ", ".join(project.stack_names()) or "none"
            raise UsageError(f"stack {args.stack!r} does not exist (known stacks: {known}; or pass --config FILE)")
    config = read_stack_config(project, config_path)
    region = config.values.get(f"{project.name}:region", "eu-central-1")
    recording = run_program(project, args.stack, config, region=region)
    plan = build_plan(recording, config)
    out_dir = Path(args.out) if args.out else project.root / "out" / args.stack
    write_plan(plan, out_dir)
    if args.format == "json":
        print(json.dumps(plan, indent=2))
    else:
        print(summary(plan))
        print(f"\nwrote {out_dir / 'plan.json'} and {out_dir / 'manifests.yaml'}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="odoo-platform",
        description="Plan and govern Odoo estates built with Pulumi, offline or for real clouds.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    plan = commands.add_parser("plan", help="run the Pulumi program under mocks and write plan.json and manifests.yaml")
    plan.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    plan.add_argument("--config", help="read this stack file instead of the stack's own")
    plan.add_argument("--out", help="output directory (default out/<stack>/)")
    plan.add_argument("--format", choices=("text", "json"), default="text", help="what to print (default text)")
    plan.set_defaults(handler=cmd_plan)
    return parser




def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except EstateConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ToolFailure as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_TOOL_FAILURE
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, never a traceback
        if os.environ.get("ODOO_PLATFORM_DEBUG"):
            traceback.print_exc()
        print(f"error: internal failure: {type(exc).__name__}: {exc} (set ODOO_PLATFORM_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_TOOL_FAILURE


if __name__ == "__main__":
    sys.exit(main())
