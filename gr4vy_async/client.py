"""``Gr4vy``: configuration and the aiohttp session behind ``client.checkout_sessions``."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from types import TracebackType

import aiohttp

from ._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    BearerAuth,
    DebugLogger,
    Transport,
    check_server_url,
    check_timeout,
)
from .checkout_sessions import CheckoutSessions
from .errors import InvalidRequestError
from .hooks import Hooks
from .retries import RetryConfig

__all__ = ["SERVERS", "Gr4vy"]

#: The named Gr4vy environments; ``{id}`` is the instance id.
SERVERS: Mapping[str, str] = {
    "sandbox": "https://api.sandbox.{id}.gr4vy.app",
    "production": "https://api.{id}.gr4vy.app",
}
_INSTANCE_ID = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
DEFAULT_TIMEOUT = 30.0


def resolve_base_url(
    *, id: str, server: str, server_url: str | None, allow_insecure_http: bool
) -> str:
    """The API base URL, checked: https, unless loopback or explicitly allowed."""
    if server_url is not None:
        return check_server_url(server_url, allow_insecure_http)
    template = SERVERS.get(server)
    if template is None:
        raise InvalidRequestError(
            f"server: unknown server {server!r}; expected one of {', '.join(SERVERS)}"
        )
    if not _INSTANCE_ID.fullmatch(id):
        raise InvalidRequestError(f"id: not a Gr4vy instance id: {id[:64]!r}")
    return template.format(id=id)


def _debug_logger(debug_logger: DebugLogger | None) -> DebugLogger | None:
    """``debug_logger``, or, as in the official SDK, DEBUG on when ``GR4VY_DEBUG`` is set."""
    if debug_logger is None and os.getenv("GR4VY_DEBUG"):
        logging.basicConfig()  # a stderr handler on the root logger, if it has none
        logging.getLogger("gr4vy_async").setLevel(logging.DEBUG)
    return debug_logger


class Gr4vy:
    """An async client for the Gr4vy API.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with Gr4vy(id="acme", server="production", bearer_auth=token) as client:
            session = await client.checkout_sessions.create()

    ``bearer_auth`` is a token, or a function (sync or async) returning one,
    called for each request (see :func:`gr4vy_async.auth.with_token`). Pass
    ``session=`` to borrow an ``aiohttp.ClientSession`` (never closed here;
    its defaults such as ``raise_for_status``, ``base_url`` or default headers
    do not apply to this client's requests); otherwise the client makes one in
    the running loop and closes it on exit. A client belongs to one event loop.

    ``timeout_in_seconds`` bounds each attempt; ``retries.max_elapsed`` bounds
    when a retry may start. ``max_response_bytes`` caps a response body
    (decompressed). ``debug_logger`` receives one DEBUG line per attempt
    (default: the ``gr4vy_async`` logger; the ``GR4VY_DEBUG`` environment
    variable turns it on). ``client.hooks`` registers hooks
    (:mod:`gr4vy_async.hooks`).
    """

    def __init__(
        self,
        *,
        bearer_auth: BearerAuth,
        id: str = "example",
        server: str = "sandbox",
        server_url: str | None = None,
        merchant_account_id: str | None = None,
        timeout_in_seconds: float = DEFAULT_TIMEOUT,
        retries: RetryConfig | None = None,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        allow_insecure_http: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        debug_logger: DebugLogger | None = None,
    ) -> None:
        check_timeout(timeout_in_seconds)
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise InvalidRequestError(
                "max_response_bytes: expected a positive whole number of bytes",
                field="max_response_bytes",
                reason="range",
            )
        self.hooks = Hooks()
        self.server_url = resolve_base_url(
            id=id, server=server, server_url=server_url, allow_insecure_http=allow_insecure_http
        )
        self._transport = Transport(
            base_url=self.server_url,
            bearer_auth=bearer_auth,
            merchant_account_id=merchant_account_id,
            timeout=timeout_in_seconds,
            retries=retries if retries is not None else RetryConfig(),
            headers=headers,
            session=session,
            max_connections=max_connections,
            max_response_bytes=max_response_bytes,
            allow_insecure_http=allow_insecure_http,
            debug_logger=_debug_logger(debug_logger),
            hooks=self.hooks,
        )
        self.checkout_sessions = CheckoutSessions(self._transport)

    async def __aenter__(self) -> Gr4vy:
        self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client's own aiohttp session (a borrowed one stays open)."""
        await self._transport.aclose()

    def __repr__(self) -> str:
        merchant = self._transport.merchant_account_id
        return f"Gr4vy(server_url={self.server_url!r}, merchant_account_id={merchant!r})"
