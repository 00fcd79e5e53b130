"""The run: one reader gives ids to at most ``concurrency`` flights; each id gets one outcome."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence, Sized
from typing import Any

from ..errors import ClientClosedError, InvalidRequestError
from ..hooks import raised_after_success
from ..retries import NOT_PROCESSED_STATUSES, RetryConfig
from ..session_ids import listed_session_id
from ._journal import Journal
from ._options import BulkOptions
from ._report import DUPLICATE, JOURNALED, MESSAGE_LIMIT, BulkProgress, BulkReport, Failure, Outcome
from ._source import as_async_iterator, check_source
from ._stops import Streak, status_of, systemic

__all__ = ["run_bulk"]

#: Ids taken from the source between two yields to the event loop.
_YIELD_EVERY = 128


async def run_bulk(
    ids: Iterable[Any] | AsyncIterable[Any],
    call: Callable[[str, RetryConfig], Awaitable[Any]],
    options: BulkOptions | None = None,
    *,
    report: BulkReport | None = None,
) -> BulkReport:
    """Run ``call(session_id, policy)`` for every id, as :mod:`gr4vy_async.bulk` tells.

    ``policy`` is ``options.retries`` without 425 and 429, which the run
    handles itself. ``report`` (else a new ``BulkReport(keep_ids=...)``) is
    filled as ids finish, so it holds what finished also when the run is
    cancelled. Raises :class:`~gr4vy_async.errors.JournalError` when the
    journal could not be written, and what an after-success hook raised,
    both once every id read has its outcome.
    """
    options = options if options is not None else BulkOptions()
    check_source(ids)
    report = report if report is not None else BulkReport(keep_ids=options.keep_ids)
    journal = None
    if options.journal is not None:
        journal = await asyncio.to_thread(Journal, options.journal, options.operation)
    runner = _Runner(ids, call, options, report, journal)
    try:
        await runner.run()
    finally:
        if journal is not None:
            await journal.close()
    if runner.raise_after is not None:
        raise runner.raise_after
    if journal is not None:
        journal.raise_if_failed(report)
    return report


@dataclasses.dataclass(eq=False, slots=True)
class _Held:
    """An id given to a flight, and whether a request for it is out."""

    session_id: str
    sent: bool = False
    limited: Failure | None = None
    """The last 425/429 while it is waited out: the server did nothing with the id."""

    def unfinished(self) -> tuple[Outcome, Failure | None]:
        """Its outcome when its flight ends before its answer.

        Sent: ``cancelled``; waiting out a 425/429: ``failed`` with it; else ``not_attempted``.
        """
        if self.sent:
            return Outcome.CANCELLED, None
        if self.limited is not None:  # a 425/429 being waited out: the server did nothing
            return Outcome.FAILED, self.limited
        return Outcome.NOT_ATTEMPTED, None


class _Runner:
    """One batch: a reader that feeds ids to at most ``concurrency`` flights.

    Only the reader takes ids from the source, and it is never cancelled
    while the run goes on: a deadline or a stop cancels flights, never a
    pending ``anext``, which would close an async generator and lose its ids.
    """

    def __init__(
        self,
        ids: Iterable[Any] | AsyncIterable[Any],
        call: Callable[[str, RetryConfig], Awaitable[Any]],
        options: BulkOptions,
        report: BulkReport,
        journal: Journal | None,
    ) -> None:
        self.call = call
        self.options = options
        self.retries = retries = options.retries
        # 425/429 are the run's to wait out (per id, paced), not the request's.
        self.policy = dataclasses.replace(
            retries, statuses=retries.statuses - NOT_PROCESSED_STATUSES
        )
        self.missing_ok = options.missing_ok
        self.dedupe = options.dedupe
        self.on_progress = options.on_progress
        self.report = report
        self.journal = journal
        if journal is not None:
            journal.on_error = lambda: self.stop("the journal could not be written")
        self.total = len(ids) if isinstance(ids, Sized) else None
        self.source = as_async_iterator(ids)
        self.pulls = 0
        self.taken = 0
        self.seen: set[str] = set()
        self.streak = Streak(options.stop_after)
        self.stopping = False
        self.ends_at: float | None = None
        self.room = asyncio.Semaphore(options.concurrency)
        self.held: set[_Held] = set()
        self.flights: set[asyncio.Task[None]] = set()
        self.crash: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.raise_after: BaseException | None = None
        self.landing = False  # set when the run cancels its flights (only it does)

    def remaining(self) -> float | None:
        """Seconds to the deadline, if there is one."""
        return None if self.ends_at is None else self.ends_at - time.monotonic()

    def stop(self, why: str) -> None:
        """Send nothing more; the first reason given is the report's."""
        self.stopping = True
        if self.report.stopped is None:
            self.report.stopped = why

    def finish(
        self, session_id: str, outcome: Outcome, detail: Any = None, kind: str | None = None
    ) -> None:
        """Record an id's outcome, journal it, count a failure streak, report progress."""
        report = self.report
        report.record(session_id, outcome, detail)
        if self.journal is not None and not (
            outcome is Outcome.NOT_ATTEMPTED or detail == JOURNALED
        ):
            self.journal.add(session_id, outcome, detail)
        if kind is not None:
            why = self.streak.add(kind)
            if why is not None and not self.stopping:
                self.stop(why)
                report.stop_cause = detail
        elif outcome in (Outcome.DONE, Outcome.MISSING) or (
            outcome is Outcome.FAILED and Streak.ends_it(detail)
        ):
            self.streak.end()
        if self.on_progress is not None:
            self.on_progress(BulkProgress(report.total, self.total, report.counts[Outcome.FAILED]))

    async def next_id(self) -> str | None:
        """The next id to send, giving skipped ids their outcome on the way."""
        while True:
            self.pulls += 1
            if self.pulls % _YIELD_EVERY == 0:
                # Here no id is held (a cancel loses none), and a million
                # skipped or instantly finished ids do not freeze the loop.
                await asyncio.sleep(0)
            try:
                raw = await anext(self.source)
            except StopAsyncIteration:
                return None
            self.taken += 1
            try:
                session_id = listed_session_id(raw)
            except InvalidRequestError as error:
                self.finish(str(raw)[:MESSAGE_LIMIT], Outcome.SKIPPED, str(error))
                continue
            if self.journal is not None and session_id in self.journal.finished:
                self.finish(session_id, Outcome.SKIPPED, JOURNALED)
                continue
            if self.dedupe:
                if session_id in self.seen:
                    self.finish(session_id, Outcome.SKIPPED, DUPLICATE)
                    continue
                self.seen.add(session_id)
            return session_id

    async def read(self) -> None:
        """Give each id a flight when one is free; once stopped, the rest are not attempted."""
        while True:
            free = not self.stopping
            if free:
                await self.room.acquire()  # before reading: a cancel here holds no id
            session_id = await self.next_id()
            if session_id is not None and not self.stopping:
                self.launch(session_id)
                continue
            if free:
                self.room.release()
            if session_id is None:
                break
            self.finish(session_id, Outcome.NOT_ATTEMPTED)
        while self.flights:
            await asyncio.wait(set(self.flights))

    def launch(self, session_id: str) -> None:
        held = _Held(session_id)
        self.held.add(held)
        task = asyncio.ensure_future(self.fly(held))
        self.flights.add(task)
        task.add_done_callback(self.landed)

    def landed(self, task: asyncio.Task[None]) -> None:
        # A done callback, not a ``finally``: a flight cancelled before its
        # first step never runs its body, and its slot must still come back.
        self.flights.discard(task)
        self.room.release()

    async def fly(self, held: _Held) -> None:
        """One id, from its first send to its outcome; holds one of the ``concurrency`` slots."""
        try:
            outcome, detail, kind = await self.attempt(held)
            self.held.discard(held)
            self.finish(held.session_id, outcome, detail, kind)
        except asyncio.CancelledError:
            raise  # the run unwinds: unwind() gives the held id its outcome
        except BaseException as error:  # a progress callback's error ends the batch
            if not self.crash.done():
                self.crash.set_exception(error)

    async def attempt(self, held: _Held) -> tuple[Outcome, Any, str | None]:
        """Send until the id has its outcome; rate limits are waited out here."""
        first: float | None = None
        while True:
            now = time.monotonic()
            if self.stopping or (first is not None and self.retries.out_of_time(now - first)):
                # Not sent (again): the batch stopped, or waits used up the id's time.
                return (*held.unfinished(), None)
            first = now if first is None else first
            held.sent = True
            try:
                result = await self.call(held.session_id, self.policy)
            except asyncio.CancelledError:
                if self.landing:
                    raise  # ours: the run is cancelling its flights
                self.stop("a request was cancelled, not by this run (client closed?)")
                return Outcome.CANCELLED, None, None
            except Exception as error:  # any failure of one id is that id's outcome
                status = status_of(error)
                limited = status in NOT_PROCESSED_STATUSES
                if raised_after_success(error):
                    if self.raise_after is None:
                        self.raise_after = error
                    self.stop("an after-success hook raised")
                    return Outcome.DONE, None, None  # the request succeeded
                if isinstance(error, ClientClosedError):
                    self.stop("client closed")
                    held.sent = error.attempts is not None  # else closed before this send
                    return (*held.unfinished(), None)
                if limited:
                    self.report.rate_limited += 1
                    wait = self.retries.rate_limit_wait(
                        error,
                        elapsed=time.monotonic() - first,
                        default=self.options.default_rate_limit_wait,
                        remaining=self.remaining(),
                    )
                    if wait is not None:
                        held.sent, held.limited = False, Failure.of(held.session_id, error)
                        await asyncio.sleep(wait)
                        continue
                if status == 404 and self.missing_ok:
                    return Outcome.MISSING, None, None
                return Outcome.FAILED, Failure.of(held.session_id, error), systemic(error)
            return Outcome.DONE, result, None

    def unwind(self) -> None:
        """Give the ids the (cancelled) flights held their outcome."""
        while self.held:
            held = self.held.pop()
            self.finish(held.session_id, *held.unfinished())

    async def run(self) -> None:
        """Read every id and wait for its flight; at the deadline or on an error, land them."""
        deadline = self.options.deadline
        if deadline is not None:
            self.ends_at = time.monotonic() + deadline
        reader = asyncio.ensure_future(self.read())
        try:
            done, _ = await asyncio.wait(
                {reader, self.crash}, timeout=deadline, return_when=asyncio.FIRST_COMPLETED
            )
            if self.crash.done():
                self.crash.result()  # a progress callback's error ends the batch
            if reader not in done:
                self.stop(f"deadline of {deadline:g} s reached")
                self.landing = True
                await _cancel(list(self.flights))
                self.unwind()
                await reader  # reads the rest: each id not attempted
            reader.result()
        except BaseException as error:
            self.on_progress = None  # unwinding: no callbacks
            cancelled = isinstance(error, asyncio.CancelledError)
            self.stop("cancelled" if cancelled else f"stopped by {type(error).__name__}")
            self.landing = True
            await _cancel([reader, *self.flights])
            self.unwind()
            if reader.cancelled() or reader.exception() is not None:
                self.report.unread = None if self.total is None else self.total - self.taken
            raise


async def _cancel(tasks: Sequence[asyncio.Future[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
