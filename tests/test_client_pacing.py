"""One pacer per client: every call and every bulk run of a client share it (issue 23)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from support.helpers import client_for

from gr4vy_async import Gr4vy, RetryConfig, errors
from gr4vy_async.bulk import AdaptiveRate
from gr4vy_async.testing import FakeGr4vy

#: Rate-limit waits short enough for a test; the pacer, not Retry-After, sets the pace.
QUICK = RetryConfig(max_attempts=20, initial_delay=0, max_delay=0, retry_after_cap=0.02)
LIMIT = 200.0


@pytest.fixture
def gr4vy_fake_options() -> dict[str, object]:
    return {"rate_limit": LIMIT}


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def _limited(fake: FakeGr4vy, since: int) -> int:
    return sum(1 for r in fake.requests[since:] if r.status == 429)


async def test_the_next_chunk_starts_paced(gr4vy_fake: FakeGr4vy) -> None:
    async with client_for(gr4vy_fake, retries=QUICK) as client:
        first = await client.checkout_sessions.delete_many(_ids(150), concurrency=32)
        second = await client.checkout_sessions.delete_many(_ids(150), concurrency=32)
    assert first.rate_limited > 0
    assert second.rate_limited < first.rate_limited / 2


async def _storm(client: Gr4vy, fake: FakeGr4vy, calls: int) -> int:
    since = len(fake.requests)

    async def one() -> None:
        with contextlib.suppress(errors.Error404, errors.Error429):
            await client.checkout_sessions.get(session_id=str(uuid.uuid4()), retries=QUICK)

    await asyncio.gather(*(one() for _ in range(calls)))
    return _limited(fake, since)


async def test_single_calls_slow_down_under_a_429_storm(gr4vy_fake: FakeGr4vy) -> None:
    async with client_for(gr4vy_fake) as client:
        first = await _storm(client, gr4vy_fake, 150)
        second = await _storm(client, gr4vy_fake, 150)
    assert first > 0
    assert second < first / 2


def _rate_after(seen: bool) -> float:
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    for _ in range(100):
        now[0] += 0.01  # 100 responses per second
        if seen:
            rate.seen()
        else:
            rate.record(rate_limited=False, drops_at_send=0)
    for _ in range(10):
        now[0] += 0.01
        rate.record(rate_limited=True, drops_at_send=0)
    assert rate.enabled
    return rate.rate


def test_responses_seen_unpaced_are_measured_in_batches() -> None:
    assert _rate_after(seen=True) == pytest.approx(_rate_after(seen=False), rel=0.05)
