"""Entry point of the Pulumi program (Pulumi.yaml `main: stacks/`)."""

from odoo_platform.program import main

main()
