"""Fleet runs: `pulumi preview` or `pulumi up` over a sharded estate's stacks, with the Automation API.

Wave by wave (the foundation alone, then each release ring's shards together, at most
`concurrency` stacks at a time), stopping after the first wave with a failure: a bad change
reaches one ring, never the whole estate. Every stack runs with the policy packs.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from odoo_platform.config import CONFIG_NAMESPACE, Estate
from odoo_platform.errors import EstateConfigError
from odoo_platform.offline.sharded import stack_config
from odoo_platform.offline.stackfiles import StackConfig
from odoo_platform.sharding import waves
from odoo_platform.stack_reader import estate_from_config

OPERATIONS = ("preview", "up")


class FleetStack(Protocol):
    """What the fleet needs of an Automation API stack (pulumi.automation.Stack has it)."""

    def get_all_config(self) -> Mapping[str, Any]: ...
    def remove_all_config(self, keys: list[str]) -> None: ...
    def set_all_config(self, config: Any) -> None: ...
    def preview(self, **options: Any) -> Any: ...
    def up(self, **options: Any) -> Any: ...


OpenStack = Callable[[str], FleetStack]


@dataclass
class StackResult:
    stack: str
    wave: int
    ok: bool
    summary: str


@dataclass
class FleetResult:
    operation: str
    results: list[StackResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Stacks of later waves that did not run because a wave failed."""

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and not self.skipped


def run_fleet(
    base_stack: str, config: StackConfig, stack_dir: Path, operation: str, open_stack: OpenStack,
    policy_packs: Sequence[str], concurrency: int, on_result: Callable[[StackResult], None] = lambda _: None,
) -> FleetResult:
    """`stack_dir`: the directory of the stack files (and of any tenant catalogue)."""
    if operation not in OPERATIONS:
        raise EstateConfigError(f"fleet: {operation!r} is not an operation (use preview or up)")
    estate = estate_from_config(config.values, stack_dir)
    result = FleetResult(operation=operation)
    with estate.located():
        plan = waves(estate)
    for number, wave in enumerate(plan, start=1):
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            futures = [pool.submit(_run_one, base_stack, shard, config, estate, operation, open_stack, policy_packs, number)
                       for shard in wave]
            outcomes = [future.result() for future in futures]
        for outcome in outcomes:
            result.results.append(outcome)
            on_result(outcome)
        if not all(o.ok for o in outcomes):
            result.skipped = [f"{base_stack}-{shard}" for later in plan[number:] for shard in later]
            break
    return result


def _run_one(base_stack: str, shard: str, config: StackConfig, estate: Estate, operation: str, open_stack: OpenStack,
             policy_packs: Sequence[str], wave: int) -> StackResult:
    name = f"{base_stack}-{shard}"
    try:
        stack = open_stack(name)
        wanted = _config_values(stack_config(config, base_stack, shard, estate))
        # `set_all_config` only adds: a key an earlier run wrote and this config no longer has (a shard's inline
        # tenant list, once the estate moved to a tenant catalogue) would stay, and contradict the new keys.
        stale = [key for key in stack.get_all_config() if key.startswith(f"{CONFIG_NAMESPACE}:") and key not in wanted]
        if stale:
            stack.remove_all_config(stale)
        stack.set_all_config(wanted)
        outcome = getattr(stack, operation)(policy_packs=list(policy_packs))
        return StackResult(stack=name, wave=wave, ok=True, summary=_summary(outcome))
    except Exception as exc:  # noqa: BLE001 - one stack's failure is reported and stops the fleet, never crashes it
        return StackResult(stack=name, wave=wave, ok=False, summary=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def _config_values(config: StackConfig) -> dict[str, Any]:
    from pulumi.automation import ConfigValue

    return {key: ConfigValue(value=value, secret=key in config.secret_keys) for key, value in config.values.items()}


def _summary(outcome: Any) -> str:
    changes = getattr(outcome, "change_summary", None) or getattr(getattr(outcome, "summary", None), "resource_changes", None)
    return ", ".join(f"{count} {kind}" for kind, count in sorted((changes or {}).items())) or "no changes"


def automation_workspace(root: Path) -> OpenStack:
    """Real stacks of the project at `root`, through the Pulumi CLI."""
    if shutil.which("pulumi") is None:
        raise EstateConfigError(
            "fleet: the Pulumi CLI is not installed here (install it: curl -fsSL https://get.pulumi.com | sh); "
            "`odoo-platform plan --sharded` plans the same stacks offline"
        )
    from pulumi import automation

    def open_stack(name: str) -> FleetStack:
        return automation.create_or_select_stack(stack_name=name, work_dir=str(root))

    return open_stack


def shard_stacks(base_stack: str, config: StackConfig, stack_dir: Path) -> list[list[str]]:
    """The stack names of a fleet run, wave by wave."""
    estate = estate_from_config(config.values, stack_dir)
    with estate.located():
        return [[f"{base_stack}-{shard}" for shard in wave] for wave in waves(estate)]

