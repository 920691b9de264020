"""Benchmarks of the offline plan, in ratios against a bare-SDK baseline measured in the same run.

    make bench                                  # 10, 100, 1,000 and 2,000 tenants (long)
    .venv/bin/python bench/run.py --tenants 10 100
    .venv/bin/python bench/run.py --tenants 2000 --parts inprocess sharded   # some parts, others kept

For each size, a generated hybrid estate (staging, Azure; one tenant in fifty dedicated) whose
tenants live in a tenant catalogue, and each part in a fresh process: the cold plan in one
process (and its peak memory); the bare-SDK baseline, which registers the same number and
kinds of resources with the bare Pulumi SDK under the same mocks; the five policy packs over
that plan in process and over gRPC (and whether both found the same); the sharded plan into
an empty plan cache, then the re-plan after one tenant's edit (which stacks were re-planned,
and up to 100 tenants whether the result is byte-identical to a cold plan), with the peak
memory of the parent and of the largest worker. Results go to bench/results/ (JSON, a
Markdown table, a PNG chart) and the README's figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from odoo_platform.config import parse_estate  # noqa: E402
from odoo_platform.offline.cache import PlanStore  # noqa: E402
from odoo_platform.offline.engine import run_program  # noqa: E402
from odoo_platform.offline.plan import build_plan  # noqa: E402
from odoo_platform.offline.sharded import plan_sharded  # noqa: E402
from odoo_platform.offline.stackfiles import Project, StackConfig, load_project  # noqa: E402
from odoo_platform.policy.inprocess import evaluate_packs  # noqa: E402
from odoo_platform.policy.runner import run_packs  # noqa: E402
from odoo_platform.sharding import first_fit_shards  # noqa: E402
from odoo_platform.topology import first_fit_servers  # noqa: E402

RESULTS = ROOT / "bench" / "results"
RINGS = ("canary", "early", "broad")
REGION = "westeurope"
TENANTS_PER_SHARD = 50
CHECKED_UP_TO = 100
"""Up to this size the warm re-plan is also compared with a third, cold plan (beyond, that would double the run;
the tests prove the equality for a set of edits)."""
EDITED = "t0001"
"""The tenant the warm re-plan edits: a shared tenant of ring early, shard 1."""


def estate_config(tenants: int, directory: Path | None = None) -> StackConfig:
    """A hybrid staging estate on Azure (one tenant in fifty dedicated) whose tenants live in a
    tenant catalogue, one file each, so its config stays a few KiB at any size."""
    members = [
        {"name": f"t{i:04d}", "tier": 1 + i % 3, "users": 5 + i % 20, "hostname": f"t{i:04d}.erp.example.com",
         "ring": RINGS[0] if i % 10 == 0 else RINGS[1] if i % 10 < 4 else RINGS[2],
         "isolation": "dedicated" if i % 50 == 7 else "shared"}
        for i in range(tenants)
    ]
    document = {
        "cloud": "azure", "region": REGION, "environment": "staging", "tenancy": "hybrid",
        "image": "registry.example.com/odoo/odoo@sha256:" + "3f" * 32,
        "imagePolicy": {"signingKey": "azurekms://kv-odoo-signing.vault.azure.net/cosign"},
        "kubernetes": {"operationsIdentity": "5b0e2c4d-1a3f-4e6b-9c8d-7f2a1b3c4d5e"},  # Azure archive uploads need it
        "postgres": {"maxConnections": 2000, "reservedConnections": 50},
        "sharding": {"maxTenantsPerShard": TENANTS_PER_SHARD},
    }
    # Tenants name their server and shard, as a team's files do (placements are never recomputed).
    model = parse_estate(document | {"tenants": members})
    servers, shards = first_fit_servers(model), first_fit_shards(model)
    catalogue = directory or Path(tempfile.mkdtemp(prefix="odoo-bench-")) / "tenants"
    catalogue.mkdir(parents=True, exist_ok=True)
    for member in members:
        member["shard"] = shards[member["name"]]
        if member["name"] in servers:
            member["server"] = servers[member["name"]]
        fields = {key: value for key, value in member.items() if key != "name"}
        (catalogue / f"{member['name']}.yaml").write_text(json.dumps(fields) + "\n")  # JSON is YAML
    document["tenantCatalogue"] = str(catalogue)
    return StackConfig(values={f"odoo-platform:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in document.items()})


def edit_one_tenant(config: StackConfig) -> None:
    """A one-tenant change, as a team makes it: a new hostname for one tenant, in its file."""
    path = Path(config.values["odoo-platform:tenantCatalogue"]) / f"{EDITED}.yaml"
    fields = json.loads(path.read_text())
    path.write_text(json.dumps(fields | {"hostname": f"{EDITED}-new.erp.example.com"}) + "\n")


def _peak_self() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _measured(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


def _warm_up() -> float:
    """Imports (the cloud SDKs load their modules lazily, seconds of it) are a fixed cost paid once
    per process: a one-tenant plan pays it first, so the measured plan compares registrations."""
    warmup = estate_config(1)
    return _measured(lambda: run_program(load_project(ROOT), "warmup", warmup, REGION))[1]


def _single(tenants: int) -> dict[str, Any]:
    """The cold single-process plan of the whole estate."""
    warmup_seconds = _warm_up()
    config = estate_config(tenants)
    plan, seconds = _measured(lambda: build_plan(run_program(load_project(ROOT), "bench", config, REGION), config))
    plan_path = Path(tempfile.mkdtemp(prefix="odoo-bench-")) / "plan.json"
    plan_path.write_text(json.dumps(plan))
    return {"warmupSeconds": warmup_seconds, "planSeconds": seconds, "peakBytes": _peak_self(),
            "resources": len(plan["resources"]), "configBytes": len(json.dumps(config.values)), "planPath": str(plan_path)}


def _policy_grpc(plan_path: str) -> dict[str, Any]:
    """The five packs over the plan as the Pulumi CLI runs them: a process each, over gRPC."""
    plan = json.loads(Path(plan_path).read_text())
    findings, seconds = _measured(lambda: run_packs(_packs(), plan))
    return {"seconds": seconds, "findings": len(findings), "digest": _digest(findings)}


def _policy_in_process(plan_path: str) -> dict[str, Any]:
    """The same packs' policies evaluated in this process (`odoo-platform plan`'s default)."""
    plan = json.loads(Path(plan_path).read_text())
    findings, seconds = _measured(lambda: evaluate_packs([p.name for p in _packs()], plan))
    return {"seconds": seconds, "findings": len(findings), "digest": _digest(findings), "peakBytes": _peak_self()}


def _digest(findings: list[Any]) -> str:
    """What both paths must agree on: every finding, whatever order it came in."""
    return hashlib.sha256(json.dumps(sorted(json.dumps(asdict(f), sort_keys=True) for f in findings)).encode()).hexdigest()


def _sharded(tenants: int) -> dict[str, Any]:
    """A cold sharded plan into an empty plan cache, then the re-plan after one tenant's edit.

    Peak memory per process: this process is the parent (it merges); the workers are its
    children, of which the kernel reports the largest peak.
    """
    config = estate_config(tenants)
    store = PlanStore(Path(tempfile.mkdtemp(prefix="odoo-bench-cache-")))
    jobs = os.cpu_count() or 1
    cold, cold_seconds = _measured(lambda: plan_sharded(ROOT, "bench", config, REGION, jobs, store))
    cold_bytes = json.dumps(cold.merged, sort_keys=True).encode()
    stacks = len(cold.stacks)
    del cold
    edit_one_tenant(config)
    warm, warm_seconds = _measured(lambda: plan_sharded(ROOT, "bench", config, REGION, jobs, store))
    identical = None
    if tenants <= CHECKED_UP_TO:
        # The re-plan's merged plan against a cold plan of the edited estate: they must be byte-identical.
        check = plan_sharded(ROOT, "bench", config, REGION, jobs)
        identical = json.dumps(warm.merged, sort_keys=True) == json.dumps(check.merged, sort_keys=True)
    return {"coldSeconds": cold_seconds, "warmSeconds": warm_seconds, "stacks": stacks, "replanned": warm.planned,
            "resources": len(warm.merged["resources"]), "identicalToCold": identical,
            "changed": cold_bytes != json.dumps(warm.merged, sort_keys=True).encode(),
            "parentPeakBytes": _peak_self(),
            "workerPeakBytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}


def _packs() -> list[Path]:
    return sorted(p for p in (ROOT / "policypacks").iterdir() if (p / "PulumiPolicy.yaml").is_file())

def _baseline(plan_path: str) -> dict[str, Any]:
    project = Project(root=ROOT, name="odoo-platform", main=ROOT / "bench" / "baseline_program.py",
                      stack_config_dir=ROOT / "stacks")
    plan = json.loads(Path(plan_path).read_text())
    _warm_baseline(project, plan)
    registrations = Path(tempfile.mkdtemp()) / "registrations.json"
    registrations.write_text(json.dumps([{k: r[k] for k in ("type", "name", "inputs", "component")}
                                         for r in plan["resources"]]))
    os.environ["ODOO_PLATFORM_BASELINE"] = str(registrations)
    recording, seconds = _measured(lambda: run_program(project, "baseline", StackConfig(values={}), REGION))
    return {"seconds": seconds, "peakBytes": _peak_self(), "resources": len(recording.registrations)}


def _warm_baseline(project: Project, plan: dict[str, Any]) -> None:
    """The baseline's warm-up, like the plan's: one registration of each kind."""
    kinds = {r["type"]: {k: r[k] for k in ("type", "name", "inputs", "component")} for r in plan["resources"]}
    warmup = Path(tempfile.mkdtemp()) / "warmup.json"
    warmup.write_text(json.dumps(list(kinds.values())))
    os.environ["ODOO_PLATFORM_BASELINE"] = str(warmup)
    run_program(project, "warmup", StackConfig(values={}), REGION)


def in_fresh_process(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Each measurement in its own process: no warm caches, and its own peak memory."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of log(time) against log(tenants): the scaling exponent."""
    xs, ys = [math.log(x) for x, _ in points], [math.log(y) for _, y in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
PARTS = ("single", "baseline", "inprocess", "grpc", "sharded")


def measure(sizes: list[int], parts: tuple[str, ...], rows: dict[int, dict[str, Any]]) -> None:
    """Each part of each size in a fresh process; `rows` (by tenants) is updated and saved after each part,
    so a long run that stops keeps what it measured and can be resumed with --parts."""
    for tenants in sizes:
        row = rows.setdefault(tenants, {"tenants": tenants})
        if "single" in parts:
            print(f"{tenants} tenants: cold single-process plan ...", flush=True)
            single = in_fresh_process(_single, tenants)
            row.update(resources=single["resources"], configBytes=single["configBytes"],
                       warmupSeconds=round(single["warmupSeconds"], 3), planSeconds=round(single["planSeconds"], 3),
                       planPeakMiB=round(single["peakBytes"] / 2**20, 1), planPath=single["planPath"])
            _save(rows)
        if "baseline" in parts:
            print(f"{tenants} tenants: bare-SDK baseline of {row['resources']} resources ...", flush=True)
            baseline = in_fresh_process(_baseline, row["planPath"])
            row.update(baselineSeconds=round(baseline["seconds"], 3), baselinePeakMiB=round(baseline["peakBytes"] / 2**20, 1))
            _save(rows)
        if "inprocess" in parts:
            print(f"{tenants} tenants: policy in process ...", flush=True)
            local = in_fresh_process(_policy_in_process, row["planPath"])
            row.update(policyInProcessSeconds=round(local["seconds"], 3), policyFindings=local["findings"],
                       policyInProcessDigest=local["digest"])
            _save(rows)
        if "grpc" in parts:
            print(f"{tenants} tenants: policy over gRPC ...", flush=True)
            grpc = in_fresh_process(_policy_grpc, row["planPath"])
            row.update(policyGrpcSeconds=round(grpc["seconds"], 3), policyGrpcDigest=grpc["digest"])
            _save(rows)
        if "sharded" in parts:
            print(f"{tenants} tenants: sharded plan, cold, then after one tenant's edit ...", flush=True)
            sharded = in_fresh_process(_sharded, tenants)
            row.update(shardedColdSeconds=round(sharded["coldSeconds"], 3), shardedStacks=sharded["stacks"],
                       warmReplanSeconds=round(sharded["warmSeconds"], 3), replannedStacks=sharded["replanned"],
                       warmIdenticalToCold=sharded["identicalToCold"], warmPlanChanged=sharded["changed"],
                       shardedParentPeakMiB=round(sharded["parentPeakBytes"] / 2**20, 1),
                       shardedWorkerPeakMiB=round(sharded["workerPeakBytes"] / 2**20, 1))
            _save(rows)
        print(json.dumps(row), flush=True)


def _save(rows: dict[int, dict[str, Any]]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(_result(rows), indent=2) + "\n")


def _result(rows: dict[int, dict[str, Any]]) -> dict[str, Any]:
    ordered = [rows[n] for n in sorted(rows)]
    timed = [(r["tenants"], r["planSeconds"]) for r in ordered if "planSeconds" in r]
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "rows": ordered,
        "scalingExponent": round(slope(timed), 3) if len(timed) > 1 else None,
    }


def _cell(row: dict[str, Any], key: str, text: Callable[[Any], str]) -> str:
    return text(row[key]) if row.get(key) is not None else "-"


def _ratio(row: dict[str, Any], numerator: str, denominator: str) -> str:
    if row.get(numerator) is None or not row.get(denominator):
        return "-"
    return f"{row[numerator] / row[denominator]:.2f}x"


def table(result: dict[str, Any]) -> str:
    """Every measurement of every size; `-` where a part was not measured."""
    lines = [f"Benchmark of {result['date']} on {result['machine']['cpus']} CPUs, Python {result['machine']['python']} "
             f"({result['machine']['platform']})", "",
             "| tenants | resources | config B | cold plan s | bare SDK s | plan / SDK | plan peak MiB | "
             "policy in process s | policy gRPC s | gRPC / in process | sharded cold s (stacks) | sharded / SDK | "
             "warm re-plan s (re-planned) | warm / cold | sharded peak MiB (parent / worker) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        seconds = lambda value: f"{value:.1f}"  # noqa: E731
        sharded = f"{r['shardedColdSeconds']:.1f} ({r['shardedStacks']})" if "shardedColdSeconds" in r else "-"
        warm = f"{r['warmReplanSeconds']:.1f} ({len(r['replannedStacks'])})" if "warmReplanSeconds" in r else "-"
        peaks = (f"{r['shardedParentPeakMiB']:.0f} / {r['shardedWorkerPeakMiB']:.0f}"
                 if "shardedParentPeakMiB" in r else "-")
        lines.append(" | ".join([
            f"| {r['tenants']}", _cell(r, "resources", str), _cell(r, "configBytes", str),
            _cell(r, "planSeconds", seconds), _cell(r, "baselineSeconds", seconds),
            _ratio(r, "planSeconds", "baselineSeconds"), _cell(r, "planPeakMiB", lambda v: f"{v:.0f}"),
            _cell(r, "policyInProcessSeconds", seconds), _cell(r, "policyGrpcSeconds", seconds),
            _ratio(r, "policyGrpcSeconds", "policyInProcessSeconds"), sharded,
            _ratio(r, "shardedColdSeconds", "baselineSeconds"), warm,
            _ratio(r, "warmReplanSeconds", "shardedColdSeconds"), peaks]) + " |")
    lines += ["", f"Scaling exponent (log-log slope of cold plan time against tenants): {result['scalingExponent']}", ""]
    for r in result["rows"]:
        notes = []
        if r.get("policyInProcessDigest") and r.get("policyGrpcDigest"):
            agree = r["policyInProcessDigest"] == r["policyGrpcDigest"]
            notes.append(f"policy paths {'agree' if agree else 'DISAGREE'} ({r.get('policyFindings', 0)} findings)")
        if "replannedStacks" in r:
            notes.append(f"re-planned after the edit: {', '.join(r['replannedStacks'])}")
        if r.get("warmIdenticalToCold") is not None:
            notes.append(f"warm plan {'byte-identical to' if r['warmIdenticalToCold'] else 'DIFFERS from'} a cold one")
        if r.get("note"):
            notes.append(r["note"])
        if notes:
            lines.append(f"- {r['tenants']} tenants: " + "; ".join(notes))
    return "\n".join(lines) + "\n"


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    figure, axes = plt.subplots(figsize=(7.5, 4.8))
    for key, label in (("planSeconds", "cold plan (one process)"), ("baselineSeconds", "bare-SDK baseline"),
                       ("shardedColdSeconds", "sharded plan, cold"), ("warmReplanSeconds", "re-plan after one edit"),
                       ("policyGrpcSeconds", "policy over gRPC"), ("policyInProcessSeconds", "policy in process")):
        points = [(r["tenants"], r[key]) for r in rows if r.get(key) is not None]
        if points:
            axes.plot(*zip(*points, strict=True), marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("tenants")
    axes.set_ylabel("seconds")
    axes.set_title(f"odoo-platform offline plan, {result['machine']['cpus']} CPUs "
                   f"(exponent {result['scalingExponent']})")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[10, 100, 1000, 2000])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="measure only these (the others are kept from bench/results/latest.json)")
    args = parser.parse_args()
    previous = RESULTS / "latest.json"
    kept = json.loads(previous.read_text())["rows"] if set(args.parts) != set(PARTS) and previous.is_file() else []
    rows = {row["tenants"]: row for row in kept}
    measure(sorted(args.tenants), tuple(args.parts), rows)
    result = _result(rows)
    (RESULTS / "latest.md").write_text(table(result))
    chart(result, RESULTS / "latest.png")
    readme(table(result))
    print(table(result))


def readme(figures: str) -> None:
    """The README's figures are the run's: the text between its bench markers is replaced."""
    path = ROOT / "README.md"
    text = path.read_text()
    start, end = text.index(README_START), text.index(README_END)
    intro = "Latest figures (`bench/results/latest.md`, chart `bench/results/latest.png`):\n\n"
    path.write_text(text[:start + len(README_START)] + "\n" + intro + figures + "\n" + text[end:])


if __name__ == "__main__":
    main()
