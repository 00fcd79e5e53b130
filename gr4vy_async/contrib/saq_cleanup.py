"""Cleanup across many workers: ``delete_many`` as jobs of an SAQ queue on Redis.

Install with ``pip install 'gr4vy-async[queue]'`` (SAQ with its Redis client).
A run has three parts, each usable from Python or from this module's command
line (``python -m gr4vy_async.contrib.saq_cleanup``):

- **Producer** (:func:`enqueue_ids`): reads ids and enqueues them in chunks.
  Each id belongs to one chunk of its run, recorded in Redis when the chunk
  is made: running the producer again, with the same ids in another order,
  another chunk size or with more ids, puts only ids the run has never seen
  into new chunks, so every id ends in exactly one outcome. A malformed id is
  never enqueued: the run records it as skipped, by its line number. Then
  the producer enqueues again every chunk of the run that stopped early or
  whose job was lost (see the summary).
- **Workers** (:func:`worker_settings`, for the ``saq`` command): each worker
  process makes one :class:`~gr4vy_async.Gr4vy` client at startup and closes
  it at shutdown. A job runs ``delete_many`` on its chunk and stores a small
  JSON report (counts, and the ids that failed with status and message).
  A worker killed mid-job stops sending heartbeats; SAQ's sweep then puts the
  job back on the queue and another worker runs the chunk again: the ids the
  dead worker deleted answer 404 and count as ``missing``, so every id still
  ends in exactly one outcome.
- **A chunk that did not get through all its ids** (``delete_many`` stopped
  early or reached its ``deadline``) is never stored as finished: its report
  keeps the ids not attempted and why it stopped, and the next run of the
  chunk sends only the ids not yet done or missing. Out of time, the job
  raises :class:`ChunkUnfinished` so SAQ retries it (``JobOptions.retries``).
  Stopped early (``stop_after`` failures no retry fixes: 401, 403, no
  server), the job ends without a retry, since one a second later would fail
  the same way: the summary names the chunk and the cause, and running the
  producer again once that is fixed enqueues the chunk again.
- **Summary** (:func:`summarize`): adds the stored reports up (one outcome
  per id) and lists the chunks not finished yet, the chunks lost (their job
  is gone or will never run again: a worker killed while SAQ's sweep handled
  its job, say; running the producer again enqueues them again), the chunks
  that stopped and why, every id that failed, with why, and every id not
  attempted.

Nothing here is imported by ``import gr4vy_async``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import inspect
import io
import logging
import multiprocessing
import os
import re
import sys
import threading
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, TextIO

import msgspec
from redis.exceptions import RedisError
from saq import Job, Status, Worker
from saq.queue.redis import RedisQueue
from saq.types import Context, PartialTimersDict, SettingsDict

from .._keyfile import read_pem
from .._terminal import printable
from ..bulk import DUPLICATE, BulkReport, Outcome, as_async_iterator
from ..checkout_sessions import CheckoutSessions
from ..cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from ..client import Gr4vy
from ..errors import InvalidRequestError
from ..session_ids import listed_session_id

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FUNCTION",
    "QUEUE_NAME",
    "BadReport",
    "ChunkReport",
    "ChunkUnfinished",
    "CleanupSummary",
    "EnqueueResult",
    "FailedId",
    "JobOptions",
    "SkippedId",
    "StoppedChunk",
    "chunk_key",
    "delete_chunk",
    "enqueue_ids",
    "main",
    "private_key",
    "read_ids",
    "summarize",
    "worker_settings",
]

#: The SAQ queue the recipe uses unless told otherwise.
QUEUE_NAME = "gr4vy-cleanup"
#: Ids per job: big enough to keep a worker's ``delete_many`` busy, small
#: enough that a retried job repeats little.
DEFAULT_CHUNK_SIZE = 500
#: The name the job function is registered and enqueued under.
FUNCTION = "gr4vy_delete_chunk"

_RUN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: ``delete_many`` arguments the job itself supplies.
#: ``keep_ids``: a chunk's report must name every id that needs a look.
_JOB_ARGUMENTS = frozenset({"self", "session_ids", "report", "on_progress", "keep_ids"})
#: Outcomes whose ids a stopped chunk sends again when it runs again.
_UNFINISHED = (Outcome.FAILED, Outcome.CANCELLED, Outcome.NOT_ATTEMPTED)
#: SAQ job states after which the job never runs again.
_ENDED = (Status.COMPLETE, Status.FAILED, Status.ABORTED)
_CLIENT = "gr4vy_client"
_DELETE_OPTIONS = "gr4vy_delete_options"
#: What SAQ logs at every stop, idle or not (its own loops never finish by themselves).
_GRACE_WARNING = "Some tasks did not finish within the shutdown grace period"


# --------------------------------------------------------------------------- reports


class FailedId(msgspec.Struct, frozen=True):
    """An id whose delete failed: the HTTP status (``None`` before a response) and message."""

    id: str
    status: int | None
    message: str

    def text(self) -> str:
        """Status and message for a terminal, the status once (messages often start with it)."""
        message = printable(self.message)
        if self.status is None or message.startswith(f"{self.status} "):
            return message
        return f"{self.status} {message}"


class SkippedId(msgspec.Struct, frozen=True):
    """An id never sent, and why; ``line``: where the producer read it (1 for the first id).

    A malformed id is recorded by its line only (``id`` empty): it may be
    anything a person pasted, a secret included, so it is never stored.
    """

    id: str
    reason: str
    line: int | None = None

    def text(self) -> str:
        """The summary's line for it, which never shows the id's text."""
        where = "an id" if self.line is None else f"line {self.line}"
        return f"skipped {where}: {printable(self.reason)}"


class ChunkReport(msgspec.Struct):
    """What one job stored: counts per outcome and the ids that need a look.

    ``stopped`` says why the chunk's last run ended before every id was tried
    (``delete_many`` stopped early, or reached its ``deadline``), with the
    failure that made it stop early in ``stop_cause``; then the ids never
    sent are in ``not_attempted`` and the chunk is not finished.
    """

    chunk: str
    counts: dict[str, int]
    failed: list[FailedId] = []
    skipped: list[SkippedId] = []
    cancelled: list[str] = []
    not_attempted: list[str] = []
    stopped: str | None = None
    stop_cause: FailedId | None = None
    rate_limited: int = 0
    """425/429 answers the chunk's requests got (each waited out and sent again)."""

    @classmethod
    def from_bulk(cls, chunk: str, report: BulkReport) -> ChunkReport:
        """The JSON-sized part of ``report`` (no per-id list of what went well)."""
        cause = report.stop_cause
        return cls(
            chunk=chunk,
            counts=report.summary(),
            failed=[FailedId(f.id, f.status, f.message) for f in report.failed],
            skipped=[SkippedId(i, reason) for i, reason in report.skipped],
            cancelled=list(report.cancelled),
            not_attempted=list(report.not_attempted),
            stopped=report.stopped,
            stop_cause=None if cause is None else FailedId(cause.id, cause.status, cause.message),
            rate_limited=report.rate_limited,
        )

    def unfinished(self) -> list[str]:
        """The ids to send when the chunk runs again: failed, cancelled or not attempted."""
        return [f.id for f in self.failed] + self.cancelled + self.not_attempted

    def continued_by(self, later: ChunkReport) -> ChunkReport:
        """This report with its :meth:`unfinished` ids replaced by their outcomes in ``later``."""
        resent = {outcome.value for outcome in _UNFINISHED}
        kept = {name: count for name, count in self.counts.items() if name not in resent}
        names = dict.fromkeys([*self.counts, *later.counts])
        return ChunkReport(
            chunk=self.chunk,
            counts={name: kept.get(name, 0) + later.counts.get(name, 0) for name in names},
            failed=later.failed,
            skipped=self.skipped + later.skipped,
            cancelled=later.cancelled,
            not_attempted=later.not_attempted,
            stopped=later.stopped,
            stop_cause=later.stop_cause,
            rate_limited=self.rate_limited + later.rate_limited,
        )


class StoppedChunk(msgspec.Struct, frozen=True):
    """A chunk whose last run stopped before every id was tried: why, and the failure if any."""

    chunk: str
    reason: str
    cause: FailedId | None = None


class ChunkUnfinished(Exception):
    """Raised by the job when ``delete_many`` ran out of time, so SAQ runs the chunk again.

    The chunk's report is stored first (with the ids not attempted); the next
    run sends only the ids not yet done or missing.
    """


class BadReport(InvalidRequestError):
    """A stored report does not read as this version's: changed by hand, or another version's."""


@dataclasses.dataclass
class CleanupSummary:
    """A run's stored reports added up (see :func:`summarize`): one outcome per id."""

    run: str
    chunks: int
    """Chunks the producer enqueued for this run."""
    finished: int
    """Chunks whose stored report is final: every id was tried."""
    pending: list[str]
    """Keys of the chunks with no report yet whose job is queued or running."""
    counts: dict[str, int]
    failed: list[FailedId]
    skipped: list[SkippedId]
    cancelled: list[str]
    stopped: list[StoppedChunk] = dataclasses.field(default_factory=list)
    """Chunks whose last run stopped before every id was tried, and why (see the module doc)."""
    not_attempted: list[str] = dataclasses.field(default_factory=list)
    """Ids never sent, in the stopped chunks."""
    rate_limited: int = 0
    """425/429 answers the stored reports' requests got (each waited out, sent again)."""
    lost: list[str] = dataclasses.field(default_factory=list)
    """Keys of the chunks with no report whose job is gone or will never run: enqueue again."""

    @property
    def complete(self) -> bool:
        """True when every enqueued chunk has its final report (none pending, lost or stopped)."""
        return not self.pending and not self.stopped and not self.lost

    @property
    def known(self) -> bool:
        """False when no chunk was ever enqueued under this run name (a typo, say)."""
        return self.chunks > 0 or bool(self.skipped)

    @property
    def ok(self) -> bool:
        """A known run, complete, and nothing failed, was cancelled, not attempted or malformed."""
        bad = sum(self.counts.get(outcome.value, 0) for outcome in _UNFINISHED)
        return (
            self.known
            and self.complete
            and not bad
            and all(s.reason == DUPLICATE for s in self.skipped)
        )

    def lines(self) -> list[str]:
        """The summary as text: counts, then one line per chunk or id that needs a look.

        Server text is escaped for a terminal; a skipped id is named by its
        line, never by its text.
        """
        if not self.known:
            return [f"run {self.run}: unknown (no chunks were enqueued under this name)"]
        counts = ", ".join(f"{name} {count}" for name, count in self.counts.items())
        lines = [
            f"run {self.run}: {self.finished}/{self.chunks} chunks finished; {counts}; "
            f"rate-limited answers {self.rate_limited}"
        ]
        lines += [f"pending chunk {key}" for key in self.pending]
        lines += [f"lost chunk {key}: its job will not run; enqueue again" for key in self.lost]
        lines += [
            f"stopped chunk {s.chunk}: {printable(s.reason)}"
            + ("" if s.cause is None else f": {s.cause.text()}")
            for s in self.stopped
        ]
        lines += [f"failed {f.id}: {f.text()}" for f in self.failed]
        lines += [s.text() for s in self.skipped]
        lines += [f"cancelled {session_id}" for session_id in self.cancelled]
        lines += [f"not attempted {session_id}" for session_id in self.not_attempted]
        return lines


# --------------------------------------------------------------------------- redis keys


def _check_run(run: str) -> str:
    if not isinstance(run, str) or not _RUN_NAME.fullmatch(run):
        raise InvalidRequestError(
            "run: 1 to 64 letters, digits, '_', '.' or '-' (it names the run's keys in Redis)"
        )
    return run


def _key(queue: RedisQueue, run: str, name: str) -> str:
    """A key of the run's record in Redis (kept without expiry; DEL them when done).

    ``chunk-ids``: a hash, chunk key -> the chunk's ids as JSON.
    ``ids``: a hash, id -> the hash part of the key of the one chunk it is in.
    ``skipped``: a hash, hash of a malformed id -> :class:`SkippedId` as JSON.
    ``reports``: a hash, chunk key -> that chunk's :class:`ChunkReport` as JSON.
    """
    return queue.namespace(f"gr4vy:{run}:{name}")


def chunk_key(run: str, ids: Iterable[str]) -> str:
    """The job key of a chunk: the run name and a hash of its ids, in order."""
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]
    return f"{run}:{digest}"


def _owner(key: str) -> str:
    """What the ``ids`` hash holds for the ids of the chunk ``key``: its hash part."""
    return key.rpartition(":")[2]


def _as_queue(queue: RedisQueue | str, name: str) -> RedisQueue:
    if isinstance(queue, RedisQueue):
        return queue
    if isinstance(queue, str) and queue.startswith(("redis://", "rediss://", "unix://")):
        return RedisQueue.from_url(queue, name=name)
    raise InvalidRequestError("queue: an saq RedisQueue or a redis:// URL")


def _decode_report(raw: bytes | str, key: str) -> ChunkReport:
    try:
        return msgspec.json.decode(raw, type=ChunkReport)
    except msgspec.DecodeError:  # ValidationError included
        raise BadReport(
            f"chunk {key}: its stored report does not read (changed by hand, or written by "
            "another version of gr4vy-async); HDEL it from the run's reports to run it again"
        ) from None


async def _reports(queue: RedisQueue, run: str) -> dict[str, ChunkReport]:
    stored = await queue.redis.hgetall(_key(queue, run, "reports"))  # type: ignore[misc]
    return {key.decode(): _decode_report(raw, key.decode()) for key, raw in stored.items()}


async def _lost(queue: RedisQueue, keys: list[str]) -> list[str]:
    """Those of ``keys`` (chunks with no report) whose job is gone or will never run."""
    if not keys:
        return []
    jobs = await queue.jobs(keys)
    async with queue.redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.zscore(queue.namespace("incomplete"), queue.job_id(key))
        scores = await pipe.execute()
    active = set(await queue.redis.lrange(queue.namespace("active"), 0, -1))  # type: ignore[misc]
    return [
        key
        for key, job, score in zip(keys, jobs, scores, strict=True)
        if score is None and (job is None or not await _still_running(queue, job, active))
    ]


async def _still_running(queue: RedisQueue, job: Job, active: set[bytes]) -> bool:
    """Whether ``job``, in SAQ's ``incomplete`` set no more, will still end on its own.

    SAQ runs or sweeps a job in its ``active`` list; outside it, a job still
    runs while its worker touches it, or while a sweep aborts it (its abort
    key is set). Else it is lost: a worker killed while its sweep aborted a
    job leaves that job ``aborting`` in no list at all.
    """
    if job.id.encode() in active or await queue.redis.exists(job.abort_id):
        return True
    return job.status in (Status.ACTIVE, Status.ABORTING) and not job.stuck


# --------------------------------------------------------------------------- producer


@dataclasses.dataclass(frozen=True)
class JobOptions:
    """How SAQ runs each chunk's job.

    ``heartbeat`` (seconds) is how soon a job whose worker died is noticed:
    the job touches itself every third of it while it runs, and the sweep
    (every worker's ``timers["sweep"]`` seconds) retries a job not touched
    for longer. ``timeout`` bounds one attempt; ``retries`` counts attempts
    (the first included), ``retry_delay`` is the wait before the next one.
    """

    timeout: int = 3600
    heartbeat: int = 60
    retries: int = 5
    retry_delay: float = 1.0
    ttl: int = 3600
    """Seconds SAQ keeps a finished job (its report is kept apart, without expiry)."""

    def __post_init__(self) -> None:
        if self.timeout < 0 or self.heartbeat < 3 or self.retries < 1 or self.retry_delay < 0:
            raise InvalidRequestError(
                "job options: timeout >= 0, heartbeat >= 3, retries >= 1, retry_delay >= 0"
            )


@dataclasses.dataclass(frozen=True)
class EnqueueResult:
    """What :func:`enqueue_ids` did."""

    ids: int
    """Ids read (blank lines aside)."""
    chunks: int
    """Chunks of the run, those made before included."""
    enqueued: int
    """New jobs: new chunks, and chunks stopped early or lost enqueued again."""
    already_queued: int
    """Chunks SAQ already had queued or running."""
    already_finished: int
    """Chunks with a final stored report: not enqueued again."""
    duplicates: int = 0
    """Ids read that the run already had (earlier in the input, or from an earlier call)."""
    skipped: int = 0
    """Malformed ids: recorded as skipped by their line, never enqueued."""
    lost: int = 0
    """Of ``enqueued``: chunks whose job was lost, enqueued again."""

    def line(self) -> str:
        """What the command line prints."""
        text = (
            f"{self.ids} ids in {self.chunks} chunks: {self.enqueued} enqueued, "
            f"{self.already_queued} already queued, {self.already_finished} already finished"
        )
        extra = [
            f"{count} {name}"
            for count, name in (
                (self.lost, "lost chunks enqueued again"),
                (self.duplicates, "ids already in the run"),
                (self.skipped, "malformed ids skipped"),
            )
            if count
        ]
        return "; ".join([text, *extra])


async def _batches(
    ids: Iterable[str | uuid.UUID] | AsyncIterable[str | uuid.UUID], size: int
) -> AsyncIterator[list[tuple[int, str]]]:
    """``ids`` as lists of up to ``size`` (line number, text), blank ones dropped."""
    batch: list[tuple[int, str]] = []
    line = 0
    async for raw in as_async_iterator(ids):
        line += 1
        text = str(raw).strip()
        if text:
            batch.append((line, text))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Producer:
    """One :func:`enqueue_ids` call: new chunks of the ids the run never had, then the rest."""

    def __init__(self, queue: RedisQueue, run: str, size: int, options: JobOptions) -> None:
        self.queue, self.run, self.size, self.options = queue, run, size, options
        self.tally = dict.fromkeys(("ids", "enqueued", "queued", "duplicates", "skipped"), 0)
        self.made: set[str] = set()

    async def read(self, ids: Iterable[str | uuid.UUID] | AsyncIterable[str | uuid.UUID]) -> None:
        """Cut the ids the run has not had into chunks; record and enqueue each."""
        fresh: dict[str, None] = {}
        async for batch in _batches(ids, self.size):
            self.tally["ids"] += len(batch)
            named = [(line, await self._named(line, text)) for line, text in batch]
            valid = [session_id for _, session_id in named if session_id is not None]
            owners = await self.queue.redis.hmget(self._key("ids"), valid) if valid else []  # type: ignore[misc]
            seen: set[str] = set()
            for session_id, owner in zip(valid, owners, strict=True):
                if owner is not None or session_id in fresh or session_id in seen:
                    self.tally["duplicates"] += 1
                    continue
                seen.add(session_id)
                fresh[session_id] = None
                if len(fresh) == self.size:
                    await self._make(list(fresh))
                    fresh.clear()
        if fresh:
            await self._make(list(fresh))

    async def _named(self, line: int, text: str) -> str | None:
        """The canonical id, or None once a malformed one is recorded as skipped."""
        try:
            return listed_session_id(text)
        except InvalidRequestError as exc:
            self.tally["skipped"] += 1
            skipped = msgspec.json.encode(SkippedId("", str(exc), line)).decode()
            digest = hashlib.sha256(text.encode()).hexdigest()[:32]  # the text is not kept
            await self.queue.redis.hsetnx(self._key("skipped"), digest, skipped)  # type: ignore[misc]
            return None

    async def _make(self, chunk: list[str]) -> None:
        key = chunk_key(self.run, chunk)
        async with self.queue.redis.pipeline(transaction=True) as pipe:
            for session_id in chunk:
                pipe.hsetnx(self._key("ids"), session_id, _owner(key))
            pipe.hset(self._key("chunk-ids"), key, msgspec.json.encode(chunk).decode())
            await pipe.execute()
        self.made.add(key)
        await self._enqueue(key, chunk)

    async def _enqueue(self, key: str, chunk: list[str]) -> bool:
        options = dataclasses.asdict(self.options)
        job = await self.queue.enqueue(FUNCTION, key=key, run=self.run, ids=chunk, **options)
        self.tally["enqueued" if job is not None else "queued"] += 1
        return job is not None

    async def finish(self) -> EnqueueResult:
        """Enqueue again the run's older chunks that stopped early or were lost."""
        keys = [key.decode() for key in await self.queue.redis.hkeys(self._key("chunk-ids"))]  # type: ignore[misc]
        reports = await _reports(self.queue, self.run)
        older = [key for key in keys if key not in self.made]
        unreported = [key for key in older if key not in reports]
        lost = await _lost(self.queue, unreported)
        stopped = [key for key in older if key in reports and reports[key].stopped is not None]
        again = stopped + lost
        stored = await self.queue.redis.hmget(self._key("chunk-ids"), again) if again else []  # type: ignore[misc]
        relisted = [
            await self._enqueue(k, msgspec.json.decode(ids))
            for k, ids in zip(again, stored, strict=True)
        ]
        return EnqueueResult(
            ids=self.tally["ids"],
            chunks=len(keys),
            enqueued=self.tally["enqueued"],
            already_queued=self.tally["queued"] + len(unreported) - len(lost),
            already_finished=len(older) - len(unreported) - len(stopped),
            duplicates=self.tally["duplicates"],
            skipped=self.tally["skipped"],
            lost=sum(relisted[len(stopped) :]),
        )

    def _key(self, name: str) -> str:
        return _key(self.queue, self.run, name)


async def enqueue_ids(
    queue: RedisQueue | str,
    ids: Iterable[str | uuid.UUID] | AsyncIterable[str | uuid.UUID],
    *,
    run: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    job_options: JobOptions | None = None,
    queue_name: str = QUEUE_NAME,
) -> EnqueueResult:
    """Enqueue the ids ``run`` has never had in chunks of ``chunk_size``; re-enqueue its strays.

    ``queue`` is an SAQ ``RedisQueue`` (left open) or a ``redis://`` URL (a
    queue named ``queue_name``, closed on return). Blank lines are dropped;
    each id goes in one chunk of the run, whatever the order, the chunk size
    or the calls: an id the run already has is not enqueued again. A
    malformed id is recorded as skipped with its line (its position in
    ``ids``, from 1) and never enqueued. Then every older chunk of the run
    that stopped before every id was tried, or whose job was lost, is
    enqueued again; so running this again over the same ids enqueues
    nothing twice.
    """
    _check_run(run)
    if isinstance(ids, (str, bytes)):
        raise InvalidRequestError("ids: expected many ids, got one string")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidRequestError("chunk_size: must be a positive integer")
    options = job_options or JobOptions()
    owned = not isinstance(queue, RedisQueue)
    producer = _Producer(_as_queue(queue, queue_name), run, chunk_size, options)
    try:
        await producer.read(ids)
        return await producer.finish()
    finally:
        if owned:
            await producer.queue.disconnect()


def read_ids(source: str | TextIO) -> Iterator[str]:
    """The lines of a text file, stripped (``"-"``: standard input).

    Blank lines read as ``""`` (which :func:`enqueue_ids` drops), so an id's
    position is its line number. A line that is not UTF-8 reads with U+FFFD
    in it: one malformed id, which the summary reports by its line, not a
    crash halfway through.
    """
    if isinstance(source, str) and source != "-":
        with open(source, encoding="utf-8-sig", errors="replace") as stream:
            yield from _lines(stream)
    elif source == "-":
        if isinstance(sys.stdin, io.TextIOWrapper):
            sys.stdin.reconfigure(encoding="utf-8-sig", errors="replace")
        yield from _lines(sys.stdin)
    else:
        yield from _lines(source)  # type: ignore[arg-type]


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        yield line.strip()


async def _off_loop(lines: Iterator[str], ahead: int = 10_000) -> AsyncIterator[str]:
    """``lines`` read by a daemon thread, at most ``ahead`` lines ahead, for the command line.

    A pipe that pauses blocks no event loop (each line is handed over as it
    comes), and Ctrl-C ends the run at once: a daemon thread still waiting on
    the pipe does not hold the exit up.
    """
    loop = asyncio.get_running_loop()
    handed: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    room = threading.Semaphore(ahead)
    threading.Thread(target=_hand_over, args=(lines, loop, handed, room), daemon=True).start()
    while True:
        item = await handed.get()
        room.release()
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def _hand_over(
    lines: Iterator[str],
    loop: asyncio.AbstractEventLoop,
    handed: asyncio.Queue[str | BaseException | None],
    room: threading.Semaphore,
) -> None:
    item: str | BaseException | None = None
    try:
        for item in lines:
            room.acquire()
            loop.call_soon_threadsafe(handed.put_nowait, item)
        item = None
    except RuntimeError:  # the loop is closed: nobody reads any more
        return
    except Exception as exc:  # raised by the reader, in the loop
        item = exc
    with contextlib.suppress(RuntimeError):
        room.acquire()
        loop.call_soon_threadsafe(handed.put_nowait, item)


# --------------------------------------------------------------------------- worker


def private_key(environ: Mapping[str, str] | None = None) -> str:
    """The PEM of ``GR4VY_PRIVATE_KEY`` (or ``GR4VY_PRIVATE_KEY_FILE``), read as the CLI reads it.

    ``GR4VY_PRIVATE_KEY`` holds the PEM, the PEM in base64 or a file's path;
    ``GR4VY_PRIVATE_KEY_FILE`` a file's path. For a worker's ``client``:
    ``auth.with_token(private_key())``. An InvalidRequestError names the
    variable, never its value.
    """
    env = os.environ if environ is None else environ
    for name in ("GR4VY_PRIVATE_KEY", "GR4VY_PRIVATE_KEY_FILE"):
        if env.get(name):
            return read_pem(env[name], name)
    raise InvalidRequestError("no private key: set GR4VY_PRIVATE_KEY or GR4VY_PRIVATE_KEY_FILE")


def _check_delete_options(options: Mapping[str, Any]) -> Mapping[str, Any]:
    """``options`` if ``delete_many`` takes every one of them, else InvalidRequestError."""
    accepted = set(inspect.signature(CheckoutSessions.delete_many).parameters) - _JOB_ARGUMENTS
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise InvalidRequestError(
            f"delete_options: delete_many does not take {', '.join(map(repr, unknown))} "
            f"(it takes {', '.join(sorted(accepted))})"
        )
    return MappingProxyType(dict(options))


class _IdleStop(logging.Filter):
    """Drops SAQ's grace-period warning when no job was running: then only its own loops were."""

    def __init__(self, worker: Worker[Context]) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        return bool(self.worker.job_task_contexts) or not str(record.msg).startswith(_GRACE_WARNING)


def _stop_forked_workers() -> None:
    """SIGTERM the worker processes ``saq --workers N`` forked from this one.

    SAQ's parent process stops on SIGTERM but leaves its children running,
    then waits for them at exit: a SIGTERM to the parent alone hung. Those
    children are plain ``multiprocessing.Process`` objects of the ``saq``
    command (a process pool's are of other classes).
    """
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    if "saq.__main__" not in sys.modules and getattr(spec, "name", None) != "saq.__main__":
        return
    for child in multiprocessing.active_children():
        if type(child) is multiprocessing.Process:
            child.terminate()


def worker_settings(
    queue: RedisQueue | str,
    client: Callable[[], Gr4vy],
    *,
    delete_options: Mapping[str, Any] | None = None,
    concurrency: int = 2,
    timers: PartialTimersDict | None = None,
    queue_name: str = QUEUE_NAME,
) -> SettingsDict[Context]:
    """SAQ worker settings for cleanup jobs (give them to ``saq`` or ``saq.Worker``).

    ``client`` makes the worker's one client, in the worker process, at
    startup; shutdown closes it. ``delete_options`` are passed to every
    ``delete_many`` call (e.g. ``{"concurrency": 16, "deadline": 1800,
    "stop_after": 20}``; ``deadline`` is per run of a chunk, keep it under
    :attr:`JobOptions.timeout`); they are checked against ``delete_many``'s
    signature here, so a typo fails before a worker starts (``keep_ids`` is
    refused: a chunk's report names every id). Each chunk's ``delete_many``
    paces itself on 429s; the workers need no coordination. ``concurrency``
    is how many chunks one worker runs at once. ``timers`` override SAQ's
    (``sweep``: how often, in seconds, jobs of dead workers are looked for;
    SAQ's default is 60). A SIGTERM to the parent of ``saq --workers N``
    stops its children too.
    """
    checked = _check_delete_options(delete_options or {})
    if not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidRequestError("concurrency: must be a positive integer")

    async def startup(ctx: Context) -> None:
        logging.getLogger("saq").addFilter(_IdleStop(ctx["worker"]))
        ctx[_CLIENT] = client()  # type: ignore[literal-required]
        ctx[_DELETE_OPTIONS] = checked  # type: ignore[literal-required]

    async def shutdown(ctx: Context) -> None:
        _stop_forked_workers()
        gr4vy = ctx.pop(_CLIENT, None)  # type: ignore[misc]
        if isinstance(gr4vy, Gr4vy):
            await gr4vy.aclose()

    settings: SettingsDict[Context] = {
        "queue": _as_queue(queue, queue_name),
        "functions": [(FUNCTION, delete_chunk)],
        "concurrency": concurrency,
        "startup": startup,
        "shutdown": shutdown,
    }
    if timers:
        settings["timers"] = timers
    return settings


async def _keep_alive(job: Job) -> None:
    """Touch ``job`` every third of its heartbeat while it runs."""
    while True:
        await asyncio.sleep(job.heartbeat / 3)
        await job.update()


async def _owned(queue: RedisQueue, run: str, key: str, ids: list[str]) -> list[str]:
    """Those of ``ids`` that belong to the chunk ``key`` (two producers at once may race)."""
    owners = await queue.redis.hmget(_key(queue, run, "ids"), ids) if ids else []  # type: ignore[misc]
    mine = _owner(key).encode()
    return [session_id for session_id, owner in zip(ids, owners, strict=True) if owner == mine]


async def delete_chunk(ctx: Context, *, run: str, ids: list[str]) -> dict[str, Any]:
    """The job: ``delete_many`` over one chunk; store and return its report.

    Only the ids the run recorded as this chunk's are sent. A chunk whose
    final report is already stored (its job finished, then was run again,
    e.g. after the worker died before SAQ marked it complete) is not sent
    again: the stored report is returned. A chunk whose stored report
    stopped before every id was tried sends only its failed, cancelled and
    not-attempted ids, and the two reports are merged. When ``delete_many``
    reaches its ``deadline`` the report is stored, then
    :class:`ChunkUnfinished` is raised so SAQ retries the job; when it stops
    early the report is stored and returned (see the module doc).
    """
    job = ctx["job"]
    queue = job.get_queue()
    assert isinstance(queue, RedisQueue)
    reports = _key(queue, run, "reports")
    stored = await queue.redis.hget(reports, job.key)  # type: ignore[misc]
    previous = None if stored is None else _decode_report(stored, job.key)
    if previous is not None and previous.stopped is None:
        return msgspec.json.decode(stored)  # type: ignore[no-any-return]
    gr4vy: Gr4vy = ctx[_CLIENT]  # type: ignore[literal-required]
    options: Mapping[str, Any] = ctx[_DELETE_OPTIONS]  # type: ignore[literal-required]
    todo = await _owned(queue, run, job.key, ids if previous is None else previous.unfinished())
    ticker = asyncio.ensure_future(_keep_alive(job)) if job.heartbeat else None
    try:
        bulk = await gr4vy.checkout_sessions.delete_many(todo, **options)
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
    report = ChunkReport.from_bulk(job.key, bulk)
    if previous is not None:
        report = previous.continued_by(report)
    encoded = msgspec.json.encode(report)
    await queue.redis.hset(reports, job.key, encoded.decode())  # type: ignore[misc]
    if report.stopped is not None and report.stop_cause is None:
        raise ChunkUnfinished(f"chunk {job.key}: {report.stopped}")
    return msgspec.json.decode(encoded)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- summary


async def summarize(
    queue: RedisQueue | str, run: str, *, queue_name: str = QUEUE_NAME
) -> CleanupSummary:
    """Add up the stored reports of ``run``: one outcome per id; list the chunks not finished.

    A stored report that does not read raises :class:`BadReport`, naming the chunk.
    """
    _check_run(run)
    owned = not isinstance(queue, RedisQueue)
    saq_queue = _as_queue(queue, queue_name)
    try:
        keys = [k.decode() for k in await saq_queue.redis.hkeys(_key(saq_queue, run, "chunk-ids"))]  # type: ignore[misc]
        reports = await _reports(saq_queue, run)
        lost = await _lost(saq_queue, [key for key in keys if key not in reports])
        malformed = await saq_queue.redis.hvals(_key(saq_queue, run, "skipped"))  # type: ignore[misc]
    finally:
        if owned:
            await saq_queue.disconnect()
    skipped = sorted(
        (_decode_skipped(raw) for raw in malformed), key=lambda s: (s.line or 0, s.reason)
    )
    counts = dict.fromkeys((outcome.value for outcome in Outcome), 0)
    counts[Outcome.SKIPPED.value] = len(skipped)
    for report in reports.values():
        for name, count in report.counts.items():
            counts[name] = counts.get(name, 0) + count
    stopped = [
        StoppedChunk(report.chunk, report.stopped, report.stop_cause)
        for report in reports.values()
        if report.stopped is not None
    ]
    return CleanupSummary(
        run=run,
        chunks=len(keys),
        finished=len(reports) - len(stopped),
        pending=sorted(key for key in keys if key not in reports and key not in lost),
        counts=counts,
        failed=[f for report in reports.values() for f in report.failed],
        skipped=skipped + [s for report in reports.values() for s in report.skipped],
        cancelled=[c for report in reports.values() for c in report.cancelled],
        stopped=sorted(stopped, key=lambda s: s.chunk),
        not_attempted=[i for report in reports.values() for i in report.not_attempted],
        rate_limited=sum(report.rate_limited for report in reports.values()),
        lost=sorted(lost),
    )


def _decode_skipped(raw: bytes) -> SkippedId:
    try:
        return msgspec.json.decode(raw, type=SkippedId)
    except msgspec.DecodeError:
        raise BadReport(
            "a skipped-id record of the run does not read (changed by hand, or written by "
            "another version of gr4vy-async)"
        ) from None


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gr4vy_async.contrib.saq_cleanup",
        description="Enqueue checkout-session ids for SAQ cleanup workers, or sum a run up.",
        epilog="exit status: 0 done (summary: the run is finished and clean), 1 failed or "
        "(summary) not finished or not clean, 2 bad usage or input, 130 interrupted",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("enqueue", "enqueue ids in chunks"), ("summary", "add the reports up")):
        command = commands.add_parser(name, help=text)
        command.add_argument("redis_url", help="e.g. redis://127.0.0.1:6379")
        command.add_argument("--run", required=True, help="the run's name (names its keys)")
        command.add_argument("--queue", default=QUEUE_NAME, help=f"default {QUEUE_NAME}")
    enqueue = commands.choices["enqueue"]
    enqueue.add_argument("--from-file", default="-", help="ids, one per line ('-': stdin)")
    enqueue.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        metavar="N",
        help=f"ids per job (default {DEFAULT_CHUNK_SIZE}); a chunk is retried as a whole",
    )
    enqueue.add_argument(
        "--heartbeat",
        type=int,
        default=JobOptions.heartbeat,
        metavar="SECONDS",
        help="a job whose worker is silent this long is retried on another worker "
        f"(default {JobOptions.heartbeat})",
    )
    commands.choices["summary"].add_argument("--json", action="store_true", help="print JSON")
    return parser


async def _main(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "enqueue":
        result = await enqueue_ids(
            args.redis_url,
            _off_loop(read_ids(args.from_file)),
            run=args.run,
            chunk_size=args.chunk_size,
            job_options=JobOptions(heartbeat=args.heartbeat),
            queue_name=args.queue,
        )
        print(result.line(), file=out)
        return EXIT_OK
    summary = await summarize(args.redis_url, args.run, queue_name=args.queue)
    if args.json:
        print(msgspec.json.encode(summary).decode(), file=out)
    else:
        print("\n".join(summary.lines()), file=out)
    return EXIT_OK if summary.ok else EXIT_FAILED


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """The command line; returns the exit status, as the ``gr4vy-async`` CLI's.

    0 done; 1 failed (Redis unreachable, say) or, for ``summary``, the run is
    unknown, not finished or not clean; 2 bad usage or input (an ids file
    that does not open, a stored report that does not read); 130 interrupted.
    """
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_main(args, out or sys.stdout))
    except (InvalidRequestError, OSError) as error:
        _complain(str(error) if isinstance(error, InvalidRequestError) else _os_error(error))
        return EXIT_USAGE
    except RedisError as error:
        _complain(f"redis: {error}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _complain("interrupted")
        return EXIT_INTERRUPTED


def _os_error(error: OSError) -> str:
    return f"{error.strerror or type(error).__name__}: {error.filename}"


def _complain(message: str) -> None:
    print(f"saq_cleanup: {printable(message)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
