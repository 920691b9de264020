"""The delivery stack's config: the Azure DevOps project, its environments and who approves.

Keys live in the `odoo-delivery:` namespace of `stacks/delivery/Pulumi.<stack>.yaml`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from odoo_platform.config import Cloud, Environment, FieldError, one_line
from odoo_platform.errors import EstateConfigError

CONFIG_NAMESPACE = "odoo-delivery"
GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class ServiceConnection(_Model):
    """An Azure Resource Manager connection with workload identity federation (no secret anywhere).

    Its identity is a user-assigned managed identity; the delivery stack gives it the federated
    credential for the connection's issuer and subject. AWS stacks use one too (AzureCLI@2 logs in
    with it before the script runs): the pipeline then exchanges the connection's OIDC token for an
    AWS role whose trust policy the delivery stack writes for the same issuer and subject.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,62}$")
    cloud: Cloud = Cloud.AZURE
    access: Literal["deploy", "read"] = Field(
        default="deploy", description="read: drift checks and pull-request previews (Reader on the cloud, never deploys).")
    subscription_id: str = Field(pattern=GUID)
    subscription_name: str
    client_id: str = Field(pattern=GUID, description="Client id of the managed identity the pipeline federates with.")
    identity_resource_group: str = Field(pattern=r"^[-\w._()]{1,90}$")
    identity_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$", description="That managed identity's name.")
    aws_role_arn: str = Field(default="", pattern=r"^(arn:aws:iam::\d{12}:role/[\w+=,.@-]{1,64})?$",
                              description="cloud aws: the role the connection's token is exchanged for.")
    aws_policy_arns: list[str] = Field(default_factory=list, description="cloud aws: managed policies of that role.")

    @model_validator(mode="after")
    def _aws_role(self) -> "ServiceConnection":
        if (self.cloud is Cloud.AWS) != bool(self.aws_role_arn):
            raise FieldError("awsRoleArn", "is required for an aws connection and only for one")
        return self


class BusinessHours(_Model):
    """When deployments to the environment may start (an Azure DevOps business-hours check)."""

    start: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(default="19:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    days: list[str] = Field(default_factory=lambda: ["monday", "tuesday", "wednesday", "thursday", "friday"])

    @field_validator("days")
    @classmethod
    def _days(cls, values: list[str]) -> list[str]:
        week = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        unknown = [day for day in values if day not in week]
        if unknown or not values:
            raise ValueError(f"{unknown or values!r} are not week days (use lowercase English day names)")
        return values


class DeliveryEnvironment(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$", description="Azure DevOps environment, e.g. odoo-prod.")
    environment: Environment
    pipeline: Literal["delivery", "delivery-stack"] = Field(
        default="delivery", description="The pipeline that deploys here: the estates', or the delivery stack's own.")
    connections: Annotated[list[ServiceConnection], Field(min_length=1)]
    minimum_approvers: Annotated[int, Field(ge=1, le=10)] = 1
    business_hours: Optional[BusinessHours] = None
    """Defaults: business hours in staging and production, none in dev."""


class Delivery(_Model):
    project: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
    repository: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    tenant_id: str = Field(pattern=GUID, description="Entra tenant of the service connections.")
    organization_id: str = Field(pattern=GUID, description="Azure DevOps organisation id: its OIDC issuer is "
                                 "https://vstoken.dev.azure.com/<id>.")
    change_board_group: str = Field(pattern=GUID, description="Entra group object id of the change board.")
    service_owners_group: str = Field(pattern=GUID, description="Entra group object id of the service owners.")
    platform_leads_group: str = Field(pattern=GUID, description="Entra group object id of the platform leads.")
    contributors_group: str = Field(pattern=r"^vssgp\.[A-Za-z0-9_-]+$",
                                    description="Descriptor of the project's Contributors group (Azure DevOps graph).")
    build_service_group: str = Field(pattern=r"^vssgp\.[A-Za-z0-9_-]+$",
                                     description="Descriptor of the Project Collection Build Service Accounts group.")
    time_zone: str = Field(default="W. Europe Standard Time", description="Windows time zone of business-hours checks.")
    reviewers: Annotated[int, Field(ge=1, le=10)] = 2
    owner: str = Field(default="platform-team", description="Owner tag of the cloud resources the stack creates.")
    cost_centre: str = Field(default="platform-delivery", description="Cost-centre tag of those resources.")
    aws_region: str = Field(default="eu-central-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$",
                            description="Region of the AWS provider that writes the IAM trust (IAM itself is global).")
    pipeline_template: str = ".azure-pipelines/templates/delivery.yml"
    """The template deployment runs must extend (environments and service connections)."""
    drift_template: str = ".azure-pipelines/templates/drift-stages.yml"
    """The template drift runs extend (read-only service connections only: drift never deploys)."""
    delivery_stack_template: str = ".azure-pipelines/templates/delivery-stack-stages.yml"
    """The template the delivery stack's own pipeline extends (its environment and connections)."""
    environments: Annotated[list[DeliveryEnvironment], Field(min_length=1)]

    @model_validator(mode="after")
    def _one_identity_per_environment(self) -> "Delivery":
        owner: dict[str, str] = {}
        for index, environment in enumerate(self.environments):
            for number, connection in enumerate(environment.connections):
                keys = [("name", connection.name), ("clientId", connection.client_id)]
                keys += [("awsRoleArn", connection.aws_role_arn)] if connection.aws_role_arn else []
                for field, key in keys:
                    if owner.setdefault(key, environment.name) != environment.name:
                        raise FieldError(
                            f"environments[{index}].connections[{number}].{field}",
                            f"{key!r} is already used by {owner[key]} "
                            "(give each environment its own service connection and identity)",
                        )
        return self


def aws_accounts(delivery: Delivery) -> list[str]:
    """AWS accounts whose roles trust the organisation's issuer."""
    return sorted({c.aws_role_arn.split(":")[4] for e in delivery.environments for c in e.connections if c.aws_role_arn})


def parse_delivery(raw: dict[str, object]) -> Delivery:
    try:
        return Delivery.model_validate(raw)
    except ValidationError as exc:
        raise EstateConfigError(f"{CONFIG_NAMESPACE}:{one_line(exc, CONFIG_NAMESPACE)}") from None
