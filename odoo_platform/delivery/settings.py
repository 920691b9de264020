"""The delivery stack's config: the Azure DevOps project, its environments and who approves.

Keys live in the `odoo-delivery:` namespace of `stacks/delivery/Pulumi.<stack>.yaml`.
"""

from __future__ import annotations

from typing import Annotated, Optional

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

    AWS stacks use one too: the pipeline exchanges its OIDC token for the environment's AWS role.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,62}$")
    cloud: Cloud = Cloud.AZURE
    subscription_id: str = Field(pattern=GUID)
    subscription_name: str
    client_id: str = Field(pattern=GUID, description="App registration the pipeline federates with.")


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
    connections: Annotated[list[ServiceConnection], Field(min_length=1)]
    key_vault: str = Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$",
                           description="Key Vault whose secrets the environment's variable group links.")
    key_vault_secrets: list[str] = Field(default_factory=lambda: ["pulumi-access-token"])
    minimum_approvers: Annotated[int, Field(ge=1, le=10)] = 1
    business_hours: Optional[BusinessHours] = None
    """Defaults: business hours in staging and production, none in dev."""


class Delivery(_Model):
    project: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
    repository: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    tenant_id: str = Field(pattern=GUID, description="Entra tenant of the service connections.")
    change_board_group: str = Field(pattern=GUID, description="Entra group object id of the change board.")
    service_owners_group: str = Field(pattern=GUID, description="Entra group object id of the service owners.")
    time_zone: str = Field(default="W. Europe Standard Time", description="Windows time zone of business-hours checks.")
    reviewers: Annotated[int, Field(ge=1, le=10)] = 2
    pipeline_template: str = ".azure-pipelines/templates/delivery.yml"
    """The template deployment runs must extend (environments and service connections)."""
    drift_template: str = ".azure-pipelines/templates/drift-stages.yml"
    """The template drift runs extend (service connections only: drift never deploys)."""
    environments: Annotated[list[DeliveryEnvironment], Field(min_length=1)]

    @model_validator(mode="after")
    def _one_identity_per_environment(self) -> "Delivery":
        owner: dict[str, str] = {}
        for index, environment in enumerate(self.environments):
            for number, connection in enumerate(environment.connections):
                for field, key in (("name", connection.name), ("clientId", connection.client_id)):
                    if owner.setdefault(key, environment.name) != environment.name:
                        raise FieldError(
                            f"environments[{index}].connections[{number}].{field}",
                            f"{key!r} is already used by {owner[key]} "
                            "(give each environment its own service connection and identity)",
                        )
        return self


def parse_delivery(raw: dict[str, object]) -> Delivery:
    try:
        return Delivery.model_validate(raw)
    except ValidationError as exc:
        raise EstateConfigError(f"{CONFIG_NAMESPACE}:{one_line(exc, CONFIG_NAMESPACE)}") from None
