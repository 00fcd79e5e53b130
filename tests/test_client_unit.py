"""The client against mocked HTTP (aioresponses): statuses, retries, headers, bad input."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
import pytest
from _contract import operation
from support.aioresponses_compat import BASE_URL, TOKEN, CompatAioresponses
from yarl import URL

from gr4vy_async import Gr4vy, RetryConfig, errors, models, retries
from gr4vy_async.testing.faults import error_body
from gr4vy_async.testing.payloads import seed_create_body

SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
COLLECTION = f"{BASE_URL}/checkout/sessions"
ITEM = f"{COLLECTION}/{SESSION_ID}"
SESSION_JSON = {
    "type": "checkout-session",
    "id": SESSION_ID,
    "expires_at": "2030-07-16T19:23:00+00:00",
    "metadata": {"order_id": "order-12345"},
}

Call = Callable[[Gr4vy], Awaitable[Any]]

# Each operation: (name, HTTP method, URL, the call, spec path, success status).
OPERATIONS: list[tuple[str, str, str, Call, str, int]] = [
    (
        "create",
        "POST",
        COLLECTION,
        lambda c: c.checkout_sessions.create(request_body=seed_create_body()),
        "/checkout/sessions",
        201,
    ),
    (
        "get",
        "GET",
        ITEM,
        lambda c: c.checkout_sessions.get(session_id=SESSION_ID),
        "/checkout/sessions/{session_id}",
        200,
    ),
    (
        "update",
        "PUT",
        ITEM,
        lambda c: c.checkout_sessions.update(session_id=SESSION_ID, metadata={"k": "v"}),
        "/checkout/sessions/{session_id}",
        200,
    ),
    (
        "delete",
        "DELETE",
        ITEM,
        lambda c: c.checkout_sessions.delete(session_id=SESSION_ID),
        "/checkout/sessions/{session_id}",
        204,
    ),
]
OPERATION_IDS = [op[0] for op in OPERATIONS]


def attempts(mock: CompatAioresponses, method: str, url: str) -> int:
    return len(mock.requests.get((method, URL(url)), []))


# --------------------------------------------------------------------------- success


@pytest.mark.parametrize(
    ("name", "method", "url", "call", "path", "ok"), OPERATIONS, ids=OPERATION_IDS
)
async def test_success_returns_typed_struct(
    client: Gr4vy,
    mock_http: CompatAioresponses,
    name: str,
    method: str,
    url: str,
    call: Call,
    path: str,
    ok: int,
) -> None:
    mock_http.add(url, method, status=ok, payload=None if ok == 204 else SESSION_JSON)
    result = await call(client)
    if ok == 204:
        assert result is None
    else:
        assert isinstance(result, models.CheckoutSession)
        assert result.id == SESSION_ID
        assert result.metadata == {"order_id": "order-12345"}
    assert attempts(mock_http, method, url) == 1


# --------------------------------------------------------------------------- errors

SEED_ERROR_STATUSES = sorted(errors.ERRORS_BY_STATUS)


def test_the_table_covers_every_documented_status_of_every_operation() -> None:
    for _, method, _, _, path, ok in OPERATIONS:
        documented = {int(s) for s in operation(path, method.lower())["responses"]} - {ok}
        assert documented == set(SEED_ERROR_STATUSES)


@pytest.mark.parametrize("status", SEED_ERROR_STATUSES)
@pytest.mark.parametrize(
    ("name", "method", "url", "call", "path", "ok"), OPERATIONS, ids=OPERATION_IDS
)
async def test_each_documented_status_raises_its_class(
    mock_http: CompatAioresponses,
    status: int,
    name: str,
    method: str,
    url: str,
    call: Call,
    path: str,
    ok: int,
) -> None:
    mock_http.add(
        url,
        method,
        status=status,
        body=error_body(status),
        headers={"x-request-id": "req-1"},
        repeat=True,
    )
    async with Gr4vy(id="acme", bearer_auth=TOKEN, retries=RetryConfig.none()) as client:
        with pytest.raises(errors.Gr4vyError) as info:
            await call(client)
    error = info.value
    assert type(error) is errors.ERRORS_BY_STATUS[status]
    assert error.status_code == status
    assert isinstance(error.data, error.model)
    assert error.request_id == "req-1"
    assert (error.method, error.url) == (method, url)
    assert json.loads(error.body) == json.loads(error_body(status))
    assert str(error).startswith(f"{status} ")
    assert f"({method} {url})" in str(error)
    assert attempts(mock_http, method, url) == 1


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Invalid credentials", errors.Error403Forbidden),
        ("The resource could not be removed as it is currently active", errors.Error403Active),
        ("Generic error", errors.Error403),
    ],
)
async def test_403_variants_are_picked_from_the_body(
    client: Gr4vy, mock_http: CompatAioresponses, message: str, expected: type[errors.Error403]
) -> None:
    mock_http.delete(ITEM, status=403, body=error_body(403, message))
    with pytest.raises(errors.Error403) as info:
        await client.checkout_sessions.delete(session_id=SESSION_ID)
    assert type(info.value) is expected
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (418, error_body(400).decode(), "application/json", errors.APIError),  # undocumented
        (502, "<html><body>Bad gateway</body></html>", "text/html", errors.Error502),  # proxy page
        (404, "", "application/json", errors.Error404),  # empty
        (400, '{"type": "error", "code": "bad', "application/json", errors.Error400),  # truncated
    ],
)
async def test_undocumented_responses_raise_the_class_of_their_status(
    mock_http: CompatAioresponses,
    status: int,
    body: str,
    content_type: str,
    expected: type[errors.Gr4vyError],
) -> None:
    mock_http.get(ITEM, status=status, body=body, content_type=content_type)
    async with Gr4vy(id="acme", bearer_auth=TOKEN, retries=RetryConfig.none()) as client:
        with pytest.raises(errors.Gr4vyError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert type(info.value) is expected
    assert info.value.status_code == status
    assert info.value.body == body
    assert info.value.data is None
    assert str(info.value).startswith(f"{status}: undocumented response body")


async def test_status_is_mapped_by_http_status_not_the_body(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    mock_http.get(ITEM, status=404, payload={**json.loads(error_body(404)), "status": 500})
    with pytest.raises(errors.Error404):
        await client.checkout_sessions.get(session_id=SESSION_ID)


async def test_success_body_that_does_not_decode_raises_response_validation_error(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    mock_http.get(ITEM, status=200, payload={"id": SESSION_ID})  # no expires_at
    with pytest.raises(errors.ResponseValidationError, match="expires_at") as info:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.status_code == 200
    assert isinstance(info.value.__cause__, msgspec.ValidationError)


async def test_error_text_never_holds_the_token_or_request_body(
    mock_http: CompatAioresponses,
) -> None:
    mock_http.post(COLLECTION, status=400, body=error_body(400, "bad request"))
    mock_http.post(COLLECTION, status=503, body="john@example.com", content_type="text/plain")
    mock_http.post(COLLECTION, exception=aiohttp.ClientOSError(104, "reset"))
    async with Gr4vy(id="acme", bearer_auth=TOKEN, retries=RetryConfig.none()) as client:
        for _ in range(3):
            with pytest.raises(errors.Gr4vyError) as info:
                await client.checkout_sessions.create(request_body=seed_create_body())
            text = str(info.value) + repr(info.value) + repr(client)
            for secret in (TOKEN, "john@example.com", "Stafford", "+1234567890"):
                assert secret not in text


# --------------------------------------------------------------------------- retries


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


async def test_exhausted_retries_raise_the_last_error_not_tenacity(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    mock_http.get(ITEM, status=503, body="busy", repeat=True)
    with pytest.raises(errors.APIError) as info:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.status_code == 503
    assert attempts(mock_http, "GET", ITEM) == RetryConfig().max_attempts


@pytest.mark.parametrize(("status", "tries"), [(429, 4), (425, 4), (500, 1), (502, 1), (504, 1)])
async def test_create_retries_only_what_cannot_have_been_processed(
    client: Gr4vy, mock_http: CompatAioresponses, status: int, tries: int
) -> None:
    mock_http.post(COLLECTION, status=status, body=error_body(status), repeat=True)
    with pytest.raises(errors.Gr4vyError):
        await client.checkout_sessions.create()
    assert attempts(mock_http, "POST", COLLECTION) == tries


async def test_create_retries_5xx_when_the_caller_opts_in(
    client: Gr4vy, mock_http: CompatAioresponses, fast_retries: RetryConfig
) -> None:
    mock_http.post(COLLECTION, status=500, body=error_body(500))
    mock_http.post(COLLECTION, status=201, payload=SESSION_JSON)
    opt_in = RetryConfig(initial_delay=0, max_delay=0, retry_unsafe_methods=True)
    session = await client.checkout_sessions.create(retries=opt_in)
    assert session.id == SESSION_ID
    assert attempts(mock_http, "POST", COLLECTION) == 2


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

    monkeypatch.setattr(retries, "_sleep", record)
    mock_http.get(ITEM, status=429, body=error_body(429), headers={"Retry-After": header})
    mock_http.get(ITEM, status=200, payload=SESSION_JSON)
    policy = RetryConfig(retry_after_cap=30.0)
    async with Gr4vy(id="acme", bearer_auth=TOKEN, retries=policy) as client:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert waits == [expected]


def test_backoff_grows_exponentially_with_jitter_under_the_ceiling() -> None:
    policy = RetryConfig(initial_delay=0.5, max_delay=3.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)]:
        waits = [policy.wait_seconds(None, attempt) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # jitter spreads over the whole range


async def test_timeout_in_seconds_bounds_one_call(mock_http: CompatAioresponses) -> None:
    seen: list[aiohttp.ClientTimeout] = []

    def callback(url: URL, **kwargs: Any) -> None:
        seen.append(kwargs["timeout"])

    mock_http.get(ITEM, status=200, payload=SESSION_JSON, callback=callback, repeat=True)
    async with Gr4vy(id="acme", bearer_auth=TOKEN, timeout_in_seconds=7) as client:
        await client.checkout_sessions.get(session_id=SESSION_ID)
        await client.checkout_sessions.get(session_id=SESSION_ID, timeout_in_seconds=0.5)
    assert [t.total for t in seen] == [7, 0.5]


# --------------------------------------------------------------------------- headers and auth


async def test_headers_user_agent_merchant_and_token(mock_http: CompatAioresponses) -> None:
    mock_http.get(ITEM, status=200, payload=SESSION_JSON, repeat=True)
    calls = 0

    async def token() -> str:
        nonlocal calls
        calls += 1
        return f"token-{calls}"

    async with Gr4vy(
        id="acme", bearer_auth=token, merchant_account_id="default", headers={"X-Extra": "1"}
    ) as client:
        await client.checkout_sessions.get(session_id=SESSION_ID)
        await client.checkout_sessions.get(session_id=SESSION_ID, merchant_account_id="other")
        await client.checkout_sessions.get(session_id=SESSION_ID, merchant_account_id=None)
    sent = [call.kwargs["headers"] for call in mock_http.requests[("GET", URL(ITEM))]]
    assert [h["Authorization"] for h in sent] == [
        "Bearer token-1",
        "Bearer token-2",
        "Bearer token-3",
    ]
    assert [h.get("x-gr4vy-merchant-account-id") for h in sent] == ["default", "other", None]
    assert all(re.fullmatch(r"gr4vy-async/\d+\.\d+\.\d+.*", h["User-Agent"]) for h in sent)
    assert all(h["X-Extra"] == "1" for h in sent)


async def test_sync_token_provider(mock_http: CompatAioresponses) -> None:
    mock_http.get(ITEM, status=200, payload=SESSION_JSON)
    async with Gr4vy(id="acme", bearer_auth=lambda: "sync-token") as client:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    (call,) = mock_http.requests[("GET", URL(ITEM))]
    assert call.kwargs["headers"]["Authorization"] == "Bearer sync-token"


async def test_update_sends_only_what_was_given_and_null_to_clear(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    mock_http.put(ITEM, status=200, payload=SESSION_JSON)
    await client.checkout_sessions.update(
        session_id=SESSION_ID,
        cart_items=[
            {
                "name": "x",
                "quantity": 1,
                "unit_amount": 5,
                "product_type": models.ProductType.DIGITAL,
            }
        ],
        buyer=None,
    )
    (call,) = mock_http.requests[("PUT", URL(ITEM))]
    assert json.loads(call.kwargs["data"]) == {
        "cart_items": [{"name": "x", "quantity": 1, "unit_amount": 5, "product_type": "digital"}],
        "buyer": None,
    }
    assert call.kwargs["headers"]["Content-Type"] == "application/json"


# --------------------------------------------------------------------------- bad input, no I/O


@pytest.mark.parametrize(
    "session_id", ["../x", "4137b1cf", "", "4137b1cf-39ac-42a8-bad6-1c680d5dab6b/../../admin"]
)
async def test_bad_session_ids_fail_before_any_request(
    client: Gr4vy, mock_http: CompatAioresponses, session_id: str
) -> None:
    for call in (client.checkout_sessions.get, client.checkout_sessions.delete):
        with pytest.raises(errors.InvalidRequestError, match=r"^session_id: expected a UUID"):
            await call(session_id=session_id)
    assert mock_http.requests == {}


async def test_uuid_objects_and_uppercase_ids_are_accepted(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    import uuid

    mock_http.get(ITEM, status=200, payload=SESSION_JSON, repeat=True)
    await client.checkout_sessions.get(session_id=uuid.UUID(SESSION_ID))
    await client.checkout_sessions.get(session_id=SESSION_ID.upper())
    assert attempts(mock_http, "GET", ITEM) == 2


async def test_bad_bodies_fail_before_any_request(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    with pytest.raises(errors.InvalidRequestError, match=r"^cart_items\[0\]\.quantity: "):
        await client.checkout_sessions.update(
            session_id=SESSION_ID, cart_items=[{"name": "x", "quantity": 0, "unit_amount": 1}]
        )
    with pytest.raises(errors.InvalidRequestError, match=r"^expires_in: "):
        await client.checkout_sessions.create(request_body={"expires_in": 10})
    assert mock_http.requests == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"server": "staging"}, "unknown server"),
        ({"id": "acme.evil.com"}, "not a Gr4vy instance id"),
        ({"server_url": "http://api.example.com"}, "plain http is only allowed to loopback"),
        ({"server_url": "ftp://127.0.0.1"}, "absolute http"),
        ({"server_url": "https://user:pw@api.example.com"}, "credentials"),
        ({"timeout_in_seconds": 0}, "timeout_in_seconds"),
    ],
)
def test_bad_configuration_fails_when_the_client_is_made(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(errors.InvalidRequestError, match=message):
        Gr4vy(bearer_auth=TOKEN, **kwargs)


def test_empty_token_fails_when_the_client_is_made() -> None:
    with pytest.raises(errors.InvalidRequestError, match="bearer_auth"):
        Gr4vy(bearer_auth="")


@pytest.mark.parametrize(
    ("kwargs", "url"),
    [
        ({"id": "acme"}, "https://api.sandbox.acme.gr4vy.app"),
        ({"id": "acme", "server": "production"}, "https://api.acme.gr4vy.app"),
        ({"server_url": "http://127.0.0.1:8080/"}, "http://127.0.0.1:8080"),
        ({"server_url": "http://[::1]:8080"}, "http://[::1]:8080"),
        ({"server_url": "http://localhost:1"}, "http://localhost:1"),
        (
            {"server_url": "http://gr4vy.internal", "allow_insecure_http": True},
            "http://gr4vy.internal",
        ),
        ({}, "https://api.sandbox.example.gr4vy.app"),
    ],
)
def test_server_urls(kwargs: dict[str, Any], url: str) -> None:
    assert Gr4vy(bearer_auth=TOKEN, **kwargs).server_url == url


async def test_a_request_after_close_is_a_clear_error(mock_http: CompatAioresponses) -> None:
    client = Gr4vy(id="acme", bearer_auth=TOKEN)
    async with client:
        pass
    await client.aclose()  # closing twice is harmless
    with pytest.raises(errors.ClientClosedError, match="closed"):
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert mock_http.requests == {}


# --------------------------------------------------- edges: retry budget, timeouts, bodies, headers


async def test_retries_never_start_after_max_elapsed(
    mock_http: CompatAioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(retries, "_sleep", record)
    mock_http.get(ITEM, status=429, body=error_body(429), headers={"Retry-After": "2"}, repeat=True)
    policy = RetryConfig(max_elapsed=0.5)
    async with Gr4vy(id="acme", bearer_auth=TOKEN, retries=policy) as client:
        with pytest.raises(errors.Error429):
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert waits == []  # a 2 s wait would end past max_elapsed: no retry at all
    assert attempts(mock_http, "GET", ITEM) == 1


@pytest.mark.parametrize("timeout", [0, -1])
async def test_a_per_call_timeout_must_be_positive(
    client: Gr4vy, mock_http: CompatAioresponses, timeout: float
) -> None:
    with pytest.raises(errors.InvalidRequestError, match="timeout_in_seconds"):
        await client.checkout_sessions.get(session_id=SESSION_ID, timeout_in_seconds=timeout)
    assert mock_http.requests == {}


@pytest.mark.parametrize(
    ("status", "body", "expected", "parsed"),
    [
        (404, {"detail": "Not Found"}, errors.Error404, True),
        (500, {}, errors.Error500, True),
        (422, {"type": "error"}, errors.HTTPValidationError, True),
        (400, [1, 2], errors.Error400, False),
    ],
)
async def test_json_that_is_not_the_documented_error_body_keeps_the_status_class(
    mock_http: CompatAioresponses,
    status: int,
    body: Any,
    expected: type[errors.Gr4vyError],
    parsed: bool,
) -> None:
    mock_http.get(ITEM, status=status, body=json.dumps(body))
    async with Gr4vy(id="acme", bearer_auth=TOKEN, retries=RetryConfig.none()) as client:
        with pytest.raises(errors.Gr4vyError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert type(info.value) is expected
    assert (info.value.data is not None) is parsed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"merchant_account_id": "acme\r\nX-Evil: 1"},
        {"bearer_auth": "tok\nen"},
        {"headers": {"X-Trace": "a\x00b"}},
    ],
)
def test_header_values_with_line_breaks_fail_when_the_client_is_made(
    kwargs: dict[str, Any],
) -> None:
    with pytest.raises(errors.InvalidRequestError, match="control character") as info:
        Gr4vy(**{"bearer_auth": TOKEN, **kwargs})
    assert "Evil" not in str(info.value)
    assert "tok\nen" not in str(info.value)


async def test_header_values_with_line_breaks_fail_per_call(
    mock_http: CompatAioresponses,
) -> None:
    async with Gr4vy(id="acme", bearer_auth=lambda: "bad\rtoken") as client:
        with pytest.raises(errors.InvalidRequestError, match="bearer_auth"):
            await client.checkout_sessions.get(session_id=SESSION_ID)
    async with Gr4vy(id="acme", bearer_auth=TOKEN) as client:
        with pytest.raises(errors.InvalidRequestError, match="merchant_account_id"):
            await client.checkout_sessions.get(session_id=SESSION_ID, merchant_account_id="a\nb")
    assert mock_http.requests == {}
