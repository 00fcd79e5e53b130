"""Kept for ``test_cli.py`` only: the raw servers live in ``support/servers.py``.

Delete this file once ``test_cli.py`` imports ``from support.servers import ...``.
"""

from support.servers import RawServer, json_response

__all__ = ["RawServer", "json_response"]
