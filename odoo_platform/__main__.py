from odoo_platform.cli import run

run()
