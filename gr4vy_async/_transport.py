"""The one place a request is sent: URL, headers, auth, timeout, retry, errors, decoding."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, Union, overload

import aiohttp
import msgspec
from multidict import CIMultiDict
from yarl import URL

from ._codec import decoder_for
from ._version import __version__
from .errors import (
    ClientClosedError,
    ConnectError,
    Gr4vyError,
    InvalidRequestError,
    RequestTimeoutError,
    ResponseValidationError,
    TransportError,
    error_for_response,
)
from .retries import RetryConfig

__all__ = ["USER_AGENT", "BearerAuth", "Transport"]

T = TypeVar("T")

USER_AGENT = f"gr4vy-async/{__version__}"

#: A token, or a function (sync or async) that returns one for each request.
BearerAuth = Union[str, Callable[[], str], Callable[[], Awaitable[str]]]  # noqa: UP007


_FORBIDDEN_IN_HEADERS = frozenset("\r\n\0")


def _check_header_value(name: str, value: str) -> None:
    """Reject CR, LF and NUL, which would split or break the header (never echo the value)."""
    if not _FORBIDDEN_IN_HEADERS.isdisjoint(value):
        raise InvalidRequestError(f"{name}: contains a line break or NUL character")


def _merged_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> CIMultiDict[str]:
    """``extra`` set over ``base``, names compared case-insensitively; each checked."""
    merged = CIMultiDict(base)
    for name, value in extra.items():
        if not isinstance(name, str) or not isinstance(value, str) or not name:
            raise InvalidRequestError("http_headers: names and values must be strings")
        _check_header_value(f"http_headers[{name[:40]!r}] name", name)
        _check_header_value(f"http_headers[{name[:40]!r}]", value)
        merged[name] = value
    return merged


def _context(method: str, url: URL) -> dict[str, Any]:
    """The request's method and URL for an error: built only when one is raised."""
    return {"method": method, "url": str(url)}


class Transport:
    """Sends requests to one Gr4vy base URL over one aiohttp session."""

    def __init__(
        self,
        *,
        base_url: str,
        bearer_auth: BearerAuth,
        merchant_account_id: str | None,
        timeout: float,
        retries: RetryConfig,
        headers: Mapping[str, str] | None,
        session: aiohttp.ClientSession | None,
        max_connections: int,
        allow_insecure_http: bool = False,
    ) -> None:
        self.base_url = base_url
        self.allow_insecure_http = allow_insecure_http
        self.merchant_account_id = merchant_account_id
        self.retries = retries
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            **(headers or {}),
        }
        for name, value in self._headers.items():
            _check_header_value(f"headers[{name!r}]", value)
        if merchant_account_id is not None:
            _check_header_value("merchant_account_id", merchant_account_id)
        if isinstance(bearer_auth, str):
            if not bearer_auth:
                raise InvalidRequestError("bearer_auth: the token is empty")
            _check_header_value("bearer_auth", bearer_auth)
            self._static_authorization: str | None = f"Bearer {bearer_auth}"
        else:
            self._static_authorization = None
        self._token_source = bearer_auth
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._closed = False
        self._headers_cache: dict[tuple[str, str | None, bool], dict[str, str]] = {}
        self._last_authorization: tuple[str, str] | None = None

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> aiohttp.ClientSession:
        """The session, made on first use inside the running loop if we own it."""
        if self._closed:
            raise ClientClosedError("the Gr4vy client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
            )
        return self._session

    async def aclose(self) -> None:
        """Close the session if we own it; a borrowed one is left open. Idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    # ------------------------------------------------------------------ requests

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        response_type: type[T],
        body: bytes | None = ...,
        merchant_account_id: str | msgspec.UnsetType | None = ...,
        timeout: float | None = ...,
        retries: RetryConfig | None = ...,
        headers: Mapping[str, str] | None = ...,
        base_url: str | None = ...,
    ) -> T: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        response_type: None,
        body: bytes | None = ...,
        merchant_account_id: str | msgspec.UnsetType | None = ...,
        timeout: float | None = ...,
        retries: RetryConfig | None = ...,
        headers: Mapping[str, str] | None = ...,
        base_url: str | None = ...,
    ) -> None: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        response_type: type[T] | None,
        body: bytes | None = None,
        merchant_account_id: str | msgspec.UnsetType | None = msgspec.UNSET,
        timeout: float | None = None,
        retries: RetryConfig | None = None,
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
    ) -> T | None:
        """Send one request (retrying per policy) and decode a 2xx into ``response_type``.

        Raises the :mod:`~gr4vy_async.errors` class for the response status,
        :class:`ResponseValidationError` for a 2xx that does not decode, and a
        :class:`TransportError` (cause kept) when no response came.
        ``headers`` set or replace the client's for this request (checked
        like them); ``base_url`` replaces the client's (checked like its
        ``server_url``).
        """
        session = self.open()
        if base_url is not None:
            base_url = self._checked_base_url(base_url)
        url = URL((base_url or self.base_url) + path, encoded=True)
        authorization = self._static_authorization or await self._authorization()
        sent_headers: Mapping[str, str] = self._request_headers(
            authorization, merchant_account_id, body is not None
        )
        if headers:
            sent_headers = _merged_headers(sent_headers, headers)
        if timeout is None:
            client_timeout = self._timeout
        elif timeout > 0:  # aiohttp reads 0 or less as "no timeout at all"
            client_timeout = aiohttp.ClientTimeout(total=timeout)
        else:
            raise InvalidRequestError("timeout_in_seconds: must be a positive number")
        started = time.monotonic()
        # The first attempt runs outside tenacity: building its controller costs
        # more than a whole successful request, and most requests succeed.
        try:
            return await self._send(
                session, method, url, sent_headers, body, client_timeout, response_type
            )
        except Gr4vyError as error:
            policy = self.retries if retries is None else retries
            if not policy.should_retry(error, method):
                raise
            first_error: Gr4vyError | None = error
        async for retry_state in policy.retrying(method, started):
            with retry_state:
                if first_error is not None:
                    # Replay the first failure so tenacity counts it and waits for it.
                    replayed, first_error = first_error, None
                    raise replayed
                return await self._send(
                    session, method, url, sent_headers, body, client_timeout, response_type
                )
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _checked_base_url(self, base_url: str) -> str:
        """A per-request base URL, checked like the client's ``server_url``."""
        from .client import resolve_base_url  # client imports this module

        return resolve_base_url(
            id="", server="", server_url=base_url, allow_insecure_http=self.allow_insecure_http
        )

    def _request_headers(
        self,
        authorization: str,
        merchant_account_id: str | msgspec.UnsetType | None,
        has_body: bool,
    ) -> dict[str, str]:
        """The headers, built and checked once per (token, merchant, body?), then reused.

        aiohttp copies the dict it is given, so sharing one between requests is safe.
        """
        if merchant_account_id is msgspec.UNSET:
            merchant_account_id = self.merchant_account_id
        key = (authorization, merchant_account_id, has_body)
        headers = self._headers_cache.get(key)
        if headers is None:
            headers = dict(self._headers)
            headers["Authorization"] = authorization
            if merchant_account_id is not None:
                _check_header_value("merchant_account_id", merchant_account_id)
                headers["x-gr4vy-merchant-account-id"] = merchant_account_id
            if has_body:
                headers["Content-Type"] = "application/json"
            if len(self._headers_cache) >= 32:  # rotating tokens: keep only the current ones
                self._headers_cache.clear()
            self._headers_cache[key] = headers
        return headers

    async def _authorization(self) -> str:
        """``Bearer <token>`` from the provider, checked once per new token."""
        token = await self._token()
        last = self._last_authorization
        if last is not None and last[0] is token:
            return last[1]
        _check_header_value("bearer_auth", token)
        authorization = f"Bearer {token}"
        self._last_authorization = (token, authorization)
        return authorization

    async def _token(self) -> str:
        source = self._token_source
        assert not isinstance(source, str)
        token = source()
        if type(token) is not str and inspect.isawaitable(token):
            token = await token
        if not isinstance(token, str) or not token:
            raise InvalidRequestError("bearer_auth: the token provider returned no token")
        return token

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
        response_type: type[T] | None,
    ) -> T | None:
        try:
            # Never follow a redirect: it would carry the body (buyer data) to
            # whatever host the Location names, over any scheme.
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                raw = await response.read()
                status = response.status
                if status >= 300:
                    raise error_for_response(status, response.headers, raw, **_context(method, url))
                if response_type is None:
                    return None
                try:
                    return decoder_for(response_type).decode(raw)
                except msgspec.DecodeError as exc:
                    raise ResponseValidationError(
                        f"{status}: the response body is not a valid "
                        f"{response_type.__name__}: {exc}",
                        status_code=status,
                        headers=response.headers,
                        body=raw.decode("utf-8", "replace"),
                        **_context(method, url),
                    ) from exc
        except (TimeoutError, asyncio.TimeoutError) as exc:
            raise RequestTimeoutError(
                f"no response within {timeout.total} s", **_context(method, url)
            ) from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            # Not a transient failure: retrying cannot fix a certificate.
            raise TransportError(
                f"TLS certificate rejected: {exc.certificate_error}", **_context(method, url)
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(
                f"cannot connect: {exc.os_error or exc}", before_send=True, **_context(method, url)
            ) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError,
                aiohttp.ClientPayloadError) as exc:  # fmt: skip
            raise ConnectError(
                f"connection lost: {type(exc).__name__}", **_context(method, url)
            ) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(
                f"request failed: {type(exc).__name__}", **_context(method, url)
            ) from exc
        except RuntimeError as exc:
            if session.closed:
                raise ClientClosedError(
                    "the aiohttp session is closed", **_context(method, url)
                ) from exc
            raise
