"""``Gr4vy``: configuration and the aiohttp session behind ``client.checkout_sessions``."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from types import TracebackType
from typing import NoReturn

import aiohttp
from msgspec import UNSET, UnsetType

from . import _checks
from ._call_options import retry_policy, timeout_in
from ._defaults import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    LOGGER_NAME,
    RETRY_BUDGET,
)
from ._redact import Secret, hint
from ._tokens import BearerAuth
from ._transport import DebugLogger, Transport
from .checkout_sessions import CheckoutSessions
from .errors import InvalidRequestError
from .hooks import Hooks
from .retries import RetryConfig

__all__ = ["DEFAULT_TIMEOUT", "SERVERS", "Gr4vy"]

#: The named Gr4vy environments; ``{id}`` is the instance id.
SERVERS: Mapping[str, str] = {
    "sandbox": "https://api.sandbox.{id}.gr4vy.app",
    "production": "https://api.{id}.gr4vy.app",
}
_INSTANCE_ID = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def _resolve_base_url(
    *, id: str, server: str, server_url: str | None, allow_insecure_http: bool
) -> str:
    """The API base URL, checked: https, unless loopback or explicitly allowed."""
    if server_url is not None:
        return _checks.server_url(server_url, allow_insecure_http)
    template = SERVERS.get(server)
    if template is None:
        raise InvalidRequestError(
            f"server: unknown server ({hint(server)}); expected one of {', '.join(SERVERS)}"
        )
    if not _INSTANCE_ID.fullmatch(id):
        raise InvalidRequestError(f"id: not a Gr4vy instance id ({hint(id)})")
    return template.format(id=id)


def _debug_logger(debug_logger: DebugLogger | None) -> DebugLogger | None:
    """``debug_logger``, or, as in the official SDK, DEBUG on when ``GR4VY_DEBUG`` is set."""
    if debug_logger is None and os.getenv("GR4VY_DEBUG"):
        logging.basicConfig()  # a stderr handler on the root logger, if it has none
        logging.getLogger(LOGGER_NAME).setLevel(logging.DEBUG)
    return debug_logger


class Gr4vy:
    """An async client for the Gr4vy API.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with Gr4vy(id="acme", server="production", bearer_auth=token) as client:
            session = await client.checkout_sessions.create()

    ``bearer_auth`` is a token, or a function (sync or async) returning one,
    called for each request (see :func:`gr4vy_async.auth.with_token`); left
    out, ``GR4VY_BEARER_AUTH`` is used. Pass ``session=`` to borrow an
    ``aiohttp.ClientSession`` (never closed here; its defaults such as
    ``raise_for_status``, ``base_url`` or default headers do not apply to this
    client's requests); otherwise the client makes one in the running loop and
    closes it on exit. A client belongs to one event loop.

    ``timeout_in_seconds`` bounds each attempt: its hooks, the wait for a
    pooled connection, the token provider and the request; ``retries.max_elapsed``
    bounds when a retry may start, so a call ends within about
    ``max_elapsed + timeout_in_seconds``. ``deadline`` (seconds; per call too)
    bounds a whole call: each attempt gets the smaller of its timeout and the
    time left, no retry starts whose wait would pass it, and a call it cuts
    short raises :class:`~gr4vy_async.errors.DeadlineExceededError`.
    ``retry_budget`` (tokens, default 500; ``None``: off) is the client's
    :class:`~gr4vy_async.retries.RetryBudget`: a retry spends 5 (10 after a
    timeout), a success refunds, and a retry it cannot pay is not made.
    ``max_response_bytes`` caps a response body
    (decompressed). ``debug_logger`` receives one DEBUG line per attempt
    (default: the ``gr4vy_async`` logger; the ``GR4VY_DEBUG`` environment
    variable turns it on). ``client.hooks`` registers hooks
    (:mod:`gr4vy_async.hooks`).

    SDK 2.4.27's options work too: ``timeout_ms`` (for
    ``timeout_in_seconds``), ``retry_config`` (for ``retries``: its
    a :class:`RetryConfig`, which ``gr4vy_async.utils.RetryConfig`` builds from
    the SDK's settings; ``None`` never retries),
    ``url_params`` (``{name}`` values for ``server_url``; ignored without
    one, as in the SDK), the SDK's positional order (``Gr4vy("token")``), and
    ``merchant_account_id`` from ``GR4VY_MERCHANT_ACCOUNT_ID`` when not given.
    Giving both spellings of one option, or the SDK's httpx ``client`` /
    ``async_client``, raises ``InvalidRequestError``.
    """

    def __init__(
        # Positional in SDK 2.4.27's order, so Gr4vy("token", ...) works as there.
        self,
        bearer_auth: BearerAuth | None = None,
        merchant_account_id: str | None = None,
        id: str | None = None,
        server: str | None = None,
        url_params: Mapping[str, str] | None = None,
        server_url: str | None = None,
        client: object = None,
        async_client: object = None,
        retry_config: RetryConfig | UnsetType | None = UNSET,
        timeout_ms: float | None = None,
        debug_logger: DebugLogger | None = None,
        *,
        timeout_in_seconds: float | None = None,
        retries: RetryConfig | None = None,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        allow_insecure_http: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float | None = None,
        retry_budget: int | None = RETRY_BUDGET,
    ) -> None:
        if isinstance(bearer_auth, str):  # this frame's locals may be printed
            bearer_auth = Secret(bearer_auth)
        for name, given in (("client", client), ("async_client", async_client)):
            if given is not None:  # SDK 2.4.27's httpx clients: say what to use instead
                raise InvalidRequestError(
                    f"{name}: httpx clients are not used here; pass "
                    "session=aiohttp.ClientSession(...) to borrow a session"
                )
        timeout = timeout_in(timeout_in_seconds, timeout_ms)
        if deadline is not None:
            deadline = _checks.timeout(deadline, "deadline")
        if retry_budget is not None:
            _checks.whole_number(retry_budget, "retry_budget")
        _checks.whole_number(max_response_bytes, "max_response_bytes")
        _checks.whole_number(max_connections, "max_connections")
        if retry_config is not UNSET:
            if retries is not None:
                raise _checks.invalid(
                    "retry_config", "retries or retry_config, not both", "both given"
                )
            retries = RetryConfig.none() if retry_config is None else retry_config
        retries = retry_policy(retries)
        if url_params and server_url is not None:  # as in the SDK, ignored without server_url
            for name, value in url_params.items():
                server_url = server_url.replace(f"{{{name}}}", value)
        if bearer_auth is None:
            bearer_auth = Secret(os.environ.get("GR4VY_BEARER_AUTH", ""))
            if not bearer_auth:
                raise InvalidRequestError(
                    "bearer_auth: pass a token or token provider (or set GR4VY_BEARER_AUTH)"
                )
        if merchant_account_id is None:
            merchant_account_id = os.environ.get("GR4VY_MERCHANT_ACCOUNT_ID") or None
        self.hooks = Hooks()
        self.server_url = _resolve_base_url(
            id="example" if id is None else id,
            server="sandbox" if server is None else server,
            server_url=server_url,
            allow_insecure_http=allow_insecure_http,
        )
        self._transport = Transport(
            base_url=self.server_url,
            bearer_auth=bearer_auth,
            merchant_account_id=merchant_account_id,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            retries=retries if retries is not None else RetryConfig(),
            headers=headers,
            session=session,
            max_connections=max_connections,
            allow_insecure_http=allow_insecure_http,
            max_response_bytes=max_response_bytes,
            debug_logger=_debug_logger(debug_logger),
            hooks=self.hooks,
            deadline=deadline,
            retry_budget=retry_budget,
        )
        self.checkout_sessions = CheckoutSessions(self._transport)

    def __enter__(self) -> NoReturn:
        # The SDK's ``with Gr4vy(...)`` fails at once, with the same advice on every Python.
        raise TypeError("Gr4vy is async: use `async with Gr4vy(...) as client:`")

    def __exit__(self, *exc_info: object) -> None:  # never reached: __enter__ raises
        raise TypeError("Gr4vy is async: use `async with Gr4vy(...) as client:`")

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
