"""Hostile upstreams and bad input: typed errors, bounded memory, no hidden resends (issue 12)."""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from _servers import RawServer, json_response
from aiohttp import web

from gr4vy_async import Gr4vy, RetryConfig, errors, models
from gr4vy_async.errors import BODY_PREFIX_LIMIT
from gr4vy_async.retries import retry_after_seconds
from gr4vy_async.testing import FakeGr4vy, Fault

SESSION_ID = str(uuid.uuid4())
TOKEN = "tok_live_do_not_leak_0123456789"
FAST = RetryConfig(initial_delay=0, max_delay=0, retry_after_cap=0)
SESSION = json.dumps(
    {"type": "checkout-session", "id": SESSION_ID, "expires_at": "2030-01-01T00:00:00Z"}
).encode()


def client_for(url: str, **kwargs: Any) -> Gr4vy:
    kwargs.setdefault("retries", RetryConfig.none())
    return Gr4vy(server_url=url, bearer_auth=kwargs.pop("bearer_auth", TOKEN), **kwargs)


def answer(status: int, body: bytes, **headers: str) -> Callable[[web.Request], Awaitable[Any]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response(status, body, **headers)

    return handler


# ---------------------------------------------------------------- bounded bodies


async def test_a_body_over_the_cap_stops_being_read_and_says_so() -> None:
    sent: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b" " * 65536
        try:
            for _ in range(2048):  # 128 MiB if nobody stops reading
                await response.write(chunk)
                sent.append(len(chunk))
        except (ConnectionError, RuntimeError):
            pass
        return response

    async with RawServer(endless) as server, client_for(server.url) as client:
        with pytest.raises(errors.ResponseTooLargeError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.status_code == 200
    assert "max_response_bytes=4194304" in str(info.value)
    assert sum(sent) < 64 * 1024 * 1024  # the server was cut off long before the end


async def test_the_cap_is_configurable_and_a_declared_length_over_it_is_refused() -> None:
    body = b'{"type": "checkout-session", "pad": "' + b"x" * 5000 + b'"}'
    async with (
        RawServer(answer(200, body)) as server,
        client_for(server.url, max_response_bytes=1024) as client,
    ):
        with pytest.raises(errors.ResponseTooLargeError, match="max_response_bytes=1024"):
            await client.checkout_sessions.get(session_id=SESSION_ID)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1"])
def test_max_response_bytes_must_be_a_positive_integer(value: Any) -> None:
    with pytest.raises(errors.InvalidRequestError, match="max_response_bytes"):
        Gr4vy(bearer_auth=TOKEN, max_response_bytes=value)


async def test_a_gzip_bomb_counts_its_decompressed_size() -> None:
    bomb = gzip.compress(b"0" * (16 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 64 * 1024
    async with (
        RawServer(answer(404, bomb, **{"Content-Encoding": "gzip"})) as server,
        client_for(server.url, max_response_bytes=1024 * 1024) as client,
    ):
        with pytest.raises(errors.ResponseTooLargeError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.status_code == 404
    assert info.value.body == ""


async def test_an_error_keeps_only_a_bounded_prefix_of_the_body() -> None:
    body = b"<html>" + b"A" * (1024 * 1024) + b"</html>"
    async with (
        RawServer(answer(502, body, **{"Content-Type": "text/html"})) as server,
        client_for(server.url) as client,
    ):
        with pytest.raises(errors.Error502) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert len(info.value.body) == BODY_PREFIX_LIMIT
    assert info.value.body.startswith("<html>AAA")


# ---------------------------------------------------------------- only typed errors escape


DEEP_200 = (
    b'{"type": "checkout-session", "id": "'
    + SESSION_ID.encode()
    + b'", "unknown": '
    + b"[" * 1000
    + b"]" * 1000
    + b"}"
)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, DEEP_200, (errors.ResponseValidationError, models.CheckoutSession)),
        (200, b"[" * 100_000 + b"]" * 100_000, (errors.ResponseValidationError,)),
        (404, b"[" * 100_000 + b"]" * 100_000, (errors.Error404,)),
        (500, b'{"type": "error", "message": "x\xff\xfe"}', (errors.Error500,)),
        (200, b'{"type": "checkout-session", "id": "\xff\xfe"}', (errors.ResponseValidationError,)),
    ],
)
async def test_deep_or_broken_json_never_escapes_as_a_plain_exception(
    status: int, body: bytes, expected: tuple[type, ...]
) -> None:
    async with RawServer(answer(status, body)) as server, client_for(server.url) as client:
        try:
            result: object = await client.checkout_sessions.get(session_id=SESSION_ID)
        except errors.Gr4vyError as error:
            result = error
    assert isinstance(result, expected), repr(result)


@pytest.mark.parametrize("value", ["²", "①", "٣", "1e3", "-1", "Mon, 99 Foo 2015 99:99:99 GMT"])
def test_retry_after_that_is_not_ascii_seconds_or_a_date_is_ignored(value: str) -> None:
    assert retry_after_seconds({"Retry-After": value}) is None


@pytest.mark.parametrize("value", ["²", "①"])
async def test_a_create_answered_429_with_an_odd_retry_after_raises_error429(value: str) -> None:
    async with (
        RawServer(answer(429, b"{}", **{"Retry-After": value})) as server,
        client_for(server.url, retries=FAST) as client,
    ):
        with pytest.raises(errors.Error429) as info:
            await client.checkout_sessions.create()
    assert info.value.attempts == 4
    assert len(server.seen) == 4


@pytest.mark.parametrize(
    "failure", [ValueError("vault down"), TimeoutError(), KeyError("kid"), OSError(5, "io")]
)
async def test_a_token_provider_failure_is_a_gr4vy_error_with_the_original_as_cause(
    failure: Exception,
) -> None:
    async def provider() -> str:
        raise failure

    async with (
        RawServer(answer(200, SESSION)) as server,
        client_for(server.url, bearer_auth=provider) as client,
    ):
        with pytest.raises(errors.TokenProviderError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.__cause__ is failure
    assert not isinstance(info.value, errors.RequestTimeoutError)
    assert server.seen == []


async def test_every_attempt_asks_the_provider_for_its_token() -> None:
    tokens = iter(f"token-{n}" for n in range(10))
    statuses = iter([503, 429, 200])

    async def flaky(request: web.Request) -> web.StreamResponse:
        status = next(statuses)
        return json_response(status, SESSION if status == 200 else b"{}")

    async with (
        RawServer(flaky) as server,
        client_for(server.url, bearer_auth=lambda: next(tokens), retries=FAST) as client,
    ):
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert [seen.headers["Authorization"] for seen in server.seen] == [
        "Bearer token-0",
        "Bearer token-1",
        "Bearer token-2",
    ]


# ---------------------------------------------------------------- max_attempts counts the wire


@pytest.mark.parametrize(("policy", "expected"), [(FAST, 4), (RetryConfig.none(), 1)])
@pytest.mark.parametrize("method", ["get", "update", "delete"])
async def test_max_attempts_counts_every_request_that_reaches_the_server(
    gr4vy_fake: FakeGr4vy, policy: RetryConfig, expected: int, method: str
) -> None:
    session = gr4vy_fake.create_session()
    gr4vy_fake.faults.rate("*", Fault.drop(), probability=1.0)
    call = getattr(client_for(gr4vy_fake.url, retries=policy).checkout_sessions, method)
    client = call.__self__._transport
    try:
        with pytest.raises(errors.ConnectError) as info:
            await call(session_id=session.id)
    finally:
        await client.aclose()
    assert len(gr4vy_fake.requests) == expected
    assert info.value.attempts == expected


# ---------------------------------------------------------------- class by status


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (404, b"{}", "application/json", errors.Error404),
        (404, b"Not Found", "text/plain", errors.Error404),
        (404, b"<html><h1>404</h1></html>", "text/html", errors.Error404),
        (429, b"slow down", "text/plain", errors.Error429),
        (422, b"{}", "application/json", errors.HTTPValidationError),
        (403, b"", "application/json", errors.Error403),
        (400, b"null", "application/json", errors.Error400),
    ],
)
async def test_the_error_class_follows_the_status_whatever_the_body(
    status: int, body: bytes, content_type: str, expected: type[errors.Gr4vyError]
) -> None:
    handler = answer(status, body, **{"Content-Type": content_type})
    async with RawServer(handler) as server, client_for(server.url) as client:
        with pytest.raises(errors.Gr4vyError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert type(info.value) is expected
    assert info.value.status_code == status


async def test_an_empty_json_object_is_parsed_into_data() -> None:
    async with RawServer(answer(404, b"{}")) as server, client_for(server.url) as client:
        with pytest.raises(errors.Error404) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert isinstance(info.value.data, models.Error404)


# ---------------------------------------------------------------- header checks, before I/O


BAD_NAMES = ["X-A: injected", "", "X A", "X-\x01", "Ünïcode", "X(A)"]
BAD_VALUES = ["a\x01b", "a\x0bb", "a\x1bb", "a\x7fb", "a\rb", "a\nb", "a\x00b"]
NOT_STRINGS = [1, None, b"bytes", 1.5]


async def test_bad_header_input_never_opens_a_connection() -> None:
    bad_client_options: list[dict[str, Any]] = [
        *({"headers": {name: "v"}} for name in BAD_NAMES),
        *({"headers": {"X-Trace": value}} for value in BAD_VALUES + NOT_STRINGS),
        *({"merchant_account_id": value} for value in BAD_VALUES),
        *({"bearer_auth": value} for value in BAD_VALUES),
    ]
    for options in bad_client_options:
        with pytest.raises(errors.InvalidRequestError):
            Gr4vy(**{"server_url": "http://127.0.0.1:9", "bearer_auth": TOKEN, **options})

    async with RawServer(answer(200, SESSION)) as server, client_for(server.url) as client:
        transport = client._transport
        path = f"/checkout/sessions/{SESSION_ID}"
        for headers in [
            *({name: "v"} for name in BAD_NAMES),
            *({"X-Trace": value} for value in BAD_VALUES + NOT_STRINGS),
            {"Authorization": "Bearer other"},
            {"X-GR4VY-Merchant-Account-Id": "other"},
        ]:
            with pytest.raises(errors.InvalidRequestError):
                await transport.request("GET", path, response_type=None, headers=headers)  # type: ignore[call-overload]
        for value in BAD_VALUES:
            with pytest.raises(errors.InvalidRequestError):
                await client.checkout_sessions.get(session_id=SESSION_ID, merchant_account_id=value)
        for token in [*BAD_VALUES, "", 42]:
            provider_client = client_for(server.url, bearer_auth=lambda token=token: token)
            async with provider_client:
                with pytest.raises(errors.InvalidRequestError):
                    await provider_client.checkout_sessions.get(session_id=SESSION_ID)
        assert server.seen == []
        # A tab is allowed inside a value; per-call headers override the client's.
        await transport.request(
            "GET", path, response_type=None, headers={"X-Trace": "a\tb", "accept": "*/*"}
        )
    assert server.seen[-1].headers["X-Trace"] == "a\tb"
    assert server.seen[-1].headers["Accept"] == "*/*"


# ---------------------------------------------------------------- timeouts


# None is "the default" on the client and "the client's" per call: not bad.
BAD_TIMEOUTS = ["5", math.inf, -math.inf, math.nan, True, False, 0, -1, [1]]


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
def test_the_client_timeout_must_be_a_finite_positive_number(value: Any) -> None:
    with pytest.raises(errors.InvalidRequestError, match="timeout_in_seconds"):
        Gr4vy(bearer_auth=TOKEN, timeout_in_seconds=value)


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
async def test_a_per_call_timeout_must_be_a_finite_positive_number(value: Any) -> None:
    async with RawServer(answer(200, SESSION)) as server, client_for(server.url) as client:
        with pytest.raises(errors.InvalidRequestError, match="timeout_in_seconds"):
            await client.checkout_sessions.get(session_id=SESSION_ID, timeout_in_seconds=value)
    assert server.seen == []


async def test_timeout_bounds_each_attempt_and_the_error_says_attempts_and_elapsed() -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return json_response(200, SESSION)

    async with (
        RawServer(slow) as server,
        client_for(server.url, retries=FAST, timeout_in_seconds=0.05) as client,
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


async def test_a_per_call_base_url_is_checked_like_server_url_and_used() -> None:
    async with (
        RawServer(answer(200, SESSION)) as default,
        RawServer(answer(200, SESSION)) as other,
        client_for(default.url) as client,
    ):
        path = f"/checkout/sessions/{SESSION_ID}"
        for bad in ["http://example.com", "ftp://127.0.0.1", "https://u:p@host", "no-scheme", 5]:
            with pytest.raises(errors.InvalidRequestError, match="server_url"):
                await client._transport.request("GET", path, response_type=None, base_url=bad)  # type: ignore[call-overload]
        await client._transport.request("GET", path, response_type=None, base_url=other.url + "/")
    assert default.seen == []
    assert [seen.path for seen in other.seen] == [path]


async def test_a_response_that_does_not_validate_keeps_its_values_out_of_the_message() -> None:
    body = json.dumps(
        {"type": "checkout-session", "id": SESSION_ID, "payment_method": {"type": "secret@x.io"}}
    ).encode()
    async with RawServer(answer(200, body)) as server, client_for(server.url) as client:
        with pytest.raises(errors.ResponseValidationError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert "secret@x.io" not in str(info.value)
    assert "payment_method" in str(info.value)
