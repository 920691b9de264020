"""The delivery stack's program: the Azure DevOps side of the estate's governance, as code."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_azuredevops as ado
from pulumi.runtime.config import CONFIG, get_config_env

from odoo_platform.components.deployment_environment import (
    TOKEN_AUDIENCE,
    CloudAccess,
    DeploymentEnvironment,
    DeploymentEnvironmentArgs,
    PipelineIds,
)
from odoo_platform.components.repository_governance import RepositoryGovernance, RepositoryGovernanceArgs
from odoo_platform.delivery.settings import CONFIG_NAMESPACE, Delivery, aws_accounts, parse_delivery
from odoo_platform.stack_reader import decode


def read_delivery() -> Delivery:
    config = pulumi.Config(CONFIG_NAMESPACE)
    prefix = f"{CONFIG_NAMESPACE}:"
    keys = [key for key in (*CONFIG.get(), *get_config_env()) if key.startswith(prefix)]
    return parse_delivery({key[len(prefix):]: decode(config.get(key[len(prefix):])) for key in sorted(set(keys))})


def build_delivery(delivery: Delivery) -> None:
    # The project and repository exist before governance is applied to them; they are read, never owned here.
    project = ado.get_project_output(name=delivery.project)
    repository = ado.get_git_repository_output(project_id=project.id, name=delivery.repository)
    # References to Entra groups by object id: the provider refuses `scope` (and `mail`, `display_name`)
    # together with `origin_id` (pulumi_azuredevops.Group); such a reference lives at organisation level.
    groups = {role: ado.Group(role, origin_id=origin)
              for role, origin in (("platform-leads", delivery.platform_leads_group),
                                   ("change-board", delivery.change_board_group),
                                   ("service-owners", delivery.service_owners_group))}
    governance = RepositoryGovernance(
        "repository", RepositoryGovernanceArgs(delivery=delivery, project_id=project.id, repository_id=repository.id)
    )
    clouds = _cloud_access(delivery)
    for environment in delivery.environments:
        stack_pipeline = environment.pipeline == "delivery-stack"
        DeploymentEnvironment(
            environment.name,
            DeploymentEnvironmentArgs(
                delivery=delivery, environment=environment, project_id=project.id,
                # Any of the approval matrix's roles may approve; the deployment's evidence step then
                # refuses unless the approvers cover the roles the change's risk class needs
                # (governance/approvals.py), in every environment.
                approvers=[group.origin_id for group in groups.values()],
                pipelines=PipelineIds(deploys=governance.pipeline_ids[environment.pipeline],
                                      drift=governance.pipeline_ids["drift"]),
                deploy_template=delivery.delivery_stack_template if stack_pipeline else delivery.pipeline_template,
                clouds=clouds,
            ),
        )
    pulumi.export("environments", [e.name for e in delivery.environments])


def _cloud_access(delivery: Delivery) -> CloudAccess:
    subscriptions = sorted({c.subscription_id for e in delivery.environments for c in e.connections})
    accounts = {account: aws.Provider(f"aws-{account}", region=delivery.aws_region, allowed_account_ids=[account])
                for account in aws_accounts(delivery)}
    # AWS keeps one OIDC provider per issuer and account; every connection's token has the organisation's issuer.
    # It serves every environment's connections of the account: tagged as the delivery stack's own.
    tags = {"environment": "delivery", "owner": delivery.owner, "cost-centre": delivery.cost_centre,
            "managed-by": "odoo-platform", "tenant": "shared"}
    issuers = {account: aws.iam.OpenIdConnectProvider(
        f"aws-{account}-azure-devops-issuer", url=f"https://vstoken.dev.azure.com/{delivery.organization_id}",
        client_id_lists=[TOKEN_AUDIENCE], tags=tags, opts=pulumi.ResourceOptions(provider=provider))
        for account, provider in accounts.items()}
    return CloudAccess(
        subscriptions={s: azure_native.Provider(f"azure-{s}", subscription_id=s) for s in subscriptions},
        aws_accounts=accounts, aws_issuers=issuers,
    )


def main() -> None:
    build_delivery(read_delivery())
