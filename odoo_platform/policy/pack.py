"""Turn rules into a CrossGuard PolicyPack. Imported by policypacks/<pack>/__main__.py only."""

from __future__ import annotations

from typing import Sequence

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from odoo_platform.config import Estate, ImagePolicy
from odoo_platform.errors import EstateConfigError
from odoo_platform.policy.rule import Context, Resource, Rule
from odoo_platform.stack_reader import read_estate
from odoo_platform.tiers import DEFAULT_TIER_CATALOGUE


def stack_context() -> Context:
    """Facts of the stack being previewed (the CLI passes the stack's config to packs)."""
    config = pulumi.Config("odoo-platform")
    try:
        estate: Estate | None = read_estate()
    except EstateConfigError:
        estate = None  # the program itself reports bad config; rules fall back to the defaults
    policy = estate.image_policy if estate else ImagePolicy()
    overrides = config.get_object("tiers") or {}
    retention = {tier: spec.backup_retention_days for tier, spec in DEFAULT_TIER_CATALOGUE.items()}
    for tier, fields in overrides.items():
        if str(tier).isdigit() and isinstance(fields, dict) and "backupRetentionDays" in fields:
            retention[int(tier)] = int(fields["backupRetentionDays"])
    # The delivery stack gates production: its rules are as strict as production's.
    governs_production = any(key.startswith("odoo-delivery:") for key in (*CONFIG.get(), *get_config_env()))
    return Context(
        environment="prod" if governs_production else config.get("environment") or "dev",
        tier_retention_days=retention,
        approved_registries=tuple(policy.approved_registries),
        signed_repositories=tuple(estate.signed_repositories if estate else policy.signed_repositories),
    )


def default_level(context: Context) -> EnforcementLevel:
    """Mandatory in production; advisory elsewhere unless the pack config says otherwise."""
    return EnforcementLevel.MANDATORY if context.production else EnforcementLevel.ADVISORY


def _resource_policy(rule: Rule, context: Context, level: EnforcementLevel) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        resource = Resource(type=args.resource_type, urn=args.urn, props=args.props,
                            protect=bool(args.opts.protect) if args.opts else False)
        for violation in rule.violations(resource, context):
            report(rule.report_text(violation))

    return ResourceValidationPolicy(name=rule.name, description=f"[{rule.id}] {rule.description}", validate=validate,
                                    enforcement_level=level, severity=Severity(rule.severity.value))


def _stack_policy(rule: Rule, context: Context, level: EnforcementLevel) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [
            Resource(type=r.resource_type, urn=r.urn, props=r.props, parent=r.parent.urn if r.parent else None,
                     dependencies=tuple(d.urn for d in r.dependencies))
            for r in args.resources
        ]
        for urn, message in rule.check_stack(resources, context):  # type: ignore[misc]
            report(rule.report_text(message), urn)

    return StackValidationPolicy(name=rule.name, description=f"[{rule.id}] {rule.description}", validate=validate,
                                 enforcement_level=level, severity=Severity(rule.severity.value))


def serve(pack_name: str, rules: Sequence[Rule]) -> None:
    context = stack_context()
    level = default_level(context)
    PolicyPack(
        name=f"odoo-platform-{pack_name}",
        enforcement_level=level,
        policies=[_stack_policy(r, context, level) if r.check_stack else _resource_policy(r, context, level) for r in rules],
    )
