"""CrossGuard pack: odoo-platform cloud rules (the rules live in odoo_platform.policy.rules)."""

from odoo_platform.policy.pack import serve
from odoo_platform.policy.rules import PACKS

serve("cloud", PACKS["cloud"])
