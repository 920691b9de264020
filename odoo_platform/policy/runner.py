"""Run CrossGuard packs over a plan the way the Pulumi CLI does: a pack process, gRPC.

The rules are never evaluated here: each pack is started as `python -u -m pulumi.policy`
in its directory and asked over `pulumirpc.Analyzer` (GetAnalyzerInfo, Configure,
Analyze per resource, AnalyzeStack once), so what passes here passes under the CLI. Only
the catalogue's policy names are read here, to refuse a policy config naming none of them, and
the way a violation names its container (`rule.CONTAINER_SUBJECT`), to put it in the report.
What both ways of evaluating share lives here too: levels, overrides, findings and their order
(odoo_platform.policy.inprocess evaluates the same policies in the planning process).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from odoo_platform.errors import EstateConfigError, ToolFailure
from odoo_platform.policy.rule import CONTAINER_SUBJECT, kind_of

START_TIMEOUT_S = 60
MESSAGE_LIMIT = 400 * 1024 * 1024
ANALYZE_WINDOW = 256
REQUEST_SECONDS = 120
STACK_SECONDS_PER_RESOURCE = 0.05
LEVELS = {0: "advisory", 1: "mandatory", 2: "disabled", 3: "mandatory"}
"""The level a finding is reported at (a remediate policy that reports a violation blocks like mandatory)."""
LEVEL_CODES = {"advisory": 0, "mandatory": 1, "disabled": 2, "remediate": 3}
LEVEL_NAMES = {code: name for name, code in LEVEL_CODES.items()}
STRENGTH = {"disabled": 0, "advisory": 1, "mandatory": 2, "remediate": 2}
"""How much a level stops a change: remediate still blocks a violation it cannot fix, like mandatory."""


@dataclass(frozen=True)
class Finding:
    pack: str
    policy: str
    rule: str
    level: str
    severity: str
    urn: str
    message: str
    """`[RULE] violation (fix)`, as the pack reported it."""
    kind: str = ""
    """The resource's kind (`Deployment`, `Server`, ...); empty for a finding about the whole stack."""
    namespace: str = ""
    """Its Kubernetes namespace, where it has one."""
    name: str = ""
    """Its Kubernetes name, else its Pulumi resource name."""
    container: str = ""
    """The container the violation is about, where it is about one."""
    fix: str = ""
    """What to change: the violation's own fix, named once."""

    @property
    def subject(self) -> str:
        """`Deployment odoo-acme/odoo-web [odoo]`: what the finding is about, for people."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        text = f"{self.kind} {where}".strip() or "(stack)"
        return f"{text} [{self.container}]" if self.container else text


class Findings(list):
    """The findings of a run (a list of Finding), and every rule whose level the policy config changed."""

    def __init__(self, findings: Any = (), overrides: Any = ()) -> None:
        super().__init__(findings)
        self.overrides: list[dict[str, Any]] = list(overrides)


def validate_policy_config(document: Any, source: str) -> dict[str, Any]:
    """A `--policy-pack-config` document whose every policy name and level exists, else one line saying which.

    Names are checked against the rule catalogue the packs are assembled from; the packs still
    evaluate everything in their own processes.
    """
    from odoo_platform.policy.rules import ALL_RULES

    names = {rule.name: rule.id for rule in ALL_RULES}
    ids = {rule.id: rule.name for rule in ALL_RULES}
    levels = ", ".join(LEVEL_CODES)
    if not isinstance(document, dict):
        raise EstateConfigError(f"--policy-config: {source} must hold a JSON object such as {{\"all\": \"mandatory\"}}")
    for key, value in document.items():
        if key != "all" and key not in names:
            hint = (f"{key!r} is a rule id; use its policy name {ids[key]!r}" if key in ids
                    else "use 'all' or a policy name from `odoo-platform rules`")
            raise EstateConfigError(f"--policy-config: {key!r} in {source} is not a policy ({hint})")
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"enforcementLevel"})
            if unknown:
                raise EstateConfigError(f"--policy-config: {key}.{unknown[0]} in {source} is not configurable "
                                        "(these policies take only enforcementLevel)")
            value = value.get("enforcementLevel")
        if value not in LEVEL_CODES:
            raise EstateConfigError(f"--policy-config: {key} in {source} has the level {value!r} (use one of {levels})")
    return document


class PolicyInfo(NamedTuple):
    """What GetAnalyzerInfo tells of a policy, as `analyzer_pb2.PolicyInfo` names it."""

    name: str
    description: str
    enforcementLevel: int


def overridden(pack: str, policies: Any, levels: dict[str, int]) -> list[dict[str, Any]]:
    """Rules whose level the config changed, from the pack's own level; `weakened` when it now stops less."""
    changed = []
    for policy in policies:
        before, after = LEVEL_NAMES[policy.enforcementLevel], LEVEL_NAMES[levels[policy.name]]
        if before != after:
            rule = policy.description[1:policy.description.index("]")] if policy.description.startswith("[") else ""
            changed.append({"rule": rule, "policy": policy.name, "pack": pack, "from": before, "to": after,
                            "weakened": STRENGTH[after] < STRENGTH[before]})
    return changed


def struct_of(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


ENVIRONMENT_STRING_LIMIT = 128 * 1024
"""Linux's MAX_ARG_STRLEN: no single environment entry of a new process may be longer."""


def stack_config(plan: dict[str, Any]) -> dict[str, str]:
    """The stack's config as Pulumi hands it to a program or pack: "ns:key" -> text."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in plan["config"].items()}


def pulumi_config(plan: dict[str, Any]) -> str:
    """The stack's config as the CLI hands it to a pack process: `PULUMI_CONFIG`."""
    config = json.dumps(stack_config(plan))
    if len("PULUMI_CONFIG=") + len(config.encode()) >= ENVIRONMENT_STRING_LIMIT:
        # The Pulumi CLI hands a stack's config to policy packs the same way and fails the same way.
        raise ToolFailure(
            f"the stack config is {len(config) // 1024} KiB: policy packs receive it in one environment variable, "
            "which Linux limits to 128 KiB (move the tenants into a tenant catalogue: odoo-platform:tenantCatalogue, "
            "one file per tenant, see README 'The tenant catalogue')"
        )
    return config


class _PackProcess:
    def __init__(self, pack_dir: Path, plan: dict[str, Any]) -> None:
        env = os.environ | {
            "PULUMI_PROJECT": plan["project"],
            "PULUMI_STACK": plan["stack"],
            "PULUMI_ORGANIZATION": "organization",
            "PULUMI_DRY_RUN": "true",
            "PULUMI_CONFIG": pulumi_config(plan),
            "PYTHONUNBUFFERED": "1",
        }
        pack_dir = pack_dir.resolve()
        self.name = pack_dir.name
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(pack_dir)],
            cwd=pack_dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.stderr: list[str] = []
        lines: queue.Queue[str] = queue.Queue()
        # Both pipes must keep draining or a chatty pack blocks.
        threading.Thread(target=self._drain, args=(self.process.stdout, lines.put), daemon=True).start()
        stderr_done = threading.Thread(target=self._drain, args=(self.process.stderr, self.stderr.append), daemon=True)
        stderr_done.start()
        try:
            first = lines.get(timeout=START_TIMEOUT_S)
            self.port = int(first.strip())
        except (queue.Empty, ValueError):
            self.stop()
            stderr_done.join(timeout=5)
            detail = " ".join(line.strip() for line in self.stderr[-3:]) or "no output"
            raise ToolFailure(f"policy pack {self.name} did not start ({detail})") from None

    @staticmethod
    def _drain(stream, sink) -> None:
        for line in stream:
            sink(line)
        sink("")  # end of stream: a pack that exits before listening is reported at once

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def enforcement_levels(policies: Any, overrides: dict[str, Any]) -> dict[str, int]:
    """Each policy's level as the CLI reconciles it: the pack's own, then `all`, then per policy.

    `overrides` has the shape of `pulumi preview --policy-pack-config`: {"all": "mandatory"},
    {"<policy>": "advisory"} or {"<policy>": {"enforcementLevel": "disabled"}}.
    """
    levels = {}
    for policy in policies:
        level = policy.enforcementLevel
        for key in ("all", policy.name):
            value = overrides.get(key)
            if isinstance(value, dict):
                value = value.get("enforcementLevel")
            if value is not None:
                level = LEVEL_CODES[value]
        levels[policy.name] = level
    return levels


def run_pack(pack_dir: Path, plan: dict[str, Any], overrides: dict[str, Any] | None = None) -> Findings:
    # Encoded once per pack, for Analyze and AnalyzeStack alike. Not shared between packs: they
    # run in parallel threads, and protobuf messages are not safe to serialize concurrently.
    properties = {r["urn"]: struct_of(r["inputs"]) for r in plan["resources"]}
    pack = _PackProcess(pack_dir, plan)
    try:
        options = [("grpc.max_receive_message_length", MESSAGE_LIMIT), ("grpc.max_send_message_length", MESSAGE_LIMIT)]
        with grpc.insecure_channel(f"127.0.0.1:{pack.port}", options=options) as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            levels = enforcement_levels(info.policies, overrides or {})
            stub.Configure(
                analyzer_pb2.ConfigureAnalyzerRequest(
                    policyConfig={name: analyzer_pb2.PolicyConfig(enforcementLevel=level) for name, level in levels.items()}
                ),
                timeout=30,
            )
            custom = [r for r in plan["resources"] if not r["component"]]
            diagnostics: list[tuple[str, Any]] = []
            # A window of requests in flight: each request's deadline then measures the pack's work on
            # that resource, not the queue of every resource before it.
            for start in range(0, len(custom), ANALYZE_WINDOW):
                futures = [
                    (r["urn"], stub.Analyze.future(
                        analyzer_pb2.AnalyzeRequest(
                            type=r["type"], urn=r["urn"], name=r["name"], properties=properties[r["urn"]],
                            options=analyzer_pb2.AnalyzerResourceOptions(protect=r["protect"]),
                        ),
                        timeout=REQUEST_SECONDS,
                    ))
                    for r in custom[start:start + ANALYZE_WINDOW]
                ]
                for urn, future in futures:
                    diagnostics.extend((urn, d) for d in future.result().diagnostics)
            stack = stub.AnalyzeStack(
                analyzer_pb2.AnalyzeStackRequest(
                    resources=[
                        analyzer_pb2.AnalyzerResource(
                            type=r["type"], urn=r["urn"], name=r["name"], properties=properties[r["urn"]],
                            parent=r["parent"] or "", dependencies=r["dependsOn"],
                            options=analyzer_pb2.AnalyzerResourceOptions(protect=r["protect"]),
                        )
                        # Like the engine: every resource of the stack, components included (rules
                        # reach a resource's parent through them).
                        for r in plan["resources"]
                    ]
                ),
                # The pack deserializes every resource once per stack rule.
                timeout=REQUEST_SECONDS + STACK_SECONDS_PER_RESOURCE * len(plan["resources"]),
            )
            diagnostics.extend(("", d) for d in stack.diagnostics)
    except grpc.RpcError as exc:
        raise ToolFailure(f"policy pack {pack.name} failed: {exc.code().name}: {exc.details()}") from None
    finally:
        pack.stop()
    resources = {r["urn"]: r for r in plan["resources"]}
    return canonical(
        (finding(pack.name, d.policyName, d.enforcementLevel, _severity(d.severity), d.urn or urn, d.message, resources)
         for urn, d in diagnostics),
        overridden(pack.name, info.policies, levels),
    )


def split_fix(text: str) -> tuple[str, str]:
    """"violation (fix)" -> ("violation", "fix"): the packs end every violation with its one fix."""
    if not text.endswith(")"):
        return text, ""
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if depth == 0:
            return text[:index].rstrip(), text[index + 1:-1].strip()
    return text, ""


def _severity(code: int) -> str:
    return code and analyzer_pb2.PolicySeverity.Name(code).removeprefix("POLICY_SEVERITY_").lower() or ""  # type: ignore[arg-type]


def finding(pack: str, policy: str, level: int, severity: str, urn: str, text: str,
            resources: dict[str, dict[str, Any]]) -> Finding:
    """A finding from what a pack reports: `text` is the diagnostic's message (the policy's description,
    then the violation on the next line), `level` its enforcement level code, `urn` whom it is about."""
    message = text.split("\n", 1)[-1].strip()
    rule = message[1:message.index("]")] if message.startswith("[") else ""
    violation, fix = split_fix(message.removeprefix(f"[{rule}]").strip())
    resource = resources.get(urn)
    kind = namespace = name = ""
    if resource:
        inputs = resource.get("inputs") or {}
        metadata = inputs.get("metadata") if resource["type"].startswith("kubernetes:") else None
        kind = kind_of(resource["type"])
        namespace = str((metadata or {}).get("namespace") or "")
        name = str((metadata or {}).get("name") or resource["name"])
    container = CONTAINER_SUBJECT.match(violation)
    return Finding(
        pack=pack, policy=policy, rule=rule, level=LEVELS.get(level, "advisory"), severity=severity, urn=urn,
        message=message, kind=kind, namespace=namespace, name=name,
        container=container.group(1) if container else "", fix=fix and fix[0].upper() + fix[1:].removesuffix(".") + ".",
    )


def run_packs(pack_dirs: list[Path], plan: dict[str, Any], overrides: dict[str, Any] | None = None) -> Findings:
    """Every pack over the plan; the packs run side by side, each in its own process, as under the CLI."""
    with ThreadPoolExecutor(max_workers=len(pack_dirs) or 1) as pool:
        results = list(pool.map(lambda pack_dir: run_pack(pack_dir, plan, overrides), pack_dirs))
    return canonical((f for findings in results for f in findings), (o for findings in results for o in findings.overrides))


def canonical(findings: Iterable[Finding], overrides: Iterable[dict[str, Any]]) -> Findings:
    """Findings in the one order both ways of evaluating report them: by pack, rule, policy, resource, then
    message (level and severity last, so the order is total), and overrides by pack, rule and policy."""
    return Findings(
        sorted(findings, key=lambda f: (f.pack, f.rule, f.policy, f.urn, f.message, f.level, f.severity)),
        sorted(overrides, key=lambda o: (o["pack"], o["rule"], o["policy"])),
    )


def report(findings: list[Finding], plan: dict[str, Any], packs: list[str]) -> dict[str, Any]:
    """The policy report; `overrides` lists every rule the policy config moved from its pack's level
    (a weakened rule's findings may be missing or advisory, so the evidence must show why)."""
    mandatory = sum(1 for f in findings if f.level == "mandatory")
    return {
        "stack": plan["stack"],
        "environment": plan["config"].get(f"{plan['project']}:environment"),
        "packs": packs,
        "passed": mandatory == 0,
        "mandatoryViolations": mandatory,
        "advisoryViolations": sum(1 for f in findings if f.level == "advisory"),
        "findings": [asdict(f) for f in findings],
        "overrides": findings.overrides if isinstance(findings, Findings) else [],
    }


def table(findings: list[Finding]) -> str:
    weakened = [o for o in findings.overrides if o["weakened"]] if isinstance(findings, Findings) else []
    notes = "".join(f"\npolicy config weakens {o['rule']} ({o['policy']}): {o['from']} -> {o['to']}" for o in weakened)
    if not findings:
        return "policy: no violations" + notes
    ordered = sorted(findings, key=lambda f: (f.level != "mandatory", f.rule, f.urn, f.container))
    rows = [("RULE", "LEVEL", "RESOURCE", "MESSAGE")] + [
        (f.rule, f.level, f.subject, f.message.removeprefix(f"[{f.rule}] ")) for f in ordered
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows) + notes
