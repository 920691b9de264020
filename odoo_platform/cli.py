"""`odoo-platform`: the offline plan and the governance tools, one subcommand each."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import threading
import traceback
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Sequence

from odoo_platform import progress
from odoo_platform.config import Estate
from odoo_platform.errors import (
    EXIT_APPROVALS_INCOMPLETE,
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
from odoo_platform.output import Content, Stopped, check_dir, check_file, write_dir, write_file

if TYPE_CHECKING:
    from odoo_platform.offline.cache import PlanStore

POLICY_REPORT = "policy-report.json"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away (`| head`)
# Pulumi's own rule for stack names (pulumi/pulumi sdk/go/common/tokens: stack names may only
# contain alphanumerics, hyphens, underscores or periods, at most 100 characters); `.` and `..`
# are refused too, since a stack name becomes a path (stacks/Pulumi.<stack>.yaml, out/<stack>/).
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


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
    from odoo_platform.offline.cache import plan_stack
    from odoo_platform.offline.plan import summary, write_json, write_plan

    project = load_project_dir(Path(args.project)) if args.project else find_project(Path.cwd())
    if args.config:
        config_path = Path(args.config)
    else:
        config_path = project.stack_file(args.stack)
        if not config_path.is_file():
            known = ", ".join(project.stack_names()) or "none"
            raise UsageError(f"stack {args.stack!r} does not exist (known stacks: {known}; or pass --config FILE)")
    if args.out:
        out_dir = check_dir(Path(args.out), "--out")
    else:
        (project.root / "out").mkdir(exist_ok=True)
        out_dir = check_dir(project.root / "out" / args.stack, "--stack")
    config = read_stack_config(project, config_path)
    region = config.values.get(f"{project.name}:region", "eu-central-1")
    store = _plan_store(args)
    extra: dict[str, Content] = {}
    # Progress is for a person at a terminal: JSON on stdout is for a program, which wants nothing else.
    with progress.reporting(sys.stderr, enabled=args.format != "json") as report:
        if args.sharded:
            from odoo_platform.offline.sharded import plan_sharded

            sharded = plan_sharded(project.root, args.stack, config, region, args.jobs or os.cpu_count() or 1, store)
            plan, stacks, planned = sharded.merged, list(sharded.stacks), sharded.planned
            extra = {f"stacks/{name}/plan.json": entry.copy_plan for name, entry in sharded.stacks.entries.items()}
        else:
            report.step(f"planning {args.stack}")
            plan, fresh = plan_stack(project, args.stack, config, region, store)
            stacks, planned = [args.stack], [args.stack] * fresh
        policy = None if args.no_policy else _check_policy(project, plan, args)
        if policy:
            extra[POLICY_REPORT] = json.dumps(policy[0], indent=2) + "\n"
        report.step(f"writing {out_dir}")
        write_plan(plan, out_dir, extra)
    if store is not None:
        store.prune()
    if args.format == "json":
        write_json(plan, sys.stdout)
    else:
        print(summary(plan, _summary_width()))
        if policy:
            print("\n" + policy[1])
        if args.sharded:
            print(f"\nthe estate's stacks: {', '.join(stacks)} (their plans are in {out_dir / 'stacks'})")
        names = f" ({', '.join(planned)})" if planned else ""
        reused = f"{len(stacks) - len(planned)} from the cache ({store.directory})" if store else "the cache not used"
        print(f"\n{len(stacks)} stack{'s' * (len(stacks) != 1)}: {len(planned)} planned{names}, {reused}")
        print(f"\nwrote {out_dir / 'plan.json'}, {out_dir / 'manifests.yaml'}" + (f" and {out_dir / POLICY_REPORT}" if policy else ""))
    return EXIT_POLICY_VIOLATION if policy and not policy[0]["passed"] else EXIT_OK


def _summary_width() -> int:
    """The terminal's width (100 when stdout is not a terminal), within the bounds in which the
    summary reads well: narrower, module names and hanging indents crowd out the names."""
    return max(80, min(shutil.get_terminal_size((100, 24)).columns, 100))


def _plan_store(args: argparse.Namespace) -> PlanStore | None:
    """The plan cache: --cache-dir, else $ODOO_PLATFORM_CACHE_DIR or the user's cache directory; None with --no-cache.

    A default directory that cannot be written only costs the reuse (a note on stderr); one given
    with --cache-dir is bad input.
    """
    from odoo_platform.offline.cache import PlanStore, default_dir

    if args.no_cache:
        return None
    directory = Path(args.cache_dir) if args.cache_dir else default_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        writable = os.access(directory, os.W_OK | os.X_OK)
    except OSError:
        writable = False
    if writable:
        return PlanStore(directory)
    if args.cache_dir:
        raise UsageError(f"--cache-dir: {directory} is not a writable directory (give one you can write, or --no-cache)")
    print(f"note: the plan cache {directory} is not writable; planning every stack", file=sys.stderr)
    return None


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


def _check_policy(project: Project, plan: dict, args: argparse.Namespace) -> tuple[dict, str]:
    from odoo_platform.policy.runner import report, run_packs, table

    pack_dirs = _pack_dirs(project, args.pack)
    overrides = _read_policy_config(args.policy_config)
    progress.current().step(f"running {len(pack_dirs)} policy packs: {', '.join(d.name for d in pack_dirs)}")
    if args.grpc:
        findings = run_packs(pack_dirs, plan, overrides)
    else:
        from odoo_platform.policy.inprocess import evaluate_packs
        from odoo_platform.policy.rules import PACKS

        foreign = [d.name for d in pack_dirs if d.name not in PACKS]
        if foreign:
            raise UsageError(f"--pack: {foreign[0]!r} has no rules in odoo_platform.policy.rules to evaluate in process "
                             "(run it in its own process with --grpc)")
        findings = evaluate_packs([d.name for d in pack_dirs], plan, overrides)
    return report(findings, plan, [d.name for d in pack_dirs]), table(findings)


def cmd_policy(args: argparse.Namespace) -> int:
    project = find_project(Path.cwd())
    plan_path = Path(args.plan)
    plan = _read_plan(args.plan, "--plan")
    target = check_file(plan_path.parent / POLICY_REPORT, "--plan", _is_policy_report)
    with progress.reporting(sys.stderr):
        result, printed = _check_policy(project, plan, args)
        write_file(target, json.dumps(result, indent=2) + "\n", "--plan", _is_policy_report)
    print(printed)
    print(f"\nwrote {target}")
    return EXIT_OK if result["passed"] else EXIT_POLICY_VIOLATION


def _is_policy_report(text: str) -> bool:
    return _json_with_keys(text, {"passed", "mandatoryViolations", "advisoryViolations", "findings"})


def _json_with_keys(text: str, keys: set[str]) -> bool:
    try:
        document = json.loads(text)
    except ValueError:
        return False
    return isinstance(document, dict) and keys <= document.keys()


def _policy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", action="append", metavar="NAME", help="run only this pack (repeatable; default all)")
    parser.add_argument("--policy-config", metavar="FILE", help="enforcement overrides, as pulumi --policy-pack-config")
    parser.add_argument("--grpc", action="store_true",
                        help="run each pack in its own process over the analyzer protocol, as pulumi preview --policy-pack "
                             "does (default: evaluate the same policies in this process; the report is the same)")


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
    """A plan.json as `odoo-platform plan` writes it; anything else is bad input naming `flag`."""
    fix = "plan the stack with 'odoo-platform plan' and give its plan.json"
    try:
        plan = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {path} ({exc.strerror}; {fix})") from None
    except ValueError:
        raise UsageError(f"{flag}: {path} is not JSON ({fix})") from None
    problem = _plan_problem(plan)
    if problem:
        raise UsageError(f"{flag}: {path} is not a plan.json written by 'odoo-platform plan': {problem} ({fix})")
    return plan


PLAN_RESOURCE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "urn": str, "type": str, "name": str, "parent": (str, type(None)), "inputs": dict, "protect": bool,
    "retainOnDelete": bool, "dependsOn": list, "component": bool,
}


def _plan_problem(plan: Any) -> str | None:
    """What makes a document not a plan (every field the governance tools read), or None."""
    if not isinstance(plan, dict):
        return "it is not a JSON object"
    for key, kind in (("stack", str), ("project", str), ("config", dict), ("outputs", dict), ("resources", list)):
        if not isinstance(plan.get(key), kind):
            return f"'{key}' is missing or not of type {kind.__name__}"
    for index, resource in enumerate(plan["resources"]):
        if not isinstance(resource, dict):
            return f"resources[{index}] is not an object"
        for key, kind in PLAN_RESOURCE_FIELDS.items():
            if not isinstance(resource.get(key), kind):
                return f"resources[{index}].{key} is missing or of the wrong type"
    tenants = plan["outputs"].get("tenants", {})
    if not isinstance(tenants, dict) or not all(isinstance(t, dict) for t in tenants.values()):
        return "outputs.tenants is not an object of tenants"
    return None

def _read_drift_report(path: str) -> dict:
    try:
        text = Path(path).read_text()
    except (OSError, ValueError):
        text = ""
    if not _is_drift_report(text):
        raise UsageError(f"--drift: {path} is not a report written by 'odoo-platform drift --out' (run the drift check first)")
    return json.loads(text)


def cmd_diff(args: argparse.Namespace) -> int:
    from odoo_platform.governance.diff import diff_plans, to_json, to_text

    diff = diff_plans(_read_plan(args.before, "BEFORE"), _read_plan(args.after, "AFTER"))
    print(to_json(diff) if args.format == "json" else to_text(diff, markdown=args.format == "md"), end="")
    return EXIT_OK


def cmd_freeze_check(args: argparse.Namespace) -> int:
    from odoo_platform.config import ChangeCalendar, Window
    from odoo_platform.governance.calendar import decide
    from odoo_platform.governance.diff import Risk

    calendar, window, time_zone = ChangeCalendar(), Window(), "UTC"
    if args.stack:
        estate = _stack_estate(find_project(Path.cwd()), args.stack)
        calendar, window, time_zone = estate.change_calendar, estate.window_for(args.tier), estate.time_zone
    decision = decide(_moment(args.at, time_zone), Risk[args.risk.upper()], calendar, window, time_zone, args.emergency)
    if args.format == "json":
        print(json.dumps(decision.__dict__, indent=2))
    else:
        print(("allowed: " if decision.allowed else "refused: ") + decision.reason)
    return EXIT_OK if decision.allowed else EXIT_CHANGE_REFUSED


AT_HELP = "ISO 8601 time (default now); without an offset it is in the estate's time zone (UTC without a stack)"


def _moment(text: str | None, time_zone: str) -> datetime:
    """`--at` as every command reads it: a time without an offset is in the estate's time zone."""
    from datetime import timezone
    from zoneinfo import ZoneInfo

    if not text:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at: {text!r} is not an ISO 8601 time (use e.g. 2027-01-29T14:00:00+01:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(time_zone))

def _stack_estate(project: Project, stack: str) -> Estate:
    from odoo_platform.stack_reader import estate_from_config

    stack_file = project.stack_file(stack)
    if not stack_file.is_file():
        raise UsageError(f"stack {stack!r} does not exist (known stacks: {', '.join(project.stack_names())})")
    return estate_from_config(read_stack_config(project, stack_file).values, project.stack_config_dir)


def cmd_evidence(args: argparse.Namespace) -> int:
    """Write the bundle, then gate: a failed policy, a calendar refusal or missing approvals exit non-zero."""
    from odoo_platform.config import ChangeCalendar, Window
    from odoo_platform.governance.approvals import parse_approver
    from odoo_platform.governance.calendar import decide
    from odoo_platform.governance.cost import estimate, load_prices
    from odoo_platform.governance.diff import Risk, diff_plans
    from odoo_platform.governance.evidence import write_bundle

    project = find_project(Path.cwd())
    out_dir = check_dir(Path(args.out), "--out")
    plan = _read_plan(args.plan, "--plan")
    diff = diff_plans(_read_plan(args.baseline, "--baseline"), plan) if args.baseline else None
    policy = _read_policy_report(Path(args.plan).parent / POLICY_REPORT)
    try:
        approvals = [parse_approver(text) for text in args.approver or []]
    except ValueError as exc:
        raise UsageError(f"--approver: {exc}") from None
    calendar, window, time_zone = ChangeCalendar(), Window(), "UTC"
    if plan["stack"] in project.stack_names():
        estate = _stack_estate(project, plan["stack"])
        calendar, window, time_zone = estate.change_calendar, estate.window_for(min(t.tier for t in estate.tenants)), estate.time_zone
    moment = _moment(args.at, time_zone)
    risk = diff.risk if diff and diff.risk else Risk.LOW
    decision = decide(moment, risk, calendar, window, time_zone, args.emergency)
    cost = estimate(plan, load_prices(Path(args.prices) if args.prices else None)).to_dict()
    drift = _read_drift_report(args.drift) if args.drift else None
    summary = write_bundle(out_dir, plan, diff, policy, decision, args.author, approvals, project.root, moment, cost, drift)
    complete = summary["approvals"]["complete"]
    print(f"evidence for {plan['stack']}: risk {summary['risk']}, "
          f"{'change allowed' if decision.allowed else 'change REFUSED by the calendar'}, "
          f"policy {'passed' if policy and policy['passed'] else 'failed' if policy else 'not run'}, "
          f"approvals {'complete' if complete else 'INCOMPLETE'}; wrote {out_dir}")
    if policy and not policy["passed"]:
        return EXIT_POLICY_VIOLATION
    if not decision.allowed:
        return EXIT_CHANGE_REFUSED
    return EXIT_OK if complete else EXIT_APPROVALS_INCOMPLETE


def _read_policy_report(path: Path) -> dict | None:
    """The policy report `plan`/`policy` wrote beside the plan, if any."""
    if not path.exists():
        return None
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        text = ""
    if not _is_policy_report(text):
        raise UsageError(f"--plan: {path} is not a policy report written by odoo-platform (rerun 'odoo-platform policy')")
    return json.loads(text)


def cmd_cost(args: argparse.Namespace) -> int:
    from odoo_platform.governance.cost import estimate, load_prices, to_svg, to_text

    svg = check_file(Path(args.svg), "--svg", _is_cost_chart) if args.svg else None
    report = estimate(_read_plan(args.plan, "--plan"), load_prices(Path(args.prices) if args.prices else None)).to_dict()
    if svg:
        write_file(svg, to_svg(report), "--svg", _is_cost_chart)
    print(json.dumps(report, indent=2) if args.format == "json" else to_text(report))
    return EXIT_OK


def _is_cost_chart(text: str) -> bool:
    return text.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "Monthly cost per tenant" in text


def cmd_drift(args: argparse.Namespace) -> int:
    from odoo_platform.governance.drift import detect_drift, read_export, to_text

    out = check_file(Path(args.out), "--out", _is_drift_report) if args.out else None
    try:
        text = Path(args.state).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"--state: cannot read {args.state} ({reason}; give the output of `pulumi stack export`)") from None
    report = detect_drift(read_export(text, args.state), _read_plan(args.plan, "--plan"))
    document = json.dumps(report.to_dict(), indent=2) + "\n"
    if out:
        write_file(out, document, "--out", _is_drift_report)
    print(document if args.format == "json" else to_text(report), end="" if args.format == "json" else "\n")
    return EXIT_DRIFT if report.blocking else EXIT_OK


def _is_drift_report(text: str) -> bool:
    if not _json_with_keys(text, {"passed", "blocking", "checked", "drifted", "unmanaged"}):
        return False
    document = json.loads(text)
    return isinstance(document["drifted"], list) and isinstance(document["unmanaged"], list)


def cmd_gitops(args: argparse.Namespace) -> int:
    import yaml

    from odoo_platform.delivery.gitops import operator_objects

    project = find_project(Path.cwd())
    out = check_dir(Path(args.out), "--out")
    stacks = args.stack or project.stack_names()
    documents = {stack: operator_objects(_stack_estate(project, stack), stack, project.name) for stack in stacks}
    files = {f"{stack}.yaml": yaml.safe_dump_all(objects, sort_keys=False) for stack, objects in documents.items()}
    write_dir(out, files, "gitops")
    print(f"wrote Pulumi Kubernetes Operator objects for {', '.join(stacks)} to {out}")
    return EXIT_OK


def cmd_fleet(args: argparse.Namespace) -> int:
    from odoo_platform.fleet import automation_workspace, run_fleet, shard_stacks

    project = find_project(Path.cwd())
    _stack_estate(project, args.stack)  # a bad stack or config fails here, before any cloud call
    config = read_stack_config(project, project.stack_file(args.stack))
    open_stack = automation_workspace(project.root)
    packs = [str(path) for path in _pack_dirs(project, None)]
    stages = shard_stacks(args.stack, config, project.stack_config_dir)
    print(f"fleet {args.operation} of {args.stack}: " + " -> ".join("[" + ", ".join(wave) + "]" for wave in stages))
    result = run_fleet(args.stack, config, project.stack_config_dir, args.operation, open_stack, packs, args.concurrency,
                       on_result=lambda r: print(f"  wave {r.wave}  {'ok    ' if r.ok else 'FAILED'}  {r.stack}: {r.summary}"))
    if result.skipped:
        print(f"stopped: {len(result.skipped)} stack(s) of later rings not run: {', '.join(result.skipped)}")
    return EXIT_OK if result.ok else EXIT_POLICY_VIOLATION


def cmd_rules(args: argparse.Namespace) -> int:
    from odoo_platform.policy.rules import rules_table

    print(rules_table(), end="")
    return EXIT_OK


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the flag and where help is (exit 2), as for bad config."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def stack_name(text: str) -> str:
    if not STACK_NAME.match(text) or text in (".", ".."):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a stack name (use letters, digits, '-', '_' and '.', at most 100 characters, as Pulumi does)")
    return text


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="odoo-platform",
        description="Plan and govern Odoo estates built with Pulumi, offline or for real clouds.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)
    plan = commands.add_parser("plan", help="run the Pulumi program under mocks and write plan.json and manifests.yaml")
    plan.add_argument("--stack", required=True, type=stack_name, help="stack name (stacks/Pulumi.<stack>.yaml)")
    plan.add_argument("--config", help="read this stack file instead of the stack's own")
    plan.add_argument("--project", help="directory of the Pulumi project (default: found from the current directory)")
    plan.add_argument("--sharded", action="store_true",
                      help="plan the foundation and shard stacks (in parallel) and merge them into one plan")
    plan.add_argument("--jobs", type=positive_int, help="parallel processes for --sharded (default: CPU count)")
    plan.add_argument("--out", help="output directory (default out/<stack>/): new, empty, or written by an earlier plan; "
                                    "any other directory or file is refused")
    plan.add_argument("--format", choices=("text", "json"), default="text", help="what to print (default text)")
    plan.add_argument("--no-policy", action="store_true", help="do not run the policy packs")
    cache = plan.add_mutually_exclusive_group()
    cache.add_argument("--no-cache", action="store_true", help="plan every stack; neither read nor write the plan cache")
    cache.add_argument("--cache-dir", help="the plan cache (default $ODOO_PLATFORM_CACHE_DIR, else "
                                           "${XDG_CACHE_HOME:-~/.cache}/odoo-platform/plans)")
    _policy_arguments(plan)
    plan.set_defaults(handler=cmd_plan)
    policy = commands.add_parser("policy", help="run the CrossGuard packs over a plan, as pulumi preview --policy-pack does")
    policy.add_argument("--plan", required=True, help="a plan.json written by 'odoo-platform plan'")
    _policy_arguments(policy)
    policy.set_defaults(handler=cmd_policy)
    promote = commands.add_parser("promote", help="move an image digest to the next release ring of a stack")
    promote.add_argument("--stack", required=True, type=stack_name)
    promote.add_argument("--ring", required=True)
    promote.add_argument("--image", required=True, help="repo@sha256:<digest>")
    promote.set_defaults(handler=cmd_promote)
    diff = commands.add_parser("diff", help="what changes between two plans, with a risk class per change")
    diff.add_argument("before", metavar="BEFORE", help="plan.json of the running estate")
    diff.add_argument("after", metavar="AFTER", help="plan.json of the proposed change")
    diff.add_argument("--format", choices=("text", "json", "md"), default="text")
    diff.set_defaults(handler=cmd_diff)
    freeze = commands.add_parser("freeze", help="the change calendar")
    freeze_commands = freeze.add_subparsers(dest="freeze_command", required=True, metavar="COMMAND",
                                            parser_class=OneLineParser)
    check = freeze_commands.add_parser("check", help="may a change of this risk happen at this time? (exit 4 if not)")
    check.add_argument("--stack", type=stack_name, help="use this stack's calendar, maintenance window and time zone (default: the default calendar, UTC)")
    check.add_argument("--at", help=AT_HELP)
    check.add_argument("--risk", choices=("low", "medium", "high", "critical"), default="high")
    check.add_argument("--tier", type=int, choices=(1, 2, 3), default=1, help="whose maintenance window applies (default 1)")
    check.add_argument("--emergency", metavar="APPROVAL-REF", help="approved emergency change: allowed and recorded as such")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(handler=cmd_freeze_check)
    evidence = commands.add_parser("evidence", help="write the audit evidence bundle of a change")
    evidence.add_argument("--plan", required=True, help="plan.json of the change (its policy-report.json is included)")
    evidence.add_argument("--baseline", help="plan.json of the running estate, for the diff and risk class")
    evidence.add_argument("--out", required=True, help="bundle directory (written atomically): new, empty, or an earlier "
                                                       "bundle; any other directory or file is refused")
    evidence.add_argument("--author", required=True, help="who made the change")
    evidence.add_argument("--approver", action="append", metavar="NAME:ROLE", help="an approval (repeatable)")
    evidence.add_argument("--at", help=AT_HELP)
    evidence.add_argument("--emergency", metavar="APPROVAL-REF", help="approved emergency change")
    evidence.add_argument("--prices", help="price table YAML for the cost section (default: the shipped table)")
    evidence.add_argument("--drift", help="the latest drift report (odoo-platform drift --out FILE)")
    evidence.set_defaults(handler=cmd_evidence)
    cost = commands.add_parser("cost", help="estimated monthly cost per tenant, tier and shared service of a plan")
    cost.add_argument("--plan", required=True, help="plan.json to estimate")
    cost.add_argument("--prices", help="price table YAML (default: the dated table shipped with odoo-platform)")
    cost.add_argument("--format", choices=("text", "json"), default="text")
    cost.add_argument("--svg", help="also write a chart of the cost per tenant to this file (new, or an earlier chart)")
    cost.set_defaults(handler=cmd_cost)
    drift = commands.add_parser("drift", help="compare a `pulumi stack export` with the approved plan (exit 5 on blocking drift)")
    drift.add_argument("--state", required=True, help="output of `pulumi stack export` (after `pulumi refresh`)")
    drift.add_argument("--plan", required=True, help="the approved plan.json")
    drift.add_argument("--format", choices=("text", "json"), default="text")
    drift.add_argument("--out", help="also write the JSON report here (new, or an earlier report), for the evidence bundle")
    drift.set_defaults(handler=cmd_drift)
    gitops = commands.add_parser("gitops", help="write Pulumi Kubernetes Operator Stack objects that reconcile each stack")
    gitops.add_argument("--out", required=True, help="directory for <stack>.yaml files (written atomically): new, empty, "
                                                     "or written by an earlier gitops run")
    gitops.add_argument("--stack", action="append", type=stack_name, help="only this stack (repeatable; default every stack)")
    gitops.set_defaults(handler=cmd_gitops)
    fleet = commands.add_parser("fleet", help="pulumi preview/up of a sharded estate's stacks, ring by ring (Automation API)")
    fleet.add_argument("operation", choices=("preview", "up"))
    fleet.add_argument("--stack", required=True, type=stack_name,
                       help="the estate's stack (its foundation and shard stacks are derived)")
    fleet.add_argument("--concurrency", type=positive_int, default=4, help="stacks run at the same time within a ring (default 4)")
    fleet.set_defaults(handler=cmd_fleet)
    rules = commands.add_parser("rules", help="list every policy rule (Markdown table)")
    rules.set_defaults(handler=cmd_rules)
    return parser




def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a one-line usage error
        return int(exc.code or 0)
    handler: Callable[[argparse.Namespace], int] = args.handler
    # Signal handlers can only be installed from the main thread (tests may call main() elsewhere).
    catch = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) if threading.current_thread() is threading.main_thread() else ()
    previous = {number: signal.signal(number, _stop) for number in catch}
    Stopped.received = None
    try:
        code = handler(args)
        Stopped.check()  # a stop some library swallowed on the way still ends the command as stopped
        return code
    except EstateConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ToolFailure as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_TOOL_FAILURE
    except Stopped as exc:
        # Ctrl-C, SIGTERM, SIGHUP: staging directories are removed on the way out; nothing else to say.
        return 128 + exc.signal
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`odoo-platform plan ... | head`): outputs are written; stop quietly.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, never a traceback
        if os.environ.get("ODOO_PLATFORM_DEBUG"):
            traceback.print_exc()
        print(f"error: internal failure: {type(exc).__name__}: {exc} (set ODOO_PLATFORM_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_TOOL_FAILURE
    finally:
        for number, handler_before in previous.items():
            signal.signal(number, handler_before)


def _stop(number: int, _frame: Any) -> None:
    # A stop outside a write leaves at once (os._exit), past every `finally`: clear the progress line here.
    progress.current().clear()
    Stopped.request(number)


def _silence_stdout() -> None:
    # Python flushes stdout at exit and would report the broken pipe again: point it at /dev/null.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def run() -> None:
    """The console script: main()'s code, and no second report of a closed pipe at exit."""
    code = main()
    # The work is done or abandoned: a signal while the SDKs' threads shut down changes nothing.
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = code or EXIT_BROKEN_PIPE
    if Stopped.received is not None:
        # Stopped: staging is already removed on the way out. An SDK thread interrupted mid-RPC may
        # never finish, and the interpreter would wait for it at exit: leave without waiting.
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
