"""Entry point of the Pulumi program (Pulumi.yaml `main: stacks/`)."""

from pathlib import Path

from odoo_platform.program import main

# The release ledger lives beside the stack files: ring promotions are checked against it.
main(ledger=Path(__file__).resolve().parent / "releases.yaml")
