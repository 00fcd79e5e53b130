"""Many checkout-session calls at once: paced, budgeted, resumable, fully accounted for.

:func:`run_bulk` drives one operation over ids from a list or an async
iterable with ``concurrency`` workers, each sending one request at a time.

- **Rate limits, per request.** A 425 or 429 response (matched by status,
  whatever its body: a gateway's ``text/plain`` 429 counts too) makes *that*
  id wait its ``Retry-After`` (capped at the policy's ``retry_after_cap``;
  ``default_rate_limit_wait`` when absent) and be tried again; the other
  workers go on.
- **Pacing, per batch.** :class:`AdaptiveRate` is the AWS SDKs' "adaptive"
  retry mode: a client-side token bucket whose rate follows CUBIC. Off until
  the first 429; then the rate drops to 0.7x the measured rate once per
  rate-limit *episode* (a 429 to a request sent before the last drop is part
  of the same episode) and grows back, cubically in time, while requests
  succeed. Independent processes sharing one server-side limit converge
  without talking to each other.
- **Budget.** A rate-limited id is tried again for as long as its retry
  policy's ``max_elapsed`` allows, counted from its first attempt (waits and
  pacing included); 425/429 answers do not count against ``max_attempts``,
  but ``max_attempts=1`` (``RetryConfig.none()``) means no retry at all. Only
  then does an id end ``failed`` because of a rate limit. ``deadline`` bounds
  the whole batch.
- **Stop early.** After ``stop_after`` consecutive failures of the same kind
  that no retry fixes (401, 403 other than "resource active", a connection
  that cannot be made) no more ids are sent; the rest end ``not_attempted``
  and :attr:`BulkReport.stopped` / :attr:`BulkReport.stop_cause` say why.
- **Journal.** ``journal=PATH`` appends one JSON line per finished id
  (``id``, ``outcome``, ``status``, and ``error`` for a failure), flushed at
  once; a run given an existing journal skips the ids it records as ``done``
  or ``missing``.

Each id ends in exactly one outcome of the :class:`BulkReport`, also when the
batch is cancelled, stopped early or runs out of time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import math
import os
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
    Sized,
)
from typing import IO, Any

import msgspec

from .errors import ConnectError, Error403Active, Gr4vyError, InvalidRequestError
from .retries import RetryConfig, retry_after_seconds
from .session_ids import canonical_session_id

__all__ = [
    "DUPLICATE",
    "FAILURES_KEPT_WITHOUT_IDS",
    "JOURNALED",
    "RATE_LIMIT_STATUSES",
    "AdaptiveRate",
    "BulkProgress",
    "BulkReport",
    "Failure",
    "Outcome",
    "run_bulk",
]

#: The reason given for an id skipped because it came earlier in the same batch.
DUPLICATE = "duplicate id"
#: The reason given for an id skipped because the journal records it as done or missing.
JOURNALED = "done in an earlier run (journal)"
#: Statuses that mean "not processed, slow down": handled by the batch, not the policy.
RATE_LIMIT_STATUSES = frozenset({425, 429})
#: Failures kept in a report with ``keep_ids=False`` (the rest are counted only).
FAILURES_KEPT_WITHOUT_IDS = 1000
#: Ids taken from the source between two yields to the event loop.
_YIELD_EVERY = 256
_MESSAGE_LIMIT = 300


class Outcome(str, enum.Enum):
    """What happened to one id."""

    DONE = "done"  # deleted, or found
    MISSING = "missing"  # 404: already gone (delete with missing_ok) or not found (get)
    FAILED = "failed"  # an error, kept in BulkReport.failed as a Failure
    SKIPPED = "skipped"  # never sent: malformed, duplicate, or done per the journal
    CANCELLED = "cancelled"  # sent but not finished when the batch was cancelled or timed out
    NOT_ATTEMPTED = "not_attempted"  # never sent: the batch stopped early or ran out of time


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """A failed id, kept small: no exception object, no traceback.

    ``status`` is the HTTP status (``None`` when no response came), ``code``
    the API's error code when the body had one, ``error`` the exception's
    class name and ``message`` its message (status, code and the API's
    message; never a token or a request body; truncated).
    """

    id: str
    status: int | None
    code: str | None
    error: str
    message: str

    @classmethod
    def of(cls, session_id: str, error: BaseException) -> Failure:
        """The record of ``error`` for ``session_id``."""
        if isinstance(error, Gr4vyError):
            code = getattr(error.data, "code", None)
            return cls(
                session_id,
                error.status_code,
                code if isinstance(code, str) else None,
                type(error).__name__,
                error.message[:_MESSAGE_LIMIT],
            )
        # Not ours: its text could hold anything (a header value, a secret), so only its type.
        return cls(
            session_id, None, None, type(error).__name__, f"unexpected {type(error).__name__}"
        )

    def __str__(self) -> str:
        return self.message


@dataclasses.dataclass(frozen=True)
class BulkProgress:
    """Passed to ``on_progress`` after each id finishes."""

    done: int
    total: int | None
    failures: int


@dataclasses.dataclass
class BulkReport:
    """Where every id went.

    Counts are always kept. With ``keep_ids`` (the default) the ids of every
    outcome are kept too; without it only ``cancelled`` (at most one per
    worker) and the first :data:`FAILURES_KEPT_WITHOUT_IDS` failures are, so
    memory stays flat however many ids pass.
    """

    counts: dict[Outcome, int] = dataclasses.field(
        default_factory=lambda: dict.fromkeys(Outcome, 0)
    )
    done: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    failed: list[Failure] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    cancelled: list[str] = dataclasses.field(default_factory=list)
    not_attempted: list[str] = dataclasses.field(default_factory=list)
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    keep_ids: bool = True
    rate_limited: int = 0
    """How many 425/429 responses the batch got (each was waited out and retried)."""
    malformed: int = 0
    """How many skipped ids were not UUIDs."""
    stopped: str | None = None
    """Why the batch stopped before its last id (stop early, deadline), else ``None``."""
    stop_cause: Failure | None = None
    """The failure that made the batch stop early, if it did."""

    @property
    def total(self) -> int:
        """How many ids have an outcome."""
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """True when every id was done, missing or skipped as a duplicate / journaled.

        Anything failed, cancelled, not attempted or malformed makes it false.
        """
        counts = self.counts
        return not (
            counts[Outcome.FAILED]
            or counts[Outcome.CANCELLED]
            or counts[Outcome.NOT_ATTEMPTED]
            or self.malformed
        )

    def record(self, session_id: str, outcome: Outcome, detail: Any = None) -> None:
        """Give ``session_id`` its one outcome.

        ``detail`` is the :class:`Failure` of a failed id, the reason a
        skipped id was skipped, or the result of a done one.
        """
        self.counts[outcome] += 1
        if outcome is Outcome.FAILED:
            if self.keep_ids or len(self.failed) < FAILURES_KEPT_WITHOUT_IDS:
                self.failed.append(detail)
        elif outcome is Outcome.CANCELLED:
            self.cancelled.append(session_id)
        elif outcome is Outcome.SKIPPED:
            if detail not in (DUPLICATE, JOURNALED):
                self.malformed += 1
            if self.keep_ids:
                self.skipped.append((session_id, detail))
        elif self.keep_ids:
            if outcome is Outcome.NOT_ATTEMPTED:
                self.not_attempted.append(session_id)
            else:
                (self.done if outcome is Outcome.DONE else self.missing).append(session_id)
                if detail is not None:
                    self.results[session_id] = detail

    def summary(self) -> dict[str, int]:
        """Counts per outcome, by name."""
        return {outcome.value: count for outcome, count in self.counts.items()}


# --------------------------------------------------------------------------- pacing


class AdaptiveRate:
    """The batch's send rate: a client-side token bucket whose rate follows CUBIC.

    The design of the AWS SDKs' "adaptive" retry mode (botocore's
    ``retries/adaptive.py``, ``bucket.py``, ``throttling.py``), for asyncio.
    Until the first rate-limit episode nothing is paced (only
    ``concurrency`` bounds the batch). Then:

    - an episode: ``W_max`` = the response rate measured (or the bucket's
      rate, if lower); the rate drops to ``BETA * W_max``;
    - any other response: rate = ``W_max * (1 + c * (t - RECOVERY)**3)``,
      ``t`` the seconds since the drop and ``c`` such that it starts at
      ``BETA * W_max``: quick regrowth, a plateau back at ``W_max`` after
      ``RECOVERY`` seconds, then a probe above it;
    - the rate never exceeds twice the measured response rate (no credit
      for idle time), nor goes below ``MIN_RATE``.

    Where it differs from botocore, and why:

    - **Once per episode, not per 429.** Each token carries the number of
      drops so far; a 429 to a request sent before the last drop is part of
      the episode already answered. And a 429 starts an episode only while
      429s are at least ``EPISODE_SHARE`` of the responses since the last
      drop (a moving average over about ``SHARE_WINDOW`` responses):
      scattered 429s (a busy shard, a proxy) are waited out by their own
      request and leave the rate alone, where CUBIC would keep cutting it
      towards ``MIN_RATE``.
    - **Recovery time independent of the rate.** botocore's curve
      (``0.4 * (t - K)**3 + W_max``) takes seconds to regrow a few requests
      per second, so a process squeezed by others that finish first stays
      slow; scaled by ``W_max``, every rate is back in ``RECOVERY`` seconds.
    - **A short burst.** The bucket holds ``BURST_SECONDS`` of tokens, not a
      second's worth: workers come back from a ``Retry-After`` together.
    - **An early estimate.** Before the first measuring interval the
      measured rate is the average so far, not 0.
    """

    MIN_RATE = 0.5
    BETA = 0.7
    RECOVERY = 1.0
    SMOOTHING = 0.8
    MEASURE_EVERY = 0.5
    BURST_SECONDS = 0.1
    EPISODE_SHARE = 0.1
    SHARE_WINDOW = 50

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        now = clock()
        self.enabled = False
        self.rate = math.inf
        """Requests per second the bucket refills at (``inf`` until the first rate limit)."""
        self.drops = 0
        """How many times the rate was dropped: one per rate-limit episode."""
        self._capacity = 1.0
        self._tokens = 0.0
        self._refilled = now
        self._w_max = 0.0
        self._dropped_at = now
        self._measured = 0.0
        self._count = 0
        self._interval_start = now
        self.share = 0.0
        """Moving average of the share of responses that were 425/429."""
        self._lock = asyncio.Lock()

    async def acquire(self) -> int:
        """Wait for a send token; returns :attr:`drops` as of the send (see :meth:`record`)."""
        if not self.enabled:
            return self.drops
        async with self._lock:  # FIFO: waiters are served in arrival order
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return self.drops
                await asyncio.sleep((1 - self._tokens) / self.rate)

    def record(self, *, rate_limited: bool, drops_at_send: int) -> None:
        """Adjust the rate after a response; ``drops_at_send`` is what :meth:`acquire` gave."""
        now = self._clock()
        measured = self._measure(now)
        self.share += (rate_limited - self.share) / self.SHARE_WINDOW
        if rate_limited:
            if drops_at_send != self.drops or self.share < self.EPISODE_SHARE:
                return  # sent before the last drop (the same episode), or a stray 429
            self._w_max = min(measured, self.rate) if self.enabled else measured
            self._w_max = max(self._w_max, self.MIN_RATE)
            self._dropped_at = now
            self.drops += 1
            self.share = 0.0  # the next episode needs 429s to requests sent at the new rate
            self.enabled = True
            new_rate = self._w_max * self.BETA
        elif not self.enabled:
            return
        else:
            since = now - self._dropped_at - self.RECOVERY
            new_rate = self._w_max * (1 + (1 - self.BETA) / self.RECOVERY**3 * since**3)
        self._set_rate(min(new_rate, 2 * measured), now)

    def _measure(self, now: float) -> float:
        """Responses per second: an average per ``MEASURE_EVERY`` seconds, smoothed."""
        self._count += 1
        elapsed = now - self._interval_start
        if elapsed >= self.MEASURE_EVERY:
            current = self._count / elapsed
            if self._measured:
                current = self.SMOOTHING * current + (1 - self.SMOOTHING) * self._measured
            self._measured = current
            self._count = 0
            self._interval_start = now
        if self._measured:
            return self._measured
        # Before the first full interval: the average so far (botocore says 0 here).
        return self._count / max(elapsed, self.MEASURE_EVERY / 10)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now

    def _set_rate(self, rate: float, now: float) -> None:
        if self.rate != math.inf:
            self._refill()
        else:
            self._refilled = now
        self.rate = max(rate, self.MIN_RATE)
        # A short burst only: many workers wake together after a Retry-After.
        self._capacity = max(1.0, self.rate * self.BURST_SECONDS)
        self._tokens = min(self._tokens, self._capacity)


# --------------------------------------------------------------------------- journal


class _Journal:
    """One JSON line per finished id, appended and flushed as it finishes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.finished: set[str] = set()
        needs_newline = False
        with contextlib.suppress(FileNotFoundError), open(path, "rb") as existing:
            line = b""
            for line in existing:
                self._read(line)
            needs_newline = bool(line) and not line.endswith(b"\n")
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 - closed by close()
        if needs_newline:  # a line cut short by a kill: keep the next one whole
            self._file.write(b"\n")

    def _read(self, line: bytes) -> None:
        try:
            entry = msgspec.json.decode(line)
        except msgspec.DecodeError:
            return  # a line cut short by a kill
        if isinstance(entry, dict) and entry.get("outcome") in ("done", "missing"):
            session_id = entry.get("id")
            if isinstance(session_id, str):
                self.finished.add(session_id)

    def write(self, session_id: str, outcome: Outcome, detail: Any) -> None:
        entry: dict[str, Any] = {"id": session_id, "outcome": outcome.value, "status": None}
        if outcome is Outcome.MISSING:
            entry["status"] = 404
        elif isinstance(detail, Failure):
            entry["status"] = detail.status
            entry["error"] = detail.message
        elif outcome is Outcome.SKIPPED:
            entry["reason"] = detail
        self._file.write(msgspec.json.encode(entry) + b"\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


# --------------------------------------------------------------------------- the runner


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


def _status(error: BaseException) -> int | None:
    return error.status_code if isinstance(error, Gr4vyError) else None


def _systemic(error: BaseException) -> str | None:
    """The kind of a failure no retry can fix for any id (bad credentials, no server), or None."""
    status = _status(error)
    if status in (401, 403) and not isinstance(error, Error403Active):
        return f"HTTP {status}"
    if isinstance(error, ConnectError) and error.before_send:
        return "cannot connect"
    return None


async def run_bulk(
    ids: Iterable[Any] | AsyncIterable[Any],
    call: Callable[[str, RetryConfig], Awaitable[Any]],
    *,
    retries: RetryConfig,
    concurrency: int,
    missing_ok: bool,
    report: BulkReport | None = None,
    keep_ids: bool = True,
    dedupe: bool = True,
    on_progress: Callable[[BulkProgress], object] | None = None,
    journal: str | os.PathLike[str] | None = None,
    deadline: float | None = None,
    stop_after: int | None = 20,
    default_rate_limit_wait: float = 1.0,
) -> BulkReport:
    """Run ``call(session_id, policy)`` for every id; see the module docstring.

    ``retries`` is the per-request policy for everything but 425/429, which
    the batch handles itself (``policy`` is ``retries`` without them).
    ``report`` (else a new ``BulkReport(keep_ids=keep_ids)``) is filled as
    ids finish, so it holds everything finished also when the batch is
    cancelled. ``deadline``: seconds for the whole batch; ids in flight then
    end ``cancelled``, the rest ``not_attempted``. ``stop_after``: consecutive
    failures of one systemic kind before the batch stops (``None`` or 0:
    never). After a stop or the deadline the rest of ``ids`` is still read,
    to give each its outcome. ``journal``: a path, see the module docstring.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidRequestError("concurrency: expected a whole number, at least 1")
    if isinstance(ids, (str, bytes)):
        raise InvalidRequestError("session_ids: expected many ids, got one string")
    if not isinstance(ids, (Iterable, AsyncIterable)):
        raise InvalidRequestError(f"session_ids: expected many ids, got {type(ids).__name__}")
    if deadline is not None and (
        isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline > 0
    ):
        raise InvalidRequestError("deadline: must be a positive number of seconds")
    if deadline == math.inf:
        deadline = None
    if stop_after is not None and (
        isinstance(stop_after, bool) or not isinstance(stop_after, int) or stop_after < 0
    ):
        raise InvalidRequestError("stop_after: must be a whole number, 0 or more")
    report = report if report is not None else BulkReport(keep_ids=keep_ids)
    log = None if journal is None else await asyncio.to_thread(_Journal, journal)
    try:
        runner = _Runner(
            ids,
            call,
            retries,
            concurrency,
            missing_ok,
            report,
            dedupe,
            on_progress,
            log,
            stop_after or None,
            default_rate_limit_wait,
        )
        await runner.run(deadline)
    finally:
        if log is not None:
            log.close()
    return report


class _Runner:
    """One batch: the shared state of its workers."""

    def __init__(
        self,
        ids: Iterable[Any] | AsyncIterable[Any],
        call: Callable[[str, RetryConfig], Awaitable[Any]],
        retries: RetryConfig,
        concurrency: int,
        missing_ok: bool,
        report: BulkReport,
        dedupe: bool,
        on_progress: Callable[[BulkProgress], object] | None,
        journal: _Journal | None,
        stop_after: int | None,
        default_rate_limit_wait: float,
    ) -> None:
        self.call = call
        self.retries = retries
        self.policy = dataclasses.replace(retries, statuses=retries.statuses - RATE_LIMIT_STATUSES)
        self.concurrency = concurrency
        self.missing_ok = missing_ok
        self.report = report
        self.dedupe = dedupe
        self.on_progress = on_progress
        self.journal = journal
        self.stop_after = stop_after
        self.default_wait = default_rate_limit_wait
        self.total = len(ids) if isinstance(ids, Sized) else None
        self.source = _aiter(ids)
        self.source_lock = asyncio.Lock()
        self.taken = 0
        self.seen: set[str] = set()
        self.rate = AdaptiveRate()
        self.stopping = False
        self.streak_kind: str | None = None
        self.streak = 0
        # Per worker: the id it holds and whether a request for it was sent.
        self.slots: list[tuple[str, bool] | None] = [None] * concurrency

    def finish(
        self, session_id: str, outcome: Outcome, detail: Any = None, kind: str | None = None
    ) -> None:
        """Record an id's outcome, journal it, count a failure streak, report progress."""
        report = self.report
        report.record(session_id, outcome, detail)
        if self.journal is not None and not (
            outcome is Outcome.NOT_ATTEMPTED or detail == JOURNALED
        ):
            self.journal.write(session_id, outcome, detail)
        if outcome is Outcome.FAILED:
            self.count_failure(detail, kind)
        elif outcome is not Outcome.SKIPPED:
            self.streak_kind, self.streak = None, 0
        if self.on_progress is not None:
            self.on_progress(BulkProgress(report.total, self.total, report.counts[Outcome.FAILED]))

    def count_failure(self, failure: Failure, kind: str | None) -> None:
        """Stop the batch after ``stop_after`` failures in a row of one systemic kind."""
        if kind is None or kind != self.streak_kind:
            self.streak_kind, self.streak = kind, 0
        if kind is None:
            return
        self.streak += 1
        if self.stop_after is not None and self.streak >= self.stop_after and not self.stopping:
            self.stopping = True
            self.report.stopped = f"stopped after {self.streak} consecutive failures ({kind})"
            self.report.stop_cause = failure

    async def next_id(self) -> str | None:
        """The next id to send, giving skipped ids their outcome on the way."""
        async with self.source_lock:
            while True:
                self.taken += 1
                if self.taken % _YIELD_EVERY == 0:
                    # Here no id is held (a cancel loses none), and a million
                    # skipped or instantly finished ids do not freeze the loop.
                    await asyncio.sleep(0)
                try:
                    raw = await anext(self.source)
                except StopAsyncIteration:
                    return None
                try:
                    session_id = _normalize(raw)
                except InvalidRequestError as error:
                    self.finish(str(raw)[:_MESSAGE_LIMIT], Outcome.SKIPPED, str(error))
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

    async def attempt(self, slot: int, session_id: str) -> tuple[Outcome, Any, str | None]:
        """Send until the id has its outcome; rate limits are waited out here."""
        first_sent: float | None = None
        can_wait = self.retries.max_attempts > 1
        while True:
            drops = await self.rate.acquire()
            self.slots[slot] = (session_id, True)
            now = time.monotonic()
            first_sent = now if first_sent is None else first_sent
            try:
                result = await self.call(session_id, self.policy)
            except Exception as error:  # any failure of one id is that id's outcome
                status = _status(error)
                rate_limited = status in RATE_LIMIT_STATUSES
                self.rate.record(rate_limited=rate_limited, drops_at_send=drops)
                if rate_limited:
                    self.report.rate_limited += 1
                    wait = self.rate_limit_wait(error)
                    if (
                        can_wait
                        and time.monotonic() + wait - first_sent <= self.retries.max_elapsed
                    ):
                        await asyncio.sleep(wait)
                        continue
                if status == 404 and self.missing_ok:
                    return Outcome.MISSING, None, None
                return Outcome.FAILED, Failure.of(session_id, error), _systemic(error)
            self.rate.record(rate_limited=False, drops_at_send=drops)
            return Outcome.DONE, result, None

    def rate_limit_wait(self, error: BaseException) -> float:
        try:
            asked = retry_after_seconds(error.headers) if isinstance(error, Gr4vyError) else None
        except (ValueError, OverflowError):  # an odd header is no reason to fail the id
            asked = None
        wait = self.default_wait if asked is None else asked
        return max(0.0, min(wait, self.retries.retry_after_cap))

    async def worker(self, slot: int) -> None:
        while not self.stopping:
            session_id = await self.next_id()
            if session_id is None:
                return
            self.slots[slot] = (session_id, False)
            outcome, detail, kind = await self.attempt(slot, session_id)
            self.slots[slot] = None
            self.finish(session_id, outcome, detail, kind)

    def unwind(self) -> None:
        """Give the ids the (cancelled) workers held their outcome."""
        for held in self.slots:
            if held is not None:
                session_id, sent = held
                self.finish(session_id, Outcome.CANCELLED if sent else Outcome.NOT_ATTEMPTED)
        self.slots = [None] * self.concurrency

    async def run(self, deadline: float | None) -> None:
        workers = [asyncio.ensure_future(self.worker(n)) for n in range(self.concurrency)]
        try:
            done, pending = await asyncio.wait(
                workers, timeout=deadline, return_when=asyncio.FIRST_EXCEPTION
            )
            for task in done:
                task.result()  # a progress callback's or the journal's own error ends the batch
            if pending:
                self.stopping = True
                self.report.stopped = f"deadline of {deadline:g} s reached"
                await _cancel(workers)
                self.unwind()
        except BaseException:
            self.on_progress = None  # unwinding: no callbacks
            await _cancel(workers)
            self.unwind()
            raise
        while (session_id := await self.next_id()) is not None:
            self.finish(session_id, Outcome.NOT_ATTEMPTED)


async def _cancel(tasks: Sequence[asyncio.Future[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
