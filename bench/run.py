"""Benchmarks of the offline plan, in ratios against a bare-SDK baseline measured in the same run.

    make bench                     # 10, 100 and 1,000 tenants
    .venv/bin/python bench/run.py --tenants 10 100

For each size, a generated hybrid estate (staging, Azure; one tenant in fifty dedicated) is
planned in one process, policy-checked with the four packs, and planned sharded (foundation,
then ring-aligned shards of 50 tenants in parallel processes). The baseline registers the
same number and kinds of resources with the bare Pulumi SDK under the same mocks, in a fresh
process like every measurement, so the ratios compare like with like on whatever machine
runs them. Results go to bench/results/ (JSON, a Markdown table, and a PNG chart).
"""

from __future__ import annotations

import argparse
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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from odoo_platform.config import parse_estate  # noqa: E402
from odoo_platform.errors import ToolFailure  # noqa: E402
from odoo_platform.offline.engine import run_program  # noqa: E402
from odoo_platform.offline.plan import build_plan  # noqa: E402
from odoo_platform.offline.sharded import plan_sharded  # noqa: E402
from odoo_platform.offline.stackfiles import Project, StackConfig, load_project  # noqa: E402
from odoo_platform.policy.runner import pulumi_config, run_packs  # noqa: E402
from odoo_platform.sharding import first_fit_shards  # noqa: E402
from odoo_platform.topology import first_fit_servers  # noqa: E402

RESULTS = ROOT / "bench" / "results"
RINGS = ("canary", "early", "broad")
REGION = "westeurope"
TENANTS_PER_SHARD = 50


def estate_config(tenants: int) -> StackConfig:
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
        "tenants": members,
    }
    # Tenants name their server and shard, as a team's stack file does (placements are never recomputed).
    model = parse_estate(document)
    servers, shards = first_fit_servers(model), first_fit_shards(model)
    for member in members:
        member["shard"] = shards[member["name"]]
        if member["name"] in servers:
            member["server"] = servers[member["name"]]
    return StackConfig(values={f"odoo-platform:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in document.items()})


def _measured(work: Callable[[], Any]) -> tuple[Any, float, int]:
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _plan_and_check(tenants: int) -> dict[str, Any]:
    config = estate_config(tenants)
    # Imports (the cloud SDKs load their modules lazily, seconds of it) are a fixed cost paid once
    # per process: a one-tenant plan pays it first, so the measured plan compares registrations.
    warmup = estate_config(1)
    _, warmup_seconds, _ = _measured(lambda: run_program(load_project(ROOT), "warmup", warmup, REGION))
    plan, plan_seconds, _ = _measured(lambda: build_plan(run_program(load_project(ROOT), "bench", config, REGION), config))
    packs = sorted(p for p in (ROOT / "policypacks").iterdir() if (p / "PulumiPolicy.yaml").is_file())
    checked, trimmed = _within_environment_limit(plan)
    findings, policy_seconds, peak = _measured(lambda: run_packs(packs, checked))
    plan_path = Path(tempfile.mkdtemp()) / "plan.json"
    plan_path.write_text(json.dumps(plan))
    return {"policyConfigTrimmed": trimmed, "warmupSeconds": warmup_seconds, "planSeconds": plan_seconds, "policySeconds": policy_seconds, "peakBytes": peak,
            "resources": len(plan["resources"]), "findings": len(findings), "planPath": str(plan_path)}


def _within_environment_limit(plan: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The plan as the packs can receive it.

    Pulumi passes a stack's config to policy packs in one environment variable (Linux caps it
    at 128 KiB); around 900 tenants the tenant list alone exceeds it, under the CLI as here.
    The rules do not read the tenant list, so past the limit the packs get the first ten
    tenants of it, and the result says so.
    """
    try:
        pulumi_config(plan)
        return plan, False
    except ToolFailure:
        pass
    config = dict(plan["config"]) | {"odoo-platform:tenants": plan["config"]["odoo-platform:tenants"][:10]}
    return plan | {"config": config}, True


def _baseline(plan_path: str) -> dict[str, Any]:
    project = Project(root=ROOT, name="odoo-platform", main=ROOT / "bench" / "baseline_program.py",
                      stack_config_dir=ROOT / "stacks")
    plan = json.loads(Path(plan_path).read_text())
    _warm_baseline(project, plan)
    registrations = Path(tempfile.mkdtemp()) / "registrations.json"
    registrations.write_text(json.dumps([{k: r[k] for k in ("type", "name", "inputs", "component")}
                                         for r in plan["resources"]]))
    os.environ["ODOO_PLATFORM_BASELINE"] = str(registrations)
    recording, seconds, peak = _measured(lambda: run_program(project, "baseline", StackConfig(values={}), REGION))
    return {"seconds": seconds, "peakBytes": peak, "resources": len(recording.registrations)}


def _warm_baseline(project: Project, plan: dict[str, Any]) -> None:
    """The baseline's warm-up, like the plan's: one registration of each kind."""
    kinds = {r["type"]: {k: r[k] for k in ("type", "name", "inputs", "component")} for r in plan["resources"]}
    warmup = Path(tempfile.mkdtemp()) / "warmup.json"
    warmup.write_text(json.dumps(list(kinds.values())))
    os.environ["ODOO_PLATFORM_BASELINE"] = str(warmup)
    run_program(project, "warmup", StackConfig(values={}), REGION)


def _sharded(tenants: int) -> dict[str, Any]:
    config = estate_config(tenants)
    sharded, seconds, peak = _measured(lambda: plan_sharded(ROOT, "bench", config, REGION, jobs=os.cpu_count() or 1))
    return {"seconds": seconds, "stacks": len(sharded.stacks), "resources": len(sharded.merged["resources"]),
            "parentPeakBytes": peak}


def in_fresh_process(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Each measurement in its own process: no warm caches, and its own peak memory."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of log(time) against log(tenants): the scaling exponent."""
    xs, ys = [math.log(x) for x, _ in points], [math.log(y) for _, y in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)


def measure(sizes: list[int]) -> dict[str, Any]:
    rows = []
    for tenants in sizes:
        print(f"{tenants} tenants: single-process plan and policy ...", flush=True)
        single = in_fresh_process(_plan_and_check, tenants)
        print(f"{tenants} tenants: bare-SDK baseline of {single['resources']} resources ...", flush=True)
        baseline = in_fresh_process(_baseline, single["planPath"])
        print(f"{tenants} tenants: sharded plan ...", flush=True)
        sharded = in_fresh_process(_sharded, tenants)
        rows.append({
            "tenants": tenants,
            "resources": single["resources"],
            "warmupSeconds": round(single["warmupSeconds"], 3),
            "planSeconds": round(single["planSeconds"], 3),
            "policySeconds": round(single["policySeconds"], 3),
            "endToEndSeconds": round(single["planSeconds"] + single["policySeconds"], 3),
            "peakMemoryMiB": round(single["peakBytes"] / 2**20, 1),
            "baselineSeconds": round(baseline["seconds"], 3),
            "perResourceRatio": round(single["planSeconds"] / baseline["seconds"], 3),
            "shardedSeconds": round(sharded["seconds"], 3),
            "shardedStacks": sharded["stacks"],
            "shardedToBaselineRatio": round(sharded["seconds"] / baseline["seconds"], 3),
            "policyFindings": single["findings"],
            "policyConfigTrimmed": single["policyConfigTrimmed"],
        })
        print(json.dumps(rows[-1]), flush=True)
    exponent = slope([(r["tenants"], r["planSeconds"]) for r in rows]) if len(rows) > 1 else None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "rows": rows,
        "scalingExponent": round(exponent, 3) if exponent is not None else None,
    }


def table(result: dict[str, Any]) -> str:
    lines = [f"Benchmark of {result['date']} on {result['machine']['cpus']} CPUs, Python {result['machine']['python']} "
             f"({result['machine']['platform']})", "",
             "| tenants | resources | plan s | policy s | plan+policy s | peak MiB | bare-SDK s | plan / bare SDK | "
             "sharded s (stacks) | sharded / bare SDK |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {r['tenants']} | {r['resources']} | {r['planSeconds']:.1f} | {r['policySeconds']:.1f} | "
                     f"{r['endToEndSeconds']:.1f} | {r['peakMemoryMiB']:.0f} | {r['baselineSeconds']:.1f} | "
                     f"{r['perResourceRatio']:.2f}x | {r['shardedSeconds']:.1f} ({r['shardedStacks']}) | "
                     f"{r['shardedToBaselineRatio']:.2f}x |")
    lines += ["", f"Scaling exponent (log-log slope of plan time against tenants): {result['scalingExponent']}"]
    if any(r["policyConfigTrimmed"] for r in result["rows"]):
        lines += ["", "Policy at sizes marked in the JSON (`policyConfigTrimmed`): the packs got the estate's config with "
                      "its first ten tenants, because the whole config exceeds the 128 KiB Linux allows one environment "
                      "variable (the Pulumi CLI passes it to policy packs the same way)."]
    return "\n".join(lines) + "\n"


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    tenants = [r["tenants"] for r in rows]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for key, label in (("planSeconds", "plan (one process)"), ("endToEndSeconds", "plan + policy"),
                       ("baselineSeconds", "bare-SDK baseline"), ("shardedSeconds", "sharded plan (parallel)")):
        axes.plot(tenants, [r[key] for r in rows], marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("tenants")
    axes.set_ylabel("seconds")
    axes.set_title(f"odoo-platform offline plan, {result['machine']['cpus']} CPUs "
                   f"(exponent {result['scalingExponent']})")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args()
    result = measure(sorted(args.tenants))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(table(result))
    chart(result, RESULTS / "latest.png")
    print(table(result))


if __name__ == "__main__":
    main()
