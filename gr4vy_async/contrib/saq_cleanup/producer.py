"""The producer: ids in chunks, each id in one chunk of its run, enqueued once."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TextIO

import msgspec
from saq.queue.redis import RedisQueue

from ...bulk import as_async_iterator
from ...errors import InvalidRequestError
from ...id_files import read_id_lines
from ...session_ids import listed_session_id
from .records import (
    FUNCTION,
    QUEUE_NAME,
    as_queue,
    check_run,
    chunk_key,
    chunk_owner,
    lost_chunks,
    record_key,
    stored_reports,
)
from .reports import SkippedId

__all__ = ["DEFAULT_CHUNK_SIZE", "EnqueueResult", "JobOptions", "enqueue_ids", "read_ids"]

#: Ids per job: big enough to keep a worker's ``delete_many`` busy, small
#: enough that a retried job repeats little.
DEFAULT_CHUNK_SIZE = 500


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
            owners = await self.queue.redis.hmget(self.record_key("ids"), valid) if valid else []  # type: ignore[misc]
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
            await self.queue.redis.hsetnx(self.record_key("skipped"), digest, skipped)  # type: ignore[misc]
            return None

    async def _make(self, chunk: list[str]) -> None:
        key = chunk_key(self.run, chunk)
        async with self.queue.redis.pipeline(transaction=True) as pipe:
            for session_id in chunk:
                pipe.hsetnx(self.record_key("ids"), session_id, chunk_owner(key))
            pipe.hset(self.record_key("chunk-ids"), key, msgspec.json.encode(chunk).decode())
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
        keys = [key.decode() for key in await self.queue.redis.hkeys(self.record_key("chunk-ids"))]  # type: ignore[misc]
        reports = await stored_reports(self.queue, self.run)
        older = [key for key in keys if key not in self.made]
        unreported = [key for key in older if key not in reports]
        lost = await lost_chunks(self.queue, unreported)
        stopped = [key for key in older if key in reports and reports[key].stopped is not None]
        again = stopped + lost
        stored = await self.queue.redis.hmget(self.record_key("chunk-ids"), again) if again else []  # type: ignore[misc]
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

    def record_key(self, name: str) -> str:
        return record_key(self.queue, self.run, name)


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
    check_run(run)
    if isinstance(ids, (str, bytes)):
        raise InvalidRequestError("ids: expected many ids, got one string")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidRequestError("chunk_size: must be a positive integer")
    options = job_options or JobOptions()
    owned = not isinstance(queue, RedisQueue)
    producer = _Producer(as_queue(queue, queue_name), run, chunk_size, options)
    try:
        await producer.read(ids)
        return await producer.finish()
    finally:
        if owned:
            await producer.queue.disconnect()


def read_ids(source: str | TextIO) -> Iterator[str]:
    """The lines of an ids file, stripped (``"-"``: standard input), as the CLI reads them.

    Blank lines read as ``""`` (which :func:`enqueue_ids` drops), so an id's
    position is its line number. A line that is not UTF-8 reads with U+FFFD
    in it: one malformed id, which the summary reports by its line, not a
    crash halfway through. The one reader: :func:`gr4vy_async.id_files.read_id_lines`.
    """
    return read_id_lines(source)
