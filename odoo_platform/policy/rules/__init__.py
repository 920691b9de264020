"""Every rule, by pack. A pack in policypacks/ serves exactly one of these lists."""

from __future__ import annotations

from collections.abc import Mapping

from odoo_platform.policy.rule import Rule
from odoo_platform.policy.rules.aws import AWS
from odoo_platform.policy.rules.azure import AZURE
from odoo_platform.policy.rules.delivery import DELIVERY
from odoo_platform.policy.rules.encryption import ENCRYPTION
from odoo_platform.policy.rules.governance import GOVERNANCE
from odoo_platform.policy.rules.resilience import RESILIENCE
from odoo_platform.policy.rules.segregation import SEGREGATION

PACKS: Mapping[str, list[Rule]] = {
    "encryption": ENCRYPTION, "segregation": SEGREGATION, "resilience": RESILIENCE, "governance": GOVERNANCE + DELIVERY,
    "cloud": AZURE + AWS,
}
ALL_RULES: tuple[Rule, ...] = tuple(rule for rules in PACKS.values() for rule in rules)


def rules_table() -> str:
    """The README's rule table, generated from the registry so the two never disagree."""
    lines = ["| id | pack | name | what it requires | severity |", "|---|---|---|---|---|"]
    for pack, rules in PACKS.items():
        for rule in rules:
            scope = " (stack rule)" if rule.check_stack and "stack rule" not in rule.description else ""
            lines.append(f"| {rule.id} | {pack} | `{rule.name}` | {rule.description}{scope} | {rule.severity.value} |")
    return "\n".join(lines) + "\n"
