"""CrossGuard pack: odoo-platform encryption rules (the rules live in odoo_platform.policy.rules)."""

from odoo_platform.policy.pack import serve
from odoo_platform.policy.rules import PACKS

serve("encryption", PACKS["encryption"])
