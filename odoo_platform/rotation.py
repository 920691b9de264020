"""Generated passwords that rotate on the tier's schedule without anyone touching them.

A `time.Rotating` resource expires after the period; the next `pulumi up` (the scheduled
pipeline run) recreates it, its new id changes the password's `keepers`, and so the
password is regenerated, written to the secret store and rolled out to the workloads that
carry the revision in their pod template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random as random
import pulumiverse_time as time

ROTATION_KEEPER = "rotation"
"""The `keepers` key tying a password to its rotation; the policy rule looks for it."""


@dataclass(frozen=True)
class RotatedSecret:
    value: pulumi.Output[str]
    """The current value, a Pulumi secret."""
    revision: pulumi.Output[str]
    """When the current value was generated (RFC 3339); changes at every rotation."""
    rotates_at: pulumi.Output[str]
    """When the next rotation is due (RFC 3339)."""
    period_days: int


def rotating_password(owner: pulumi.Resource, name: str, period_days: int, **password: Any) -> RotatedSecret:
    """A RandomPassword named `name`, parented to `owner`, regenerated every `period_days` days."""
    child = pulumi.ResourceOptions(parent=owner)
    rotation = time.Rotating(f"{name}-rotation", rotation_days=period_days, opts=child)
    generated = random.RandomPassword(name, keepers={ROTATION_KEEPER: rotation.id}, opts=child, **password)
    return RotatedSecret(
        value=pulumi.Output.secret(generated.result),
        revision=rotation.id,
        rotates_at=rotation.rotation_rfc3339,
        period_days=period_days,
    )
