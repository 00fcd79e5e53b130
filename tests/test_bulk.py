"""delete_many / get_many: bounded, adaptive, every id accounted for exactly once.

Each id ends in exactly one outcome (done, missing, failed, skipped, cancelled,
not attempted); rate limits slow the batch down instead of failing ids; a systemic
failure or a deadline stops it early; a journal lets a re-run skip what is done.
The runs at scale (thousands of ids, worker processes) are ``pytest -m e2e``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import sys
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.bulk import outcomes

from gr4vy_async import Gr4vy, RetryConfig, errors
from gr4vy_async.bulk import (
    JOURNALED,
    AdaptiveRate,
    BulkOptions,
    BulkProgress,
    BulkReport,
    Outcome,
    run_bulk,
)
from gr4vy_async.testing import FakeGr4vy, Fault

FAST = RetryConfig(initial_delay=0, max_delay=0.01, retry_after_cap=0.05)


def client_for(fake: FakeGr4vy) -> Gr4vy:
    return Gr4vy(server_url=fake.url, bearer_auth="t", merchant_account_id="default", retries=FAST)


# ---------------------------------------------------------------------- every id accounted for once


async def test_failures_keep_their_typed_error(gr4vy_fake: FakeGr4vy) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(5)]
    gr4vy_fake.faults.enqueue("DELETE", Fault.status(403, message="Invalid credentials"), times=2)
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.delete_many(ids, concurrency=1)
    assert [(f.error, f.status) for f in report.failed] == [("Error403Forbidden", 403)] * 2
    assert all("Invalid credentials" in f.message for f in report.failed)
    assert report.counts[Outcome.DONE] == 3
    assert not report.ok


async def test_missing_ok_false_counts_404_as_failure(gr4vy_fake: FakeGr4vy) -> None:
    gone = str(uuid.uuid4())
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.delete_many([gone], missing_ok=False)
    (failure,) = report.failed
    assert (failure.id, failure.status, failure.error) == (gone, 404, "Error404")


def deletes_by_id(fake: FakeGr4vy) -> dict[str, list[int | None]]:
    statuses: dict[str, list[int | None]] = collections.defaultdict(list)
    for request in fake.requests:
        if request.method == "DELETE":
            statuses[request.path.rsplit("/", 1)[1]].append(request.status)
    return statuses


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


def assert_accounted_once(report: BulkReport, ids: list[str]) -> None:
    """Every id has exactly one outcome, and nothing else has one."""
    assert outcomes(report) == collections.Counter(ids)
    assert report.total == len(ids)


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
    assert 1 <= len(report.cancelled) + len(report.not_attempted) <= 10  # held at the cancel
    # Every delete the server completed is reported done or (in flight) cancelled.
    completed = {sid for sid, st in deletes_by_id(gr4vy_fake).items() if 204 in st}
    assert set(report.done) <= completed <= set(report.done) | set(report.cancelled)


def test_bad_concurrency_is_rejected() -> None:
    with pytest.raises(errors.InvalidRequestError, match="concurrency"):
        asyncio.run(
            run_bulk(
                [],
                lambda s, p: asyncio.sleep(0),
                BulkOptions(retries=RetryConfig(), concurrency=0, missing_ok=True),
            )
        )


async def test_a_raising_progress_callback_does_not_count_an_id_twice() -> None:
    async def call(session_id: str, policy: RetryConfig) -> None:
        await asyncio.sleep(0)

    def explode(progress: BulkProgress) -> None:
        if progress.done == 2:
            raise RuntimeError("callback bug")

    ids = [str(uuid.UUID(int=n)) for n in range(10)]
    report = BulkReport()
    with pytest.raises(RuntimeError, match="callback bug"):
        await run_bulk(
            ids,
            call,
            BulkOptions(retries=RetryConfig(), concurrency=3, missing_ok=True, on_progress=explode),
            report=report,
        )
    recorded = report.done + report.cancelled + report.not_attempted
    assert len(recorded) == len(set(recorded))


async def test_one_string_is_not_a_batch_of_ids() -> None:
    with pytest.raises(errors.InvalidRequestError, match="one string"):
        await run_bulk(
            "4137b1cf-39ac-42a8-bad6-1c680d5dab6b",
            lambda s, p: asyncio.sleep(0),
            BulkOptions(retries=RetryConfig(), concurrency=1, missing_ok=True),
        )


async def test_retries_none_means_no_rate_limit_waits_either() -> None:
    calls = 0

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal calls
        calls += 1
        raise errors.Error429("429", status_code=429, headers={"Retry-After": "0"})

    report = await run_bulk(
        [str(uuid.uuid4())],
        call,
        BulkOptions(retries=RetryConfig.none(), concurrency=1, missing_ok=True),
    )
    assert calls == 1
    assert report.failed[0].status == 429


async def test_malformed_ids_make_the_report_not_ok_but_duplicates_do_not() -> None:
    async def call(session_id: str, policy: RetryConfig) -> None:
        return None

    same = str(uuid.uuid4())
    duplicates = await run_bulk(
        [same, same], call, BulkOptions(retries=RetryConfig(), concurrency=1, missing_ok=True)
    )
    assert duplicates.ok
    malformed = await run_bulk(
        ["nope"], call, BulkOptions(retries=RetryConfig(), concurrency=1, missing_ok=True)
    )
    assert not malformed.ok


# --------------------------------------------------------------------------- rate limits


def rate_limit(status: int = 429, retry_after: str | None = "0") -> errors.Gr4vyError:
    """A rate-limit error as the transport raises it (any class: the status is what counts)."""
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return errors.APIError(f"{status}", status_code=status, headers=headers)


async def test_a_rate_limited_id_waits_alone_while_the_others_go_on() -> None:
    calls: list[str] = []
    first, *others = [str(uuid.UUID(int=n)) for n in range(40)]

    async def call(session_id: str, policy: RetryConfig) -> None:
        calls.append(session_id)
        await asyncio.sleep(0.001)
        if session_id == first and calls.count(first) == 1:
            raise rate_limit(retry_after="1")

    report = await run_bulk(
        [first, *others],
        call,
        BulkOptions(retries=RetryConfig(retry_after_cap=0.2), concurrency=2, missing_ok=True),
    )
    assert sorted(report.done) == sorted([first, *others])
    assert report.rate_limited == 1
    # While the first id waited out its Retry-After, the other worker kept sending.
    between = calls[calls.index(first) + 1 : len(calls) - calls[::-1].index(first) - 1]
    assert len(between) >= 5


async def test_a_plain_text_429_from_a_proxy_is_waited_out_not_failed(
    gr4vy_fake: FakeGr4vy,
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(20)]
    proxy_429 = Fault.status(
        429, body=b"Too Many Requests", content_type="text/plain", retry_after=0
    )
    gr4vy_fake.faults.enqueue("DELETE", proxy_429, times=20)
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.delete_many(ids, concurrency=4)
    assert sorted(report.done) == sorted(ids)
    assert report.counts[Outcome.FAILED] == 0
    assert report.rate_limited == 20
    assert not gr4vy_fake.sessions


@pytest.mark.parametrize("status", [425, 429])
async def test_rate_limit_waits_are_bounded_by_max_elapsed(status: int) -> None:
    calls = 0

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal calls
        calls += 1
        raise rate_limit(status, retry_after="1")

    policy = RetryConfig(max_attempts=2, max_elapsed=0.35, retry_after_cap=0.1)
    report = await run_bulk(
        [str(uuid.uuid4())], call, BulkOptions(retries=policy, concurrency=1, missing_ok=True)
    )
    (failure,) = report.failed
    assert failure.status == status
    # Waited out (a rate limit is not a failure at once), but not 21 times:
    # each wait is 0.1 s and no retry starts 0.35 s after the first attempt.
    assert 2 <= calls <= 4


async def test_rate_limits_do_not_count_against_max_attempts() -> None:
    calls = 0

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal calls
        calls += 1
        if calls <= 5:
            raise rate_limit(retry_after="0")

    report = await run_bulk(
        [str(uuid.uuid4())],
        call,
        BulkOptions(retries=RetryConfig(max_attempts=2), concurrency=1, missing_ok=True),
    )
    assert report.counts[Outcome.DONE] == 1
    assert calls == 6


async def test_an_odd_retry_after_is_waited_by_default_not_a_crash() -> None:
    calls = 0

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise rate_limit(retry_after="\u00b2")

    report = await run_bulk(
        [str(uuid.uuid4())],
        call,
        BulkOptions(
            retries=RetryConfig(), concurrency=1, missing_ok=True, default_rate_limit_wait=0.01
        ),
    )
    assert report.counts[Outcome.DONE] == 1


async def test_the_rate_drops_once_per_episode_then_grows_back() -> None:
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    sent = [await rate.acquire() for _ in range(40)]  # not paced yet
    assert not rate.enabled
    for drops in sent[:20]:
        now[0] += 0.01
        rate.record(rate_limited=False, drops_at_send=drops)
    for drops in sent[20:]:  # 20 rate limits to requests all sent before any drop
        now[0] += 0.01
        rate.record(rate_limited=True, drops_at_send=drops)
    assert rate.drops == 1  # one episode, one drop
    dropped_to = rate.rate
    assert 0 < dropped_to < 40 / 0.4  # below the 100/s measured
    # Successes: the rate grows back past where it dropped to.
    for _ in range(100):
        now[0] += 0.02
        rate.record(rate_limited=False, drops_at_send=rate.drops)
    assert rate.rate > dropped_to
    grown = rate.rate
    # A scattered 429 among successes is not an episode.
    rate.record(rate_limited=True, drops_at_send=rate.drops)
    assert rate.drops == 1
    # Many 429s to requests sent at the new rate are a new episode: one more drop.
    sent_at_new_rate = rate.drops
    for _ in range(30):
        now[0] += 0.01
        rate.record(rate_limited=True, drops_at_send=sent_at_new_rate)
    assert rate.drops == 2
    assert rate.rate < grown


async def test_once_rate_limited_the_batch_is_paced() -> None:
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    while not rate.enabled:  # 429s until they are an episode
        now[0] += 0.01
        rate.record(rate_limited=True, drops_at_send=0)
    granted = 0

    async def take() -> None:
        nonlocal granted
        await rate.acquire()
        granted += 1

    waiters = [asyncio.ensure_future(take()) for _ in range(5)]
    await asyncio.sleep(0.05)  # the frozen clock refills nothing: no token to give
    assert granted == 0
    now[0] += 5 / rate.rate + 0.001  # enough time for five tokens
    await asyncio.wait_for(asyncio.gather(*waiters), 5)
    assert granted == 5


# --------------------------------------------------------------------------- stop, deadline


async def test_any_exception_from_one_call_is_that_ids_outcome() -> None:
    ids = [str(uuid.UUID(int=n)) for n in range(30)]
    raising = {
        ids[3]: RuntimeError("provider broke: secret-abc"),
        ids[7]: TimeoutError(),
        ids[9]: ValueError("bad"),
    }

    async def call(session_id: str, policy: RetryConfig) -> None:
        if session_id in raising:
            raise raising[session_id]

    report = await run_bulk(
        ids, call, BulkOptions(retries=RetryConfig(), concurrency=4, missing_ok=True)
    )
    assert_accounted_once(report, ids)
    assert {(f.id, f.error) for f in report.failed} == {
        (ids[3], "RuntimeError"),
        (ids[7], "TimeoutError"),
        (ids[9], "ValueError"),
    }
    assert all("secret" not in f.message for f in report.failed)
    assert report.counts[Outcome.DONE] == 27


@pytest.mark.parametrize("status", [401, 403])
async def test_a_systemic_failure_stops_the_batch_early(status: int) -> None:
    ids = [str(uuid.UUID(int=n)) for n in range(500)]
    calls = 0

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise errors.APIError(f"{status} revoked", status_code=status)

    report = await run_bulk(
        ids, call, BulkOptions(retries=RetryConfig(), concurrency=4, missing_ok=True, stop_after=10)
    )
    assert_accounted_once(report, ids)
    assert 10 <= calls <= 10 + 4  # the ones in flight when it stopped finish
    assert report.counts[Outcome.FAILED] == calls
    assert report.counts[Outcome.NOT_ATTEMPTED] == 500 - calls
    assert f"HTTP {status}" in (report.stopped or "")
    assert getattr(report.stop_cause, "status", None) == status
    assert not report.ok


async def test_connection_refused_stops_early() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    ids = [str(uuid.UUID(int=n)) for n in range(200)]
    async with Gr4vy(
        server_url=f"http://127.0.0.1:{port}", bearer_auth="t", retries=FAST
    ) as client:
        report = await client.checkout_sessions.delete_many(ids, concurrency=2, stop_after=5)
    assert_accounted_once(report, ids)
    assert report.counts[Outcome.FAILED] <= 5 + 2
    assert getattr(report.stop_cause, "error", None) == "ConnectError"
    assert "cannot connect" in (report.stopped or "")


async def test_failures_that_are_not_systemic_or_not_consecutive_do_not_stop() -> None:
    ids = [str(uuid.UUID(int=n)) for n in range(60)]

    async def call(session_id: str, policy: RetryConfig) -> None:
        n = ids.index(session_id)
        if n % 10 == 9:
            return None  # a success now and then resets the streak
        if n % 2:
            raise errors.Error403Active("403 active", status_code=403)  # one resource, not all
        raise errors.APIError("401", status_code=401)

    report = await run_bulk(
        ids, call, BulkOptions(retries=RetryConfig(), concurrency=1, missing_ok=True, stop_after=3)
    )
    assert report.stopped is None
    assert report.counts[Outcome.NOT_ATTEMPTED] == 0
    assert report.counts[Outcome.FAILED] == 54


async def test_a_deadline_ends_the_batch_with_every_id_accounted_for() -> None:
    ids = [str(uuid.UUID(int=n)) for n in range(300)]
    started = asyncio.Event()

    async def call(session_id: str, policy: RetryConfig) -> None:
        started.set()
        await asyncio.sleep(0.02)

    report = await run_bulk(
        ids, call, BulkOptions(retries=RetryConfig(), concurrency=4, missing_ok=True, deadline=0.2)
    )
    assert_accounted_once(report, ids)
    assert report.stopped == "deadline of 0.2 s reached"
    assert report.counts[Outcome.CANCELLED] <= 4
    assert report.counts[Outcome.NOT_ATTEMPTED] > 0
    assert report.counts[Outcome.DONE] + report.counts[Outcome.CANCELLED] < 300
    assert not report.ok


@pytest.mark.parametrize("bad", [0, -1, float("nan"), True, "5"])
async def test_a_bad_deadline_is_refused_before_any_call(bad: object) -> None:
    with pytest.raises(errors.InvalidRequestError, match="deadline"):
        await run_bulk(
            [str(uuid.uuid4())],
            lambda s, p: asyncio.sleep(0),
            BulkOptions(
                retries=RetryConfig(),
                concurrency=1,
                missing_ok=True,
                deadline=bad,  # type: ignore[arg-type]
            ),
        )


# --------------------------------------------------------------------------- journal


async def test_a_journal_records_every_finished_id_and_a_rerun_skips_the_done(
    tmp_path: Path,
) -> None:
    ids = [str(uuid.UUID(int=n)) for n in range(50)]
    journal = tmp_path / "run.jsonl"
    fail_once = {ids[5], ids[6]}
    sent: list[str] = []

    async def call(session_id: str, policy: RetryConfig) -> None:
        sent.append(session_id)
        if session_id == ids[1]:
            raise errors.Error404("404", status_code=404)
        if session_id in fail_once:
            fail_once.discard(session_id)
            raise errors.Error500("500", status_code=500)

    first = await run_bulk(
        [*ids, "junk"],
        call,
        BulkOptions(retries=RetryConfig(), concurrency=4, missing_ok=True, journal=journal),
    )
    assert first.counts[Outcome.FAILED] == 2
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len(lines) == 51
    by_id = {line["id"]: line for line in lines}
    assert by_id[ids[1]] == {"id": ids[1], "outcome": "missing", "status": 404}
    assert (by_id[ids[5]]["outcome"], by_id[ids[5]]["status"]) == ("failed", 500)
    assert by_id["junk"]["outcome"] == "skipped"
    assert {line["outcome"] for line in lines} == {"done", "missing", "failed", "skipped"}
    # A kill may leave half a line: the rerun still reads the rest and keeps appending whole lines.
    with journal.open("ab") as file:
        file.write(b'{"id": "cut sh')
    sent.clear()
    second = await run_bulk(
        ids,
        call,
        BulkOptions(retries=RetryConfig(), concurrency=4, missing_ok=True, journal=journal),
    )
    assert sorted(sent) == sorted([ids[5], ids[6]])  # only the failed ones again
    assert second.counts[Outcome.DONE] == 2
    assert second.counts[Outcome.SKIPPED] == 48
    assert second.skipped[0][1] == JOURNALED
    assert second.ok
    tail = journal.read_text().splitlines()[-2:]
    assert {json.loads(line)["id"] for line in tail} == {ids[5], ids[6]}


async def test_get_many_takes_the_same_options(gr4vy_fake: FakeGr4vy, tmp_path: Path) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(10)]
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.get_many(
            ids, keep_ids=False, journal=tmp_path / "j.jsonl", deadline=30, stop_after=5
        )
        again = await client.checkout_sessions.get_many(ids, journal=tmp_path / "j.jsonl")
    assert report.counts[Outcome.DONE] == 10
    assert (report.done, report.results) == ([], {})
    assert again.counts[Outcome.SKIPPED] == 10


# --------------------------------------------------------------------------- loop and cancellation


@pytest.mark.parametrize("kind", ["malformed", "duplicate", "valid"])
async def test_many_ids_never_freeze_the_event_loop(kind: str) -> None:
    count = 20_000
    same = str(uuid.UUID(int=1))
    ids = [
        {"malformed": "x", "duplicate": same, "valid": str(uuid.UUID(int=n))}[kind]
        for n in range(count)
    ]
    ticks = 0
    finished = False

    async def ticker() -> None:
        nonlocal ticks
        while not finished:
            await asyncio.sleep(0)
            ticks += 1

    async def instant(session_id: str, policy: RetryConfig) -> None:
        return None

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    ticks = 0
    report = await run_bulk(
        ids,
        instant,
        BulkOptions(retries=RetryConfig(), concurrency=8, missing_ok=True),
        report=BulkReport(keep_ids=False),
    )
    finished = True
    await task
    assert report.total == count
    # The batch let other tasks run at least once every few hundred ids.
    assert ticks >= count // 512


@pytest.mark.parametrize("ticks", [1, 2, 3, 5, 8, 13, 40, 100])
async def test_a_cancel_at_any_moment_loses_no_id(ticks: int) -> None:
    taken = 0

    def source() -> Iterator[str]:
        nonlocal taken
        for n in range(20_000):
            taken += 1
            yield str(uuid.UUID(int=n)) if n % 300 == 0 else "junk"

    async def call(session_id: str, policy: RetryConfig) -> None:
        await asyncio.sleep(0)

    report = BulkReport()
    task = asyncio.ensure_future(
        run_bulk(
            source(),
            call,
            BulkOptions(retries=RetryConfig(), concurrency=4, missing_ok=True),
            report=report,
        )
    )
    for _ in range(ticks):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0 < taken < 20_000
    assert report.total == taken  # every id taken from the source has its one outcome


# ------------------------------------------------------------------------- at scale (pytest -m e2e)


@pytest.mark.e2e
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
            everything,
            concurrency=32,
            on_progress=progress.append,
            # A dropped connection spends an attempt (aiohttp does not resend it
            # unseen) and 429s spend none: 503 or drop is ~4% of counted attempts,
            # so over 10,050 ids 4 attempts fail ~2.5% of runs, 6 ~4e-5, 8 ~6e-8.
            # The fake's draws are independent (test_fake_fault_draws.py).
            retries=RetryConfig(max_attempts=8, initial_delay=0.01),
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


async def _peak_memory(
    ids: AsyncIterator[str], call: Callable[[str, RetryConfig], Awaitable[None]], **options: Any
) -> tuple[BulkReport, int]:
    """The report of a streamed batch that keeps no ids, and the peak traced memory."""
    tracemalloc.start()
    try:
        report = await run_bulk(
            ids,
            call,
            BulkOptions(
                retries=RetryConfig(), concurrency=16, missing_ok=True, dedupe=False, **options
            ),
            report=BulkReport(keep_ids=False),
        )
        return report, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.e2e
async def test_memory_stays_flat_for_a_streamed_batch() -> None:
    async def call(session_id: str, policy: RetryConfig) -> None:
        return None

    async def stream(count: int) -> AsyncIterator[str]:
        for n in range(count):
            yield str(uuid.UUID(int=n))

    async def peak(count: int) -> int:
        report, memory = await _peak_memory(stream(count), call)
        assert report.counts[Outcome.DONE] == count
        return memory

    small, large = await peak(2_000), await peak(40_000)
    assert large < small * 1.5 + 64_000, (small, large)  # 20x the ids, about the same memory


@pytest.mark.e2e
async def test_memory_stays_flat_on_every_outcome_without_keep_ids() -> None:
    async def call(session_id: str, policy: RetryConfig) -> None:
        n = uuid.UUID(session_id).int % 4
        if n == 1:
            raise errors.Error404("404 gone", status_code=404)
        if n == 2:
            raise errors.Error403("403 forbidden for this one", status_code=403)

    async def stream(count: int) -> AsyncIterator[str]:
        for n in range(count):
            yield "not-an-id" if n % 5 == 0 else str(uuid.UUID(int=n))

    async def peak(count: int) -> int:
        report, memory = await _peak_memory(stream(count), call, stop_after=0)
        assert report.total == count
        assert report.malformed == count // 5
        return memory

    small, large = await peak(6_000), await peak(60_000)
    assert large < small * 1.5 + 64_000, (small, large)  # 10x the ids, about the same memory


# One worker process: its own client, its own ids (from stdin), nothing shared.
WORKER = """
import asyncio, json, sys
from gr4vy_async import Gr4vy

async def main():
    ids = sys.stdin.read().split()
    async with Gr4vy(server_url=sys.argv[1], bearer_auth="t") as client:
        report = await client.checkout_sessions.delete_many(ids, concurrency=16)
    print(json.dumps({"summary": report.summary(), "rate_limited": report.rate_limited}))

asyncio.run(main())
"""


async def run_worker(url: str, ids: list[str]) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WORKER,
        url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate("\n".join(ids).encode()), 120)
    assert process.returncode == 0, err.decode()
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.e2e
async def test_two_processes_share_a_rate_limit_and_delete_everything() -> None:
    async with FakeGr4vy(rate_limit=100, rate_limit_burst=10) as fake:
        ids = [fake.create_session().id for _ in range(240)]
        halves = [ids[:120], ids[120:]]
        results = await asyncio.gather(*(run_worker(fake.url, half) for half in halves))
        statuses = [request.status for request in fake.requests]
    for result in results:
        assert result["summary"] == {
            "done": 120,
            "missing": 0,
            "failed": 0,
            "skipped": 0,
            "cancelled": 0,
            "not_attempted": 0,
        }
    assert not fake.sessions  # every id really deleted
    assert statuses.count(204) == 240  # each exactly once
    # The limit was really hit, and each 429 was waited out, not failed.
    assert statuses.count(429) > 0
    assert sum(result["rate_limited"] for result in results) == statuses.count(429)  # type: ignore[misc]
