"""The library's defaults, each said once: timeouts, sizes, token lifetime, logger name."""

from __future__ import annotations

__all__ = [
    "BODY_PREFIX_LIMIT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "LOGGER_NAME",
    "RETRY_BUDGET",
    "RETRY_COST",
    "TIMEOUT_RETRY_COST",
    "TOKEN_LIFETIME",
]

#: Seconds an attempt may take (hooks, a free connection, the token, the request).
DEFAULT_TIMEOUT = 30.0
#: Connections the client's own pool opens at most.
DEFAULT_MAX_CONNECTIONS = 100
#: The largest response body read (decompressed), in bytes.
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
#: Seconds a signed token is valid for (``expires_in``), as in SDK 2.4.27.
TOKEN_LIFETIME = 3600
#: The logger every attempt's DEBUG line and retry INFO line go to.
LOGGER_NAME = "gr4vy_async"
#: How much of a response body an exception keeps in ``body`` (characters).
BODY_PREFIX_LIMIT = 8192
#: Tokens in a client's retry budget (botocore's standard mode: 500).
RETRY_BUDGET = 500
#: Tokens a retry spends; a success refunds them (1 for a success at the first attempt).
RETRY_COST = 5
#: Tokens a retry after a timeout spends: a timeout may mean the server is saturated.
TIMEOUT_RETRY_COST = 10
