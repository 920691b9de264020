"""DeploymentEnvironment: one Azure DevOps environment and the gates every deployment to it passes.

- Approval by the groups whose roles the approval matrix asks for, never by the person who queued
  the run; the evidence step of the deployment then checks the approvers' roles against the
  change's risk class (README: "Change governance").
- Business hours, so nobody deploys to production at night unattended (staging, production).
- Branch control: only `main`, and only if `main` is protected (staging, production).
- Required template: only runs that extend the approved pipeline template may deploy.
- An exclusive lock: one deployment at a time, and only the newest waiting run (the pipeline's
  `lockBehavior: runLatest`), so an older approved run cannot roll back a newer one.
- Its own service connections (workload identity federation, no secret), gated the same way: deploy
  connections for its pipeline, read-only ones for the drift pipeline and pull-request previews.
  Each connection's managed identity gets the federated credential for the connection's issuer and
  subject, and an AWS connection's role trusts that same issuer and subject.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_azuredevops as ado

from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Cloud, Environment
from odoo_platform.delivery.settings import BusinessHours, Delivery, DeliveryEnvironment, ServiceConnection

MAIN = "refs/heads/main"
CHECK_TIMEOUT_MINUTES = 1440
TOKEN_AUDIENCE = "api://AzureADTokenExchange"
"""The audience of Azure DevOps workload identity tokens (Microsoft Entra's token exchange)."""
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def business_hours_timeout(hours: BusinessHours) -> int:
    """Minutes a run queued just after closing waits for the next opening, plus an hour to start.

    A run queued on Friday evening must still be waiting on Monday morning (60 hours with the
    default hours), or the check times out and the run fails over every weekend.
    """
    start, end = (datetime.strptime(t, "%H:%M") for t in (hours.start, hours.end))
    week = datetime(2024, 1, 1)  # a Monday
    openings = [week + timedelta(days=d, hours=start.hour, minutes=start.minute) for d in range(14) if WEEK[d % 7] in hours.days]
    closings = [week + timedelta(days=d, hours=end.hour, minutes=end.minute) for d in range(7) if WEEK[d] in hours.days]
    gap = max(min(o for o in openings if o > closing) - closing for closing in closings)
    return int(gap.total_seconds() // 60) + 60


def trust_policy(provider_arn: str, issuer_url: str, subject: str) -> str:
    """Only tokens of this issuer, for the Entra token exchange audience and this connection's subject.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html: the condition keys
    are the issuer's host and path followed by `:aud` and `:sub`.
    """
    host = issuer_url.removeprefix("https://")
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": provider_arn},
        "Condition": {"StringEquals": {f"{host}:aud": TOKEN_AUDIENCE, f"{host}:sub": subject}},
    }]})


@dataclass(frozen=True)
class PipelineIds:
    deploys: pulumi.Input[int]
    """The pipeline allowed to deploy to the environment (the estates' delivery, or the delivery stack's)."""
    drift: pulumi.Input[int]
    """The nightly drift pipeline: read-only connections only."""


@dataclass(frozen=True)
class CloudAccess:
    """Providers of the subscriptions and AWS accounts the connections' identities live in."""

    subscriptions: dict[str, azure_native.Provider]
    aws_accounts: dict[str, aws.Provider]
    aws_issuers: dict[str, aws.iam.OpenIdConnectProvider]
    """Per AWS account, its OIDC provider for the organisation's issuer (one per issuer and account)."""


@dataclass(frozen=True)
class DeploymentEnvironmentArgs:
    delivery: Delivery
    environment: DeliveryEnvironment
    project_id: pulumi.Input[str]
    approvers: list[pulumi.Input[str]]
    """Origin ids of the groups that approve deployments."""
    pipelines: PipelineIds
    deploy_template: str
    """The template runs that deploy here must extend."""
    clouds: CloudAccess


class DeploymentEnvironment(PlatformComponent):
    def __init__(self, name: str, args: DeploymentEnvironmentArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        settings = args.environment
        gated = settings.environment in (Environment.STAGING, Environment.PROD)
        environment = ado.Environment(
            f"{name}-environment", project_id=args.project_id, name=settings.name,
            description=f"odoo-platform {settings.environment.value}: deployments of the approved estate only",
            opts=self.child(),
        )
        self._environment_gates(name, environment.id, args, gated)
        ado.PipelineAuthorization(
            f"{name}-environment-authorization", project_id=args.project_id, resource_id=environment.id,
            type="environment", pipeline_id=args.pipelines.deploys, opts=self.child(),
        )
        for spec in settings.connections:
            self._connection(name, spec, args, gated)
        self.environment_id = environment.id
        self.register_outputs({"environment": settings.name, "connections": [c.name for c in settings.connections]})

    def _connection(self, name: str, spec: ServiceConnection, args: DeploymentEnvironmentArgs, gated: bool) -> None:
        settings, delivery = args.environment, args.delivery
        connection = ado.ServiceEndpointAzureRM(
            f"{name}-{spec.name}",
            project_id=args.project_id,
            service_endpoint_name=spec.name,
            description=f"odoo-platform {settings.environment.value} ({spec.cloud.value}, {spec.access}): {settings.name} only",
            service_endpoint_authentication_scheme="WorkloadIdentityFederation",
            credentials=ado.ServiceEndpointAzureRMCredentialsArgs(serviceprincipalid=spec.client_id),
            azurerm_spn_tenantid=delivery.tenant_id,
            azurerm_subscription_id=spec.subscription_id,
            azurerm_subscription_name=spec.subscription_name,
            opts=self.child(),
        )
        read = spec.access == "read"
        # Pull-request builds of main preview dev with its read-only connection. They extend the
        # template as the pull request changes it, not main's, so a required-template check would
        # refuse every one; the connection can only read, and only our pipelines may use it.
        if gated or not read:
            templates = [args.deploy_template] + ([delivery.drift_template] if read else [])
            self._required_template(f"{name}-endpoint-{spec.name}", connection.id, "endpoint", templates, args)
        if gated:
            self._branch_control(f"{name}-endpoint-{spec.name}", connection.id, "endpoint", args)
        # Read-only connections serve the drift pipeline and pull-request previews of the deploying pipeline.
        users = [("drift", args.pipelines.drift), ("preview", args.pipelines.deploys)] if read else [
            ("deploy", args.pipelines.deploys)]
        for purpose, pipeline in users:
            ado.PipelineAuthorization(
                f"{name}-{spec.name}-{purpose}-authorization", project_id=args.project_id,
                resource_id=connection.id, type="endpoint", pipeline_id=pipeline, opts=self.child(),
            )
        # AzureCLI@2 signs in with the connection's token for every connection, so each managed
        # identity trusts exactly this connection's issuer and subject (Microsoft Entra workload
        # identity federation: https://learn.microsoft.com/azure/devops/pipelines/library/connect-to-azure).
        azure_native.managedidentity.FederatedIdentityCredential(
            f"{name}-{spec.name}-federation",
            resource_group_name=spec.identity_resource_group,
            resource_name_=spec.identity_name,
            federated_identity_credential_resource_name=f"ado-{spec.name}",
            issuer=connection.workload_identity_federation_issuer,
            subject=connection.workload_identity_federation_subject,
            audiences=[TOKEN_AUDIENCE],
            opts=self.child(provider=args.clouds.subscriptions[spec.subscription_id]),
        )
        if spec.cloud is Cloud.AWS:
            self._aws_trust(name, spec, connection, args)

    def _aws_trust(self, name: str, spec: ServiceConnection, connection: ado.ServiceEndpointAzureRM,
                   args: DeploymentEnvironmentArgs) -> None:
        """The role AWS stacks assume with the connection's token (AssumeRoleWithWebIdentity)."""
        account, role_name = spec.aws_role_arn.split(":")[4], spec.aws_role_arn.rsplit("/", 1)[1]
        issuer = args.clouds.aws_issuers[account]

        aws.iam.Role(
            f"{name}-{spec.name}-role", name=role_name,
            description=f"{spec.access} role of {args.environment.name}, assumed only with {spec.name}'s token",
            assume_role_policy=pulumi.Output.all(issuer.arn, issuer.url, connection.workload_identity_federation_subject).apply(
                lambda values: trust_policy(*values)),
            managed_policy_arns=spec.aws_policy_arns, max_session_duration=3600,
            tags={"environment": args.environment.environment.value, "owner": args.delivery.owner,
                  "cost-centre": args.delivery.cost_centre, "managed-by": "odoo-platform", "tenant": "shared"},
            opts=self.child(provider=args.clouds.aws_accounts[account]),
        )

    def _environment_gates(self, name: str, target: pulumi.Input[str], args: DeploymentEnvironmentArgs, gated: bool) -> None:
        label, settings, delivery = f"{name}-environment", args.environment, args.delivery
        self._required_template(label, target, "environment", [args.deploy_template], args)
        ado.CheckExclusiveLock(f"{label}-exclusive-lock", project_id=args.project_id, target_resource_id=target,
                               target_resource_type="environment", timeout=CHECK_TIMEOUT_MINUTES, opts=self.child())
        ado.CheckApproval(
            f"{label}-approval",
            project_id=args.project_id, target_resource_id=target, target_resource_type="environment",
            approvers=args.approvers, minimum_required_approvers=settings.minimum_approvers,
            requester_can_approve=False,
            instructions="Read the evidence bundle of this run's preview (risk class, required roles, policy report, "
                         "freeze decision). The deployment refuses unless the approvers cover the roles of its risk class.",
            timeout=CHECK_TIMEOUT_MINUTES, opts=self.child(),
        )
        if not gated:
            return
        self._branch_control(label, target, "environment", args)
        hours = settings.business_hours or BusinessHours()
        ado.CheckBusinessHours(
            f"{label}-business-hours",
            project_id=args.project_id, target_resource_id=target, target_resource_type="environment",
            display_name="Deployments start in business hours", time_zone=delivery.time_zone,
            start_time=hours.start, end_time=hours.end, timeout=business_hours_timeout(hours),
            **{day: True for day in hours.days}, opts=self.child(),
        )

    def _required_template(self, label: str, target: pulumi.Input[str], kind: str, templates: list[str],
                           args: DeploymentEnvironmentArgs) -> None:
        delivery = args.delivery
        ado.CheckRequiredTemplate(
            f"{label}-required-template",
            project_id=args.project_id, target_resource_id=target, target_resource_type=kind,
            required_templates=[
                ado.CheckRequiredTemplateRequiredTemplateArgs(
                    repository_type="azuregit", repository_name=f"{delivery.project}/{delivery.repository}",
                    repository_ref=MAIN, template_path=template,
                )
                for template in templates
            ],
            opts=self.child(),
        )

    def _branch_control(self, label: str, target: pulumi.Input[str], kind: str, args: DeploymentEnvironmentArgs) -> None:
        ado.CheckBranchControl(
            f"{label}-branch-control",
            project_id=args.project_id, target_resource_id=target, target_resource_type=kind,
            display_name="Only main, and only while main is protected",
            allowed_branches=MAIN, verify_branch_protection=True, ignore_unknown_protection_status=False,
            timeout=CHECK_TIMEOUT_MINUTES, opts=self.child(),
        )
