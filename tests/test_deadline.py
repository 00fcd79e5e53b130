"""``deadline``: one bound on a whole call, attempts and retry waits included (issue 23)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from support.aioresponses_compat import TOKEN, CompatAioresponses
from support.helpers import FAST, client_for, wait_until
from support.sessions import ITEM, SESSION_ID, SESSION_JSON
from yarl import URL

from gr4vy_async import Gr4vy, RetryConfig, errors
from gr4vy_async.hooks import RequestInfo
from gr4vy_async.testing import FakeGr4vy, Fault

#: Generous: the bound is the deadline, the margin only the loop's own scheduling.
MARGIN = 1.0


def test_deadline_exceeded_is_a_request_timeout() -> None:
    assert issubclass(errors.DeadlineExceededError, errors.RequestTimeoutError)
    assert issubclass(errors.DeadlineExceededError, errors.TransportError)


async def test_each_attempt_gets_the_smaller_of_its_timeout_and_the_time_left(
    mock_http: CompatAioresponses,
) -> None:
    seen: list[aiohttp.ClientTimeout] = []

    def callback(url: URL, **kwargs: Any) -> None:
        seen.append(kwargs["timeout"])

    mock_http.get(ITEM, status=200, payload=SESSION_JSON, callback=callback, repeat=True)
    async with Gr4vy(id="acme", bearer_auth=TOKEN, timeout_in_seconds=7) as client:
        await client.checkout_sessions.get(session_id=SESSION_ID, deadline=0.5)
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert seen[0].total is not None
    assert seen[0].total <= 0.5
    assert seen[1].total == 7


async def test_a_slow_server_ends_the_call_at_its_deadline(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("GET", Fault.latency(5), times=20)
    async with client_for(gr4vy_fake, retries=FAST, timeout_in_seconds=0.15) as client:
        with pytest.raises(errors.DeadlineExceededError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID, deadline=0.5)
    error = info.value
    assert error.attempts is not None
    assert error.attempts >= 2  # retried, then cut short
    assert error.elapsed is not None
    assert 0.5 <= error.elapsed < 0.5 + MARGIN
    assert "deadline of 0.5 s" in str(error)


async def test_the_client_default_deadline_applies_to_every_call(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("GET", Fault.latency(5), times=20)
    async with client_for(gr4vy_fake, retries=FAST, deadline=0.3) as client:
        with pytest.raises(errors.DeadlineExceededError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.elapsed is not None
    assert info.value.elapsed < 0.3 + MARGIN


async def test_a_stalled_token_provider_ends_at_the_deadline(gr4vy_fake: FakeGr4vy) -> None:
    async def never() -> str:
        await asyncio.Event().wait()
        raise AssertionError

    async with client_for(gr4vy_fake, bearer_auth=never, timeout_in_seconds=30) as client:
        with pytest.raises(errors.DeadlineExceededError, match="token provider") as info:
            await client.checkout_sessions.get(session_id=SESSION_ID, deadline=0.2)
    assert info.value.attempts == 1
    assert gr4vy_fake.requests == []


async def test_a_stalled_hook_ends_at_the_deadline(gr4vy_fake: FakeGr4vy) -> None:
    async def stall(request: RequestInfo) -> None:
        await asyncio.Event().wait()

    async with client_for(gr4vy_fake, timeout_in_seconds=30) as client:
        client.hooks.register_before_request_hook(stall)
        with pytest.raises(errors.DeadlineExceededError, match="hook"):
            await client.checkout_sessions.get(session_id=SESSION_ID, deadline=0.2)
    assert gr4vy_fake.requests == []


async def test_a_retry_whose_wait_would_pass_the_deadline_is_not_started(
    gr4vy_fake: FakeGr4vy,
) -> None:
    gr4vy_fake.faults.enqueue("GET", Fault.status(503, retry_after=5), times=5)
    async with client_for(gr4vy_fake, retries=RetryConfig(retry_after_cap=10)) as client:
        with pytest.raises(errors.ResponseError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID, deadline=2)
    assert info.value.status_code == 503
    assert info.value.attempts == 1
    assert len(gr4vy_fake.requests) == 1


async def test_a_create_that_may_have_arrived_is_never_resent(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("POST", Fault.latency(5))
    async with client_for(gr4vy_fake, retries=FAST) as client:
        with pytest.raises(errors.DeadlineExceededError):
            await client.checkout_sessions.create(deadline=0.2)
    assert len(gr4vy_fake.requests) == 1


async def test_a_connection_wait_ends_at_the_deadline(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("GET", Fault.latency(5))
    async with client_for(gr4vy_fake, max_connections=1, timeout_in_seconds=30) as client:
        hog = asyncio.ensure_future(client.checkout_sessions.get(session_id=SESSION_ID))
        await wait_until(lambda: gr4vy_fake.requests)
        with pytest.raises(errors.DeadlineExceededError, match="connection"):
            await client.checkout_sessions.get(session_id=SESSION_ID, deadline=0.2)
        hog.cancel()
        await asyncio.gather(hog, return_exceptions=True)


@pytest.mark.parametrize("value", ["1", 0, -1, float("nan"), float("inf"), True])
async def test_a_bad_deadline_is_refused_before_any_request(value: Any) -> None:
    with pytest.raises(errors.InvalidRequestError, match="deadline"):
        Gr4vy(bearer_auth=TOKEN, deadline=value)
    async with Gr4vy(bearer_auth=TOKEN, server_url="http://127.0.0.1:9") as client:
        with pytest.raises(errors.InvalidRequestError, match="deadline"):
            await client.checkout_sessions.get(session_id=SESSION_ID, deadline=value)
