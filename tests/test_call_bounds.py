"""What a call waits on, and how it ends (issue 19, items 5, 7 and 8).

- ``aclose()`` ends every waiting or in-flight call with ``ClientClosedError``;
  only the caller's own cancellation is a ``CancelledError``.
- The attempt timeout bounds the token provider, the hooks and the wait for
  a pooled connection, not only the request.
- A token is taken once a connection is free, so a long wait for one never
  sends an expired token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from support.helpers import client_for, public_pem
from support.servers import RawServer, json_response, raw_client
from support.sessions import SESSION, SESSION_ID

from gr4vy_async import Gr4vy, RetryConfig, errors
from gr4vy_async.auth import with_token
from gr4vy_async.hooks import RequestInfo
from gr4vy_async.testing import FakeGr4vy, Fault

#: How long a test waits for something that must happen far sooner (not a speed assert).
PATIENCE = 10.0


class _Held:
    """A server handler that holds every request until released."""

    def __init__(self) -> None:
        self.arrived = 0
        self.release = asyncio.Event()
        self._changed = asyncio.Condition()

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        async with self._changed:
            self.arrived += 1
            self._changed.notify_all()
        await self.release.wait()
        return json_response(200, SESSION)

    async def until(self, count: int) -> None:
        """Wait until ``count`` requests arrived (failing after PATIENCE seconds)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.arrived >= count), PATIENCE)


# --------------------------------------------------------------------------- item 5: aclose


async def test_aclose_ends_waiting_and_in_flight_calls_with_client_closed_error() -> None:
    held = _Held()
    async with RawServer(held) as server:
        client = raw_client(server.url, max_connections=100)
        calls = [
            asyncio.ensure_future(client.checkout_sessions.get(session_id=SESSION_ID))
            for _ in range(300)
        ]
        try:
            await held.until(100)
            await client.aclose()
            results = await asyncio.gather(*calls, return_exceptions=True)
        finally:
            held.release.set()
    kinds = {type(result).__name__ for result in results}
    assert kinds == {"ClientClosedError"}, kinds
    assert held.arrived == 100


async def test_the_callers_own_cancellation_stays_a_cancelled_error_at_aclose() -> None:
    held = _Held()
    async with RawServer(held) as server:
        client = raw_client(server.url, max_connections=1)
        first = asyncio.ensure_future(client.checkout_sessions.get(session_id=SESSION_ID))
        waiting = asyncio.ensure_future(client.checkout_sessions.get(session_id=SESSION_ID))
        try:
            await held.until(1)
            waiting.cancel()
            await client.aclose()
            results = await asyncio.gather(first, waiting, return_exceptions=True)
        finally:
            held.release.set()
    assert isinstance(results[0], errors.ClientClosedError)
    assert isinstance(results[1], asyncio.CancelledError)


async def test_a_call_after_aclose_is_refused_with_client_closed_error() -> None:
    held = _Held()
    held.release.set()
    async with RawServer(held) as server:
        client = raw_client(server.url)
        await client.checkout_sessions.get(session_id=SESSION_ID)
        await client.aclose()
        with pytest.raises(errors.ClientClosedError):
            await client.checkout_sessions.get(session_id=SESSION_ID)


# --------------------------------------------------------------------------- item 7: bounds


async def _never() -> None:
    await asyncio.Event().wait()


async def _stalled_provider() -> str:
    await _never()
    raise AssertionError("unreachable")


def _stalled_hook(*args: object) -> Awaitable[None]:
    return _never()


BOUNDED = RetryConfig(max_attempts=3, initial_delay=0, max_delay=0, max_elapsed=0.3)


async def _outcome(client: Gr4vy, session_id: str = SESSION_ID) -> BaseException:
    """What the call raised; a call still waiting after PATIENCE seconds fails the test."""
    call = client.checkout_sessions.get(session_id=session_id)
    try:
        await asyncio.wait_for(call, PATIENCE)
    except asyncio.TimeoutError:  # not TimeoutError before Python 3.11
        pytest.fail(f"the call was still waiting after {PATIENCE} s")
    except BaseException as error:
        return error
    pytest.fail("the call did not fail")


async def test_a_token_provider_that_never_returns_is_bounded_by_the_timeout(
    gr4vy_fake: FakeGr4vy,
) -> None:
    async with client_for(
        gr4vy_fake, bearer_auth=_stalled_provider, timeout_in_seconds=0.1, retries=BOUNDED
    ) as client:
        error = await _outcome(client)
    assert isinstance(error, errors.TokenProviderError)
    assert "did not return within 0.1 s" in str(error)
    assert gr4vy_fake.requests == []


@pytest.mark.parametrize("moment", ["before_request", "after_success", "after_error"])
async def test_a_hook_that_never_returns_is_bounded_by_the_timeout(
    gr4vy_fake: FakeGr4vy, moment: str
) -> None:
    session = gr4vy_fake.create_session()
    if moment == "after_error":
        gr4vy_fake.faults.enqueue("GET", Fault.status(500))
    async with client_for(gr4vy_fake, timeout_in_seconds=0.1, retries=BOUNDED) as client:
        getattr(client.hooks, f"register_{moment}_hook")(_stalled_hook)
        error = await _outcome(client, session.id)
    assert isinstance(error, errors.HookTimeoutError)
    assert f"{moment} hook did not return within 0.1 s" in str(error)
    # Not retried: the request may have been answered (a delete done).
    assert len(gr4vy_fake.requests) == (0 if moment == "before_request" else 1)


async def test_the_wait_for_a_pooled_connection_is_bounded_by_the_timeout() -> None:
    held = _Held()
    async with RawServer(held) as server:
        client = raw_client(server.url, max_connections=1, timeout_in_seconds=5)
        first = asyncio.ensure_future(client.checkout_sessions.get(session_id=SESSION_ID))
        try:
            await held.until(1)
            with pytest.raises(errors.RequestTimeoutError):
                await client.checkout_sessions.get(session_id=SESSION_ID, timeout_in_seconds=0.1)
        finally:
            held.release.set()
            await first
            await client.aclose()
    assert held.arrived == 1


async def test_every_attempt_waits_on_its_provider_within_its_own_bound(
    gr4vy_fake: FakeGr4vy,
) -> None:
    calls: list[RequestInfo] = []

    async def slow_once() -> str:
        if not calls:
            calls.append(RequestInfo("GET", "", {}, 1))
            await _never()
        return "token"

    retries = RetryConfig(max_attempts=2, initial_delay=0, max_delay=0, max_elapsed=5)
    async with client_for(
        gr4vy_fake, bearer_auth=slow_once, timeout_in_seconds=0.1, retries=retries
    ) as client:
        error = await _outcome(client)
    assert isinstance(error, errors.TokenProviderError)
    assert gr4vy_fake.requests == []  # a provider that stalled is not asked again


# --------------------------------------------------------------------------- item 8: tokens


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP521R1())


async def test_no_token_expires_while_its_request_waits_for_a_connection(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    # Issue 19's shape (expires_in=3, refresh_margin=1, 3,000 gets on 50
    # connections) scaled down: tokens live 1-2 s, the queue takes about
    # 2.5 s to drain, and the default timeout (30 s) is longer than both.
    async with FakeGr4vy(public_key=public_pem(key)) as fake:
        session = fake.create_session()
        fake.faults.enqueue("GET", Fault.latency(0.05), times=250)
        provider = with_token(key, expires_in=2, refresh_margin=1)
        async with client_for(fake, bearer_auth=provider, max_connections=5) as client:
            results: list[Any] = await asyncio.gather(
                *(client.checkout_sessions.get(session_id=session.id) for _ in range(250)),
                return_exceptions=True,
            )
    failed = [type(result).__name__ for result in results if isinstance(result, BaseException)]
    assert failed == []


async def test_a_request_that_times_out_keeps_its_error_though_an_async_after_error_hook_waits(
    gr4vy_fake: FakeGr4vy,
) -> None:
    seen: list[str] = []

    async def exporter(request: RequestInfo, response: object, error: Exception) -> None:
        await asyncio.sleep(0.05)  # an exporter's I/O, after the attempt's time ran out
        seen.append(type(error).__name__)

    session = gr4vy_fake.create_session()
    gr4vy_fake.faults.enqueue("GET", Fault.latency(2))
    async with client_for(gr4vy_fake, timeout_in_seconds=0.1, retries=RetryConfig.none()) as client:
        client.hooks.register_after_error_hook(exporter)
        error = await _outcome(client, session.id)
    assert isinstance(error, errors.RequestTimeoutError)
    assert isinstance(error.__cause__, asyncio.TimeoutError)
