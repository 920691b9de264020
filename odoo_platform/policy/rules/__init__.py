"""Every rule, by pack. A pack in policypacks/ serves exactly one of these lists."""

from __future__ import annotations

from collections.abc import Mapping

from odoo_platform.policy.rule import Rule
from odoo_platform.policy.rules.encryption import ENCRYPTION
from odoo_platform.policy.rules.resilience import RESILIENCE
from odoo_platform.policy.rules.segregation import SEGREGATION

PACKS: Mapping[str, list[Rule]] = {"encryption": ENCRYPTION, "segregation": SEGREGATION, "resilience": RESILIENCE}
ALL_RULES: tuple[Rule, ...] = tuple(rule for rules in PACKS.values() for rule in rules)
