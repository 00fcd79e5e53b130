"""SDK 2.4.27's names and options: per call, on the client, retry settings, auth helpers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from support.aioresponses_compat import TOKEN
from support.helpers import client_for
from support.sessions import SESSION_ID

from gr4vy_async import Gr4vy, RetryConfig, auth, errors, models, utils
from gr4vy_async.checkout_sessions import CheckoutSessions
from gr4vy_async.testing import FakeGr4vy, Fault

#: SDK-style settings that retry at once (1 ms waits), for as long as 5 s.
FAST_SDK_RETRIES = utils.RetryConfig("backoff", utils.BackoffStrategy(1, 1, 1.5, 5000), True)


# --------------------------------------------------------------------------- per call


async def test_async_names_are_the_same_methods() -> None:
    for name in ("create", "get", "update", "delete"):
        assert getattr(CheckoutSessions, f"{name}_async") is getattr(CheckoutSessions, name)


async def test_checkout_session_create_is_the_create_body(gr4vy_fake: FakeGr4vy) -> None:
    async with client_for(gr4vy_fake) as client:
        typed = await client.checkout_sessions.create_async(
            checkout_session_create=models.CheckoutSessionCreate(metadata={"order": "1"})
        )
        as_dict = await client.checkout_sessions.create_async(
            checkout_session_create={
                "cart_items": [
                    {"name": "GoPro", "quantity": 1, "unit_amount": 1299, "brand": "GoPro"}
                ]
            }
        )
    assert typed.metadata == {"order": "1"}
    assert as_dict.cart_items is not None
    assert as_dict.cart_items[0].brand == "GoPro"
    assert gr4vy_fake.requests[0].json() == {"metadata": {"order": "1"}}


Call = Callable[[Gr4vy], Coroutine[Any, Any, object]]
AMBIGUOUS: dict[str, Call] = {
    "two bodies": lambda c: c.checkout_sessions.create(
        request_body={"metadata": {"a": "1"}}, checkout_session_create={"metadata": {"a": "2"}}
    ),
    "two timeouts": lambda c: c.checkout_sessions.get(
        session_id=SESSION_ID, timeout_in_seconds=1, timeout_ms=1000
    ),
    "zero timeout_ms": lambda c: c.checkout_sessions.delete(session_id=SESSION_ID, timeout_ms=0),
    "header with CRLF": lambda c: c.checkout_sessions.get(
        session_id=SESSION_ID, http_headers={"x-trace": "a\r\nInjected: 1"}
    ),
    "header name with CRLF": lambda c: c.checkout_sessions.get(
        session_id=SESSION_ID, http_headers={"x-a\r\nInjected": "1"}
    ),
    "server_url not http(s)": lambda c: c.checkout_sessions.get(
        session_id=SESSION_ID, server_url="ftp://127.0.0.1"
    ),
    "server_url plain http off loopback": lambda c: c.checkout_sessions.update(
        session_id=SESSION_ID, server_url="http://api.example.com"
    ),
    "server_url with credentials": lambda c: c.checkout_sessions.create(
        server_url="https://user:pw@api.example.com"
    ),
    "retries not a policy": lambda c: c.checkout_sessions.get(
        session_id=SESSION_ID,
        retries="backoff",  # type: ignore[arg-type]
    ),
}


@pytest.mark.parametrize("call", AMBIGUOUS.values(), ids=AMBIGUOUS.keys())
async def test_ambiguous_or_bad_call_options_fail_before_any_io(
    gr4vy_fake: FakeGr4vy, call: Call
) -> None:
    async with client_for(gr4vy_fake) as client:
        with pytest.raises(errors.InvalidRequestError) as raised:
            await call(client)
    assert not gr4vy_fake.requests
    assert "\r" not in str(raised.value)


async def test_timeout_ms_per_call(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("POST", Fault.latency(1.0))
    async with client_for(gr4vy_fake, retries=RetryConfig.none()) as client:
        with pytest.raises(errors.RequestTimeoutError, match=r"0\.05 s"):
            await client.checkout_sessions.create_async(timeout_ms=50)


async def test_http_headers_are_added_and_replace_case_insensitively(
    gr4vy_fake: FakeGr4vy,
) -> None:
    async with client_for(gr4vy_fake, headers={"X-App": "shop"}) as client:
        await client.checkout_sessions.create_async(
            http_headers={"x-trace-id": "t-1", "user-agent": "my-app/1", "x-app": "checkout"}
        )
        await client.checkout_sessions.create_async()
    first, second = (request.headers for request in gr4vy_fake.requests)
    assert first["x-trace-id"] == "t-1"
    assert first.getall("User-Agent") == ["my-app/1"]
    assert first.getall("X-App") == ["checkout"]
    assert gr4vy_fake.requests[0].sent_token(TOKEN)
    # Nothing of one call's headers sticks to the next.
    assert "x-trace-id" not in second
    assert second["User-Agent"].startswith("gr4vy-async/")
    assert second["X-App"] == "shop"


async def test_server_url_per_call_goes_to_that_server(gr4vy_fake: FakeGr4vy) -> None:
    async with FakeGr4vy() as other:
        other.create_session(session_id=SESSION_ID)
        async with client_for(gr4vy_fake) as client:
            session = await client.checkout_sessions.get_async(
                session_id=SESSION_ID, server_url=other.url + "/"
            )
            await client.checkout_sessions.delete_async(session_id=SESSION_ID, server_url=other.url)
            await client.checkout_sessions.create_async()
    assert session.id == SESSION_ID
    assert [(r.method, r.status) for r in other.requests] == [("GET", 200), ("DELETE", 204)]
    assert [r.method for r in gr4vy_fake.requests] == ["POST"]


# --------------------------------------------------------------------------- retries


async def test_sdk_retry_config_per_call_retries_a_get(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.create_session(session_id=SESSION_ID)
    gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=5)
    async with client_for(gr4vy_fake, retries=RetryConfig.none()) as client:
        await client.checkout_sessions.get_async(session_id=SESSION_ID, retries=FAST_SDK_RETRIES)
    assert [r.status for r in gr4vy_fake.requests] == [503] * 5 + [200]


async def test_sdk_retry_config_never_resends_a_create_after_a_5xx(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("POST", Fault.status(500))
    gr4vy_fake.faults.enqueue("POST", Fault.status(429, retry_after=0))
    async with client_for(gr4vy_fake) as client:
        with pytest.raises(errors.Error500):
            await client.checkout_sessions.create_async(retries=FAST_SDK_RETRIES)
        await client.checkout_sessions.create_async(retries=FAST_SDK_RETRIES)  # 429: retried
    assert [r.status for r in gr4vy_fake.requests] == [500, 429, 201]


@pytest.mark.parametrize(
    ("retry_config", "statuses"),
    [
        (FAST_SDK_RETRIES, [502, 502, 200]),
        (utils.RetryConfig("none", utils.BackoffStrategy(1, 1, 1.5, 5000), True), [502]),
        (None, [502]),  # as in the SDK, retry_config=None turns retrying off
    ],
    ids=["backoff", "none", "None"],
)
async def test_retry_config_on_the_client(
    gr4vy_fake: FakeGr4vy, retry_config: RetryConfig | None, statuses: list[int]
) -> None:
    gr4vy_fake.create_session(session_id=SESSION_ID)
    gr4vy_fake.faults.enqueue("GET", Fault.status(502), times=2)
    async with client_for(gr4vy_fake, retry_config=retry_config) as client:
        if statuses[-1] == 200:
            await client.checkout_sessions.get(session_id=SESSION_ID)
        else:
            with pytest.raises(errors.Error502):
                await client.checkout_sessions.get(session_id=SESSION_ID)
    assert [r.status for r in gr4vy_fake.requests] == statuses


def test_sdk_retry_config_maps_onto_ours() -> None:
    policy = utils.RetryConfig(
        "backoff", utils.BackoffStrategy(500, 60000, 1.5, 3600000), False, ["429", "5XX"]
    )
    assert type(policy) is RetryConfig  # the SDK's spelling builds the one RetryConfig
    assert (policy.initial_delay, policy.max_delay, policy.max_elapsed) == (0.5, 60.0, 3600.0)
    assert policy.statuses == frozenset({429, *range(500, 600)})
    assert policy.retry_connection_errors is False
    assert policy.retry_unsafe_methods is False
    assert policy.max_attempts > 1_000_000  # the SDK has no attempt limit, only the time
    backoff = utils.BackoffStrategy(1, 2, 2, 3)
    default = utils.RetryConfig("backoff", backoff, True)
    assert default.statuses == RetryConfig().statuses
    assert utils.RetryConfig("none", backoff, True).max_attempts == 1
    assert "BackoffStrategy(1, 2, 2, 3" in repr(backoff)


@pytest.mark.parametrize(
    "make",
    [
        lambda: utils.RetryConfig("exponential", utils.BackoffStrategy(1, 2, 2, 3), True),
        lambda: utils.RetryConfig("backoff", (1, 2, 2, 3), True),  # type: ignore[arg-type]
        lambda: utils.RetryConfig("backoff", utils.BackoffStrategy(1, 2, 2, 3), True, ["6XX"]),
        lambda: utils.RetryConfig("backoff", utils.BackoffStrategy(1, 2, 2, 3), True, ["50"]),
        lambda: utils.BackoffStrategy(-1, 2, 2, 3),
        lambda: utils.BackoffStrategy(1, 2, 2, 3, jitter_ms=-5),
        lambda: utils.BackoffStrategy(1, "2", 2, 3),  # type: ignore[arg-type]
    ],
    ids=["strategy", "backoff type", "6XX", "50", "negative", "jitter", "str"],
)
def test_bad_sdk_retry_settings_are_refused_when_made(make: Callable[[], object]) -> None:
    with pytest.raises(errors.InvalidRequestError):
        make()


# --------------------------------------------------------------------------- the client


@pytest.mark.parametrize(
    "options",
    [
        {"timeout_in_seconds": 1, "timeout_ms": 1000},
        {"timeout_ms": -1},
        {"retries": RetryConfig(), "retry_config": FAST_SDK_RETRIES},
        {"retries": RetryConfig(), "retry_config": None},
        {"bearer_auth": None},
        {"async_client": object()},
        {"client": object()},
    ],
    ids=[
        "two timeouts",
        "negative timeout_ms",
        "two retry settings",
        "retries and None",
        "no token",
        "async_client",
        "client",
    ],
)
def test_ambiguous_or_bad_client_options(
    options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GR4VY_BEARER_AUTH", raising=False)
    with pytest.raises(errors.InvalidRequestError):
        Gr4vy(**{"bearer_auth": TOKEN, **options})


def test_sdk_positional_arguments_and_url_params_without_server_url() -> None:
    """SDK 2.4.27: ``bearer_auth, merchant_account_id, id, server, url_params, server_url``."""
    client = Gr4vy(TOKEN, "merchant-1", "acme", "production", {"id": "ignored"})
    assert client.server_url == "https://api.acme.gr4vy.app"
    assert client._transport.merchant_account_id == "merchant-1"
    client = Gr4vy(TOKEN, None, None, None, {"id": "acme"}, "https://api.{id}.gr4vy.app")
    assert client.server_url == "https://api.acme.gr4vy.app"
    assert Gr4vy(bearer_auth=TOKEN, url_params={"id": "acme"}).server_url == (
        "https://api.sandbox.example.gr4vy.app"
    )


def test_sdk_client_options() -> None:
    client = Gr4vy(id=None, server=None, bearer_auth=TOKEN, timeout_ms=2500)
    assert client.server_url == "https://api.sandbox.example.gr4vy.app"
    assert client._transport._timeout.total == 2.5
    templated = Gr4vy(
        server_url="https://api.{env}.{id}.gr4vy.app",
        url_params={"env": "sandbox", "id": "acme"},
        bearer_auth=TOKEN,
    )
    assert templated.server_url == "https://api.sandbox.acme.gr4vy.app"


async def test_token_and_merchant_from_the_environment(
    gr4vy_fake: FakeGr4vy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GR4VY_BEARER_AUTH", "env-token")
    monkeypatch.setenv("GR4VY_MERCHANT_ACCOUNT_ID", "merchant-12345")
    async with Gr4vy(server_url=gr4vy_fake.url) as client:
        await client.checkout_sessions.create()
    async with Gr4vy(server_url=gr4vy_fake.url, merchant_account_id="mine") as client:
        await client.checkout_sessions.create()
    first, second = gr4vy_fake.requests
    assert first.sent_token("env-token")
    assert first.merchant_account_id == "merchant-12345"
    assert second.merchant_account_id == "mine"


# --------------------------------------------------------------------------- auth


#: The parameters of each auth helper in gr4vy 2.4.27 (gr4vy/auth.py), in order.
SDK_AUTH_SIGNATURES = {
    "with_token": ["private_key", "scopes", "expires_in"],
    "get_token": ["private_key", "scopes", "expires_in", "embed_params", "checkout_session_id"],
    "update_token": [
        "token",
        "private_key",
        "scopes",
        "expires_in",
        "embed_params",
        "checkout_session_id",
    ],
    "get_embed_token": ["private_key", "embed_params", "checkout_session_id"],
    "get_embed_token_with_checkout_session": [
        "client",
        "private_key",
        "embed_params",
        "checkout_session_create",
        "merchant_account_id",
    ],
}


@pytest.mark.parametrize("name", SDK_AUTH_SIGNATURES)
def test_auth_helpers_take_the_sdk_arguments(name: str) -> None:
    parameters = inspect.signature(getattr(auth, name)).parameters
    positional = [
        p.name for p in parameters.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert positional == SDK_AUTH_SIGNATURES[name]


@pytest.mark.parametrize(
    ("merchant", "expected"), [(None, "default"), ("merchant-12345", "merchant-12345")]
)
async def test_get_embed_token_with_checkout_session(
    gr4vy_fake: FakeGr4vy,
    key: ec.EllipticCurvePrivateKey,
    pem: str,
    merchant: str | None,
    expected: str,
) -> None:
    async with client_for(gr4vy_fake, merchant_account_id="default") as client:
        token = await auth.get_embed_token_with_checkout_session(
            client,
            pem,
            embed_params={"amount": 1299, "currency": "USD"},
            checkout_session_create={"metadata": {"order_id": "order-12345"}},
            merchant_account_id=merchant,
        )
    ((stored_merchant, session_id),) = gr4vy_fake.sessions
    assert stored_merchant == expected
    assert gr4vy_fake.sessions[stored_merchant, session_id].metadata == {"order_id": "order-12345"}
    claims = jwt.decode(token, key.public_key(), algorithms=["ES512"])
    assert claims["checkout_session_id"] == session_id
    assert claims["embed"] == {"amount": 1299, "currency": "USD"}
    assert claims["scopes"] == ["embed"]
