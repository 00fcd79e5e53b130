"""Issue 21's core rules, each with one home: call options, one RetryConfig, redaction,
defaults, value checks, and a transport whose life is a state."""

from __future__ import annotations

import inspect
import logging

import pytest
from msgspec import UNSET

import gr4vy_async
from gr4vy_async import Gr4vy, auth, client, errors, hooks, models, utils
from gr4vy_async._call_options import NO_OPTIONS, call_options
from gr4vy_async._defaults import DEFAULT_TIMEOUT, LOGGER_NAME, TOKEN_LIFETIME
from gr4vy_async._redact import REDACTED, Secret
from gr4vy_async._transport import State, Transport, logger
from gr4vy_async.testing import FakeGr4vy

SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"


def test_a_call_without_options_shares_one_value() -> None:
    assert call_options() is NO_OPTIONS
    assert call_options(UNSET, None, None, None, None, None) is NO_OPTIONS
    assert call_options(None).merchant_account_id is None  # None sends no merchant header
    with pytest.raises(AttributeError):
        NO_OPTIONS.timeout = 1.0  # type: ignore[misc]
    assert not hasattr(NO_OPTIONS, "__dict__")  # slotted


def test_call_options_convert_the_sdk_spellings_once() -> None:
    options = call_options(timeout_ms=1500)
    assert options.timeout == 1.5
    sdk = utils.RetryConfig("backoff", utils.BackoffStrategy(1, 2, 1.5, 3), False)
    assert call_options(retries=sdk).retries is sdk
    with pytest.raises(errors.InvalidRequestError, match=r"^timeout_ms: expected ") as info:
        call_options(timeout_in_seconds=1, timeout_ms=1000)
    assert info.value.field == "timeout_ms"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout_in_seconds": 0}, "timeout_in_seconds"),
        ({"timeout_in_seconds": "1"}, "timeout_in_seconds"),
        ({"timeout_ms": float("nan")}, "timeout_ms"),
        ({"merchant_account_id": "a\nb"}, "merchant_account_id"),
        ({"retries": 3}, "retries"),
    ],
)
def test_a_bad_call_option_is_refused_when_the_options_are_built(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        call_options(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: expected ")


def test_one_public_retry_config() -> None:
    built = utils.RetryConfig("none", utils.BackoffStrategy(1, 2, 1.5, 3), True)
    assert type(built) is gr4vy_async.RetryConfig
    assert not isinstance(utils.RetryConfig, type)  # a builder, not a second class


def test_one_redaction_spelling() -> None:
    assert hooks.REDACTED == REDACTED == "[redacted]"
    buyer = models.GuestBuyerInput(display_name="Jane")
    assert repr(buyer) == f"GuestBuyerInput(display_name={REDACTED})"
    assert repr(Secret("token")) == repr(REDACTED)
    assert repr(Secret("token")[1:]) == repr(REDACTED)


def test_each_default_has_one_home() -> None:
    assert client.DEFAULT_TIMEOUT == DEFAULT_TIMEOUT == 30
    assert logger is logging.getLogger(LOGGER_NAME)
    for function in (auth.get_token, auth.update_token, auth.TokenProvider, auth.with_token):
        assert inspect.signature(function).parameters["expires_in"].default == TOKEN_LIFETIME


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_connections": 0}, "max_connections"),
        ({"max_response_bytes": True}, "max_response_bytes"),
        ({"retries": gr4vy_async.RetryConfig(), "retry_config": None}, "retry_config"),
    ],
)
def test_client_settings_have_the_one_message_shape(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        Gr4vy(bearer_auth="t", **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: expected ")


async def test_the_transport_moves_through_its_states() -> None:
    async with FakeGr4vy() as fake:
        fake.create_session(session_id=SESSION_ID)
        gr4vy = Gr4vy(bearer_auth="t", server_url=fake.url)
        transport = gr4vy._transport
        assert (_state(transport), transport.borrowed) == (State.NEW, False)
        await gr4vy.checkout_sessions.get(session_id=SESSION_ID)
        assert _state(transport) is State.OPEN
        await gr4vy.aclose()
        assert _state(transport) is State.CLOSED
        with pytest.raises(errors.ClientClosedError):
            await gr4vy.checkout_sessions.get(session_id=SESSION_ID)


def _state(transport: Transport) -> State:
    return transport.state


def test_the_split_errors_still_live_in_errors_for_users() -> None:
    """Tracebacks and pickles name ``gr4vy_async.errors``, wherever the class is written."""
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, (BaseException, errors.RawResponse)):
            assert value.__module__ == "gr4vy_async.errors", name
