"""Service tiers: the recovery promise (RPO/RTO) and everything that follows from it.

A tier is a promise to the tenant; the fields after RPO/RTO are the controls that keep it.
Validation makes an inconsistent catalogue (a backup interval longer than the RPO, a
one-hour RTO without HA) impossible to declare.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class TierSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    label: str
    rpo_minutes: Annotated[int, Field(ge=5, description="Most data the tenant may lose.")]
    rto_minutes: Annotated[int, Field(ge=15, description="Longest time to get the tenant back.")]
    backup_retention_days: Annotated[int, Field(ge=7, le=35, description="Managed backups kept (7-35, the cloud limit).")]
    backup_interval_minutes: Annotated[int, Field(ge=5, description="How often a recoverable copy is taken.")]
    point_in_time_restore: bool
    high_availability: bool
    geo_redundant_backup: bool
    """In production, recoverable backups are also kept in a second region, on every cloud: Azure's geo-redundant
    server backups and vault storage; AWS Backup copies to a vault (and key) in another region."""
    archive_retention_days: Annotated[int, Field(ge=30, description="Immutable logical dumps kept in the backup vault.")]
    web_replicas_min: Annotated[int, Field(ge=1, le=20)]
    web_replicas_max: Annotated[int, Field(ge=1, le=50)]
    restore_drill_schedule: str = Field(description="Cron schedule of the restore drill.")
    requests_per_second: Annotated[int, Field(ge=10, description="Traefik rate limit per client IP.")]
    secret_rotation_days: Annotated[
        int, Field(ge=1, le=365, description="Days between rotations of database, Odoo admin and Redis passwords.")
    ] = 90

    @model_validator(mode="after")
    def _promise_is_kept(self) -> "TierSpec":
        if self.backup_interval_minutes > self.rpo_minutes and not self.point_in_time_restore:
            raise ValueError(
                f"tier {self.label!r}: backupIntervalMinutes {self.backup_interval_minutes} exceeds rpoMinutes "
                f"{self.rpo_minutes} without point-in-time restore (shorten the interval or enable PITR)"
            )
        if self.rto_minutes < 120 and not self.high_availability:
            raise ValueError(
                f"tier {self.label!r}: an RTO under 2 hours needs highAvailability (enable it or raise rtoMinutes)"
            )
        if self.web_replicas_max < self.web_replicas_min:
            raise ValueError(f"tier {self.label!r}: webReplicasMax is below webReplicasMin (raise webReplicasMax)")
        return self

    @property
    def effective_rpo_minutes(self) -> int:
        """With PITR the WAL archive, not the snapshot interval, bounds the loss (about 5 minutes)."""
        return 5 if self.point_in_time_restore else self.backup_interval_minutes


DEFAULT_TIER_CATALOGUE: dict[int, TierSpec] = {
    1: TierSpec(
        label="critical",
        rpo_minutes=15,
        rto_minutes=60,
        backup_retention_days=35,
        backup_interval_minutes=60,
        point_in_time_restore=True,
        high_availability=True,
        geo_redundant_backup=True,
        archive_retention_days=2555,
        web_replicas_min=2,
        web_replicas_max=8,
        restore_drill_schedule="0 3 1 * *",
        requests_per_second=200,
        secret_rotation_days=30,
    ),
    2: TierSpec(
        label="business",
        rpo_minutes=60,
        rto_minutes=240,
        backup_retention_days=14,
        backup_interval_minutes=240,
        point_in_time_restore=True,
        high_availability=False,
        geo_redundant_backup=True,
        archive_retention_days=365,
        web_replicas_min=2,
        web_replicas_max=4,
        restore_drill_schedule="0 3 1 */3 *",
        requests_per_second=100,
        secret_rotation_days=60,
    ),
    3: TierSpec(
        label="standard",
        rpo_minutes=1440,
        rto_minutes=1440,
        backup_retention_days=7,
        backup_interval_minutes=1440,
        point_in_time_restore=True,
        high_availability=False,
        geo_redundant_backup=False,
        archive_retention_days=90,
        web_replicas_min=1,
        web_replicas_max=2,
        restore_drill_schedule="0 3 1 */6 *",
        requests_per_second=50,
        secret_rotation_days=90,
    ),
}
