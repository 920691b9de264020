"""Delivery: the Azure DevOps gates in front of production are themselves checked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from odoo_platform.policy.rule import Context, Resource, Rule, Severity, get
from odoo_platform.policy.rules.types import (
    ADO_APPROVAL,
    ADO_AZURERM_CONNECTION,
    ADO_BRANCH_CONTROL,
    ADO_ENVIRONMENT,
    ADO_MIN_REVIEWERS,
    PRODUCTION_NAME,
)

MAIN = "refs/heads/main"


def _production_environments(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type == ADO_ENVIRONMENT and PRODUCTION_NAME.search(str(r.props.get("name", "")))]


def _gated_by(resources: Sequence[Resource], check_type: str, accept) -> set[str]:
    """URNs of the resources a check of `check_type` targets (checks depend on their target)."""
    return {urn for r in resources if r.type == check_type and accept(r) for urn in r.dependencies}


def _production_approval(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    approved = _gated_by(resources, ADO_APPROVAL, lambda r: bool(r.props.get("approvers")))
    return [(env.urn, f"environment {env.props.get('name')!r} deploys without an approval check "
                      "(add a CheckApproval by the change board)")
            for env in _production_environments(resources) if env.urn not in approved]


def _production_main_only(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    main_only = _gated_by(resources, ADO_BRANCH_CONTROL, lambda r: r.props.get("allowedBranches") == MAIN
                          and r.props.get("verifyBranchProtection") is True)
    return [(env.urn, f"environment {env.props.get('name')!r} accepts runs from any branch "
                      "(add a CheckBranchControl allowing refs/heads/main with branch protection verified)")
            for env in _production_environments(resources) if env.urn not in main_only]


def _no_self_approval(resource: Resource, _: Context) -> str | None:
    if resource.props.get("requesterCanApprove") is True:
        return "whoever queued the run may approve it (set requester_can_approve=False)"
    return None


def _connection_per_environment(resources: Sequence[Resource], _: Context) -> list[tuple[str, str]]:
    by_identity: dict[str, list[Resource]] = defaultdict(list)
    for connection in (r for r in resources if r.type == ADO_AZURERM_CONNECTION):
        identity = get(connection.props, "credentials", "serviceprincipalid")
        if identity:
            by_identity[str(identity)].append(connection)
    return [(c.urn, f"service connection {c.props.get('serviceEndpointName')!r} shares its identity with "
                    f"{', '.join(repr(o.props.get('serviceEndpointName')) for o in shared if o is not c)} "
                    "in another environment (give each environment its own connection and identity)")
            # Each environment owns (parents) its connections: one identity under two owners is shared.
            for shared in by_identity.values() if len({c.parent for c in shared}) > 1 for c in shared]


def _federated_identity(resource: Resource, _: Context) -> str | None:
    if resource.props.get("serviceEndpointAuthenticationScheme") != "WorkloadIdentityFederation":
        return "the connection authenticates with a stored secret or certificate (use WorkloadIdentityFederation)"
    return None


def _independent_review(resource: Resource, _: Context) -> str | None:
    settings = resource.props.get("settings") or {}
    if int(settings.get("reviewerCount") or 0) < 2:
        return f"main needs {settings.get('reviewerCount') or 0} reviewer(s) (require at least 2)"
    if settings.get("submitterCanVote") is not False or settings.get("lastPusherCannotApprove") is not True:
        return "authors can approve their own changes (set submitter_can_vote=False, last_pusher_cannot_approve=True)"
    return None


DELIVERY = [
    Rule("DEL-01", "ado-production-environment-require-approval",
         "Production environments have an approval check (stack rule).",
         Severity.CRITICAL, "Add a CheckApproval with the change board as approvers.", check_stack=_production_approval),
    Rule("DEL-02", "ado-approval-disallow-self-approval", "Approval checks never let the requester approve.",
         Severity.CRITICAL, "Set requester_can_approve=False.", (ADO_APPROVAL,), _no_self_approval),
    Rule("DEL-03", "ado-service-connection-per-environment",
         "No service connection identity is shared between environments (stack rule).",
         Severity.HIGH, "Create one connection and workload identity per environment.", check_stack=_connection_per_environment),
    Rule("DEL-04", "ado-production-environment-require-main",
         "Production environments accept runs from protected main only (stack rule).",
         Severity.HIGH, "Add a CheckBranchControl for refs/heads/main with verify_branch_protection.",
         check_stack=_production_main_only),
    Rule("DEL-05", "ado-service-connection-require-federation", "Service connections use workload identity federation.",
         Severity.HIGH, "Set service_endpoint_authentication_scheme=WorkloadIdentityFederation.", (ADO_AZURERM_CONNECTION,),
         _federated_identity),
    Rule("DEL-06", "ado-main-require-independent-review", "Main needs two reviewers other than the author.",
         Severity.HIGH, "Require 2 reviewers, no submitter vote, last pusher cannot approve.", (ADO_MIN_REVIEWERS,),
         _independent_review),
]
