"""Turn rules into CrossGuard policies: served by policypacks/<pack>/__main__.py over gRPC, evaluated
in process by odoo_platform.policy.inprocess. Both take the policies `assemble` builds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from pulumi.runtime.config import CONFIG, get_config, get_config_env
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pydantic import TypeAdapter

from odoo_platform.config import CONFIG_NAMESPACE, Estate, ImagePolicy, ImageRef
from odoo_platform.policy.rule import Context, Resource, Rule
from odoo_platform.stack_reader import decode
from odoo_platform.tiers import DEFAULT_TIER_CATALOGUE

_IMAGES = TypeAdapter(tuple[ImageRef, dict[str, ImageRef]])
"""The Odoo image and the ring images, validated as the estate validates them."""


def stack_context(config: Mapping[str, str | None]) -> Context:
    """Facts of a stack from its config ("namespace:key" -> text, as Pulumi hands it to a pack).

    Only `environment`, `tiers`, `image`, `rings` and `imagePolicy` are read, never the tenants:
    a stack may keep its tenants elsewhere, and a pack must not need them.
    """

    def value(key: str) -> Any:
        return decode(config.get(f"{CONFIG_NAMESPACE}:{key}"))

    try:
        policy = ImagePolicy.model_validate(value("imagePolicy") or {})
        image, rings = _IMAGES.validate_python((value("image"), value("rings") or {}))
        # The estate's own rule for which repositories need signatures, over these three keys alone.
        signed = Estate.model_construct(image=image, rings=rings, image_policy=policy).signed_repositories
    except ValueError:
        # The program itself reports bad config; rules fall back to the defaults.
        policy, signed = ImagePolicy(), []
    overrides = value("tiers")
    retention = {tier: spec.backup_retention_days for tier, spec in DEFAULT_TIER_CATALOGUE.items()}
    for tier, fields in (overrides if isinstance(overrides, dict) else {}).items():
        if str(tier).isdigit() and isinstance(fields, dict) and "backupRetentionDays" in fields:
            retention[int(tier)] = int(fields["backupRetentionDays"])
    # The delivery stack gates production: its rules are as strict as production's.
    governs_production = any(key.startswith("odoo-delivery:") for key in config)
    return Context(
        environment="prod" if governs_production else value("environment") or "dev",
        tier_retention_days=retention,
        approved_registries=tuple(policy.approved_registries),
        signed_repositories=tuple(signed),
    )


def process_config() -> dict[str, str | None]:
    """This process's stack config, as the CLI passed it to the pack."""
    return {key: get_config(key) for key in (*CONFIG.get(), *get_config_env())}


def default_level(context: Context) -> EnforcementLevel:
    """Mandatory in production; advisory elsewhere unless the pack config says otherwise."""
    return EnforcementLevel.MANDATORY if context.production else EnforcementLevel.ADVISORY


def _resource_policy(rule: Rule, context: Context, level: EnforcementLevel) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        # Every resource policy sees every resource: most are of no type the rule checks, and are left at once.
        if not rule.applies_to(args.resource_type):
            return
        resource = Resource(type=args.resource_type, urn=args.urn, props=args.props,
                            protect=bool(args.opts.protect) if args.opts else False)
        for violation in rule.violations(resource, context):
            report(rule.report_text(violation))

    return ResourceValidationPolicy(name=rule.name, description=f"[{rule.id}] {rule.description}", validate=validate,
                                    enforcement_level=level, severity=Severity(rule.severity.value))


_last_stack: Optional[tuple[Any, tuple[Resource, ...]]] = None
"""Inside `converting_once()`: the last stack's resources as rules see them, by the identity of the list
they came from (in process every stack policy is handed the same list). None outside: each call converts."""


@contextmanager
def converting_once() -> Iterator[None]:
    """While the block runs, stack policies handed the same resource list convert it once."""
    global _last_stack
    _last_stack = (None, ())
    try:
        yield
    finally:
        _last_stack = None  # no stack kept alive past the evaluation


def _stack_resources(args: StackValidationArgs) -> tuple[Resource, ...]:
    global _last_stack
    last = _last_stack  # one read: another thread may replace the pair, never half of it
    if last is not None and last[0] is args.resources:
        return last[1]
    converted = tuple(
        Resource(type=r.resource_type, urn=r.urn, props=r.props, parent=r.parent.urn if r.parent else None,
                 dependencies=tuple(d.urn for d in r.dependencies))
        for r in args.resources
    )
    if last is not None:
        _last_stack = (args.resources, converted)
    return converted


def _stack_policy(rule: Rule, context: Context, level: EnforcementLevel) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for urn, message in rule.check_stack(_stack_resources(args), context):  # type: ignore[misc]
            report(rule.report_text(message), urn)

    return StackValidationPolicy(name=rule.name, description=f"[{rule.id}] {rule.description}", validate=validate,
                                 enforcement_level=level, severity=Severity(rule.severity.value))


@dataclass(frozen=True)
class Assembled:
    """A pack as PolicyPack receives it."""

    name: str
    level: EnforcementLevel
    policies: list[Policy]


def assemble(pack_name: str, rules: Sequence[Rule], context: Context) -> Assembled:
    """The one assembly of a pack's policies, whichever way they are then evaluated."""
    level = default_level(context)
    return Assembled(
        name=f"odoo-platform-{pack_name}", level=level,
        policies=[_stack_policy(r, context, level) if r.check_stack else _resource_policy(r, context, level) for r in rules],
    )


def serve(pack_name: str, rules: Sequence[Rule]) -> None:
    pack = assemble(pack_name, rules, stack_context(process_config()))
    PolicyPack(name=pack.name, enforcement_level=pack.level, policies=pack.policies)
