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

The package: :mod:`.reports` (what a job stores, a run summed up),
:mod:`.records` (the run's keys in Redis), :mod:`.producer`, :mod:`.worker`,
:mod:`.summary` and :mod:`.command_line`.
"""

from __future__ import annotations

from .command_line import main
from .producer import DEFAULT_CHUNK_SIZE, EnqueueResult, JobOptions, enqueue_ids, read_ids
from .records import FUNCTION, QUEUE_NAME, chunk_key
from .reports import (
    BadReport,
    ChunkReport,
    ChunkUnfinished,
    CleanupSummary,
    FailedId,
    SkippedId,
    StoppedChunk,
)
from .summary import summarize
from .worker import delete_chunk, private_key, worker_settings

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
