"""What bounds an attempt: its deadline, the phase it is in, and a slot per pooled connection.

An attempt runs its hooks, waits for a connection, takes its token and sends
its request within one timeout; when time runs out, the phase it was in says
which error it raises. A request waits for a connection here, not in
aiohttp's pool, so a token is taken only once a connection is free and
closing the client ends the waiters with :class:`ClientClosedError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import aiohttp
from yarl import URL

from .errors import (
    ClientClosedError,
    DeadlineExceededError,
    Gr4vyError,
    HookTimeoutError,
    RequestTimeoutError,
    TokenProviderError,
)

__all__ = ["ConnectionSlots", "Progress", "cancelled_by_caller", "slots_for", "timeout_at"]

T = TypeVar("T")

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


def cancelled_by_caller() -> bool:
    """Whether the running task was cancelled (``task.cancel()``), not just a future it awaited.

    Python 3.10 cannot tell: there, every cancellation counts as the caller's.
    """
    cancelling = getattr(asyncio.current_task(), "cancelling", None)
    return cancelling is None or cancelling() > 0


class ConnectionSlots:
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


def slots_for(
    session: aiohttp.ClientSession | None, max_connections: int
) -> ConnectionSlots | None:
    """Slots for our own pool, or for a borrowed session's connector limits (``None``: none)."""
    if session is None:
        return ConnectionSlots(max_connections)
    connector = getattr(session, "connector", None)
    limits = [
        n for n in (getattr(connector, "limit", 0), getattr(connector, "limit_per_host", 0)) if n
    ]
    return ConnectionSlots(min(limits)) if limits else None


#: Where an attempt was when the call's deadline passed, by phase (hooks: their own name).
_WHERE = {
    "bearer_auth": "waiting for the token provider",
    "connection": "waiting for a free connection (max_connections)",
    "request": "waiting for the response",
}


class Progress:
    """An attempt's deadline, where it is (for the error when time runs out), its response.

    ``deadline`` is the loop time its timeout ends; ``ends`` the loop time
    the call's deadline of ``seconds`` ends (``None``: none), which cuts the
    attempt short when it comes first. ``allowed``: the call's attempts
    allowed. The last two are what hooks and DEBUG lines say.
    """

    __slots__ = ("allowed", "cut", "deadline", "ends", "late_error", "phase", "response", "sent")

    def __init__(
        self,
        deadline: float,
        ends: float | None = None,
        seconds: float | None = None,
        allowed: int = 1,
    ) -> None:
        self.ends, self.allowed = ends, allowed
        #: The call's ``deadline`` (seconds) when it ends this attempt before its timeout.
        self.cut: float | None = None
        if ends is not None and ends < deadline:
            deadline, self.cut = ends, seconds
        self.deadline = deadline
        self.phase = "before_request"
        self.response: aiohttp.ClientResponse | None = None
        self.sent = time.monotonic()
        #: The attempt's error when the request itself used up its time.
        self.late_error: Gr4vyError | None = None

    def time_left(self) -> float | None:
        """Seconds to the call's deadline (at least 0), ``None`` without one."""
        ends = self.ends
        return None if ends is None else max(0.0, ends - asyncio.get_running_loop().time())

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
        if self.cut is not None:
            return DeadlineExceededError(
                f"deadline of {self.cut:g} s passed {_WHERE.get(phase, f'in the {phase} hook')}",
                method=method,
                url=str(url),
            )
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
