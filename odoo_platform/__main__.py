import sys

from odoo_platform.cli import main

sys.exit(main())
