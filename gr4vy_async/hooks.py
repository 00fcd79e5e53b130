"""Hooks: your functions called at the official SDK's three moments of every attempt.

Register them on a client; each may be a plain function or a coroutine
function, and is called once per attempt (a retried request calls them again)::

    def before(request: RequestInfo) -> None:
        print(request.method, request.url, request.attempt)

    client.hooks.register_before_request_hook(before)
    client.hooks.register_after_success_hook(lambda request, response: ...)
    client.hooks.register_after_error_hook(lambda request, response, error: ...)

Hooks observe; they cannot change the request or the response. What they are
given never holds the bearer token (``Authorization`` reads ``[redacted]``)
nor a body (buyer and card data). An exception a hook raises propagates to
the caller unchanged. With no hook registered, nothing is built or called.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Mapping

from ._redact import REDACTED
from .errors import Gr4vyError

__all__ = [
    "REDACTED",
    "AfterErrorHook",
    "AfterSuccessHook",
    "BeforeRequestHook",
    "Hooks",
    "RequestInfo",
    "ResponseInfo",
    "raised_after_success",
]


@dataclasses.dataclass(frozen=True)
class RequestInfo:
    """One attempt's request: ``headers`` are the ones sent, ``Authorization`` redacted.

    ``attempt`` counts from 1 of at most ``max_attempts`` (the call's
    ``RetryConfig.max_attempts``, always a whole number: a retry budget, the
    deadline or ``max_elapsed`` may end the call sooner); ``time_left`` is
    the seconds to the call's ``deadline`` as the attempt starts (``None``
    without one).
    """

    method: str
    url: str
    headers: Mapping[str, str]
    attempt: int
    max_attempts: int = 1
    time_left: float | None = None


@dataclasses.dataclass(frozen=True)
class ResponseInfo:
    """One attempt's response: status, headers, seconds since the attempt started, attempt.

    ``max_attempts`` and ``time_left`` (seconds to the call's deadline once
    the response came, ``None`` without one) as in :class:`RequestInfo`.
    """

    status: int
    headers: Mapping[str, str]
    elapsed: float
    attempt: int
    max_attempts: int = 1
    time_left: float | None = None

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` Gr4vy gave the response, if any."""
        return self.headers.get("x-request-id")


BeforeRequestHook = Callable[[RequestInfo], "Awaitable[None] | None"]
AfterSuccessHook = Callable[[RequestInfo, ResponseInfo], "Awaitable[None] | None"]
#: ``response`` is ``None`` when no response came (connection failed, timeout).
AfterErrorHook = Callable[
    [RequestInfo, "ResponseInfo | None", Gr4vyError], "Awaitable[None] | None"
]


_AFTER_SUCCESS = "_gr4vy_raised_after_success"


def raised_after_success(error: BaseException) -> bool:
    """Whether ``error`` came from an after-success hook: the request itself succeeded."""
    return getattr(error, _AFTER_SUCCESS, False) is True


async def _call(hook: Callable[..., object], *args: object) -> None:
    result = hook(*args)
    if inspect.isawaitable(result):
        await result


class Hooks:
    """The hooks registered on one client, in registration order."""

    def __init__(self) -> None:
        self.before_request: list[BeforeRequestHook] = []
        self.after_success: list[AfterSuccessHook] = []
        self.after_error: list[AfterErrorHook] = []
        #: Whether any hook is registered (read once per attempt: a plain attribute).
        self.active = False

    def register_before_request_hook(self, hook: BeforeRequestHook) -> None:
        """Call ``hook(request)`` before each attempt is sent."""
        self.before_request.append(hook)
        self.active = True

    def register_after_success_hook(self, hook: AfterSuccessHook) -> None:
        """Call ``hook(request, response)`` after each attempt answered with a 2xx."""
        self.after_success.append(hook)
        self.active = True

    def register_after_error_hook(self, hook: AfterErrorHook) -> None:
        """Call ``hook(request, response_or_None, error)`` after each attempt that failed."""
        self.after_error.append(hook)
        self.active = True

    async def run_before_request(self, request: RequestInfo) -> None:
        """Call every before-request hook."""
        for hook in self.before_request:
            await _call(hook, request)

    async def run_after_success(self, request: RequestInfo, response: ResponseInfo) -> None:
        """Call every after-success hook; what one raises is marked as raised after a success."""
        for hook in self.after_success:
            try:
                await _call(hook, request, response)
            except Exception as error:
                # Marked, not wrapped: it reaches the caller unchanged, and a bulk
                # run can still tell that the request itself succeeded.
                setattr(error, _AFTER_SUCCESS, True)
                raise

    async def run_after_error(
        self, request: RequestInfo, response: ResponseInfo | None, error: Gr4vyError
    ) -> None:
        """Call every after-error hook."""
        for hook in self.after_error:
            await _call(hook, request, response, error)

    def __repr__(self) -> str:
        return (
            f"Hooks(before_request={len(self.before_request)}, "
            f"after_success={len(self.after_success)}, after_error={len(self.after_error)})"
        )
