"""Many checkout-session calls at once: paced, budgeted, resumable, fully accounted for.

:func:`run_bulk` drives one operation over ids from a list, an iterator or an
async iterable. One reader takes the ids from the source, in order, and gives
each to a flight when one of the ``concurrency`` slots is free; a flight sends
one request at a time until its id has an outcome.

- **Rate limits, per request.** A 425 or 429 response (matched by status,
  whatever its body: a gateway's ``text/plain`` 429 counts too) makes *that*
  id wait and be tried again; the other flights go on. The retry policy says
  how long (:meth:`RetryConfig.rate_limit_wait`): ``Retry-After`` capped at
  ``retry_after_cap`` (``default_rate_limit_wait`` when absent or unreadable).
- **Pacing, per batch.** :class:`AdaptiveRate` is the AWS SDKs' "adaptive"
  retry mode: a client-side token bucket whose rate follows CUBIC. Off until
  the first 429; then the rate drops to 0.7x the measured rate once per
  rate-limit *episode* (a 429 to a request sent before the last drop is part
  of the same episode) and grows back, cubically in time, while requests
  succeed. Independent processes sharing one server-side limit converge
  without talking to each other.
- **Budget.** A rate-limited id is sent again only if its wait ends within
  ``max_elapsed`` of its first attempt and before the ``deadline``, and no
  attempt of it starts later than ``max_elapsed`` after its first (pacing
  included); else it ends ``failed`` with its last 425/429 at once. 425/429
  do not count against ``max_attempts``, but ``max_attempts=1``
  (``RetryConfig.none()``) means no retry at all.
- **Stop early, by cause.** A failure that no retry and no other id can fix
  (401; 403 other than "resource active"; a TLS certificate the client
  rejects; a host that does not resolve; a connection that cannot be made)
  adds one to a streak, whatever its kind; a success, a 404, or any other
  4xx about one id (409, 400, 422, 403 "resource active") ends the streak;
  5xx, timeouts, dropped connections and spent rate limits leave it as it
  is. At ``stop_after`` no more ids are sent: the rest end ``not_attempted``
  and :attr:`BulkReport.stopped` / :attr:`BulkReport.stop_cause` say why.
- **Other stops.** At the ``deadline`` the ids in flight end ``cancelled``
  and the rest of the source is still read, nothing sent, each id
  ``not_attempted`` (an async source takes as long as it takes to yield
  them). A closed client (``aclose()``) stops the run the same way. An
  after-success hook that raises leaves its id ``done`` (the request
  succeeded), stops the run, and is raised, unchanged, once every id read
  has its outcome. A caller's cancel reads nothing more: ids in flight end
  ``cancelled``, ``stopped`` is ``"cancelled"`` and :attr:`BulkReport.unread`
  counts what was never read (``None``: unknown, for an iterator).
- **Journal.** ``journal=PATH`` records one JSON line per finished id
  (``id``, ``outcome``, ``status``, ``error`` for a failure, and ``op``, the
  operation). Lines are buffered and written in a thread, one write per
  batch (every 0.1 s or 256 lines, and at the end), never one blocking write
  per id on the event loop; a kill loses at most the last batch, whose ids a
  rerun sends again (a deleted one then ends ``missing``). A rerun with the
  journal skips the ids it records as ``done`` or ``missing``; a journal of
  another operation is refused (:class:`InvalidRequestError`, before any
  request), as is a path that is a directory or cannot be opened. A write
  that fails (a full disk) stops the run; :class:`JournalError` is raised
  once every id read has its outcome, with the report as ``error.report``.

Each id read ends in exactly one outcome of the :class:`BulkReport`, however
the batch ends; ``ok`` is True only when every id was done or missing (or
skipped as a duplicate or journaled) and the whole source was read.
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
from typing import Any

import aiohttp
import msgspec

from .errors import (
    ClientClosedError,
    ConnectError,
    Error403Active,
    Gr4vyError,
    InvalidRequestError,
    JournalError,
    TransportError,
)
from .hooks import raised_after_success
from .retries import NOT_PROCESSED_STATUSES, RetryConfig
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
RATE_LIMIT_STATUSES = NOT_PROCESSED_STATUSES
#: Failures kept in a report with ``keep_ids=False`` (the rest are counted only).
FAILURES_KEPT_WITHOUT_IDS = 1000
#: Ids taken from the source between two yields to the event loop.
_YIELD_EVERY = 128
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
                error.summary[:_MESSAGE_LIMIT],
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
    """Why the batch stopped before its last id (stop early, deadline, a hook, the journal,
    a closed client, ``"cancelled"``), else ``None``."""
    stop_cause: Failure | None = None
    """The failure that made the batch stop early, if it did."""
    unread: int | None = 0
    """Ids of the source never read, so in no outcome: 0 unless the batch was cancelled
    (or ended by a callback's error); then how many a sized source had left, or ``None``
    (some, how many unknown) for an iterator."""

    @property
    def total(self) -> int:
        """How many ids have an outcome."""
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """True when every id was done, missing or skipped as a duplicate / journaled.

        Anything failed, cancelled, not attempted, malformed or never read makes it false.
        """
        counts = self.counts
        return not (
            counts[Outcome.FAILED]
            or counts[Outcome.CANCELLED]
            or counts[Outcome.NOT_ATTEMPTED]
            or self.malformed
            or self.unread != 0
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

#: The operations whose journals a refusal names (any other is "another operation").
_OPERATIONS = frozenset({"delete_many", "get_many"})


class _Journal:
    """One JSON line per finished id, written in batches off the event loop.

    Lines are buffered and written (one ``write`` per batch, unbuffered file)
    in a thread every :attr:`FLUSH_DELAY` seconds or :attr:`FLUSH_LINES`
    lines, whichever comes first, and when the run ends. A kill loses at most
    the last batch: those ids are sent again by a rerun (a deleted one then
    ends ``missing``). Every line names the operation that wrote it, and a
    journal of another operation is refused: a ``get_many`` journal must not
    make ``delete_many`` skip ids.
    """

    FLUSH_DELAY = 0.1
    FLUSH_LINES = 256

    def __init__(self, path: str | os.PathLike[str], operation: str | None) -> None:
        """Read what an earlier run finished and open for appending (call in a thread)."""
        self.operation = operation
        self.finished: set[str] = set()
        self.error: OSError | None = None
        self.on_error: Callable[[], object] = lambda: None
        self._pending: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writer: asyncio.Future[None] | None = None
        if os.path.isdir(path):
            raise _bad_journal("is a directory, expected a file", "directory")
        try:
            needs_newline = False
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as existing:
                line = b""
                for line in existing:
                    self._read(line)
                needs_newline = bool(line) and not line.endswith(b"\n")
            self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
            if needs_newline:  # a line cut short by a kill: keep the next one whole
                self._file.write(b"\n")
        except OSError as error:
            problem = f"cannot open it for writing ({_why(error)})"
            raise _bad_journal(problem, "unwritable") from None

    def _read(self, line: bytes) -> None:
        try:
            entry = msgspec.json.decode(line)
        except msgspec.DecodeError:
            return  # a line cut short by a kill
        if not isinstance(entry, dict):
            return
        found = entry.get("op")
        if found != self.operation:
            raise _bad_journal(
                f"written by {_operation_name(found)}, not {_operation_name(self.operation)}; "
                "a journal resumes one operation only: give this run a new journal",
                "operation",
            )
        if entry.get("outcome") in ("done", "missing"):
            session_id = entry.get("id")
            if isinstance(session_id, str):
                self.finished.add(session_id)

    def add(self, session_id: str, outcome: Outcome, detail: Any) -> None:
        """Buffer the line of a finished id; it is written within ``FLUSH_DELAY`` seconds."""
        if self.error is not None:
            return
        entry: dict[str, Any] = {"id": session_id, "outcome": outcome.value, "status": None}
        if outcome is Outcome.MISSING:
            entry["status"] = 404
        elif isinstance(detail, Failure):
            entry["status"] = detail.status
            entry["error"] = detail.message
        elif outcome is Outcome.SKIPPED:
            entry["reason"] = detail
        if self.operation is not None:
            entry["op"] = self.operation
        self._pending.append(msgspec.json.encode(entry) + b"\n")
        if self._writer is not None and not self._writer.done():
            return  # the running writer takes it with its next batch
        if len(self._pending) >= self.FLUSH_LINES:
            self._flush_soon()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.FLUSH_DELAY, self._flush_soon)

    def _flush_soon(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_pending())

    async def _write_pending(self) -> None:
        while self._pending and self.error is None:
            batch = b"".join(self._pending)
            self._pending.clear()
            try:
                await asyncio.to_thread(self._write, batch)
            except OSError as error:
                self.error = error
                self.on_error()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._file.write(view) or 0 :]

    async def close(self) -> None:
        """Write what is buffered and close; a write error is kept in :attr:`error`, not raised."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            if self._writer is not None:
                await asyncio.shield(self._writer)  # never cut a write short in its thread
            await self._write_pending()
        finally:
            await asyncio.to_thread(self._file.close)


def _bad_journal(problem: str, reason: str) -> InvalidRequestError:
    return InvalidRequestError(f"journal: {problem}", field="journal", reason=reason)


def _operation_name(operation: object) -> str:
    if operation is None:
        return "a run without an operation (run_bulk, or a version before journals named one)"
    return str(operation) if operation in _OPERATIONS else "another operation"


def _why(error: OSError) -> str:
    return error.strerror or type(error).__name__


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
    """The kind of a failure that no retry and no other id can fix, or None.

    Bad credentials (401; 403 other than "resource active"), a certificate
    the client rejects, a host that does not resolve, a connection that
    cannot be made.
    """
    status = _status(error)
    if status in (401, 403) and not isinstance(error, Error403Active):
        return f"HTTP {status}"
    cause = error.__cause__
    if isinstance(error, TransportError) and isinstance(
        cause, aiohttp.ClientConnectorCertificateError
    ):
        return "TLS certificate rejected"
    if isinstance(error, ConnectError) and error.before_send:
        if isinstance(cause, aiohttp.ClientConnectorDNSError):
            return "DNS lookup failed"
        return "cannot connect"
    return None


def _answered_for_the_id(failure: Failure) -> bool:
    """A 4xx about one id (404, 409, 403 resource active...): the client itself works."""
    status = failure.status
    return status is not None and 400 <= status < 500 and status not in RATE_LIMIT_STATUSES


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
    operation: str | None = None,
) -> BulkReport:
    """Run ``call(session_id, policy)`` for every id; see the module docstring.

    ``retries`` is the per-request policy for everything but 425/429, which
    the batch handles itself (``policy`` is ``retries`` without them).
    ``report`` (else a new ``BulkReport(keep_ids=keep_ids)``) is filled as
    ids finish, so it holds everything finished also when the batch is
    cancelled. ``deadline``: seconds for sending; ids in flight then end
    ``cancelled``, the rest ``not_attempted``. ``stop_after``: consecutive
    failures that no retry can fix before the batch stops (``None`` or 0:
    never). After a stop or the deadline the rest of ``ids`` is still read
    (nothing sent) to give each its outcome; a cancel reads nothing more and
    sets :attr:`BulkReport.unread`. ``journal``: a path, see the module
    docstring; ``operation`` names what the journal's lines were written by.

    Raises :class:`~gr4vy_async.errors.JournalError` when the journal could
    not be written, and what an after-success hook raised, both once every
    id read has its outcome.
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
    log = None if journal is None else await asyncio.to_thread(_Journal, journal, operation)
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
    try:
        await runner.run(deadline)
    finally:
        if log is not None:
            log.on_error = lambda: None  # the run is over: nothing left to stop
            await log.close()
    if runner.raise_after is not None:
        raise runner.raise_after
    if log is not None and log.error is not None:
        raise JournalError(
            f"the journal could not be written ({_why(log.error)}); "
            "every id read has its outcome in the report",
            report=report,
            errno=log.error.errno,
        )
    return report


@dataclasses.dataclass(eq=False, slots=True)
class _Held:
    """An id given to a flight, and whether a request for it is out."""

    session_id: str
    sent: bool = False
    limited: Failure | None = None
    """The last 425/429 while it is waited out: the server did nothing with the id."""


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
        self.missing_ok = missing_ok
        self.report = report
        self.dedupe = dedupe
        self.on_progress = on_progress
        self.journal = journal
        if journal is not None:
            journal.on_error = lambda: self.stop("the journal could not be written")
        self.stop_after = stop_after
        self.default_wait = default_rate_limit_wait
        self.total = len(ids) if isinstance(ids, Sized) else None
        self.source = _aiter(ids)
        self.pulls = 0
        self.taken = 0
        self.seen: set[str] = set()
        self.rate = AdaptiveRate()
        self.stopping = False
        self.streak = 0
        self.streak_kinds: list[str] = []
        self.ends_at: float | None = None
        self.room = asyncio.Semaphore(concurrency)
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
            self.count_systemic(detail, kind)
        elif outcome in (Outcome.DONE, Outcome.MISSING) or (
            outcome is Outcome.FAILED and _answered_for_the_id(detail)
        ):
            self.streak, self.streak_kinds = 0, []
        if self.on_progress is not None:
            self.on_progress(BulkProgress(report.total, self.total, report.counts[Outcome.FAILED]))

    def count_systemic(self, failure: Failure, kind: str) -> None:
        """Stop the batch after ``stop_after`` systemic failures in a row, of any kinds."""
        self.streak += 1
        if kind not in self.streak_kinds:
            self.streak_kinds.append(kind)
        if self.stop_after is not None and self.streak >= self.stop_after and not self.stopping:
            kinds = ", ".join(self.streak_kinds)
            self.stop(f"stopped after {self.streak} consecutive failures ({kinds})")
            self.report.stop_cause = failure

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
            drops = await self.rate.acquire()
            now = time.monotonic()
            if self.stopping or (first is not None and now - first > self.retries.max_elapsed):
                # Not sent (again): the batch stopped, or pacing used up the id's time.
                return (*self.unfinished(held), None)
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
                status = _status(error)
                self.rate.record(rate_limited=status in RATE_LIMIT_STATUSES, drops_at_send=drops)
                if raised_after_success(error):
                    if self.raise_after is None:
                        self.raise_after = error
                    self.stop("an after-success hook raised")
                    return Outcome.DONE, None, None  # the request succeeded
                if isinstance(error, ClientClosedError):
                    self.stop("client closed")
                    held.sent = error.attempts is not None  # else closed before this send
                    return (*self.unfinished(held), None)
                if status in RATE_LIMIT_STATUSES:
                    self.report.rate_limited += 1
                    wait = self.retries.rate_limit_wait(
                        error,
                        elapsed=time.monotonic() - first,
                        default=self.default_wait,
                        remaining=self.remaining(),
                    )
                    if wait is not None:
                        held.sent, held.limited = False, Failure.of(held.session_id, error)
                        await asyncio.sleep(wait)
                        continue
                if status == 404 and self.missing_ok:
                    return Outcome.MISSING, None, None
                return Outcome.FAILED, Failure.of(held.session_id, error), _systemic(error)
            self.rate.record(rate_limited=False, drops_at_send=drops)
            return Outcome.DONE, result, None

    def unwind(self) -> None:
        """Give the ids the (cancelled) flights held their outcome.

        Sent: ``cancelled``; waiting out a 425/429: ``failed`` with it; else ``not_attempted``.
        """
        while self.held:
            held = self.held.pop()
            self.finish(held.session_id, *self.unfinished(held))

    @staticmethod
    def unfinished(held: _Held) -> tuple[Outcome, Failure | None]:
        """The outcome of an id whose flight ended before its answer."""
        if held.sent:
            return Outcome.CANCELLED, None
        if held.limited is not None:  # a 425/429 being waited out: the server did nothing
            return Outcome.FAILED, held.limited
        return Outcome.NOT_ATTEMPTED, None

    async def run(self, deadline: float | None) -> None:
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
