"""Entry point of the Pulumi program (Pulumi.yaml `main: stacks/`)."""

from pathlib import Path

from odoo_platform.program import main

# The stack files' directory (Pulumi.yaml: main and stackConfigDir are both stacks/) holds the
# release ledger, which ring promotions are checked against, and any tenant catalogue.
main(stack_dir=Path(__file__).resolve().parent)
