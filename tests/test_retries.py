"""Which failures are retried, how many times, and how long apart.

Reads (get, update, delete) retry 425, 429, 5xx, timeouts and dropped connections;
create retries only what cannot have been processed (429, 425, a connection that
never opened) unless the caller opts in. ``max_attempts`` counts requests on the wire.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from support.aioresponses_compat import TOKEN, CompatAioresponses
from support.helpers import FAST, client_for
from support.servers import RawServer, answer, raw_client
from support.sessions import COLLECTION, ITEM, OPERATIONS, SESSION_ID, SESSION_JSON, attempts

from gr4vy_async import Gr4vy, RetryConfig, errors, retries
from gr4vy_async.retries import retry_after_seconds
from gr4vy_async.testing import FakeGr4vy, Fault
from gr4vy_async.testing.faults import error_body

# --------------------------------------------------------------------------- what is retried


@pytest.mark.parametrize("status", [425, 429, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_idempotent_methods_retry_then_succeed(
    client: Gr4vy, mock_http: CompatAioresponses, status: int, method: str
) -> None:
    mock_http.add(ITEM, method, status=status, body=error_body(429))
    mock_http.add(ITEM, method, status=status, body=error_body(429))
    mock_http.add(ITEM, method, status=200 if method != "DELETE" else 204, payload=SESSION_JSON)
    call = {op[1]: op[3] for op in OPERATIONS}[method]
    await call(client)
    assert attempts(mock_http, method, ITEM) == 3


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (asyncio.TimeoutError(), errors.RequestTimeoutError),
        (aiohttp.ServerDisconnectedError(), errors.ConnectError),
    ],
    ids=["timeout", "drop"],
)
async def test_get_retries_timeouts_and_drops_and_keeps_the_cause(
    client: Gr4vy, mock_http: CompatAioresponses, failure: Exception, expected: type[Exception]
) -> None:
    mock_http.get(ITEM, exception=failure, repeat=True)
    with pytest.raises(expected) as info:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.__cause__ is failure
    assert attempts(mock_http, "GET", ITEM) == 4


@pytest.mark.parametrize(("status", "tries"), [(429, 4), (425, 4), (500, 1), (502, 1), (504, 1)])
async def test_create_retries_only_what_cannot_have_been_processed(
    client: Gr4vy, mock_http: CompatAioresponses, status: int, tries: int
) -> None:
    mock_http.post(COLLECTION, status=status, body=error_body(status), repeat=True)
    with pytest.raises(errors.Gr4vyError):
        await client.checkout_sessions.create()
    assert attempts(mock_http, "POST", COLLECTION) == tries


async def test_create_retries_a_connection_that_never_opened(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("h", 443, True, True, None, None, None),
        ConnectionRefusedError(111, "refused"),
    )
    mock_http.post(COLLECTION, exception=refused)
    mock_http.post(COLLECTION, status=201, payload=SESSION_JSON)
    await client.checkout_sessions.create()
    assert attempts(mock_http, "POST", COLLECTION) == 2


@pytest.mark.parametrize(
    "failure", [asyncio.TimeoutError(), aiohttp.ServerDisconnectedError()], ids=["timeout", "drop"]
)
async def test_create_does_not_retry_what_may_have_been_processed(
    client: Gr4vy, mock_http: CompatAioresponses, failure: Exception
) -> None:
    mock_http.post(COLLECTION, exception=failure, repeat=True)
    with pytest.raises(errors.TransportError) as info:
        await client.checkout_sessions.create()
    assert info.value.__cause__ is failure
    assert attempts(mock_http, "POST", COLLECTION) == 1


async def test_create_retries_5xx_when_the_caller_opts_in(
    client: Gr4vy, mock_http: CompatAioresponses, fast_retries: RetryConfig
) -> None:
    mock_http.post(COLLECTION, status=500, body=error_body(500))
    mock_http.post(COLLECTION, status=201, payload=SESSION_JSON)
    opt_in = RetryConfig(initial_delay=0, max_delay=0, retry_unsafe_methods=True)
    session = await client.checkout_sessions.create(retries=opt_in)
    assert session.id == SESSION_ID
    assert attempts(mock_http, "POST", COLLECTION) == 2


async def test_retries_over_real_http_with_injected_faults(gr4vy_fake: FakeGr4vy) -> None:
    fast = RetryConfig(initial_delay=0, max_delay=0, retry_after_cap=0)
    async with client_for(gr4vy_fake, retries=fast) as client:
        session = await client.checkout_sessions.create()
        gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=2)
        assert (await client.checkout_sessions.get(session_id=session.id)).id == session.id
        gr4vy_fake.faults.enqueue("GET", Fault.drop())
        assert (await client.checkout_sessions.get(session_id=session.id)).id == session.id
        gr4vy_fake.faults.enqueue("POST", Fault.status(500))
        with pytest.raises(errors.Error500):
            await client.checkout_sessions.create()
    methods = [r.method for r in gr4vy_fake.requests]
    assert methods == ["POST", "GET", "GET", "GET", "GET", "GET", "POST"]


async def test_a_delete_whose_response_was_lost_is_retried_and_reports_404(
    gr4vy_fake: FakeGr4vy,
) -> None:
    fast = RetryConfig(initial_delay=0, max_delay=0)
    async with client_for(gr4vy_fake, retries=fast) as client:
        session = await client.checkout_sessions.create()
        gr4vy_fake.faults.enqueue("DELETE", Fault.drop(after=True))
        with pytest.raises(errors.Error404):
            await client.checkout_sessions.delete(session_id=session.id)
    assert [r.method for r in gr4vy_fake.requests] == ["POST", "DELETE", "DELETE"]


# --------------------------------------------------------------------------- how many times


async def test_exhausted_retries_raise_the_last_error_not_tenacity(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    mock_http.get(ITEM, status=503, body="busy", repeat=True)
    with pytest.raises(errors.APIError) as info:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.status_code == 503
    assert attempts(mock_http, "GET", ITEM) == RetryConfig().max_attempts


@pytest.mark.parametrize(("policy", "expected"), [(FAST, 4), (RetryConfig.none(), 1)])
@pytest.mark.parametrize("method", ["get", "update", "delete"])
async def test_max_attempts_counts_every_request_that_reaches_the_server(
    gr4vy_fake: FakeGr4vy, policy: RetryConfig, expected: int, method: str
) -> None:
    session = gr4vy_fake.create_session()
    gr4vy_fake.faults.rate("*", Fault.drop(), probability=1.0)
    call = getattr(raw_client(gr4vy_fake.url, retries=policy).checkout_sessions, method)
    client = call.__self__._transport
    try:
        with pytest.raises(errors.ConnectError) as info:
            await call(session_id=session.id)
    finally:
        await client.aclose()
    assert len(gr4vy_fake.requests) == expected
    assert info.value.attempts == expected


async def test_retries_none_disables_retrying(mock_http: CompatAioresponses) -> None:
    mock_http.get(ITEM, status=503, body="", repeat=True)
    async with Gr4vy(id="acme", bearer_auth=TOKEN) as client:
        with pytest.raises(errors.APIError):
            await client.checkout_sessions.get(session_id=SESSION_ID, retries=RetryConfig.none())
    assert attempts(mock_http, "GET", ITEM) == 1


async def test_per_call_retries_override_the_client_default(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    mock_http.get(ITEM, status=503, body="", repeat=True)
    policy = RetryConfig(max_attempts=2, initial_delay=0, max_delay=0)
    with pytest.raises(errors.APIError):
        await client.checkout_sessions.get(session_id=SESSION_ID, retries=policy)
    assert attempts(mock_http, "GET", ITEM) == 2


# --------------------------------------------------------------------------- how long apart


def test_backoff_grows_exponentially_with_jitter_under_the_ceiling() -> None:
    policy = RetryConfig(initial_delay=0.5, max_delay=3.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)]:
        waits = [policy.wait_seconds(None, attempt) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # jitter spreads over the whole range


@pytest.mark.parametrize(
    ("header", "expected"),
    [("2", 2.0), ("120", 30.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
async def test_retry_after_is_honoured_and_capped(
    mock_http: CompatAioresponses, monkeypatch: pytest.MonkeyPatch, header: str, expected: float
) -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(retries, "sleep", record)
    mock_http.get(ITEM, status=429, body=error_body(429), headers={"Retry-After": header})
    mock_http.get(ITEM, status=200, payload=SESSION_JSON)
    policy = RetryConfig(retry_after_cap=30.0)
    async with Gr4vy(id="acme", bearer_auth=TOKEN, retries=policy) as client:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert waits == [expected]


@pytest.mark.parametrize("value", ["²", "①", "٣", "1e3", "-1", "Mon, 99 Foo 2015 99:99:99 GMT"])
def test_retry_after_that_is_not_ascii_seconds_or_a_date_is_ignored(value: str) -> None:
    assert retry_after_seconds({"Retry-After": value}) is None


@pytest.mark.parametrize("value", ["²", "①"])
async def test_a_create_answered_429_with_an_odd_retry_after_raises_error429(value: str) -> None:
    async with (
        RawServer(answer(429, b"{}", **{"Retry-After": value})) as server,
        raw_client(server.url, retries=FAST) as client,
    ):
        with pytest.raises(errors.Error429) as info:
            await client.checkout_sessions.create()
    assert info.value.attempts == 4
    assert len(server.seen) == 4


async def test_retries_never_start_after_max_elapsed(
    mock_http: CompatAioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(retries, "sleep", record)
    mock_http.get(ITEM, status=429, body=error_body(429), headers={"Retry-After": "2"}, repeat=True)
    policy = RetryConfig(max_elapsed=0.5)
    async with Gr4vy(id="acme", bearer_auth=TOKEN, retries=policy) as client:
        with pytest.raises(errors.Error429):
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert waits == []  # a 2 s wait would end past max_elapsed: no retry at all
    assert attempts(mock_http, "GET", ITEM) == 1
