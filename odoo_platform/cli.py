"""`odoo-platform`: the offline plan and the governance tools, one subcommand each."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Sequence

from odoo_platform.config import Estate
from odoo_platform.errors import (
    EXIT_BAD_INPUT,
    EXIT_CHANGE_REFUSED,
    EXIT_DRIFT,
    EXIT_OK,
    EXIT_POLICY_VIOLATION,
    EXIT_TOOL_FAILURE,
    EstateConfigError,
    ToolFailure,
)
from odoo_platform.offline.stackfiles import Project, load_project, read_stack_config

POLICY_REPORT = "policy-report.json"


class UsageError(EstateConfigError):
    """Bad arguments: reported like bad config, with exit code 2."""


def find_project(start: Path) -> Project:
    for directory in (start, *start.parents):
        if (directory / "Pulumi.yaml").is_file():
            return load_project(directory)
    raise UsageError(f"no Pulumi.yaml in {start} or above (run from the odoo-platform project directory)")


def load_project_dir(directory: Path) -> Project:
    if not (directory / "Pulumi.yaml").is_file():
        raise UsageError(f"--project: {directory} has no Pulumi.yaml (give the directory of a Pulumi project)")
    return load_project(directory.resolve())


def cmd_plan(args: argparse.Namespace) -> int:
    from odoo_platform.offline.engine import run_program
    from odoo_platform.offline.plan import build_plan, summary, write_plan

    project = load_project_dir(Path(args.project)) if args.project else find_project(Path.cwd())
    if args.config:
        config_path = Path(args.config)
    else:
        config_path = project.stack_file(args.stack)
        if not config_path.is_file():
            known = ", ".join(project.stack_names()) or "none"
            raise UsageError(f"stack {args.stack!r} does not exist (known stacks: {known}; or pass --config FILE)")
    config = read_stack_config(project, config_path)
    region = config.values.get(f"{project.name}:region", "eu-central-1")
    extra: dict[str, str] = {}
    if args.sharded:
        from odoo_platform.offline.sharded import plan_sharded

        sharded = plan_sharded(project.root, args.stack, config, region, args.jobs or os.cpu_count() or 1)
        plan = sharded.merged
        extra = {f"stacks/{name}/plan.json": json.dumps(stack_plan, indent=2) + "\n"
                 for name, stack_plan in sharded.stacks.items()}
    else:
        plan = build_plan(run_program(project, args.stack, config, region=region), config)
    out_dir = Path(args.out) if args.out else project.root / "out" / args.stack
    policy = None if args.no_policy else _check_policy(project, plan, args.pack, args.policy_config)
    if policy:
        extra[POLICY_REPORT] = json.dumps(policy[0], indent=2) + "\n"
    write_plan(plan, out_dir, extra)
    if args.format == "json":
        print(json.dumps(plan, indent=2))
    else:
        print(summary(plan))
        if policy:
            print("\n" + policy[1])
        if args.sharded:
            print(f"\n{len(extra) - bool(policy)} stacks planned in parallel: {', '.join(sharded.stacks)} "
                  f"(their plans are in {out_dir / 'stacks'})")
        print(f"\nwrote {out_dir / 'plan.json'}, {out_dir / 'manifests.yaml'}" + (f" and {out_dir / POLICY_REPORT}" if policy else ""))
    return EXIT_POLICY_VIOLATION if policy and not policy[0]["passed"] else EXIT_OK


def _pack_dirs(project: Project, names: list[str] | None) -> list[Path]:
    # The delivery project lives inside the repository (stacks/delivery/): its packs are the repository's.
    root = next((d / "policypacks" for d in (project.root, *project.root.parents) if (d / "policypacks").is_dir()),
                project.root / "policypacks")
    known = sorted(p.name for p in root.iterdir() if (p / "PulumiPolicy.yaml").is_file()) if root.is_dir() else []
    unknown = [name for name in names or [] if name not in known]
    if unknown:
        raise UsageError(f"--pack: {unknown[0]!r} is not a policy pack (known packs: {', '.join(known) or 'none'})")
    return [root / name for name in (names or known)]


def _read_policy_config(path: str | None) -> dict:
    from odoo_platform.policy.runner import validate_policy_config

    if not path:
        return {}
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"--policy-config: {path} is not a readable JSON file ({exc}; use the pulumi --policy-pack-config format)") from None
    return validate_policy_config(document, path)


def _check_policy(project: Project, plan: dict, packs: list[str] | None, policy_config: str | None) -> tuple[dict, str]:
    from odoo_platform.policy.runner import report, run_packs, table

    pack_dirs = _pack_dirs(project, packs)
    findings = run_packs(pack_dirs, plan, _read_policy_config(policy_config))
    return report(findings, plan, [d.name for d in pack_dirs]), table(findings)


def cmd_policy(args: argparse.Namespace) -> int:
    project = find_project(Path.cwd())
    plan_path = Path(args.plan)
    plan = _read_plan(args.plan, "--plan")
    result, printed = _check_policy(project, plan, args.pack, args.policy_config)
    target = plan_path.parent / POLICY_REPORT
    staging = target.with_name(f".{POLICY_REPORT}.tmp")
    staging.write_text(json.dumps(result, indent=2) + "\n")
    staging.replace(target)
    print(printed)
    print(f"\nwrote {target}")
    return EXIT_OK if result["passed"] else EXIT_POLICY_VIOLATION


def _policy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", action="append", metavar="NAME", help="run only this pack (repeatable; default all)")
    parser.add_argument("--policy-config", metavar="FILE", help="enforcement overrides, as pulumi --policy-pack-config")


def cmd_promote(args: argparse.Namespace) -> int:
    from odoo_platform.releases import (
        LEDGER_NAME,
        Release,
        image_refusal,
        load_ledger,
        now,
        promoted_by,
        promotion_refusal,
        record,
        set_ring_image,
    )

    project = find_project(Path.cwd())
    stack_file = project.stack_file(args.stack)
    estate = _stack_estate(project, args.stack)
    if args.ring not in estate.ring_order:
        raise UsageError(f"--ring: {args.ring!r} is not a release ring of {args.stack} (use one of {', '.join(estate.ring_order)})")
    # Checked before anything is written: the reference goes into the stack file and the ledger.
    bad_image = image_refusal(estate, args.image)
    if bad_image:
        raise UsageError(f"--image: {bad_image}")
    ledger_path = project.stack_config_dir / LEDGER_NAME
    refusal = promotion_refusal(estate, load_ledger(ledger_path), args.ring, args.image)
    if refusal:
        raise UsageError(f"promotion refused: {refusal}")
    original = stack_file.read_text()
    set_ring_image(stack_file, args.ring, args.image, estate.rings)
    try:
        _stack_estate(project, args.stack)  # the stack file must still describe a valid estate (digests in staging and prod)
    except EstateConfigError:
        stack_file.write_text(original)
        raise
    record(ledger_path, Release(environment=estate.environment.value, ring=args.ring, image=args.image, stack=args.stack,
                                promotedAt=now(), promotedBy=promoted_by()))
    tenants = [t.name for t in estate.tenants if t.ring == args.ring]
    print(f"promoted {args.image} to ring {args.ring} of {args.stack} ({', '.join(tenants) or 'no tenants yet'}); "
          f"recorded in {ledger_path.relative_to(project.root)}")
    return EXIT_OK


def _read_plan(path: str, flag: str) -> dict:
    try:
        plan = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        plan = None
    if not isinstance(plan, dict) or {"resources", "config", "stack", "project"} - set(plan):
        raise UsageError(f"{flag}: {path} is not a plan.json written by 'odoo-platform plan' (plan the stack first)")
    return plan


def _read_drift_report(path: str) -> dict:
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        report = None
    if not isinstance(report, dict) or {"passed", "blocking", "checked", "drifted", "unmanaged"} - set(report):
        raise UsageError(f"--drift: {path} is not a report written by 'odoo-platform drift --out' (run the drift check first)")
    return report


def cmd_diff(args: argparse.Namespace) -> int:
    from odoo_platform.governance.diff import diff_plans, to_json, to_text

    diff = diff_plans(_read_plan(args.before, "BEFORE"), _read_plan(args.after, "AFTER"))
    print(to_json(diff) if args.format == "json" else to_text(diff, markdown=args.format == "md"), end="")
    return EXIT_OK


def cmd_freeze_check(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from odoo_platform.config import ChangeCalendar, Window
    from odoo_platform.governance.calendar import decide
    from odoo_platform.governance.diff import Risk

    calendar, window, time_zone = ChangeCalendar(), Window(), "UTC"
    if args.stack:
        estate = _stack_estate(find_project(Path.cwd()), args.stack)
        calendar, window, time_zone = estate.change_calendar, estate.window_for(args.tier), estate.time_zone
    if args.at:
        try:
            moment = datetime.fromisoformat(args.at)
        except ValueError:
            raise UsageError(f"--at: {args.at!r} is not an ISO 8601 time (use e.g. 2027-01-29T14:00:00+01:00)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(time_zone))
    else:
        moment = datetime.now(timezone.utc)
    decision = decide(moment, Risk[args.risk.upper()], calendar, window, time_zone, args.emergency)
    if args.format == "json":
        print(json.dumps(decision.__dict__, indent=2))
    else:
        print(("allowed: " if decision.allowed else "refused: ") + decision.reason)
    return EXIT_OK if decision.allowed else EXIT_CHANGE_REFUSED


def _stack_estate(project: Project, stack: str) -> Estate:
    from odoo_platform.stack_reader import estate_from_config

    stack_file = project.stack_file(stack)
    if not stack_file.is_file():
        raise UsageError(f"stack {stack!r} does not exist (known stacks: {', '.join(project.stack_names())})")
    return estate_from_config(read_stack_config(project, stack_file).values)


def cmd_evidence(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from odoo_platform.config import ChangeCalendar, Window
    from odoo_platform.governance.approvals import parse_approver
    from odoo_platform.governance.calendar import decide
    from odoo_platform.governance.cost import estimate, load_prices
    from odoo_platform.governance.diff import Risk, diff_plans
    from odoo_platform.governance.evidence import write_bundle

    project = find_project(Path.cwd())
    plan = _read_plan(args.plan, "--plan")
    diff = diff_plans(_read_plan(args.baseline, "--baseline"), plan) if args.baseline else None
    report_path = Path(args.plan).parent / POLICY_REPORT
    policy = json.loads(report_path.read_text()) if report_path.is_file() else None
    try:
        approvals = [parse_approver(text) for text in args.approver or []]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    calendar, window, time_zone = ChangeCalendar(), Window(), "UTC"
    if plan["stack"] in project.stack_names():
        estate = _stack_estate(project, plan["stack"])
        calendar, window, time_zone = estate.change_calendar, estate.window_for(min(t.tier for t in estate.tenants)), estate.time_zone
    moment = datetime.fromisoformat(args.at) if args.at else datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    risk = diff.risk if diff and diff.risk else Risk.LOW
    decision = decide(moment, risk, calendar, window, time_zone, args.emergency)
    cost = estimate(plan, load_prices(Path(args.prices) if args.prices else None)).to_dict()
    drift = _read_drift_report(args.drift) if args.drift else None
    summary = write_bundle(Path(args.out), plan, diff, policy, decision, args.author, approvals, project.root, moment, cost,
                           drift)
    print(f"evidence for {plan['stack']}: risk {summary['risk']}, "
          f"{'change allowed' if decision.allowed else 'change REFUSED by the calendar'}, "
          f"policy {'passed' if policy and policy['passed'] else 'failed or not run'}, "
          f"approvals {'complete' if summary['approvals']['complete'] else 'INCOMPLETE'}; wrote {args.out}")
    return EXIT_OK


def cmd_cost(args: argparse.Namespace) -> int:
    from odoo_platform.governance.cost import estimate, load_prices, to_svg, to_text

    report = estimate(_read_plan(args.plan, "--plan"), load_prices(Path(args.prices) if args.prices else None)).to_dict()
    if args.svg:
        Path(args.svg).write_text(to_svg(report))
    print(json.dumps(report, indent=2) if args.format == "json" else to_text(report))
    return EXIT_OK


def cmd_drift(args: argparse.Namespace) -> int:
    from odoo_platform.governance.drift import detect_drift, read_export, to_text

    try:
        text = Path(args.state).read_text()
    except OSError as exc:
        raise UsageError(f"--state: cannot read {args.state} ({exc.strerror})") from None
    report = detect_drift(read_export(text, args.state), _read_plan(args.plan, "--plan"))
    document = json.dumps(report.to_dict(), indent=2) + "\n"
    if args.out:
        _write_atomically(Path(args.out), document)
    print(document if args.format == "json" else to_text(report), end="" if args.format == "json" else "\n")
    return EXIT_DRIFT if report.blocking else EXIT_OK


def _write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(content)
    temporary.replace(path)


def cmd_gitops(args: argparse.Namespace) -> int:
    import tempfile

    import yaml

    from odoo_platform.delivery.gitops import operator_objects
    from odoo_platform.offline.plan import replace_dir

    project = find_project(Path.cwd())
    stacks = args.stack or project.stack_names()
    documents = {stack: operator_objects(_stack_estate(project, stack), stack, project.name) for stack in stacks}
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    for stack, objects in documents.items():
        (staging / f"{stack}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    replace_dir(staging, out)
    print(f"wrote Pulumi Kubernetes Operator objects for {', '.join(stacks)} to {out}")
    return EXIT_OK


def cmd_fleet(args: argparse.Namespace) -> int:
    from odoo_platform.fleet import automation_workspace, run_fleet, shard_stacks

    project = find_project(Path.cwd())
    _stack_estate(project, args.stack)  # a bad stack or config fails here, before any cloud call
    config = read_stack_config(project, project.stack_file(args.stack))
    open_stack = automation_workspace(project.root)
    packs = [str(path) for path in _pack_dirs(project, None)]
    stages = shard_stacks(args.stack, config)
    print(f"fleet {args.operation} of {args.stack}: " + " -> ".join("[" + ", ".join(wave) + "]" for wave in stages))
    result = run_fleet(args.stack, config, args.operation, open_stack, packs, args.concurrency,
                       on_result=lambda r: print(f"  wave {r.wave}  {'ok    ' if r.ok else 'FAILED'}  {r.stack}: {r.summary}"))
    if result.skipped:
        print(f"stopped: {len(result.skipped)} stack(s) of later rings not run: {', '.join(result.skipped)}")
    return EXIT_OK if result.ok else EXIT_POLICY_VIOLATION


def cmd_rules(args: argparse.Namespace) -> int:
    from odoo_platform.policy.rules import rules_table

    print(rules_table(), end="")
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
    plan.add_argument("--project", help="directory of the Pulumi project (default: found from the current directory)")
    plan.add_argument("--sharded", action="store_true",
                      help="plan the foundation and shard stacks (in parallel) and merge them into one plan")
    plan.add_argument("--jobs", type=int, help="parallel processes for --sharded (default: CPU count)")
    plan.add_argument("--out", help="output directory (default out/<stack>/)")
    plan.add_argument("--format", choices=("text", "json"), default="text", help="what to print (default text)")
    plan.add_argument("--no-policy", action="store_true", help="do not run the policy packs")
    _policy_arguments(plan)
    plan.set_defaults(handler=cmd_plan)
    policy = commands.add_parser("policy", help="run the CrossGuard packs over a plan, as pulumi preview --policy-pack does")
    policy.add_argument("--plan", required=True, help="a plan.json written by 'odoo-platform plan'")
    _policy_arguments(policy)
    policy.set_defaults(handler=cmd_policy)
    promote = commands.add_parser("promote", help="move an image digest to the next release ring of a stack")
    promote.add_argument("--stack", required=True)
    promote.add_argument("--ring", required=True)
    promote.add_argument("--image", required=True, help="repo@sha256:<digest>")
    promote.set_defaults(handler=cmd_promote)
    diff = commands.add_parser("diff", help="what changes between two plans, with a risk class per change")
    diff.add_argument("before", metavar="BEFORE", help="plan.json of the running estate")
    diff.add_argument("after", metavar="AFTER", help="plan.json of the proposed change")
    diff.add_argument("--format", choices=("text", "json", "md"), default="text")
    diff.set_defaults(handler=cmd_diff)
    freeze = commands.add_parser("freeze", help="the change calendar")
    freeze_commands = freeze.add_subparsers(dest="freeze_command", required=True, metavar="COMMAND")
    check = freeze_commands.add_parser("check", help="may a change of this risk happen at this time? (exit 4 if not)")
    check.add_argument("--stack", help="use this stack's calendar, maintenance window and time zone (default: the default calendar, UTC)")
    check.add_argument("--at", help="ISO 8601 time (default now; without an offset, in the estate's time zone)")
    check.add_argument("--risk", choices=("low", "medium", "high", "critical"), default="high")
    check.add_argument("--tier", type=int, choices=(1, 2, 3), default=1, help="whose maintenance window applies (default 1)")
    check.add_argument("--emergency", metavar="APPROVAL-REF", help="approved emergency change: allowed and recorded as such")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(handler=cmd_freeze_check)
    evidence = commands.add_parser("evidence", help="write the audit evidence bundle of a change")
    evidence.add_argument("--plan", required=True, help="plan.json of the change (its policy-report.json is included)")
    evidence.add_argument("--baseline", help="plan.json of the running estate, for the diff and risk class")
    evidence.add_argument("--out", required=True, help="bundle directory (written atomically)")
    evidence.add_argument("--author", required=True, help="who made the change")
    evidence.add_argument("--approver", action="append", metavar="NAME:ROLE", help="an approval (repeatable)")
    evidence.add_argument("--at", help="ISO 8601 time of the change (default now)")
    evidence.add_argument("--emergency", metavar="APPROVAL-REF", help="approved emergency change")
    evidence.add_argument("--prices", help="price table YAML for the cost section (default: the shipped table)")
    evidence.add_argument("--drift", help="the latest drift report (odoo-platform drift --out FILE)")
    evidence.set_defaults(handler=cmd_evidence)
    cost = commands.add_parser("cost", help="estimated monthly cost per tenant, tier and shared service of a plan")
    cost.add_argument("--plan", required=True, help="plan.json to estimate")
    cost.add_argument("--prices", help="price table YAML (default: the dated table shipped with odoo-platform)")
    cost.add_argument("--format", choices=("text", "json"), default="text")
    cost.add_argument("--svg", help="also write a chart of the cost per tenant to this file")
    cost.set_defaults(handler=cmd_cost)
    drift = commands.add_parser("drift", help="compare a `pulumi stack export` with the approved plan (exit 5 on blocking drift)")
    drift.add_argument("--state", required=True, help="output of `pulumi stack export` (after `pulumi refresh`)")
    drift.add_argument("--plan", required=True, help="the approved plan.json")
    drift.add_argument("--format", choices=("text", "json"), default="text")
    drift.add_argument("--out", help="also write the JSON report here (for the evidence bundle)")
    drift.set_defaults(handler=cmd_drift)
    gitops = commands.add_parser("gitops", help="write Pulumi Kubernetes Operator Stack objects that reconcile each stack")
    gitops.add_argument("--out", required=True, help="directory for <stack>.yaml files (written atomically)")
    gitops.add_argument("--stack", action="append", help="only this stack (repeatable; default every stack)")
    gitops.set_defaults(handler=cmd_gitops)
    fleet = commands.add_parser("fleet", help="pulumi preview/up of a sharded estate's stacks, ring by ring (Automation API)")
    fleet.add_argument("operation", choices=("preview", "up"))
    fleet.add_argument("--stack", required=True, help="the estate's stack (its foundation and shard stacks are derived)")
    fleet.add_argument("--concurrency", type=int, default=4, help="stacks run at the same time within a ring (default 4)")
    fleet.set_defaults(handler=cmd_fleet)
    rules = commands.add_parser("rules", help="list every policy rule (Markdown table)")
    rules.set_defaults(handler=cmd_rules)
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
