"""``python -m gr4vy_async.contrib.saq_cleanup``: see :mod:`.command_line`."""

import sys

from .command_line import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
