"""What every component shares: its type token and how it parents and protects children."""

from __future__ import annotations

from typing import Optional

import pulumi

TYPE_PREFIX = "odoo-platform:index:"


class PlatformComponent(pulumi.ComponentResource):
    """A component whose type token is `odoo-platform:index:<ClassName>`."""

    def __init__(self, name: str, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(f"{TYPE_PREFIX}{type(self).__name__}", name, None, opts)
        self.component_name = name

    def child(self, **extra: object) -> pulumi.ResourceOptions:
        """Options for a child: always parented here, plus anything resource-specific."""
        return pulumi.ResourceOptions(parent=self, **extra)  # type: ignore[arg-type]

    def stateful(self) -> pulumi.ResourceOptions:
        """Options for a child that holds data: never deleted or replaced by accident.

        `protect` makes `pulumi up` refuse a delete or replace; `retain_on_delete` keeps the
        cloud resource even if protection is lifted and the resource leaves the program.
        """
        return pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
