"""The one place a request is sent: the session's lifecycle, one attempt, and the retry loop.

What a call may set is a :class:`~gr4vy_async._call_options.CallOptions`;
values are checked in :mod:`~gr4vy_async._checks`, an attempt's deadline and
connection slots are :mod:`~gr4vy_async._bounds`, aiohttp's side is
:mod:`~gr4vy_async._wire`, the token :mod:`~gr4vy_async._tokens`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Mapping
from typing import TypeVar, overload

import aiohttp
from msgspec import UNSET
from yarl import URL

from . import _checks, retries
from ._bounds import Progress, cancelled_by_caller, slots_for
from ._call_options import NO_OPTIONS, CallOptions
from ._debug import ATTEMPT_LOG_FORMAT, DebugLogger, debug_check, log_attempt
from ._defaults import DEFAULT_MAX_RESPONSE_BYTES, LOGGER_NAME, RETRY_BUDGET
from ._pacing import AdaptiveRate
from ._redact import REDACTED
from ._spans import CallSpan, tracing
from ._tokens import Bearer, BearerAuth
from ._version import PRODUCT
from ._wire import (
    decode,
    read_body,
    retire_session,
    safe_cause,
    translate,
    wired,
)
from .errors import (
    ClientClosedError,
    EventLoopError,
    Gr4vyError,
    RequestTimeoutError,
    error_for_response,
)
from .hooks import Hooks, RequestInfo, ResponseInfo
from .retries import NOT_PROCESSED_STATUSES as LIMITED
from .retries import RetryBudget, RetryConfig

__all__ = ["ATTEMPT_LOG_FORMAT", "USER_AGENT", "BearerAuth", "DebugLogger", "State", "Transport"]

T = TypeVar("T")

USER_AGENT = PRODUCT

logger = logging.getLogger(LOGGER_NAME)


class State(enum.Enum):
    """Where a transport is in its life; it only moves forward."""

    NEW = "new"
    """No request yet: an owned session is made by the first one."""
    OPEN = "open"
    """Sending requests over its session."""
    CLOSED = "closed"
    """Closed: every call, waiting or new, ends with ClientClosedError."""


# Module-level names for the hot path: an Enum member read through its class costs
# ~70 ns on CPython 3.11 (``State.CLOSED``), a global ~10 ns.
_NEW, _OPEN, _CLOSED = State.NEW, State.OPEN, State.CLOSED


class Transport:
    """Sends requests to one Gr4vy base URL over one aiohttp session.

    Its settings are checked once, here; each call's own are a
    :class:`CallOptions`. ``borrowed`` (a session was passed) is fixed at
    birth; :attr:`state` says where it is in its life.
    """

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
        deadline: float | None = None,
        retry_budget: int | None = RETRY_BUDGET,
    ) -> None:
        self.base_url = base_url
        self.deadline = deadline  # checked by the client, as retry_budget
        self.budget = None if retry_budget is None else RetryBudget(retry_budget)
        #: The client's send rate: every call and bulk run waits for it once it limits.
        self.pacer = AdaptiveRate()
        self.tracing = tracing()  # None without opentelemetry-api
        self.retries = retries
        self.max_response_bytes = max_response_bytes
        self.allow_insecure_http = allow_insecure_http
        self.hooks = hooks if hooks is not None else Hooks()
        self._timeout = aiohttp.ClientTimeout(total=timeout)  # checked by the client
        base = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        self._headers = _checks.merge_headers(base, headers) if headers is not None else base
        if merchant_account_id is not None:
            merchant_account_id = _checks.header_value(
                _checks.MERCHANT_HEADER, merchant_account_id, "merchant_account_id"
            )
        self.merchant_account_id = merchant_account_id
        self._bearer = Bearer(bearer_auth)
        # A call without options sends one of these (never changed: attempts copy them).
        self._plain_headers = self._headers_for(NO_OPTIONS, has_body=False)
        self._body_headers = self._headers_for(NO_OPTIONS, has_body=True)
        self._logger: DebugLogger = debug_logger if debug_logger is not None else logger
        self._debug_on = debug_check(self._logger)
        self.borrowed = session is not None
        self._session = session
        self._max_connections = max_connections
        self._slots = slots_for(session, max_connections)
        self.state = _NEW

    def _headers_for(self, options: CallOptions, has_body: bool) -> dict[str, str]:
        """A call's headers (extra ones checked): all but ``Authorization``.

        Each attempt adds ``Authorization``, a static token's or the provider's.
        """
        merchant_account_id = options.merchant_account_id
        if merchant_account_id is UNSET:
            merchant_account_id = self.merchant_account_id
        extra = options.headers
        headers = (
            dict(self._headers) if extra is None else _checks.merge_headers(self._headers, extra)
        )
        if merchant_account_id is not None:
            headers[_checks.MERCHANT_HEADER] = merchant_account_id
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> aiohttp.ClientSession:
        """The session, made on first use inside the running loop if we own it.

        Raises :class:`EventLoopError` when called from another event loop than
        the session's: an aiohttp session cannot cross loops.
        """
        state = self.state
        if state is _CLOSED:
            raise ClientClosedError("the Gr4vy client is closed")
        session = self._session
        loop = asyncio.get_running_loop()
        if session is None:
            session = self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
            )
        elif session._loop is not loop:
            if not self.borrowed and session._loop.is_closed():
                retire_session(session)
            raise EventLoopError(
                "this client's session belongs to another event loop; create one client per loop"
            )
        if state is _NEW:
            self.state = _OPEN
        return session

    async def aclose(self) -> None:
        """Close the session if we own it; a borrowed one is left open. Idempotent.

        Calls still waiting or in flight end with :class:`ClientClosedError`.
        """
        self.state = _CLOSED
        if self._slots is not None:
            self._slots.close()
        session, self._session = self._session, None
        if session is None or self.borrowed:
            return
        session_loop = session._loop
        if session_loop is asyncio.get_running_loop():
            await session.close()
        elif session_loop.is_closed():
            retire_session(session)
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
        body: bytes | None,
        response_type: type[T],
        options: CallOptions = ...,
    ) -> T: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        response_type: None,
        options: CallOptions = ...,
    ) -> None: ...

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        response_type: type[T] | None,
        options: CallOptions = NO_OPTIONS,
    ) -> T | None:
        """Send one request, retrying per policy, and decode a 2xx into ``response_type``.

        ``options`` are the call's own (see :class:`CallOptions`): its headers
        are added over the client's (``Authorization`` and the merchant header
        may not be set this way); its ``base_url`` replaces the client's server
        URL. Each attempt runs the hooks, asks ``bearer_auth`` for its token
        once a connection is free and logs one DEBUG line, all within the
        timeout.

        The call's ``deadline`` (its options', else the client's) bounds all of
        it; each attempt first waits for the client's pacer while it limits
        (after 429s), and a retry is paid from the client's retry budget.
        With a tracer provider set, the call is a span and each attempt a child.

        Raises the :mod:`~gr4vy_async.errors` class for the response status,
        :class:`ResponseValidationError` for a 2xx that does not decode, and a
        :class:`TransportError` (cause kept) when no response came; each with
        ``attempts`` and ``elapsed``.
        """
        session = self.open()
        deadline = self.deadline
        if options is NO_OPTIONS:
            client_timeout = self._timeout
            request_headers = self._body_headers if body is not None else self._plain_headers
            base_url = self.base_url
            policy = self.retries
        else:
            timeout = options.timeout
            client_timeout = (
                self._timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
            )
            request_headers = self._headers_for(options, body is not None)
            base_url = self.base_url
            if options.base_url is not None:
                base_url = _checks.server_url(options.base_url, self.allow_insecure_http)
            policy = self.retries if options.retries is None else options.retries
            if options.deadline is not None:
                deadline = options.deadline
        url = URL(base_url + path, encoded=True)
        started = time.monotonic()
        ends = None if deadline is None else asyncio.get_running_loop().time() + deadline
        budget, pacer, spans = self.budget, self.pacer, self.tracing
        trace = None if spans is None else spans.call(method, url, request_headers)
        attempt = cost = drops = 0
        try:
            while True:
                attempt += 1
                try:
                    if self.state is _CLOSED:
                        raise ClientClosedError(
                            "the Gr4vy client is closed", method=method, url=str(url)
                        )
                    drops = await pacer.acquire_by(ends, deadline) if pacer.enabled else pacer.drops
                    coro = self._attempt(
                        session,
                        method,
                        url,
                        request_headers,
                        body,
                        client_timeout,
                        response_type,
                        attempt,
                        policy.max_attempts,
                        ends,
                        deadline,
                        trace,
                    )
                    result = await (coro if trace is None else trace.attempt(coro, attempt))
                except Gr4vyError as error:
                    pacer.record(rate_limited=error.status_code in LIMITED, drops_at_send=drops)
                    left = None if ends is None else ends - asyncio.get_running_loop().time()
                    retry = retries.next_retry(
                        policy, budget, error, method, attempt, started, left
                    )
                    if retry is None:
                        error.attempts, error.elapsed = attempt, time.monotonic() - started
                        raise
                    wait, cost = retry
                    # The error's str() carries method, URL, status and code: never token or body.
                    logger.info("retrying in %.2fs (attempt %d failed): %s", wait, attempt, error)
                    await retries.sleep(wait)
                else:
                    if pacer.enabled:
                        pacer.record(rate_limited=False, drops_at_send=drops)
                    else:
                        pacer.seen()  # counted only: a clock read per response costs
                    if budget is not None and (cost or budget.level < budget.capacity):
                        budget.refund(cost)
                    if trace is not None:
                        trace.end(None, attempt)
                    return result
        except BaseException as exc:
            if trace is not None:
                trace.end(exc, attempt)
            raise

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
        allowed: int,
        ends: float | None,
        deadline: float | None,
        trace: CallSpan | None,
    ) -> T | None:
        """One attempt, all of it within ``timeout``: hooks, connection, token, request.

        Its time running out in a phase raises that phase's error (see
        :meth:`Progress.timed_out`), or :class:`DeadlineExceededError` when the
        call's deadline (``deadline`` seconds, at loop time ``ends``) comes
        first; ``aclose()`` ends it with :class:`ClientClosedError`, whatever
        aiohttp raised.
        """
        progress = Progress(
            asyncio.get_running_loop().time() + (timeout.total or 0.0), ends, deadline, allowed
        )
        if trace is not None:
            trace.progress = progress  # its response, for the attempt's span
        try:
            return await self._exchange(
                session, method, url, headers, body, timeout, response_type, attempt, progress
            )
        except Gr4vyError as failed:
            if failed.__suppress_context__:
                # Python 3.10 still counts aiohttp's error as handled where it was raised.
                failed.__context__ = None
            raise
        except asyncio.CancelledError:
            # aiohttp cancels the calls waiting in its pool when the session closes.
            if self.state is _CLOSED and not cancelled_by_caller():
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
        progress: Progress,
    ) -> T | None:
        """The attempt itself: before-hooks, a free connection, a fresh token, one request."""
        hooks = self.hooks
        request_info = None
        if hooks.active:
            redacted = {**headers, "Authorization": REDACTED}
            request_info = RequestInfo(
                method, str(url), redacted, attempt, progress.allowed, progress.time_left()
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
            authorization = self._bearer.static or await self._bearer.from_provider(progress)
            progress.phase = "request"
            sent_headers, middlewares = wired(session, self.borrowed, headers, authorization)
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
                raw = await read_body(response, self.max_response_bytes, method, url)
                status = response.status
                if status >= 300:
                    raise error_for_response(
                        status, response.headers, raw, method=method, url=str(url)
                    )
                if response_type is not None:
                    result = decode(response, raw, response_type, method, url)
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
        error = (
            failure
            if isinstance(failure, Gr4vyError)
            else translate(failure, session, method, url, timeout.total, self.state is _CLOSED)
        )
        if progress.cut is not None and type(error) is RequestTimeoutError:
            error = progress.timed_out(timeout.total, method, url)  # the deadline's
        if error is not failure:
            error.__cause__ = safe_cause(failure)  # as ``raise error from ...`` would
            error.__suppress_context__ = True
        if hooks.active or self._debug_on():
            await self._report(request_info, progress, attempt, error, method, url)
        raise error

    async def _report(
        self,
        request_info: RequestInfo | None,
        progress: Progress,
        attempt: int,
        error: Gr4vyError | None,
        method: str,
        url: URL,
    ) -> None:
        """The attempt's DEBUG line and after-success / after-error hooks."""
        elapsed = time.monotonic() - progress.sent
        response, allowed, left = progress.response, progress.allowed, progress.time_left()
        if self._debug_on():
            log = self._logger
            log_attempt(log, method, url, response, error, elapsed, attempt, allowed, left)
        if request_info is None:
            return
        response_info = (
            None
            if response is None
            else ResponseInfo(response.status, response.headers, elapsed, attempt, allowed, left)
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
