"""RepositoryGovernance: the delivery pipelines and the branch policies that guard `main`.

Nothing reaches `main` (and so no environment) without reviewers other than its author and
a green validation build: the build that runs the tests and plans every stack with the
policy packs. The branches under `deployed/`, which the GitOps operator follows, are written by
the delivery pipeline's deploy jobs only: contributors may not create, push to or force-push them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_azuredevops as ado

from odoo_platform.components.base import PlatformComponent
from odoo_platform.delivery.settings import Delivery

MAIN = "refs/heads/main"
DEPLOYED_FOLDER = "deployed"
"""Branch folder of refs/heads/deployed/<stack> (odoo_platform/delivery/gitops.py); permissions inherit to its branches."""
PIPELINES = {"delivery": "azure-pipelines.yml", "drift": ".azure-pipelines/drift.yml",
             "delivery-stack": ".azure-pipelines/delivery-stack.yml"}
VALIDATION_HOURS = 12


@dataclass(frozen=True)
class RepositoryGovernanceArgs:
    delivery: Delivery
    project_id: pulumi.Input[str]
    repository_id: pulumi.Input[str]


class RepositoryGovernance(PlatformComponent):
    pipeline_ids: dict[str, pulumi.Output[int]]

    def __init__(self, name: str, args: RepositoryGovernanceArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        definitions = {
            purpose: ado.BuildDefinition(
                f"{name}-{purpose}-pipeline",
                project_id=args.project_id,
                name=f"odoo-platform {purpose}",
                path="\\odoo-platform",
                ci_trigger=ado.BuildDefinitionCiTriggerArgs(use_yaml=True),
                repository=ado.BuildDefinitionRepositoryArgs(
                    repo_type="TfsGit", repo_id=args.repository_id, branch_name=MAIN, yml_path=path,
                ),
                opts=self.child(),
            )
            for purpose, path in PIPELINES.items()
        }
        self.pipeline_ids = {purpose: definition.id.apply(int) for purpose, definition in definitions.items()}
        main_branch = [ado.BranchPolicyMinReviewersSettingsScopeArgs(
            repository_id=args.repository_id, repository_ref=MAIN, match_type="Exact")]
        ado.BranchPolicyMinReviewers(
            f"{name}-reviewers",
            project_id=args.project_id,
            enabled=True,
            blocking=True,
            settings=ado.BranchPolicyMinReviewersSettingsArgs(
                reviewer_count=args.delivery.reviewers,
                submitter_can_vote=False,
                last_pusher_cannot_approve=True,
                allow_completion_with_rejects_or_waits=False,
                on_push_reset_approved_votes=True,
                scopes=main_branch,
            ),
            opts=self.child(),
        )
        ado.BranchPolicyBuildValidation(
            f"{name}-validation",
            project_id=args.project_id,
            enabled=True,
            blocking=True,
            settings=ado.BranchPolicyBuildValidationSettingsArgs(
                build_definition_id=self.pipeline_ids["delivery"],
                display_name="make test, offline plans and policy packs",
                valid_duration=VALIDATION_HOURS * 60,
                scopes=[ado.BranchPolicyBuildValidationSettingsScopeArgs(
                    repository_id=args.repository_id, repository_ref=MAIN, match_type="Exact")],
            ),
            opts=self.child(),
        )
        # Deny wins over any allow in Azure DevOps: people in Contributors cannot move what GitOps deploys.
        # The build service accounts are not Contributors; they get the push rights the deploy jobs need
        # (git push --force of the deployed commit, .azure-pipelines/scripts/deploy.sh).
        for principal, grant in ((args.delivery.contributors_group, "Deny"), (args.delivery.build_service_group, "Allow")):
            ado.GitPermissions(
                f"{name}-deployed-branches-{'contributors' if grant == 'Deny' else 'build-service'}",
                project_id=args.project_id, repository_id=args.repository_id, branch_name=DEPLOYED_FOLDER,
                principal=principal, replace=False,
                permissions={"CreateBranch": grant, "GenericContribute": grant, "ForcePush": grant}
                | ({"PolicyExempt": "Deny"} if grant == "Deny" else {}),
                opts=self.child(),
            )
        self.register_outputs({"pipelines": list(PIPELINES), "reviewers": args.delivery.reviewers})
