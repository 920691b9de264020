"""CrossGuard pack: odoo-platform governance rules (the rules live in odoo_platform.policy.rules)."""

from odoo_platform.policy.pack import serve
from odoo_platform.policy.rules import PACKS

serve("governance", PACKS["governance"])
