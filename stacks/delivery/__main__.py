"""Entry point of the delivery stack (stacks/delivery/Pulumi.yaml)."""

from odoo_platform.delivery.program import main

main()
