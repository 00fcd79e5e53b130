"""Fuzz: whatever the server answers, every operation returns its model or raises a Gr4vyError.

Hypothesis draws a status, a body (spec-shaped JSON, any JSON, deep nesting,
invalid UTF-8, raw bytes) and headers (``Retry-After`` with odd digits, a
``Content-Encoding`` that lies, ...) for each example; a raw loopback server
answers with them. Examples are bounded so the suite stays fast.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from _servers import RawServer
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gr4vy_async import Gr4vy, RetryConfig, errors, models

SESSION_ID = str(uuid.uuid4())
STATUSES = [
    200,
    201,
    204,
    301,
    307,
    400,
    401,
    403,
    404,
    405,
    409,
    418,
    422,
    425,
    429,
    500,
    502,
    503,
    504,
]

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
session_bodies = st.fixed_dictionaries(
    {"type": st.just("checkout-session"), "id": st.uuids().map(str)},
    optional={
        "expires_at": st.just("2030-01-01T00:00:00Z") | st.text(max_size=30),
        "amount": json_values,
        "currency": json_values,
        "cart_items": json_values,
        "metadata": json_values,
        "buyer": json_values,
        "payment_method": json_values,
        "unknown": json_values,
    },
)
error_bodies = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["error", "other"]) | json_values,
        "code": json_values,
        "status": json_values,
        "message": json_values,
        "details": st.lists(
            st.fixed_dictionaries({}, optional={"pointer": json_values, "message": json_values}),
            max_size=3,
        )
        | json_values,
        "detail": json_values,
    },
)


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def _corrupt(body: bytes, at: int, garbage: bytes) -> bytes:
    at %= len(body) + 1
    return body[:at] + garbage + body[at:]


bodies = st.one_of(
    session_bodies.map(_encode),
    error_bodies.map(_encode),
    json_values.map(_encode),
    st.binary(max_size=64),
    st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 20_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.builds(
        _corrupt,
        session_bodies.map(_encode),
        st.integers(0, 400),
        st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b'"', b"\\u00"]),
    ),
)
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("²①٣½\t"),
    max_size=30,
)
response_headers = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": header_text | st.sampled_from(["²", "①", "0", "1", "-1", "1e9", ""]),
        "Content-Type": st.sampled_from(
            ["application/json", "text/plain", "text/html", "application/json; charset=latin-1"]
        )
        | header_text,
        "Content-Encoding": st.sampled_from(["gzip", "deflate", "br", "identity"]),
        "x-request-id": header_text,
        "Location": header_text,
    },
)


@pytest.fixture
async def fuzzed_client() -> AsyncIterator[tuple[dict[str, Any], Gr4vy]]:
    """A client, and the response its server sends: ``answer["status"/"body"/"headers"]``."""
    answer: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        answer["seen"] = answer.get("seen", 0) + 1
        status = answer["status"]
        body = b"" if status == 204 else answer["body"]
        return web.Response(status=status, body=body, headers=answer["headers"])

    async with (
        RawServer(handler) as server,
        Gr4vy(
            server_url=server.url,
            bearer_auth="token",
            retries=RetryConfig(max_attempts=2, initial_delay=0, max_delay=0, retry_after_cap=0),
            max_response_bytes=64 * 1024,
        ) as client,
    ):
        yield answer, client


@pytest.mark.parametrize("operation", ["create", "get", "update", "delete"])
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(status=st.sampled_from(STATUSES), body=bodies, headers=response_headers)
async def test_every_operation_returns_its_model_or_raises_a_gr4vy_error(
    fuzzed_client: tuple[dict[str, Any], Gr4vy],
    operation: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    answer, client = fuzzed_client
    answer.update(status=status, body=body, headers=headers)
    sessions = client.checkout_sessions
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "create": lambda: sessions.create(),
        "get": lambda: sessions.get(session_id=SESSION_ID),
        "update": lambda: sessions.update(session_id=SESSION_ID, amount=100),
        "delete": lambda: sessions.delete(session_id=SESSION_ID),
    }
    try:
        result: object = await calls[operation]()
    except errors.Gr4vyError as error:
        str(error), repr(error)  # describing the error never raises either
        result = error
    if isinstance(result, errors.Gr4vyError):
        assert result.attempts is not None
    else:
        assert isinstance(result, type(None) if operation == "delete" else models.CheckoutSession)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.text(max_size=12) | st.sampled_from(["X-Trace", "accept", "X-A: b"]),
    value=st.text(max_size=20) | st.binary(max_size=4) | st.integers(),
)
async def test_any_extra_header_is_sent_or_refused_before_any_connection(
    fuzzed_client: tuple[dict[str, Any], Gr4vy], name: str, value: Any
) -> None:
    answer, client = fuzzed_client
    answer.update(status=204, body=b"", headers={})
    seen = answer.get("seen", 0)
    refused: errors.InvalidRequestError | None = None
    try:
        await client._transport.request(
            "DELETE", f"/checkout/sessions/{SESSION_ID}", response_type=None, headers={name: value}
        )
    except errors.InvalidRequestError as error:
        refused = error
    if refused is None:
        assert answer["seen"] == seen + 1
    else:
        assert answer.get("seen", 0) == seen
        assert refused.field is not None
