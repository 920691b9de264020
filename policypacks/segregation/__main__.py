"""CrossGuard pack: odoo-platform segregation rules (the rules live in odoo_platform.policy.rules)."""

from odoo_platform.policy.pack import serve
from odoo_platform.policy.rules import PACKS

serve("segregation", PACKS["segregation"])
