"""``timeout_in_seconds``: a finite positive number that bounds each attempt."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support.aioresponses_compat import TOKEN, CompatAioresponses
from support.helpers import FAST, client_for
from support.servers import RawServer, answer, json_response, raw_client
from support.sessions import ITEM, SESSION, SESSION_ID, SESSION_JSON
from yarl import URL

from gr4vy_async import Gr4vy, errors
from gr4vy_async.testing import FakeGr4vy, Fault


async def test_timeout_in_seconds_bounds_one_call(mock_http: CompatAioresponses) -> None:
    seen: list[aiohttp.ClientTimeout] = []

    def callback(url: URL, **kwargs: Any) -> None:
        seen.append(kwargs["timeout"])

    mock_http.get(ITEM, status=200, payload=SESSION_JSON, callback=callback, repeat=True)
    async with Gr4vy(id="acme", bearer_auth=TOKEN, timeout_in_seconds=7) as client:
        await client.checkout_sessions.get(session_id=SESSION_ID)
        await client.checkout_sessions.get(session_id=SESSION_ID, timeout_in_seconds=0.5)
    assert [t.total for t in seen] == [7, 0.5]


async def test_timeout_in_seconds_over_real_http(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("POST", Fault.latency(2))
    async with client_for(gr4vy_fake) as client:
        with pytest.raises(errors.RequestTimeoutError) as info:
            await client.checkout_sessions.create(timeout_in_seconds=0.2)
    assert isinstance(info.value.__cause__, asyncio.TimeoutError)
    assert len(gr4vy_fake.requests) == 1  # a create that timed out is not retried


async def test_timeout_bounds_each_attempt_and_the_error_says_attempts_and_elapsed() -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return json_response(200, SESSION)

    async with (
        RawServer(slow) as server,
        raw_client(server.url, retries=FAST, timeout_in_seconds=0.05) as client,
    ):
        try:
            with pytest.raises(errors.RequestTimeoutError) as info:
                await client.checkout_sessions.get(session_id=SESSION_ID)
        finally:
            release.set()
    error = info.value
    assert error.attempts == 4
    assert error.elapsed is not None
    assert error.elapsed >= 4 * 0.05
    assert f"no response within 0.05 s (4 attempts over {error.elapsed:.1f} s)" in str(error)


# None is "the default" on the client and "the client's" per call: not bad.
BAD_TIMEOUTS = ["5", math.inf, -math.inf, math.nan, True, False, 0, -1, [1]]


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
def test_the_client_timeout_must_be_a_finite_positive_number(value: Any) -> None:
    with pytest.raises(errors.InvalidRequestError, match="timeout_in_seconds"):
        Gr4vy(bearer_auth=TOKEN, timeout_in_seconds=value)


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
async def test_a_per_call_timeout_must_be_a_finite_positive_number(value: Any) -> None:
    async with RawServer(answer(200, SESSION)) as server, raw_client(server.url) as client:
        with pytest.raises(errors.InvalidRequestError, match="timeout_in_seconds"):
            await client.checkout_sessions.get(session_id=SESSION_ID, timeout_in_seconds=value)
    assert server.seen == []


@pytest.mark.parametrize("timeout", [0, -1])
async def test_a_per_call_timeout_must_be_positive(
    client: Gr4vy, mock_http: CompatAioresponses, timeout: float
) -> None:
    with pytest.raises(errors.InvalidRequestError, match="timeout_in_seconds"):
        await client.checkout_sessions.get(session_id=SESSION_ID, timeout_in_seconds=timeout)
    assert mock_http.requests == {}
