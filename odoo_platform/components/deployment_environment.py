"""DeploymentEnvironment: one Azure DevOps environment and the gates every deployment to it passes.

- Approval by the change board, never by the person who queued the run (staging, production).
- Business hours, so nobody deploys to production at night unattended (staging, production).
- Branch control: only `main`, and only if `main` is protected (staging, production).
- Required template: only runs that extend the approved pipeline template may deploy.
- Its own service connections (workload identity federation, no secret), gated the same way,
  and usable by the delivery pipeline only.
- A variable group linked to the environment's Key Vault, so secrets never live in Azure DevOps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_azuredevops as ado

from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Cloud, Environment
from odoo_platform.delivery.settings import BusinessHours, Delivery, DeliveryEnvironment

MAIN = "refs/heads/main"
CHECK_TIMEOUT_MINUTES = 1440


@dataclass(frozen=True)
class DeploymentEnvironmentArgs:
    delivery: Delivery
    environment: DeliveryEnvironment
    project_id: pulumi.Input[str]
    approvers: list[pulumi.Input[str]]
    """Origin ids of the groups that approve deployments."""
    delivery_pipeline_id: pulumi.Input[int]
    """The only pipeline allowed to deploy to the environment."""
    drift_pipeline_id: pulumi.Input[int]
    """Also allowed to use the service connections (to refresh and compare, never to deploy)."""


class DeploymentEnvironment(PlatformComponent):
    def __init__(self, name: str, args: DeploymentEnvironmentArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        settings, delivery = args.environment, args.delivery
        gated = settings.environment in (Environment.STAGING, Environment.PROD)
        environment = ado.Environment(
            f"{name}-environment", project_id=args.project_id, name=settings.name,
            description=f"odoo-platform {settings.environment.value}: deployments of the approved estate only",
            opts=self.child(),
        )
        connections = [
            ado.ServiceEndpointAzureRM(
                f"{name}-{connection.name}",
                project_id=args.project_id,
                service_endpoint_name=connection.name,
                description=f"odoo-platform {settings.environment.value} ({connection.cloud.value}): {settings.name} only",
                service_endpoint_authentication_scheme="WorkloadIdentityFederation",
                credentials=ado.ServiceEndpointAzureRMCredentialsArgs(serviceprincipalid=connection.client_id),
                azurerm_spn_tenantid=delivery.tenant_id,
                azurerm_subscription_id=connection.subscription_id,
                azurerm_subscription_name=connection.subscription_name,
                opts=self.child(),
            )
            for connection in settings.connections
        ]
        targets = [("environment", environment.id, "environment")] + [
            (f"endpoint-{spec.name}", connection.id, "endpoint")
            for spec, connection in zip(settings.connections, connections, strict=True)
        ]
        for label, target, kind in targets:
            self._gates(name, label, target, kind, args, gated)
        for spec, connection in zip(settings.connections, connections, strict=True):
            for purpose, pipeline in (("delivery", args.delivery_pipeline_id), ("drift", args.drift_pipeline_id)):
                ado.PipelineAuthorization(
                    f"{name}-{spec.name}-{purpose}-authorization", project_id=args.project_id,
                    resource_id=connection.id, type="endpoint", pipeline_id=pipeline, opts=self.child(),
                )
        ado.PipelineAuthorization(
            f"{name}-environment-authorization", project_id=args.project_id, resource_id=environment.id,
            type="environment", pipeline_id=args.delivery_pipeline_id, opts=self.child(),
        )
        # Every connection is an Azure Resource Manager one (AWS stacks only borrow its OIDC token);
        # the cloud's own is preferred for reading Key Vault.
        vault_reader = next((c for c, s in zip(connections, settings.connections, strict=True) if s.cloud is Cloud.AZURE),
                            connections[0])
        ado.VariableGroup(
            f"{name}-secrets",
            project_id=args.project_id,
            name=f"{settings.name}-secrets",
            description=f"Secrets of {settings.name}, read from Key Vault {settings.key_vault} at run time",
            allow_access=False,
            key_vault=ado.VariableGroupKeyVaultArgs(name=settings.key_vault, service_endpoint_id=vault_reader.id),
            variables=[ado.VariableGroupVariableArgs(name=secret) for secret in settings.key_vault_secrets],
            opts=self.child(),
        )
        self.environment_id = environment.id
        self.register_outputs({"environment": settings.name, "connections": [c.name for c in settings.connections]})

    def _gates(self, name: str, label: str, target: pulumi.Input[str], kind: str, args: DeploymentEnvironmentArgs,
               gated: bool) -> None:
        delivery, settings = args.delivery, args.environment
        templates = [delivery.pipeline_template] + ([delivery.drift_template] if kind == "endpoint" else [])
        ado.CheckRequiredTemplate(
            f"{name}-{label}-required-template",
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
        if not gated:
            return
        ado.CheckBranchControl(
            f"{name}-{label}-branch-control",
            project_id=args.project_id, target_resource_id=target, target_resource_type=kind,
            display_name="Only main, and only while main is protected",
            allowed_branches=MAIN, verify_branch_protection=True, ignore_unknown_protection_status=False,
            timeout=CHECK_TIMEOUT_MINUTES, opts=self.child(),
        )
        if kind != "environment":
            return
        ado.CheckApproval(
            f"{name}-{label}-approval",
            project_id=args.project_id, target_resource_id=target, target_resource_type=kind,
            approvers=args.approvers, minimum_required_approvers=settings.minimum_approvers,
            requester_can_approve=False,
            instructions="Check the evidence bundle (risk class, policy report, freeze decision) before approving.",
            timeout=CHECK_TIMEOUT_MINUTES, opts=self.child(),
        )
        hours = settings.business_hours or BusinessHours()
        ado.CheckBusinessHours(
            f"{name}-{label}-business-hours",
            project_id=args.project_id, target_resource_id=target, target_resource_type=kind,
            display_name="Deployments start in business hours", time_zone=delivery.time_zone,
            start_time=hours.start, end_time=hours.end, timeout=CHECK_TIMEOUT_MINUTES,
            **{day: True for day in hours.days}, opts=self.child(),
        )
