"""The delivery stack's program: the Azure DevOps side of the estate's governance, as code."""

from __future__ import annotations

import pulumi
import pulumi_azuredevops as ado
from pulumi.runtime.config import CONFIG, get_config_env

from odoo_platform.components.deployment_environment import DeploymentEnvironment, DeploymentEnvironmentArgs
from odoo_platform.components.repository_governance import RepositoryGovernance, RepositoryGovernanceArgs
from odoo_platform.config import Environment
from odoo_platform.delivery.settings import CONFIG_NAMESPACE, Delivery, parse_delivery
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
    change_board = ado.Group("change-board", scope=project.id, origin_id=delivery.change_board_group)
    service_owners = ado.Group("service-owners", scope=project.id, origin_id=delivery.service_owners_group)
    governance = RepositoryGovernance(
        "repository", RepositoryGovernanceArgs(delivery=delivery, project_id=project.id, repository_id=repository.id)
    )
    for environment in delivery.environments:
        DeploymentEnvironment(
            environment.name,
            DeploymentEnvironmentArgs(
                delivery=delivery, environment=environment, project_id=project.id,
                # Production changes are also the service owners' call (the approval matrix's critical class).
                approvers=[change_board.origin_id]
                + ([service_owners.origin_id] if environment.environment is Environment.PROD else []),
                delivery_pipeline_id=governance.pipeline_ids["delivery"],
                drift_pipeline_id=governance.pipeline_ids["drift"],
            ),
        )
    pulumi.export("environments", [e.name for e in delivery.environments])


def main() -> None:
    build_delivery(read_delivery())
