"""Evaluate the policy packs in the planning process, over the plan's recorded resources.

The policies are the very ones a pack process serves (`pack.assemble`), called the way pulumi_policy's
analyzer server calls them (`_PolicyAnalyzerServicer.Analyze` and `AnalyzeStack`): with its own argument
classes, over properties that went through a protobuf Struct as on the wire (numbers become floats,
secrets are unwrapped, unknowns raise), at the levels `runner.enforcement_levels` reconciles, reported
as `runner.finding` builds findings. Only what the protocol costs is left out: no process per pack,
no message per resource, and each resource's properties are decoded once for every policy of every
pack. A test keeps the findings equal to the gRPC path's on every stack.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from google.protobuf import json_format
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from odoo_platform.errors import ToolFailure
from odoo_platform.policy.pack import Assembled, assemble, converting_once, stack_context
from odoo_platform.policy.rule import walking_once
from odoo_platform.policy.rules import PACKS
from odoo_platform.policy.runner import (
    LEVEL_CODES,
    Finding,
    Findings,
    PolicyInfo,
    canonical,
    enforcement_levels,
    finding,
    overridden,
    stack_config,
    struct_of,
)

PACK_VERSION = "0.0.1"
"""The version a Python pack reports of itself (pulumi_policy's PolicyPack always says 0.0.1)."""
_NO_TAGS: MappingProxyType[str, str] = MappingProxyType({})
"""The stack tags a pack sees: none, as the runner never sends ConfigureStack."""


class _Properties(Mapping[str, Any]):
    """A resource's inputs as the server's rules read them, decoded the first time a rule reads them.

    Analyze and AnalyzeStack send the inputs as a Struct, which the server decodes and wraps so: numbers
    become floats, secrets are unwrapped, an unknown raises when read. Once here, for every policy of
    every pack; and only for resources a rule reads (most policies leave most resource types at once).
    """

    def __init__(self, inputs: dict[str, Any]) -> None:
        self._inputs = inputs
        self._decoded: Mapping[str, Any] | None = None

    def _props(self) -> Mapping[str, Any]:
        if self._decoded is None:
            self._decoded = unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct_of(self._inputs))))
        return self._decoded

    def __getitem__(self, key: str) -> Any:
        return self._props()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._props())

    def __len__(self) -> int:
        return len(self._props())


class _Stack:
    """The plan's resources as the analyzer server builds them from its requests, built once."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.by_urn = {r["urn"]: r for r in plan["resources"]}
        self.resources: list[PolicyResource] = []
        self.custom: list[ResourceValidationArgs] = []
        for r in plan["resources"]:
            props = _Properties(r["inputs"])
            # The runner's options carry only `protect`; the server reads the rest as the message's defaults.
            opts = PolicyResourceOptions(r["protect"], [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
            self.resources.append(PolicyResource(r["type"], props, r["urn"], r["name"], opts, None, None, [], {}))
            if not r["component"]:  # the engine analyzes custom resources one by one, components only in the stack
                self.custom.append(ResourceValidationArgs(r["type"], props, r["urn"], r["name"], opts, None, None, _NO_TAGS))
        resources = {resource.urn: resource for resource in self.resources}
        for r, resource in zip(plan["resources"], self.resources, strict=True):
            # As the server: a parent or dependency resolves only to a resource of the same stack.
            resource.parent = resources.get(r["parent"] or "")
            resource.dependencies.extend(resources[urn] for urn in r["dependsOn"] if urn in resources)


def evaluate_packs(names: Sequence[str], plan: dict[str, Any], overrides: dict[str, Any] | None = None) -> Findings:
    """Every named pack of `rules.PACKS` over the plan, with the policy config `overrides`: the findings
    and overrides `runner.run_packs` returns for the same packs."""
    context = stack_context(stack_config(plan))
    stack = _Stack(plan)
    changed: list[dict[str, Any]] = []
    enabled: list[_Enabled] = []
    for name in names:
        pack = assemble(name, PACKS[name], context)
        # What GetAnalyzerInfo reports: each policy's own level, else the pack's.
        infos = [PolicyInfo(p.name, p.description, LEVEL_CODES[(p.enforcement_level or pack.level).value])
                 for p in pack.policies]
        levels = enforcement_levels(infos, overrides or {})
        changed.extend(overridden(name, infos, levels))
        enabled.extend(_Enabled(name, pack, policy, levels[policy.name], stack) for policy in pack.policies
                       if levels[policy.name] != LEVEL_CODES["disabled"])
    resource_policies = [e for e in enabled if isinstance(e.policy, ResourceValidationPolicy)]
    with walking_once(), converting_once():
        # Resource by resource, every policy in turn: rules reading the same resource's pod walk it once.
        for args in stack.custom:
            for each in resource_policies:
                each.evaluate(args, args.urn)
        stack_args = StackValidationArgs(stack.resources, None, _NO_TAGS)
        for each in enabled:
            if not isinstance(each.policy, ResourceValidationPolicy):
                each.evaluate(stack_args, "")
    return canonical([f for each in enabled for f in each.found], changed)


class _Enabled:
    """One policy of one pack (`name`: the pack's directory) at its level, and what it has found."""

    def __init__(self, name: str, pack: Assembled, policy: Policy, level: int, stack: _Stack) -> None:
        self.name, self.pack, self.policy, self.level, self.stack = name, pack, policy, level, stack
        self.severity = policy.severity.value if policy.severity else ""
        self.found: list[Finding] = []

    def evaluate(self, args: Any, urn: str) -> None:
        name, policy = self.name, self.policy

        def report(message: str, at: str | None = None) -> None:
            text = f"{policy.description}\n{message}" if message else policy.description
            self.found.append(finding(name, policy.name, self.level, self.severity, at or urn, text, self.stack.by_urn))

        try:
            policy.validate(args, report)
        except UnknownValueError as exc:
            # The server's answer to a rule that read a value unknown during preview: advisory, without severity.
            text = (f"can't run policy '{policy.name}' from policy pack '{self.pack.name}@v{PACK_VERSION}' "
                    f"during preview: {exc.message}")
            self.found.append(finding(name, policy.name, LEVEL_CODES["advisory"], "", urn, text, self.stack.by_urn))
        except Exception as exc:  # a rule that fails in a pack process fails the run the same way
            raise ToolFailure(f"policy pack {name} failed: {policy.name}: {exc}") from None
