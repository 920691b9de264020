"""Errors a user can fix, and the exit codes the CLI maps them to."""

from __future__ import annotations

import pulumi

EXIT_OK = 0
EXIT_POLICY_VIOLATION = 1  # a mandatory policy was violated
EXIT_BAD_INPUT = 2  # invalid config, unknown stack or tenant, impossible sizing, bad arguments
EXIT_TOOL_FAILURE = 3  # something outside the user's input failed (a policy pack did not start)
EXIT_CHANGE_REFUSED = 4  # the change calendar does not allow a change of this risk now
EXIT_DRIFT = 5  # the live estate drifted from the approved plan on a stateful or security-relevant property
EXIT_APPROVALS_INCOMPLETE = 6  # the evidence bundle was written, but the approvals the change's risk needs are missing


class EstateConfigError(pulumi.RunError):
    """An estate that cannot be built. The message is one line naming the field and the fix.

    It derives from RunError so that `pulumi preview` prints the message without a traceback,
    exactly as the offline CLI does.
    """


class ToolFailure(RuntimeError):
    """A failure that is not the user's input: reported with exit code 3."""
