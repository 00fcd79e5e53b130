"""The one place a request is sent: URL, headers, auth, timeout, retry, errors, decoding."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import ipaddress
import logging
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar, Union, cast, overload

import aiohttp
import msgspec
from yarl import URL

from . import retries as _retries
from ._codec import ResponseBody, decoder_for, finite_number
from ._version import PRODUCT
from .errors import (
    ClientClosedError,
    ConnectError,
    EventLoopError,
    Gr4vyError,
    HookTimeoutError,
    InvalidRequestError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ResponseValidationError,
    TokenProviderError,
    TransportError,
    _body_prefix,
    error_for_response,
)
from .hooks import REDACTED, Hooks, RequestInfo, ResponseInfo
from .retries import RetryConfig

if sys.version_info >= (3, 11):
    from asyncio import timeout_at
else:

    @contextlib.asynccontextmanager
    async def timeout_at(when: float) -> AsyncIterator[None]:
        """Python 3.10's stand-in for :func:`asyncio.timeout_at`: cancel at ``when``."""
        task = asyncio.current_task()
        assert task is not None
        fired: list[bool] = []

        def fire() -> None:
            fired.append(True)
            task.cancel()

        handle = asyncio.get_running_loop().call_at(when, fire)
        try:
            yield
        except asyncio.CancelledError:
            if fired:
                raise asyncio.TimeoutError from None
            raise
        finally:
            handle.cancel()


__all__ = [
    "ATTEMPT_LOG_FORMAT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "BearerAuth",
    "DebugLogger",
    "Transport",
    "check_header",
    "check_server_url",
    "check_timeout",
]

T = TypeVar("T")

USER_AGENT = PRODUCT
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MERCHANT_HEADER = "x-gr4vy-merchant-account-id"

#: A token, or a function (sync or async) that returns one for each request.
BearerAuth = Union[str, Callable[[], str], Callable[[], Awaitable[str]]]  # noqa: UP007

logger = logging.getLogger("gr4vy_async")

#: The per-attempt DEBUG line; ``gr4vy-async --debug`` and log parsers rely on it.
ATTEMPT_LOG_FORMAT = "%s %s -> %s in %.1f ms (attempt %d, request id %s)"


class DebugLogger(Protocol):
    """What ``Gr4vy(debug_logger=...)`` takes: anything with ``debug(msg, *args)``."""

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


# ---------------------------------------------------------------- input checks

# RFC 9110 5.1 (field-name = token) and 5.5 (field-value: no CTL but HTAB).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# RFC 6750 2.1: b64token, what a bearer token (a JWT) is made of.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: Headers the client sets itself: passing them in ``headers`` is an error, not an override.
_RESERVED_HEADERS = {
    "authorization": "pass the token as bearer_auth",
    MERCHANT_HEADER: "pass merchant_account_id",
    "content-type": "the client sends JSON",
    "content-length": "set by the client",
    "transfer-encoding": "set by the client",
    "host": "set from the server URL",
}


def check_header(name: object, value: object, field: str) -> str:
    """``value`` as a plain ``str``, or an error for a name that is not an RFC 9110 token
    or a value with a control character.

    Raised before any connection; the message never shows the value. The value
    returned is what was checked, even from a ``str`` subclass whose ``__str__``
    (what aiohttp writes) says something else.
    """
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise InvalidRequestError(
            f"{field}: a header name must be a non-empty string of RFC 9110 token characters",
            field=field,
            reason="invalid header name",
        )
    where = f"{field}[{name!r}]" if field == "headers" else field
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"{where}: expected a string, got {type(value).__name__}",
            field=where,
            reason="not a string",
        )
    if _CONTROL.search(value):
        raise InvalidRequestError(
            f"{where}: contains a control character (only tab is allowed in a header value)",
            field=where,
            reason="control character",
        )
    return str.__str__(value)


def merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base`` updated with checked ``extra`` headers, names compared case-insensitively."""
    if not isinstance(extra, Mapping):
        raise InvalidRequestError(
            f"headers: expected a mapping of names to values, got {type(extra).__name__}",
            field="headers",
            reason="not a mapping",
        )
    merged = dict(base)
    by_lower = {name.lower(): name for name in merged}
    for name, value in extra.items():
        value = check_header(name, value, "headers")
        name = str.__str__(name)
        why = _RESERVED_HEADERS.get(name.lower())
        if why is not None:
            raise InvalidRequestError(
                f"headers[{name!r}]: not allowed here ({why})", field="headers", reason=why
            )
        previous = by_lower.pop(name.lower(), None)
        if previous is not None:
            del merged[previous]
        merged[name] = value
        by_lower[name.lower()] = name
    return merged


def check_timeout(value: object, field: str = "timeout_in_seconds") -> float:
    """A timeout in seconds: a real number (not a bool), finite and above zero."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError(
            f"{field}: expected a number of seconds, got {type(value).__name__}",
            field=field,
            reason="not a number",
        )
    if not (finite_number(value) and value > 0):
        raise InvalidRequestError(
            f"{field}: must be a finite number of seconds above 0", field=field, reason="range"
        )
    return float(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server_url(
    server_url: object, allow_insecure_http: bool, field: str = "server_url"
) -> str:
    """An absolute http(s) base URL without credentials: https, unless loopback or allowed."""
    if not isinstance(server_url, str):
        raise InvalidRequestError(f"{field}: expected a string", field=field, reason="not a string")
    try:
        url = URL(server_url)
    except (ValueError, TypeError):
        url = URL()
    if url.scheme not in ("https", "http") or not url.host:
        raise InvalidRequestError(
            f"{field}: expected an absolute http(s) URL", field=field, reason="not a URL"
        )
    if url.user or url.password or url.query_string or url.fragment:
        raise InvalidRequestError(
            f"{field}: must not carry credentials, a query or a fragment",
            field=field,
            reason="extra parts",
        )
    if url.scheme == "http" and not (_is_loopback(url.host) or allow_insecure_http):
        raise InvalidRequestError(
            f"{field}: plain http is only allowed to loopback hosts "
            "(pass allow_insecure_http=True to override)",
            field=field,
            reason="insecure",
        )
    return str(url).rstrip("/")


# ---------------------------------------------------------------- aiohttp glue


class _Credential(str):
    """An ``Authorization`` value whose repr hides it.

    Header dicts sit in locals of frames a rich traceback with ``show_locals``
    (or a debugger) prints; ``str()`` still gives the value aiohttp sends.
    rich shortens a long value by slicing it, so a slice keeps the class.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(REDACTED)

    def __getitem__(self, key: Any) -> str:
        return _Credential(super().__getitem__(key))


class _ConnectionDropped(aiohttp.ClientError):
    """A kept-alive connection dropped: raised instead of what aiohttp would retry silently."""


async def _no_silent_retry(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Turn aiohttp's one hidden resend of an idempotent request off.

    aiohttp resends a GET/PUT/DELETE once when a kept-alive connection drops;
    our retry policy counts attempts, so every request on the wire must be one.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # never connected: aiohttp does not resend these
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _ConnectionDropped(type(exc).__name__) from exc


async def _as_sent_by_us(
    headers: Mapping[str, str],
    defaults: Mapping[str, str],
    request: aiohttp.ClientRequest,
    handler: aiohttp.ClientHandlerType,
) -> aiohttp.ClientResponse:
    """For a borrowed session: our headers exactly, whatever the session adds.

    Drops its default headers that we did not set and sets ours, including
    ``Authorization``, over its default ``auth`` or ``.netrc`` credentials
    (``trust_env``), which aiohttp refuses to combine with that header.
    """
    for name in defaults:
        if name not in headers:
            request.headers.popall(name, None)
    request.headers.update(headers)
    return await handler(request)


_MIDDLEWARES = (_no_silent_retry,)


def _translate(
    exc: Exception, session: aiohttp.ClientSession, method: str, url: URL, timeout: float | None
) -> Gr4vyError:
    """The Gr4vyError for what aiohttp (or the OS) raised when no usable response came."""
    where: dict[str, Any] = {"method": method, "url": str(url)}
    name = type(exc).__name__
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return RequestTimeoutError(f"no response within {timeout} s", **where)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        # Not a transient failure: retrying cannot fix a certificate.
        return TransportError(f"TLS certificate rejected: {exc.certificate_error}", **where)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(f"cannot connect: {exc.os_error or exc}", before_send=True, **where)
    if isinstance(exc, _ConnectionDropped):
        return ConnectError(f"connection lost: {exc}", **where)
    if isinstance(
        exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError)
    ):
        return ConnectError(f"connection lost: {name}", **where)
    if isinstance(exc, RuntimeError) and session.closed:
        return ClientClosedError("the aiohttp session is closed", **where)
    return TransportError(f"request failed: {name}", **where)


def _safe_cause(exc: BaseException) -> BaseException | None:
    """What may stay a translated error's ``__cause__``: an OS or timeout error.

    Anything else aiohttp raises can quote the response: a header line it
    could not parse, or (``ServerDisconnectedError``) the headers of a
    response cut short. Those are named in the message only.
    """
    if isinstance(exc, _ConnectionDropped) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return exc if isinstance(exc.message, str) else None
    return exc if isinstance(exc, (OSError, asyncio.TimeoutError)) else None


def _cancelled_by_caller() -> bool:
    """Whether the running task was cancelled (``task.cancel()``), not just a future it awaited.

    Python 3.10 cannot tell: there, every cancellation counts as the caller's.
    """
    cancelling = getattr(asyncio.current_task(), "cancelling", None)
    return cancelling is None or cancelling() > 0


class _ConnectionSlots:
    """One slot per pooled connection: a request waits here, not in aiohttp's pool.

    A request takes its token only once it holds a slot, so a long wait for
    a connection never sends an expired token; and ``close()`` ends the
    waiters with :class:`ClientClosedError`, where aiohttp would cancel them.
    """

    def __init__(self, size: int) -> None:
        self._semaphore = asyncio.Semaphore(size)
        self._closed = False

    async def acquire(self) -> None:
        """Wait for a free connection; :class:`ClientClosedError` once closed."""
        await self._semaphore.acquire()
        if self._closed:
            self._semaphore.release()  # wakes the next waiter, which ends the same way
            raise ClientClosedError("the Gr4vy client was closed while the call waited")

    @property
    def busy(self) -> bool:
        """Whether :meth:`acquire` would wait."""
        return self._semaphore.locked()

    def release(self) -> None:
        """Give the slot back."""
        self._semaphore.release()

    def close(self) -> None:
        """End every waiter, now and later, with :class:`ClientClosedError`."""
        self._closed = True
        self._semaphore.release()


def _slots_for(
    session: aiohttp.ClientSession | None, max_connections: int
) -> _ConnectionSlots | None:
    """Slots for our own pool, or for a borrowed session's connector limits (``None``: none)."""
    if session is None:
        return _ConnectionSlots(max_connections)
    connector = getattr(session, "connector", None)
    limits = [
        n for n in (getattr(connector, "limit", 0), getattr(connector, "limit_per_host", 0)) if n
    ]
    return _ConnectionSlots(min(limits)) if limits else None


class _Progress:
    """An attempt's deadline, where it is (for the error when time runs out), its response."""

    __slots__ = ("deadline", "late_error", "phase", "response", "sent")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.phase = "before_request"
        self.response: aiohttp.ClientResponse | None = None
        self.sent = time.monotonic()
        #: The attempt's error when the request itself used up its time.
        self.late_error: Gr4vyError | None = None

    async def within(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``, cancelled at the deadline (``asyncio.TimeoutError``).

        Only what may wait is wrapped: a timer per attempt costs more than
        the rest of an attempt that waits for nothing (benchmarks/README.md).
        """
        async with timeout_at(self.deadline):
            return await awaitable

    def expired(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the deadline's timeout (not one the awaited code raised itself)."""
        return (
            isinstance(exc, asyncio.TimeoutError)
            and asyncio.get_running_loop().time() >= self.deadline
        )

    def timed_out(self, seconds: float | None, method: str, url: URL) -> Gr4vyError:
        """The error for an attempt whose timeout ran out in its current phase.

        After-error hooks that start with no time left are cut short, and the
        call raises the attempt's own error: the hooks did not cause the wait.
        """
        if self.late_error is not None:
            return self.late_error
        phase = self.phase
        if phase == "bearer_auth":
            return TokenProviderError(
                f"bearer_auth: the token provider did not return within {seconds} s"
            )
        if phase.startswith(("before_", "after_")):
            return HookTimeoutError(
                f"{phase} hook did not return within {seconds} s", method=method, url=str(url)
            )
        if phase == "connection":
            return RequestTimeoutError(
                f"no connection free within {seconds} s (max_connections)",
                method=method,
                url=str(url),
            )
        return RequestTimeoutError(f"no response within {seconds} s", method=method, url=str(url))


async def _read_body(response: aiohttp.ClientResponse, limit: int, method: str, url: URL) -> bytes:
    """The (decompressed) body, read until it passes ``limit`` bytes at most."""
    declared = response.content_length
    if declared is None or declared <= limit:
        if declared is not None and "Content-Encoding" not in response.headers:
            # aiohttp reads at most the declared length
            return ResponseBody(await response.read())
        size = 0
        chunks: list[bytes] = []
        content = response.content
        while chunk := await content.readany():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        else:
            return ResponseBody(b"".join(chunks))
    response.close()  # the rest is never read: the connection cannot be reused
    raise ResponseTooLargeError(
        f"{response.status}: response body larger than max_response_bytes={limit}",
        status_code=response.status,
        headers=response.headers,
        method=method,
        url=str(url),
    )


# ---------------------------------------------------------------- transport


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
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        allow_insecure_http: bool = False,
        debug_logger: DebugLogger | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        self.base_url = base_url
        self.retries = retries
        self.max_response_bytes = max_response_bytes
        self.allow_insecure_http = allow_insecure_http
        self.hooks = hooks if hooks is not None else Hooks()
        self._timeout = aiohttp.ClientTimeout(total=check_timeout(timeout))
        base = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        self._headers = merge_headers(base, headers) if headers is not None else base
        if merchant_account_id is not None:
            merchant_account_id = check_header(
                MERCHANT_HEADER, merchant_account_id, "merchant_account_id"
            )
        self.merchant_account_id = merchant_account_id
        if isinstance(bearer_auth, str):
            self._static_auth: str | None = self._checked_auth(bearer_auth)
        elif callable(bearer_auth):
            self._static_auth = None
        else:
            raise InvalidRequestError(
                "bearer_auth: expected a token string or a function returning one, "
                f"got {type(bearer_auth).__name__}",
                field="bearer_auth",
                reason="not a token",
            )
        # A provider with a coroutine ``token_async`` (``auth.with_token``'s)
        # is awaited through it: it signs off the event loop.
        self._fetch_token = cast(
            "Callable[[], object]", getattr(bearer_auth, "token_async", bearer_auth)
        )
        self._cached_token = cast(
            "Callable[[], str | None] | None", getattr(bearer_auth, "cached_token", None)
        )
        #: A provider's last token and its checked header value (see ``_provider_auth``).
        self._last_auth: tuple[str, str] | None = None
        self._logger: DebugLogger = debug_logger if debug_logger is not None else logger
        is_enabled = getattr(self._logger, "isEnabledFor", None)
        self._debug_on: Callable[[], bool] = (
            functools.partial(is_enabled, logging.DEBUG) if callable(is_enabled) else _always
        )
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._slots = _slots_for(session, max_connections)
        self._closed = False

    def _call_headers(
        self,
        merchant_account_id: str | msgspec.UnsetType | None,
        extra: Mapping[str, str] | None,
        has_body: bool,
    ) -> dict[str, str]:
        """A call's headers (merchant and extra ones checked): all but ``Authorization``.

        Each attempt adds ``Authorization``, a static token's or the provider's.
        """
        if merchant_account_id is msgspec.UNSET:
            merchant_account_id = self.merchant_account_id
        elif merchant_account_id is not None:
            merchant_account_id = check_header(
                MERCHANT_HEADER, merchant_account_id, "merchant_account_id"
            )
        headers = dict(self._headers) if extra is None else merge_headers(self._headers, extra)
        if merchant_account_id is not None:
            headers[MERCHANT_HEADER] = merchant_account_id
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> aiohttp.ClientSession:
        """The session, made on first use inside the running loop if we own it.

        Raises :class:`EventLoopError` when called from another event loop than
        the session's: an aiohttp session cannot cross loops.
        """
        if self._closed:
            raise ClientClosedError("the Gr4vy client is closed")
        session = self._session
        loop = asyncio.get_running_loop()
        if session is None:
            session = self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
            )
        elif session._loop is not loop:
            if self._owns_session and session._loop.is_closed():
                self._retire(session)
            raise EventLoopError(
                "this client's session belongs to another event loop; create one client per loop"
            )
        return session

    def _retire(self, session: aiohttp.ClientSession) -> None:
        """Let go of an owned session whose loop is closed, without unclosed-resource warnings.

        Nothing can be awaited on a closed loop; the connector is marked closed
        and its sockets closed directly. The session stays this client's, so
        every later call from another loop raises :class:`EventLoopError` too.
        """
        connector = getattr(session, "connector", None)
        session.detach()
        if connector is None:
            return
        # aiohttp internals: guarded, so a change there costs a warning, never an error.
        conns = getattr(connector, "_conns", {})
        protocols = [protocol for entries in conns.values() for protocol, _ in entries]
        with contextlib.suppress(Exception):
            connector._close()
        for protocol in protocols:
            sock = getattr(protocol.transport, "_sock", None)
            if sock is not None:
                sock.close()
                protocol.transport._sock = None

    async def aclose(self) -> None:
        """Close the session if we own it; a borrowed one is left open. Idempotent.

        Calls still waiting or in flight end with :class:`ClientClosedError`.
        """
        self._closed = True
        if self._slots is not None:
            self._slots.close()
        session, self._session = self._session, None
        if session is None or not self._owns_session:
            return
        session_loop = session._loop
        if session_loop is asyncio.get_running_loop():
            await session.close()
        elif session_loop.is_closed():
            self._retire(session)
        else:
            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(session.close(), session_loop)
            )

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
        """Send one request, retrying per policy, and decode a 2xx into ``response_type``.

        ``headers`` are added over the client's (``Authorization`` and the
        merchant header may not be set this way); ``base_url`` replaces the
        client's server URL for this call. Each attempt runs the hooks, asks
        ``bearer_auth`` for its token once a connection is free and logs one
        DEBUG line, all within the timeout.

        Raises the :mod:`~gr4vy_async.errors` class for the response status,
        :class:`ResponseValidationError` for a 2xx that does not decode, and a
        :class:`TransportError` (cause kept) when no response came; each with
        ``attempts`` and ``elapsed``.
        """
        session = self.open()
        client_timeout = (
            self._timeout
            if timeout is None
            else aiohttp.ClientTimeout(total=check_timeout(timeout))
        )
        request_headers = self._call_headers(merchant_account_id, headers, body is not None)
        if base_url is not None:
            base_url = check_server_url(base_url, self.allow_insecure_http)
        url = URL((self.base_url if base_url is None else base_url) + path, encoded=True)
        policy = self.retries if retries is None else retries
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                if self._closed:
                    raise ClientClosedError(
                        "the Gr4vy client is closed", method=method, url=str(url)
                    )
                return await self._attempt(
                    session,
                    method,
                    url,
                    request_headers,
                    body,
                    client_timeout,
                    response_type,
                    attempt,
                )
            except Gr4vyError as error:
                wait = policy.next_wait(error, method, attempt, started)
                if wait is None:
                    error.attempts, error.elapsed = attempt, time.monotonic() - started
                    raise
                # The error's str() carries method, URL, status and code: never token or body.
                logger.info("retrying in %.2fs (attempt %d failed): %s", wait, attempt, error)
                await _retries._sleep(wait)

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        headers: dict[str, str],
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
        response_type: type[T] | None,
        attempt: int,
    ) -> T | None:
        """One attempt, all of it within ``timeout``: hooks, connection, token, request.

        Its time running out in a phase raises that phase's error (see
        :meth:`_Progress.timed_out`); ``aclose()`` ends it with
        :class:`ClientClosedError`, whatever aiohttp raised.
        """
        progress = _Progress(asyncio.get_running_loop().time() + (timeout.total or 0.0))
        try:
            return await self._exchange(
                session, method, url, headers, body, timeout, response_type, attempt, progress
            )
        except asyncio.CancelledError:
            # aiohttp cancels the calls waiting in its pool when the session closes.
            if self._closed and not _cancelled_by_caller():
                raise ClientClosedError(
                    "the Gr4vy client was closed during the call", method=method, url=str(url)
                ) from None
            raise
        except asyncio.TimeoutError as exc:
            if not progress.expired(exc):
                raise  # a hook's own TimeoutError: it reaches the caller unchanged
            error = progress.timed_out(timeout.total, method, url)
            if error is progress.late_error:
                raise error from error.__cause__  # as it was
            raise error from None

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        headers: dict[str, str],
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
        response_type: type[T] | None,
        attempt: int,
        progress: _Progress,
    ) -> T | None:
        """The attempt itself: before-hooks, a free connection, a fresh token, one request."""
        hooks = self.hooks
        request_info = None
        if hooks.active:
            request_info = RequestInfo(
                method, str(url), {**headers, "Authorization": REDACTED}, attempt
            )
            await progress.within(hooks.run_before_request(request_info))
        slots = self._slots
        if slots is not None:
            progress.phase = "connection"
            await (progress.within(slots.acquire()) if slots.busy else slots.acquire())
        result: T | None = None
        failure: Exception | None = None
        try:
            # Taken now, with a connection free: it cannot expire in a queue.
            progress.phase = "bearer_auth"
            authorization = self._static_auth or await self._provider_auth(progress)
            progress.phase = "request"
            sent_headers, middlewares = self._wire(session, headers, authorization)
            progress.sent = time.monotonic()
            request_timeout = timeout
            left = progress.deadline - asyncio.get_running_loop().time()
            if left < (timeout.total or 0.0) - 0.001:  # the phases above waited
                request_timeout = aiohttp.ClientTimeout(total=max(left, 0.001))
            # Everything we rely on is set here, per request, so a borrowed
            # session's defaults change nothing. Never follow a redirect: it
            # would carry the body (buyer data) to whatever host it names.
            async with session.request(
                method,
                url,
                data=body,
                headers=sent_headers,
                timeout=request_timeout,
                allow_redirects=False,
                raise_for_status=False,
                auto_decompress=True,
                middlewares=middlewares,
            ) as response:
                progress.response = response
                raw = await _read_body(response, self.max_response_bytes, method, url)
                status = response.status
                if status >= 300:
                    raise error_for_response(
                        status, response.headers, raw, method=method, url=str(url)
                    )
                if response_type is not None:
                    result = _decode(response, raw, response_type, method, url)
        except Exception as exc:
            if progress.phase != "request":
                raise  # the token provider failed or stalled: no request, no after-hooks
            failure = exc
        finally:
            if slots is not None:
                slots.release()
        # Raised out here, not in the except: aiohttp's exception stays off
        # __context__, and the after-error hooks do not see it as one.
        if failure is None:
            if hooks.active or self._debug_on():
                await self._report(request_info, progress, attempt, None, method, url)
            return result
        error = self._error_for(failure, session, method, url, timeout)
        if error is not failure:
            error.__cause__ = _safe_cause(failure)  # as ``raise error from ...`` would
            error.__suppress_context__ = True
        if hooks.active or self._debug_on():
            await self._report(request_info, progress, attempt, error, method, url)
        raise error

    def _wire(
        self, session: aiohttp.ClientSession, headers: dict[str, str], authorization: str
    ) -> tuple[dict[str, str], tuple[aiohttp.ClientMiddlewareType, ...]]:
        """The headers to pass aiohttp and the middlewares that make them exactly what is sent."""
        sent_headers = {**headers, "Authorization": authorization}
        if not self._owns_session and (session.headers or session.auth or session.trust_env):
            # Authorization goes in through the middleware, not as a header aiohttp
            # would refuse beside the session's auth or netrc credentials.
            return headers, (
                functools.partial(_as_sent_by_us, sent_headers, session.headers),
                _no_silent_retry,
            )
        return sent_headers, _MIDDLEWARES

    def _error_for(
        self,
        failure: Exception,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        timeout: aiohttp.ClientTimeout,
    ) -> Gr4vyError:
        """The Gr4vyError an attempt that failed with ``failure`` raises."""
        if isinstance(failure, Gr4vyError):
            return failure
        if self._closed:  # aclose() closed the connection under the request
            return ClientClosedError(
                "the Gr4vy client was closed during the call", method=method, url=str(url)
            )
        return _translate(failure, session, method, url, timeout.total)

    async def _report(
        self,
        request_info: RequestInfo | None,
        progress: _Progress,
        attempt: int,
        error: Gr4vyError | None,
        method: str,
        url: URL,
    ) -> None:
        """The attempt's DEBUG line and after-success / after-error hooks."""
        elapsed = time.monotonic() - progress.sent
        response = progress.response
        if self._debug_on():
            # The status, or the error's class when no (whole) response came.
            outcome: object = (
                response.status
                if response is not None and (error is None or error.status_code is not None)
                else type(error).__name__
            )
            request_id = response.headers.get("x-request-id") if response is not None else None
            self._logger.debug(
                ATTEMPT_LOG_FORMAT,
                method,
                url.path,
                outcome,
                elapsed * 1000,
                attempt,
                request_id or "-",
            )
        if request_info is None:
            return
        response_info = (
            None
            if response is None
            else ResponseInfo(response.status, response.headers, elapsed, attempt)
        )
        if error is None:
            assert response_info is not None
            progress.phase = "after_success"
            await progress.within(self.hooks.run_after_success(request_info, response_info))
        else:
            progress.phase = "after_error"
            if asyncio.get_running_loop().time() >= progress.deadline:
                progress.late_error = error
            await progress.within(self.hooks.run_after_error(request_info, response_info, error))

    def _checked_auth(self, token: object) -> str:
        if isinstance(token, str):
            token = _Credential(token)  # this frame's locals may be printed
        if not isinstance(token, str) or not token:
            raise InvalidRequestError(
                "bearer_auth: the token is empty or not a string",
                field="bearer_auth",
                reason="no token",
            )
        check_header("Authorization", token, "bearer_auth")
        if not _BEARER_TOKEN.fullmatch(token):
            raise InvalidRequestError(
                "bearer_auth: not a bearer token (RFC 6750: letters, digits, -._~+/ then =; "
                "no spaces, no 'Bearer ' prefix)",
                field="bearer_auth",
                reason="not a bearer token",
            )
        return _Credential(f"Bearer {token}")

    async def _provider_auth(self, progress: _Progress) -> str:
        """The provider's token for this attempt; its own failure becomes a Gr4vyError.

        A token the provider has at hand (``cached_token()``) is taken without
        a timer; one that must be awaited is awaited until the deadline.
        """
        try:
            token: Any = self._cached_token() if self._cached_token is not None else None
            if token is None:
                token = self._fetch_token()
            if not isinstance(token, str) and inspect.isawaitable(token):
                token = await progress.within(token)
            if inspect.iscoroutine(token):
                token.close()  # refused below; closed, so no "never awaited" warning
        except Gr4vyError:
            raise
        except Exception as exc:
            if progress.expired(exc):
                raise  # _attempt says the provider did not return in time
            raise TokenProviderError(
                f"bearer_auth: the token provider raised {type(exc).__name__}"
            ) from exc
        # A provider returns the same token for minutes, and scanning a JWT of
        # ~500 characters for control characters costs more than the rest of
        # our work per request (benchmarks/README.md, "Hot path"): a token
        # string equal to the last one is not checked (nor copied) again.
        # Nothing below raises before ``token`` is wrapped: no printed frame
        # shows it bare.
        last = self._last_auth
        if last is None or not isinstance(token, str) or last[0] != token:
            if isinstance(token, str):
                token = _Credential(token)  # this frame's locals may be printed
            last = self._last_auth = (token, self._checked_auth(token))
        return last[1]


#: A value msgspec quotes in a message (``Invalid enum value 'x'``): response data stays out.
_QUOTED = re.compile(r"'[^']*'")


def _always() -> bool:
    return True


def _decode(
    response: aiohttp.ClientResponse, raw: bytes, response_type: type[T], method: str, url: URL
) -> T:
    """A 2xx body as ``response_type``; anything that does not decode is a typed error."""
    try:
        return decoder_for(response_type).decode(raw)
    except (msgspec.DecodeError, RecursionError, ValueError) as exc:
        reason = _QUOTED.sub("'...'", str(exc))[:200]
    # Raised out here: msgspec's error quotes the value, so it is neither
    # __cause__ nor __context__; the reason above is its text without it.
    status = response.status
    raise ResponseValidationError(
        f"{status}: the response body is not a valid {response_type.__name__}: {reason}",
        status_code=status,
        headers=response.headers,
        body=_body_prefix(raw),
        method=method,
        url=str(url),
    )
