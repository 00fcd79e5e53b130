"""The run's record in Redis: its keys, chunk keys, stored reports and lost chunks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import msgspec
from saq import Job, Status
from saq.queue.redis import RedisQueue

from ...errors import InvalidRequestError
from .reports import BadReport, ChunkReport

__all__ = [
    "FUNCTION",
    "QUEUE_NAME",
    "as_queue",
    "check_run",
    "chunk_key",
    "chunk_owner",
    "decode_report",
    "lost_chunks",
    "record_key",
    "stored_reports",
]

#: The SAQ queue the recipe uses unless told otherwise.
QUEUE_NAME = "gr4vy-cleanup"
#: The name the job function is registered and enqueued under.
FUNCTION = "gr4vy_delete_chunk"

_RUN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def check_run(run: str) -> str:
    if not isinstance(run, str) or not _RUN_NAME.fullmatch(run):
        raise InvalidRequestError(
            "run: 1 to 64 letters, digits, '_', '.' or '-' (it names the run's keys in Redis)"
        )
    return run


def record_key(queue: RedisQueue, run: str, name: str) -> str:
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


def chunk_owner(key: str) -> str:
    """What the ``ids`` hash holds for the ids of the chunk ``key``: its hash part."""
    return key.rpartition(":")[2]


def as_queue(queue: RedisQueue | str, name: str) -> RedisQueue:
    if isinstance(queue, RedisQueue):
        return queue
    if isinstance(queue, str) and queue.startswith(("redis://", "rediss://", "unix://")):
        return RedisQueue.from_url(queue, name=name)
    raise InvalidRequestError("queue: an saq RedisQueue or a redis:// URL")


def decode_report(raw: bytes | str, key: str) -> ChunkReport:
    try:
        return msgspec.json.decode(raw, type=ChunkReport)
    except msgspec.DecodeError:  # ValidationError included
        raise BadReport(
            f"chunk {key}: its stored report does not read (changed by hand, or written by "
            "another version of gr4vy-async); HDEL it from the run's reports to run it again"
        ) from None


async def stored_reports(queue: RedisQueue, run: str) -> dict[str, ChunkReport]:
    stored = await queue.redis.hgetall(record_key(queue, run, "reports"))  # type: ignore[misc]
    return {key.decode(): decode_report(raw, key.decode()) for key, raw in stored.items()}


async def lost_chunks(queue: RedisQueue, keys: list[str]) -> list[str]:
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
