"""`python -m odoo_platform` and the `odoo-platform` console script."""

import sys


def launch() -> None:
    try:
        from odoo_platform.cli import EXIT_INTERRUPTED, run
    except KeyboardInterrupt:  # Ctrl-C while the SDKs are still loading: no traceback either
        sys.exit(130)
    try:
        run()
    except KeyboardInterrupt:  # between main() returning and the exit
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    launch()
