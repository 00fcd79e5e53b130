"""Cleanup across many workers: ``delete_many`` as jobs of an SAQ queue on Redis.

Install with ``pip install 'gr4vy-async[queue]'`` (SAQ with its Redis client).
A run has three parts, each usable from Python or from this module's command
line (``python -m gr4vy_async.contrib.saq_cleanup``):

- **Producer** (:func:`enqueue_ids`): reads ids and enqueues them in chunks.
  A chunk's job key is its run name plus a hash of its ids, so running the
  producer again over the same input adds nothing: SAQ refuses a key that is
  queued or running, and a chunk whose report is stored is skipped.
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
- **Summary** (:func:`summarize`): adds the stored reports up and lists the
  chunks not finished yet, the chunks that stopped and why, every id that
  failed, with why, and every id not attempted.

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
import re
import sys
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, TextIO

import msgspec
from redis.exceptions import RedisError
from saq import Job
from saq.queue.redis import RedisQueue
from saq.types import Context, PartialTimersDict, SettingsDict

from ..bulk import DUPLICATE, BulkReport, Outcome, as_async_iterator
from ..checkout_sessions import CheckoutSessions
from ..client import Gr4vy
from ..errors import InvalidRequestError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FUNCTION",
    "QUEUE_NAME",
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
_CLIENT = "gr4vy_client"
_DELETE_OPTIONS = "gr4vy_delete_options"


# --------------------------------------------------------------------------- reports


class FailedId(msgspec.Struct, frozen=True):
    """An id whose delete failed: the HTTP status (``None`` before a response) and message."""

    id: str
    status: int | None
    message: str


class SkippedId(msgspec.Struct, frozen=True):
    """An id never sent (not a UUID, or a duplicate within its chunk), and why."""

    id: str
    reason: str


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


@dataclasses.dataclass
class CleanupSummary:
    """A run's stored reports added up (see :func:`summarize`)."""

    run: str
    chunks: int
    """Chunks the producer enqueued for this run."""
    finished: int
    """Chunks whose stored report is final: every id was tried."""
    pending: list[str]
    """Keys of the chunks with no report yet: queued or running (or lost: enqueue them again)."""
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

    @property
    def complete(self) -> bool:
        """True when every enqueued chunk has its final report (none pending or stopped)."""
        return not self.pending and not self.stopped

    @property
    def known(self) -> bool:
        """False when no chunk was ever enqueued under this run name (a typo, say)."""
        return self.chunks > 0

    @property
    def ok(self) -> bool:
        """A known run, complete, and nothing failed, was cancelled, not attempted or malformed."""
        unfinished = (Outcome.FAILED, Outcome.CANCELLED, Outcome.NOT_ATTEMPTED)
        bad = sum(self.counts.get(outcome.value, 0) for outcome in unfinished)
        return (
            self.known
            and self.complete
            and not bad
            and all(s.reason == DUPLICATE for s in self.skipped)
        )

    def lines(self) -> list[str]:
        """The summary as text: counts, then one line per id that needs a look."""
        if not self.known:
            return [f"run {self.run}: unknown (no chunks were enqueued under this name)"]
        counts = ", ".join(f"{name} {count}" for name, count in self.counts.items())
        lines = [
            f"run {self.run}: {self.finished}/{self.chunks} chunks finished; {counts}; "
            f"rate-limited answers {self.rate_limited}"
        ]
        lines += [f"pending chunk {key}" for key in self.pending]
        lines += [
            f"stopped chunk {s.chunk}: {s.reason}"
            + ("" if s.cause is None else f": {s.cause.status} {s.cause.message}")
            for s in self.stopped
        ]
        lines += [f"failed {f.id}: {f.status} {f.message}" for f in self.failed]
        lines += [f"skipped {s.id}: {s.reason}" for s in self.skipped]
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


def _chunks_key(queue: RedisQueue, run: str) -> str:
    """A Redis set: the key of every chunk enqueued for ``run``."""
    return queue.namespace(f"gr4vy:{run}:chunks")


def _reports_key(queue: RedisQueue, run: str) -> str:
    """A Redis hash: chunk key -> that chunk's :class:`ChunkReport` as JSON."""
    return queue.namespace(f"gr4vy:{run}:reports")


def chunk_key(run: str, ids: Iterable[str]) -> str:
    """The job key of a chunk: the run name and a hash of its ids, in order."""
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]
    return f"{run}:{digest}"


def _as_queue(queue: RedisQueue | str, name: str) -> RedisQueue:
    if isinstance(queue, RedisQueue):
        return queue
    if isinstance(queue, str) and queue.startswith(("redis://", "rediss://", "unix://")):
        return RedisQueue.from_url(queue, name=name)
    raise InvalidRequestError("queue: an saq RedisQueue or a redis:// URL")


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
    chunks: int
    enqueued: int
    """New jobs."""
    already_queued: int
    """Chunks SAQ already had queued or running (the same key)."""
    already_finished: int
    """Chunks with a stored report: not enqueued again."""


async def _chunks(
    ids: Iterable[str | uuid.UUID] | AsyncIterable[str | uuid.UUID], size: int
) -> AsyncIterator[list[str]]:
    chunk: list[str] = []
    async for raw in as_async_iterator(ids):
        text = str(raw).strip()
        if text:
            chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def enqueue_ids(
    queue: RedisQueue | str,
    ids: Iterable[str | uuid.UUID] | AsyncIterable[str | uuid.UUID],
    *,
    run: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    job_options: JobOptions | None = None,
    queue_name: str = QUEUE_NAME,
) -> EnqueueResult:
    """Enqueue ``ids`` in chunks of ``chunk_size`` as jobs of the run ``run``.

    ``queue`` is an SAQ ``RedisQueue`` (left open) or a ``redis://`` URL (a
    queue named ``queue_name``, closed on return). Blank lines are dropped;
    ids are sent as given (a malformed one ends ``skipped`` in its chunk's
    report). Running this again over the same ids enqueues nothing twice,
    except a chunk whose stored report says it stopped before every id was
    tried: that one is enqueued again, to send the ids it has not done.
    """
    _check_run(run)
    if isinstance(ids, (str, bytes)):
        raise InvalidRequestError("ids: expected many ids, got one string")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidRequestError("chunk_size: must be a positive integer")
    options = job_options or JobOptions()
    owned = not isinstance(queue, RedisQueue)
    saq_queue = _as_queue(queue, queue_name)
    counts = {"ids": 0, "chunks": 0, "enqueued": 0, "queued": 0, "finished": 0}
    try:
        async for chunk in _chunks(ids, chunk_size):
            key = chunk_key(run, chunk)
            counts["ids"] += len(chunk)
            counts["chunks"] += 1
            await saq_queue.redis.sadd(_chunks_key(saq_queue, run), key)  # type: ignore[misc]
            stored = await saq_queue.redis.hget(_reports_key(saq_queue, run), key)  # type: ignore[misc]
            if stored is not None and _decode_report(stored).stopped is None:
                counts["finished"] += 1
                continue
            job = await saq_queue.enqueue(
                FUNCTION,
                key=key,
                run=run,
                ids=chunk,
                **dataclasses.asdict(options),
            )
            counts["enqueued" if job is not None else "queued"] += 1
    finally:
        if owned:
            await saq_queue.disconnect()
    return EnqueueResult(
        counts["ids"], counts["chunks"], counts["enqueued"], counts["queued"], counts["finished"]
    )


def read_ids(source: str | TextIO) -> Iterator[str]:
    """The ids in a text file, one per line (``"-"``: standard input); blank lines dropped.

    A line that is not UTF-8 reads with U+FFFD in it: one malformed id, which
    the worker skips and the summary reports, not a crash halfway through.
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
        if line.strip():
            yield line.strip()


# --------------------------------------------------------------------------- worker


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
    SAQ's default is 60).
    """
    checked = _check_delete_options(delete_options or {})
    if not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidRequestError("concurrency: must be a positive integer")

    async def startup(ctx: Context) -> None:
        ctx[_CLIENT] = client()  # type: ignore[literal-required]
        ctx[_DELETE_OPTIONS] = checked  # type: ignore[literal-required]

    async def shutdown(ctx: Context) -> None:
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


async def delete_chunk(ctx: Context, *, run: str, ids: list[str]) -> dict[str, Any]:
    """The job: ``delete_many`` over one chunk; store and return its report.

    A chunk whose final report is already stored (its job finished, then was
    run again, e.g. after the worker died before SAQ marked it complete) is
    not sent again: the stored report is returned. A chunk whose stored
    report stopped before every id was tried sends only its failed,
    cancelled and not-attempted ids, and the two reports are merged. When
    ``delete_many`` reaches its ``deadline`` the report is stored, then
    :class:`ChunkUnfinished` is raised so SAQ retries the job; when it stops
    early the report is stored and returned (see the module doc).
    """
    job = ctx["job"]
    queue = job.get_queue()
    assert isinstance(queue, RedisQueue)
    reports = _reports_key(queue, run)
    stored = await queue.redis.hget(reports, job.key)  # type: ignore[misc]
    previous = None if stored is None else _decode_report(stored)
    if previous is not None and previous.stopped is None:
        return msgspec.json.decode(stored)  # type: ignore[no-any-return]
    gr4vy: Gr4vy = ctx[_CLIENT]  # type: ignore[literal-required]
    options: Mapping[str, Any] = ctx[_DELETE_OPTIONS]  # type: ignore[literal-required]
    ticker = asyncio.ensure_future(_keep_alive(job)) if job.heartbeat else None
    try:
        bulk = await gr4vy.checkout_sessions.delete_many(
            ids if previous is None else previous.unfinished(), **options
        )
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


def _decode_report(raw: bytes | str) -> ChunkReport:
    return msgspec.json.decode(raw, type=ChunkReport)


# --------------------------------------------------------------------------- summary


async def summarize(
    queue: RedisQueue | str, run: str, *, queue_name: str = QUEUE_NAME
) -> CleanupSummary:
    """Add up the stored reports of ``run``; list pending chunks and failed ids."""
    _check_run(run)
    owned = not isinstance(queue, RedisQueue)
    saq_queue = _as_queue(queue, queue_name)
    try:
        keys = await saq_queue.redis.smembers(_chunks_key(saq_queue, run))  # type: ignore[misc]
        stored = await saq_queue.redis.hgetall(_reports_key(saq_queue, run))  # type: ignore[misc]
    finally:
        if owned:
            await saq_queue.disconnect()
    reports = [_decode_report(raw) for raw in stored.values()]
    counts = dict.fromkeys((outcome.value for outcome in Outcome), 0)
    for report in reports:
        for name, count in report.counts.items():
            counts[name] = counts.get(name, 0) + count
    reported = {key.decode() for key in stored}
    stopped = [
        StoppedChunk(report.chunk, report.stopped, report.stop_cause)
        for report in reports
        if report.stopped is not None
    ]
    return CleanupSummary(
        run=run,
        chunks=len(keys),
        finished=len(reported) - len(stopped),
        pending=sorted(key.decode() for key in keys if key.decode() not in reported),
        counts=counts,
        failed=[f for report in reports for f in report.failed],
        skipped=[s for report in reports for s in report.skipped],
        cancelled=[c for report in reports for c in report.cancelled],
        stopped=sorted(stopped, key=lambda s: s.chunk),
        not_attempted=[i for report in reports for i in report.not_attempted],
        rate_limited=sum(report.rate_limited for report in reports),
    )


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gr4vy_async.contrib.saq_cleanup",
        description="Enqueue checkout-session ids for SAQ cleanup workers, or sum a run up.",
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
            read_ids(args.from_file),
            run=args.run,
            chunk_size=args.chunk_size,
            job_options=JobOptions(heartbeat=args.heartbeat),
            queue_name=args.queue,
        )
        print(
            f"{result.ids} ids in {result.chunks} chunks: {result.enqueued} enqueued, "
            f"{result.already_queued} already queued, {result.already_finished} already finished",
            file=out,
        )
        return 0
    summary = await summarize(args.redis_url, args.run, queue_name=args.queue)
    if args.json:
        print(msgspec.json.encode(summary).decode(), file=out)
    else:
        print("\n".join(summary.lines()), file=out)
    return 0 if summary.ok else 1


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """The command line; returns the exit status.

    1: the run is unknown (nothing enqueued under its name), not finished or not clean.
    """
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_main(args, out or sys.stdout))
    except (InvalidRequestError, OSError, RedisError) as error:
        print(f"saq_cleanup: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
