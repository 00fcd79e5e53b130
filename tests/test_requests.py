"""What a call sends: where it goes, its headers and token, and its body."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import msgspec
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.aioresponses_compat import TOKEN, CompatAioresponses
from support.helpers import FAST
from support.servers import RawServer, answer, json_response, raw_client
from support.sessions import ITEM, SESSION, SESSION_ID, SESSION_JSON, attempts
from yarl import URL

from gr4vy_async import Gr4vy, errors, models
from gr4vy_async._call_options import CallOptions
from gr4vy_async.errors import InvalidRequestError
from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.testing.payloads import seed_create_body

# --------------------------------------------------------------------------- where a call goes


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


async def test_uuid_objects_and_uppercase_ids_are_accepted(
    client: Gr4vy, mock_http: CompatAioresponses
) -> None:
    import uuid

    mock_http.get(ITEM, status=200, payload=SESSION_JSON, repeat=True)
    await client.checkout_sessions.get(session_id=uuid.UUID(SESSION_ID))
    await client.checkout_sessions.get(session_id=SESSION_ID.upper())
    assert attempts(mock_http, "GET", ITEM) == 2


async def test_a_per_call_base_url_is_checked_like_server_url_and_used() -> None:
    async with (
        RawServer(answer(200, SESSION)) as default,
        RawServer(answer(200, SESSION)) as other,
        raw_client(default.url) as client,
    ):
        path = f"/checkout/sessions/{SESSION_ID}"
        for bad in ["http://example.com", "ftp://127.0.0.1", "https://u:p@host", "no-scheme", 5]:
            with pytest.raises(errors.InvalidRequestError, match="server_url"):
                await client._transport.request("GET", path, None, None, CallOptions(base_url=bad))  # type: ignore[arg-type]
        await client._transport.request(
            "GET", path, None, None, CallOptions(base_url=other.url + "/")
        )
    assert default.seen == []
    assert [seen.path for seen in other.seen] == [path]


async def test_redirects_are_never_followed() -> None:
    from aiohttp import web

    elsewhere: list[bytes] = []

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"http://127.0.0.1:{port}/stolen")

    async def stolen(request: web.Request) -> web.Response:
        elsewhere.append(await request.read())
        return web.json_response({"id": "x"}, status=201)

    app = web.Application()
    app.router.add_post("/checkout/sessions", redirect)
    app.router.add_post("/stolen", stolen)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with Gr4vy(server_url=f"http://127.0.0.1:{port}", bearer_auth=TOKEN) as client:
            with pytest.raises(errors.APIError) as info:
                await client.checkout_sessions.create(request_body=seed_create_body())
    finally:
        await runner.cleanup()
    assert info.value.status_code == 307
    assert elsewhere == []  # the buyer data never left for the Location


# --------------------------------------------------------------------------- headers


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
            "DELETE",
            f"/checkout/sessions/{SESSION_ID}",
            None,
            None,
            CallOptions(headers={name: value}),
        )
    except errors.InvalidRequestError as error:
        refused = error
    if refused is None:
        assert answer["seen"] == seen + 1
    else:
        assert answer.get("seen", 0) == seen
        assert refused.field is not None


# ----------------------------------------------------- the bearer token, asked for on every attempt


async def test_sync_token_provider(mock_http: CompatAioresponses) -> None:
    mock_http.get(ITEM, status=200, payload=SESSION_JSON)
    async with Gr4vy(id="acme", bearer_auth=lambda: "sync-token") as client:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    (call,) = mock_http.requests[("GET", URL(ITEM))]
    assert call.kwargs["headers"]["Authorization"] == "Bearer sync-token"


async def test_every_attempt_asks_the_provider_for_its_token() -> None:
    tokens = iter(f"token-{n}" for n in range(10))
    statuses = iter([503, 429, 200])

    async def flaky(request: web.Request) -> web.StreamResponse:
        status = next(statuses)
        return json_response(status, SESSION if status == 200 else b"{}")

    async with (
        RawServer(flaky) as server,
        raw_client(server.url, bearer_auth=lambda: next(tokens), retries=FAST) as client,
    ):
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert [seen.headers["Authorization"] for seen in server.seen] == [
        "Bearer token-0",
        "Bearer token-1",
        "Bearer token-2",
    ]


@pytest.fixture
async def recording_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback server answering every request 204, recording its Authorization."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.Response(status=204)

    async with RawServer(handle) as server:
        yield server.url, seen


async def test_each_attempt_sends_the_providers_current_token(
    recording_server: tuple[str, list[str]],
) -> None:
    url, seen = recording_server
    tokens: Iterator[str] = iter(["one", "one", "two", "one"])
    async with Gr4vy(server_url=url, bearer_auth=lambda: next(tokens)) as client:
        for _ in range(4):
            await client.checkout_sessions.delete(session_id=SESSION_ID)
    assert seen == ["Bearer one", "Bearer one", "Bearer two", "Bearer one"]


@pytest.mark.parametrize("bad", ["", "line\nbreak", "tab\tok\x7f", 42], ids=repr)
async def test_a_bad_token_after_good_ones_is_refused_before_sending(
    recording_server: tuple[str, list[str]], bad: object
) -> None:
    url, seen = recording_server
    tokens = iter(["good", "good", bad])

    async def provider() -> str:
        return next(tokens)  # type: ignore[return-value]

    async with Gr4vy(server_url=url, bearer_auth=provider) as client:
        await client.checkout_sessions.delete(session_id=SESSION_ID)
        await client.checkout_sessions.delete(session_id=SESSION_ID)
        with pytest.raises(InvalidRequestError, match=r"^bearer_auth: ") as info:
            await client.checkout_sessions.delete(session_id=SESSION_ID)
    assert info.value.field == "bearer_auth"
    assert seen == ["Bearer good", "Bearer good"]


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
        raw_client(server.url, bearer_auth=provider) as client,
    ):
        with pytest.raises(errors.TokenProviderError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert info.value.__cause__ is failure
    assert not isinstance(info.value, errors.RequestTimeoutError)
    assert server.seen == []


# --------------------------------------------------------------------------- the body


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


@pytest.mark.parametrize(
    "make",
    [
        # The default's own object: a model would leave it out of its JSON (omit_defaults).
        lambda body: {"expires_in": models.CheckoutSessionUpdate().expires_in},
        lambda body: {"expires_in": 3600.0, "amount": 1299, "currency": "USD"},
        lambda body: {"cart_items": body.cart_items, "buyer": body.buyer, "airline": body.airline},
        lambda body: {"cart_items": tuple(body.cart_items), "metadata": body.metadata},
        lambda body: msgspec.to_builtins({"buyer": body.buyer, "airline": body.airline}),
        lambda body: {"intent": "authorize", "payment_source": None, "country": None},
    ],
    ids=["default value", "scalars", "models", "tuple of models", "dicts", "enum as str"],
)
async def test_update_sends_exactly_the_arguments_it_was_given(
    gr4vy_client: Gr4vy,
    gr4vy_fake: FakeGr4vy,
    make: Callable[[models.CheckoutSessionUpdate], dict[str, Any]],
) -> None:
    session_id = (await gr4vy_client.checkout_sessions.create()).id
    arguments = make(seed_create_body())
    await gr4vy_client.checkout_sessions.update(session_id=session_id, **arguments)
    sent = json.loads(gr4vy_fake.requests[-1].body)
    assert sent == json.loads(msgspec.json.encode(arguments))
    assert sent.keys() == arguments.keys()
