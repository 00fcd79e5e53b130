"""What a call returns: its model on success, the error class of its status otherwise.

Whatever the server answers (any status, any body, broken or huge), the caller gets
the operation's model or a ``Gr4vyError``; the class follows the HTTP status, the
body only picks a documented variant, and only a bounded amount of it is read.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.aioresponses_compat import TOKEN, CompatAioresponses
from support.contract import operation
from support.servers import RawServer, answer, raw_client
from support.sessions import (
    ITEM,
    OPERATION_IDS,
    OPERATIONS,
    SESSION_ID,
    SESSION_JSON,
    Call,
    attempts,
)

from gr4vy_async import Gr4vy, RetryConfig, errors, models
from gr4vy_async.errors import BODY_PREFIX_LIMIT
from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.testing.faults import error_body

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


# ----------------------------------------------------------------------- one error class per status


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


async def test_status_is_mapped_by_http_status_not_the_body(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    mock_http.get(ITEM, status=404, payload={**json.loads(error_body(404)), "status": 500})
    with pytest.raises(errors.Error404):
        await client.checkout_sessions.get(session_id=SESSION_ID)


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
    async with RawServer(handler) as server, raw_client(server.url) as client:
        with pytest.raises(errors.Gr4vyError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert type(info.value) is expected
    assert info.value.status_code == status


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


async def test_an_empty_json_object_is_parsed_into_data() -> None:
    async with RawServer(answer(404, b"{}")) as server, raw_client(server.url) as client:
        with pytest.raises(errors.Error404) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert isinstance(info.value.data, models.Error404)


async def test_server_validation_errors_come_back_typed(gr4vy_fake: FakeGr4vy) -> None:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        body = json.dumps({"cart_items": [{"name": "x", "quantity": 0, "unit_amount": 1}]})
        async with http.post(
            gr4vy_fake.url + "/checkout/sessions", data=body, headers=headers
        ) as response:
            raw = await response.read()
    from gr4vy_async.errors import error_for_response

    error = error_for_response(422, {}, raw, method="POST", url="u")
    assert isinstance(error, errors.HTTPValidationError)
    assert isinstance(error.data, models.HTTPValidationError)
    assert "cart_items.0.quantity" in str(error)


# ------------------------------------------------------------------------ bodies that do not decode


async def test_success_body_that_does_not_decode_raises_response_validation_error(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    mock_http.get(ITEM, status=200, payload={"id": SESSION_ID})  # no expires_at
    with pytest.raises(errors.ResponseValidationError, match="expires_at") as info:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.status_code == 200
    # msgspec's error quotes values from the body: its text (sanitized) is in
    # the message, the error itself is in no chain (issue 19, item 10).
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


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
    async with RawServer(answer(status, body)) as server, raw_client(server.url) as client:
        try:
            result: object = await client.checkout_sessions.get(session_id=SESSION_ID)
        except errors.Gr4vyError as error:
            result = error
    assert isinstance(result, expected), repr(result)


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


def _corrupt(body: bytes, at: int, garbage: bytes) -> bytes:
    at %= len(body) + 1
    return body[:at] + garbage + body[at:]


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()


json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
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


# --------------------------------------------------------------------------- bounded bodies


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

    async with RawServer(endless) as server, raw_client(server.url) as client:
        with pytest.raises(errors.ResponseTooLargeError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.status_code == 200
    assert "max_response_bytes=4194304" in str(info.value)
    assert sum(sent) < 64 * 1024 * 1024  # the server was cut off long before the end


async def test_the_cap_is_configurable_and_a_declared_length_over_it_is_refused() -> None:
    body = b'{"type": "checkout-session", "pad": "' + b"x" * 5000 + b'"}'
    async with (
        RawServer(answer(200, body)) as server,
        raw_client(server.url, max_response_bytes=1024) as client,
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
        raw_client(server.url, max_response_bytes=1024 * 1024) as client,
    ):
        with pytest.raises(errors.ResponseTooLargeError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.status_code == 404
    assert info.value.body == ""


async def test_an_error_keeps_only_a_bounded_prefix_of_the_body() -> None:
    body = b"<html>" + b"A" * (1024 * 1024) + b"</html>"
    async with (
        RawServer(answer(502, body, **{"Content-Type": "text/html"})) as server,
        raw_client(server.url) as client,
    ):
        with pytest.raises(errors.Error502) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert len(info.value.body) == BODY_PREFIX_LIMIT
    assert info.value.body.startswith("<html>AAA")
