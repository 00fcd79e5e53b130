"""Many checkout-session calls at once: bounded, rate-limit aware, fully accounted for.

:func:`run_bulk` drives one operation over ids from a list or an async
iterable with at most ``concurrency`` requests in flight. A 429 or 425 slows
the whole batch (the limit halves and every worker waits out ``Retry-After``),
then the limit grows back one step per round of successes. Each id ends in exactly one
outcome of the :class:`BulkReport`, also when the caller cancels half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sized
from typing import Any

from .checkout_sessions import canonical_session_id
from .errors import Error425, Error429, Gr4vyError, InvalidRequestError
from .retries import RetryConfig, retry_after_seconds

__all__ = ["DUPLICATE", "AdaptiveLimit", "BulkProgress", "BulkReport", "Outcome", "run_bulk"]

#: The reason given for an id skipped because it came earlier in the same batch.
DUPLICATE = "duplicate id"


class Outcome(str, enum.Enum):
    """What happened to one id."""

    DONE = "done"  # deleted, or found
    MISSING = "missing"  # 404: already gone (delete with missing_ok) or not found (get)
    FAILED = "failed"  # an error, kept in BulkReport.failed
    SKIPPED = "skipped"  # never sent: malformed or duplicate id
    CANCELLED = "cancelled"  # taken but not finished when the batch was cancelled


@dataclasses.dataclass(frozen=True)
class BulkProgress:
    """Passed to ``on_progress`` after each id finishes."""

    done: int
    total: int | None
    failures: int


@dataclasses.dataclass
class BulkReport:
    """Where every id went. Counts are always kept; ids per outcome if ``keep_ids``."""

    counts: dict[Outcome, int] = dataclasses.field(
        default_factory=lambda: dict.fromkeys(Outcome, 0)
    )
    done: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[str, Gr4vyError]] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    cancelled: list[str] = dataclasses.field(default_factory=list)
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    keep_ids: bool = True
    rate_limited: int = 0

    @property
    def total(self) -> int:
        """How many ids have an outcome."""
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """True when nothing failed, nothing was cancelled and no id was malformed.

        A duplicate id, skipped because it was already handled, is not a problem.
        """
        if self.counts[Outcome.FAILED] or self.counts[Outcome.CANCELLED]:
            return False
        return all(reason == DUPLICATE for _, reason in self.skipped)

    def record(self, session_id: str, outcome: Outcome, detail: Any = None) -> None:
        """Give ``session_id`` its one outcome."""
        self.counts[outcome] += 1
        if outcome is Outcome.FAILED:
            self.failed.append((session_id, detail))
        elif outcome is Outcome.SKIPPED:
            self.skipped.append((session_id, detail))
        elif outcome is Outcome.CANCELLED:
            self.cancelled.append(session_id)
        elif self.keep_ids:
            (self.done if outcome is Outcome.DONE else self.missing).append(session_id)
            if detail is not None:
                self.results[session_id] = detail

    def summary(self) -> dict[str, int]:
        """Counts per outcome, by name."""
        return {outcome.value: count for outcome, count in self.counts.items()}


class AdaptiveLimit:
    """A concurrency limit that halves on rate limiting and grows back on success.

    Additive increase, multiplicative decrease: the limit grows by one after
    ``limit`` successes in a row (one "round" at the current level).
    """

    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.in_flight = 0
        self.peak = 0
        self._successes = 0
        self._resume_at = 0.0
        self._clock = clock
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        """Wait for a free slot under the current limit and outside any pause."""
        async with self._changed:
            while True:
                pause = self._resume_at - self._clock()
                if pause > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), pause)
                    continue
                if self.in_flight < self.limit:
                    break
                await self._changed.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    async def release(self, *, rate_limited_for: float | None = None) -> None:
        """Free a slot; after a rate limit, halve the limit and pause everyone."""
        async with self._changed:
            self.in_flight -= 1
            if rate_limited_for is not None:
                self.limit = max(1, self.limit // 2)
                self._successes = 0
                self._resume_at = max(self._resume_at, self._clock() + rate_limited_for)
            elif self.limit < self.maximum:
                self._successes += 1
                if self._successes >= self.limit:
                    self.limit += 1
                    self._successes = 0
            self._changed.notify_all()


async def _aiter(ids: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(ids, AsyncIterable):
        async for item in ids:
            yield item
    else:
        for item in ids:
            yield item


def _normalize(raw: Any) -> str:
    """The canonical form of a session id, or InvalidRequestError."""
    try:
        return canonical_session_id(raw.strip() if isinstance(raw, str) else raw)
    except InvalidRequestError:
        raise InvalidRequestError(
            f"not a UUID: {type(raw).__name__} of length {len(str(raw))}"
        ) from None


async def run_bulk(
    ids: Iterable[Any] | AsyncIterable[Any],
    call: Callable[[str, RetryConfig], Awaitable[Any]],
    *,
    retries: RetryConfig,
    concurrency: int,
    missing_ok: bool,
    report: BulkReport | None = None,
    dedupe: bool = True,
    on_progress: Callable[[BulkProgress], object] | None = None,
    max_rate_limit_waits: int = 20,
    default_rate_limit_wait: float = 1.0,
) -> BulkReport:
    """Run ``call(session_id, retries)`` for every id; see the module docstring.

    ``retries`` is used per request for everything but 425/429, which the
    batch handles itself so that all workers slow down together.
    """
    if concurrency < 1:
        raise InvalidRequestError("concurrency: must be at least 1")
    if isinstance(ids, (str, bytes)):
        raise InvalidRequestError("session_ids: expected many ids, got one string")
    report = report if report is not None else BulkReport()
    per_request = dataclasses.replace(retries, statuses=retries.statuses - {425, 429})
    limit = AdaptiveLimit(concurrency)
    total = len(ids) if isinstance(ids, Sized) else None
    source = _aiter(ids)
    seen: set[str] = set()
    in_flight: set[str] = set()
    source_lock = asyncio.Lock()

    def finish(session_id: str, outcome: Outcome, detail: Any = None) -> None:
        report.record(session_id, outcome, detail)
        if on_progress is not None:
            on_progress(BulkProgress(report.total, total, report.counts[Outcome.FAILED]))

    async def next_id() -> str | None:
        async with source_lock:
            async for raw in source:
                try:
                    session_id = _normalize(raw)
                except InvalidRequestError as error:
                    finish(str(raw), Outcome.SKIPPED, str(error))
                    continue
                if dedupe:
                    if session_id in seen:
                        finish(session_id, Outcome.SKIPPED, DUPLICATE)
                        continue
                    seen.add(session_id)
                return session_id
            return None

    rate_limit_waits = max_rate_limit_waits if retries.max_attempts > 1 else 0

    async def process(session_id: str) -> tuple[Outcome, Any]:
        for _ in range(rate_limit_waits + 1):
            await limit.acquire()
            wait: float | None = None
            try:
                return Outcome.DONE, await call(session_id, per_request)
            except (Error429, Error425) as error:
                report.rate_limited += 1
                asked = retry_after_seconds(error.headers)
                wait = min(default_rate_limit_wait if asked is None else asked,
                           retries.retry_after_cap)  # fmt: skip
                last_error: Gr4vyError = error
            except Gr4vyError as error:
                if error.status_code == 404 and missing_ok:
                    return Outcome.MISSING, None
                return Outcome.FAILED, error
            finally:
                await limit.release(rate_limited_for=wait)
        return Outcome.FAILED, last_error

    async def worker() -> None:
        while (session_id := await next_id()) is not None:
            # Left in ``in_flight`` if cancelled, to be reported as such.
            in_flight.add(session_id)
            outcome, detail = await process(session_id)
            in_flight.discard(session_id)
            finish(session_id, outcome, detail)

    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for session_id in sorted(in_flight):
            report.record(session_id, Outcome.CANCELLED)  # no callback: we are unwinding
        raise
    return report
