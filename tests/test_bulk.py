"""delete_many / get_many: bounded, adaptive, every id accounted for exactly once."""

from __future__ import annotations

import asyncio
import collections
import tracemalloc
import uuid
from collections.abc import AsyncIterator

import pytest

from gr4vy_async import Gr4vy, RetryConfig, errors
from gr4vy_async.bulk import AdaptiveLimit, BulkProgress, BulkReport, Outcome, run_bulk
from gr4vy_async.testing import FakeGr4vy, Fault

FAST = RetryConfig(initial_delay=0, max_delay=0.01, retry_after_cap=0.05)


def client_for(fake: FakeGr4vy) -> Gr4vy:
    return Gr4vy(server_url=fake.url, bearer_auth="t", merchant_account_id="default", retries=FAST)


def assert_accounted_once(report: BulkReport, ids: list[str]) -> None:
    """Every id has exactly one outcome, and nothing else has one."""
    seen = (
        report.done
        + report.missing
        + [sid for sid, _ in report.failed]
        + [sid for sid, _ in report.skipped]
        + report.cancelled
    )
    assert collections.Counter(seen) == collections.Counter(ids)
    assert report.total == len(ids)


def deletes_by_id(fake: FakeGr4vy) -> dict[str, list[int | None]]:
    statuses: dict[str, list[int | None]] = collections.defaultdict(list)
    for request in fake.requests:
        if request.method == "DELETE":
            statuses[request.path.rsplit("/", 1)[1]].append(request.status)
    return statuses


async def test_ten_thousand_deletes_under_faults(gr4vy_fake: FakeGr4vy) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(10_000)]
    already_gone = [str(uuid.uuid4()) for _ in range(50)]
    malformed = ["not-a-uuid", "../../etc", ""]
    gr4vy_fake.faults.rate("DELETE", Fault.status(429, retry_after=0), probability=0.03, seed=1)
    gr4vy_fake.faults.rate("DELETE", Fault.status(503), probability=0.03, seed=2)
    gr4vy_fake.faults.rate("DELETE", Fault.drop(after=True), probability=0.01, seed=3)
    gr4vy_fake.faults.rate("DELETE", Fault.latency(0.002), probability=0.2, seed=4)
    progress: list[BulkProgress] = []
    everything = ids + already_gone + malformed
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.delete_many(
            everything, concurrency=32, on_progress=progress.append
        )
    assert_accounted_once(report, everything)
    assert report.counts[Outcome.FAILED] == report.counts[Outcome.CANCELLED] == 0
    assert not report.ok  # the malformed ids
    assert set(report.done) | set(report.missing) == set(ids) | set(already_gone)
    assert set(already_gone) <= set(report.missing)
    assert [sid for sid, _ in report.skipped] == malformed
    assert not gr4vy_fake.sessions  # all really deleted
    # Never more than the limit in flight, and the batch did slow down for 429s.
    assert gr4vy_fake.max_in_flight <= 32
    assert report.rate_limited > 0
    # No id was deleted twice by the client: nothing is sent after a 204.
    for session_id, statuses in deletes_by_id(gr4vy_fake).items():
        if 204 in statuses:
            assert statuses[-1] == 204, (session_id, statuses)
    assert progress[-1] == BulkProgress(len(everything), len(everything), 0)
    assert [p.done for p in progress] == list(range(1, len(everything) + 1))


async def test_failures_keep_their_typed_error(gr4vy_fake: FakeGr4vy) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(5)]
    gr4vy_fake.faults.enqueue("DELETE", Fault.status(403, message="Invalid credentials"), times=2)
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.delete_many(ids, concurrency=1)
    assert [type(error) for _, error in report.failed] == [errors.Error403Forbidden] * 2
    assert report.counts[Outcome.DONE] == 3
    assert not report.ok


async def test_missing_ok_false_counts_404_as_failure(gr4vy_fake: FakeGr4vy) -> None:
    gone = str(uuid.uuid4())
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.delete_many([gone], missing_ok=False)
    ((session_id, error),) = report.failed
    assert session_id == gone
    assert isinstance(error, errors.Error404)


async def test_duplicates_are_skipped_not_sent_twice(gr4vy_fake: FakeGr4vy) -> None:
    session_id = gr4vy_fake.create_session().id
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.delete_many([session_id, session_id.upper()])
    assert report.done == [session_id]
    assert report.skipped == [(session_id, "duplicate id")]
    assert len(deletes_by_id(gr4vy_fake)[session_id]) == 1


async def test_ids_from_an_async_iterable(gr4vy_fake: FakeGr4vy) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(300)]

    async def stream() -> AsyncIterator[str]:
        for session_id in ids:
            await asyncio.sleep(0)
            yield session_id

    progress: list[BulkProgress] = []
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.delete_many(
            stream(), concurrency=8, on_progress=progress.append
        )
    assert sorted(report.done) == sorted(ids)
    assert progress[-1].total is None
    assert gr4vy_fake.max_in_flight <= 8


async def test_get_many_returns_sessions_by_id(gr4vy_fake: FakeGr4vy) -> None:
    ids = [gr4vy_fake.create_session({"metadata": {"n": str(n)}}).id for n in range(20)]
    missing = str(uuid.uuid4())
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.get_many([*ids, missing], concurrency=4)
    assert report.missing == [missing]
    assert {sid: s.metadata for sid, s in report.results.items()} == {
        sid: {"n": str(n)} for n, sid in enumerate(ids)
    }


async def test_cancelling_half_way_still_reports_what_finished(gr4vy_fake: FakeGr4vy) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(400)]
    gr4vy_fake.faults.rate("DELETE", Fault.latency(0.01, after=True), probability=1.0, seed=1)
    report = BulkReport()
    hundred_done = asyncio.Event()

    def on_progress(progress: BulkProgress) -> None:
        if progress.done >= 100:
            hundred_done.set()

    async with client_for(gr4vy_fake) as client:
        task = asyncio.ensure_future(
            client.checkout_sessions.delete_many(
                ids, concurrency=10, report=report, on_progress=on_progress
            )
        )
        await hundred_done.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    started = ids[: report.total]  # a list is consumed in order
    assert_accounted_once(report, started)
    assert 100 <= report.counts[Outcome.DONE] < 400
    assert 1 <= len(report.cancelled) <= 10  # those in flight at the cancel
    # Every delete the server completed is reported done or (in flight) cancelled.
    completed = {sid for sid, st in deletes_by_id(gr4vy_fake).items() if 204 in st}
    assert set(report.done) <= completed <= set(report.done) | set(report.cancelled)


async def test_adaptive_limit_halves_on_rate_limit_then_recovers() -> None:
    now = [0.0]
    limit = AdaptiveLimit(8, clock=lambda: now[0])
    for _ in range(8):
        await limit.acquire()
    await limit.release(rate_limited_for=0.0)
    assert limit.limit == 4
    await limit.release(rate_limited_for=0.0)
    assert limit.limit == 2
    for _ in range(6):
        await limit.release()
    assert limit.in_flight == 0
    assert limit.limit == 4  # +1 after 2 successes, +1 after 3 more
    for _ in range(4 + 5 + 6 + 7):  # a round at 4, 5, 6 and 7
        await limit.acquire()
        await limit.release()
    assert limit.limit == 8  # back to the maximum, and no further
    for _ in range(20):
        await limit.acquire()
        await limit.release()
    assert limit.limit == 8


async def test_a_rate_limited_batch_pauses_every_worker() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    rate_limited = True

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal rate_limited
        calls.append(loop.time())
        if rate_limited:
            rate_limited = False
            raise errors.Error429("429", status_code=429, headers={"Retry-After": "1"})

    ids = [str(uuid.uuid4()) for _ in range(4)]
    started = loop.time()
    report = await run_bulk(
        ids, call, retries=RetryConfig(retry_after_cap=0.2), concurrency=1, missing_ok=True
    )
    assert sorted(report.done) == sorted(ids)
    assert report.rate_limited == 1
    # After the 429 (Retry-After 1, capped at 0.2 s) nothing was sent for 0.2 s.
    assert calls[1] - calls[0] >= 0.19
    assert loop.time() - started >= 0.19


async def test_memory_stays_flat_for_a_streamed_batch() -> None:
    async def call(session_id: str, policy: RetryConfig) -> None:
        return None

    async def stream(count: int) -> AsyncIterator[str]:
        for n in range(count):
            yield str(uuid.UUID(int=n))

    async def peak(count: int) -> int:
        tracemalloc.start()
        try:
            report = await run_bulk(
                stream(count), call, retries=RetryConfig(), concurrency=16, missing_ok=True,
                report=BulkReport(keep_ids=False), dedupe=False,
            )  # fmt: skip
            assert report.counts[Outcome.DONE] == count
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = await peak(2_000), await peak(40_000)
    assert large < small * 1.5 + 64_000, (small, large)  # 20x the ids, about the same memory


def test_bad_concurrency_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match="concurrency"):
        asyncio.run(run_bulk([], lambda s, p: asyncio.sleep(0), retries=RetryConfig(),
                             concurrency=0, missing_ok=True))  # fmt: skip


async def test_a_raising_progress_callback_does_not_count_an_id_twice() -> None:
    async def call(session_id: str, policy: RetryConfig) -> None:
        await asyncio.sleep(0)

    def explode(progress: BulkProgress) -> None:
        if progress.done == 2:
            raise RuntimeError("callback bug")

    ids = [str(uuid.UUID(int=n)) for n in range(10)]
    report = BulkReport()
    with pytest.raises(RuntimeError, match="callback bug"):
        await run_bulk(ids, call, retries=RetryConfig(), concurrency=3, missing_ok=True,
                       report=report, on_progress=explode)  # fmt: skip
    recorded = report.done + report.cancelled
    assert len(recorded) == len(set(recorded))


async def test_one_string_is_not_a_batch_of_ids() -> None:
    with pytest.raises(errors.InvalidRequestError, match="one string"):
        await run_bulk("4137b1cf-39ac-42a8-bad6-1c680d5dab6b", lambda s, p: asyncio.sleep(0),
                       retries=RetryConfig(), concurrency=1, missing_ok=True)  # fmt: skip


async def test_retries_none_means_no_rate_limit_waits_either() -> None:
    calls = 0

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal calls
        calls += 1
        raise errors.Error429("429", status_code=429, headers={"Retry-After": "0"})

    report = await run_bulk([str(uuid.uuid4())], call, retries=RetryConfig.none(),
                            concurrency=1, missing_ok=True)  # fmt: skip
    assert calls == 1
    assert isinstance(report.failed[0][1], errors.Error429)


async def test_malformed_ids_make_the_report_not_ok_but_duplicates_do_not() -> None:
    async def call(session_id: str, policy: RetryConfig) -> None:
        return None

    same = str(uuid.uuid4())
    duplicates = await run_bulk([same, same], call, retries=RetryConfig(), concurrency=1,
                                missing_ok=True)  # fmt: skip
    assert duplicates.ok
    malformed = await run_bulk(["nope"], call, retries=RetryConfig(), concurrency=1,
                               missing_ok=True)  # fmt: skip
    assert not malformed.ok


async def test_after_a_rate_limit_the_batch_runs_at_half_concurrency() -> None:
    running = 0
    started_after_429: list[int] = []  # how many ran when each later call started
    rate_limited = asyncio.Event()

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal running
        running += 1
        try:
            if rate_limited.is_set():
                started_after_429.append(running)
            elif session_id == ids[0]:
                rate_limited.set()
                raise errors.Error429("429", status_code=429, headers={"Retry-After": "0"})
            await asyncio.sleep(0.02)
        finally:
            running -= 1

    ids = [str(uuid.UUID(int=n)) for n in range(40)]
    report = await run_bulk(ids, call, retries=RetryConfig(), concurrency=8, missing_ok=True)
    assert sorted(report.done) == sorted(ids)
    assert report.rate_limited == 1
    # The 429 halved the limit to 4; it grows back one step per 4 successes,
    # so no call started after it ran beside more than 4 others at first.
    assert max(started_after_429[:8]) <= 5
    assert max(started_after_429) <= 8


async def test_acquire_blocks_above_the_halved_limit() -> None:
    limit = AdaptiveLimit(4)
    for _ in range(4):
        await limit.acquire()
    await limit.release(rate_limited_for=0.0)  # limit 2, 3 in flight
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(limit.acquire(), 0.05)
    await limit.release()  # 2 in flight: still no room under 2
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(limit.acquire(), 0.05)
    await limit.release()  # 1 in flight, and a round of 2 successes: limit 3
    await asyncio.wait_for(limit.acquire(), 0.05)
    await asyncio.wait_for(limit.acquire(), 0.05)
    assert (limit.in_flight, limit.limit) == (3, 3)
