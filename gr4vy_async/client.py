"""``Gr4vy``: configuration and the aiohttp session behind ``client.checkout_sessions``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from types import TracebackType

import aiohttp
from yarl import URL

from ._codec import hint
from ._transport import BearerAuth, Transport
from .checkout_sessions import CheckoutSessions
from .errors import InvalidRequestError
from .retries import RetryConfig

__all__ = ["SERVERS", "Gr4vy"]

#: The named Gr4vy environments; ``{id}`` is the instance id.
SERVERS: Mapping[str, str] = {
    "sandbox": "https://api.sandbox.{id}.gr4vy.app",
    "production": "https://api.{id}.gr4vy.app",
}
_INSTANCE_ID = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
DEFAULT_TIMEOUT = 30.0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_base_url(
    *, id: str, server: str, server_url: str | None, allow_insecure_http: bool
) -> str:
    """The API base URL, checked: https, unless loopback or explicitly allowed."""
    if server_url is None:
        template = SERVERS.get(server)
        if template is None:
            raise InvalidRequestError(
                f"server: unknown server ({hint(server)}); expected one of {', '.join(SERVERS)}"
            )
        if not _INSTANCE_ID.fullmatch(id):
            raise InvalidRequestError(f"id: not a Gr4vy instance id ({hint(id)})")
        return template.format(id=id)
    url = URL(server_url)
    if url.scheme not in ("https", "http") or not url.host:
        raise InvalidRequestError("server_url: expected an absolute http(s) URL")
    if url.user or url.password or url.query_string or url.fragment:
        raise InvalidRequestError("server_url: must not carry credentials, a query or a fragment")
    if url.scheme == "http" and not (_is_loopback(url.host) or allow_insecure_http):
        raise InvalidRequestError(
            "server_url: plain http is only allowed to loopback hosts "
            "(pass allow_insecure_http=True to override)"
        )
    return str(url).rstrip("/")


class Gr4vy:
    """An async client for the Gr4vy API.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with Gr4vy(id="acme", server="production", bearer_auth=token) as client:
            session = await client.checkout_sessions.create()

    ``bearer_auth`` is a token, or a function (sync or async) returning one,
    called for each request (see :func:`gr4vy_async.auth.with_token`). Pass
    ``session=`` to borrow an ``aiohttp.ClientSession`` (never closed here);
    otherwise the client makes one in the running loop and closes it on exit.
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
    ) -> None:
        if not timeout_in_seconds > 0:
            raise InvalidRequestError("timeout_in_seconds: must be a positive number")
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
