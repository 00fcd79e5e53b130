"""The workers: SAQ settings, and the job that runs ``delete_many`` over one chunk."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import msgspec
from saq import Job, Worker
from saq.queue.redis import RedisQueue
from saq.types import Context, PartialTimersDict, SettingsDict

from ..._keyfile import read_pem
from ...checkout_sessions import CheckoutSessions
from ...client import Gr4vy
from ...errors import InvalidRequestError
from .records import FUNCTION, QUEUE_NAME, as_queue, chunk_owner, decode_report, record_key
from .reports import ChunkReport, ChunkUnfinished

__all__ = ["delete_chunk", "private_key", "worker_settings"]

#: ``delete_many`` arguments the job itself supplies.
#: ``keep_ids``: a chunk's report must name every id that needs a look.
_JOB_ARGUMENTS = frozenset({"self", "session_ids", "report", "on_progress", "keep_ids"})
_CLIENT = "gr4vy_client"
_DELETE_OPTIONS = "gr4vy_delete_options"
#: What SAQ logs at every stop, idle or not (its own loops never finish by themselves).
_GRACE_WARNING = "Some tasks did not finish within the shutdown grace period"


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
        "queue": as_queue(queue, queue_name),
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
    owners = await queue.redis.hmget(record_key(queue, run, "ids"), ids) if ids else []  # type: ignore[misc]
    mine = chunk_owner(key).encode()
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
    reports = record_key(queue, run, "reports")
    stored = await queue.redis.hget(reports, job.key)  # type: ignore[misc]
    previous = None if stored is None else decode_report(stored, job.key)
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
