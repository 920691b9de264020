"""CloudFoundation: the estate's resource group or VPC and private network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from odoo_platform.clouds import CloudAdapter, Foundation
from odoo_platform.components.base import PlatformComponent
from odoo_platform.config import Estate


@dataclass(frozen=True)
class CloudFoundationArgs:
    estate: Estate
    adapter: CloudAdapter


class CloudFoundation(PlatformComponent):
    foundation: Foundation
    """Handles to the network and grouping resources later components are placed into."""

    def __init__(self, name: str, args: CloudFoundationArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(name, opts)
        self.foundation = args.adapter.create_foundation(name, self, args.estate)
        self.register_outputs({"location": self.foundation.location})
