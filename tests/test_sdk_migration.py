"""What a user migrating from SDK 2.4.27 touches: error attributes, model dumps, the sync helper."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from support.helpers import client_for
from support.sessions import SESSION_ID

from gr4vy_async import RetryConfig, auth, errors, models
from gr4vy_async.testing import FakeGr4vy, Fault

# --------------------------------------------------------------------------- errors

#: The SDK's ``errors.<Name>Data`` classes: the model ``e.data`` holds for each error.
SDK_ERROR_DATA = {
    "Error400Data": (errors.Error400, models.Error400),
    "Error401Data": (errors.Error401, models.Error401),
    "Error403Data": (errors.Error403, models.Error403),
    "Error404Data": (errors.Error404, models.Error404),
    "Error405Data": (errors.Error405, models.Error405),
    "Error409Data": (errors.Error409, models.Error409),
    "Error425Data": (errors.Error425, models.Error425),
    "Error429Data": (errors.Error429, models.Error429),
    "Error500Data": (errors.Error500, models.Error500),
    "Error502Data": (errors.Error502, models.Error502),
    "Error504Data": (errors.Error504, models.Error504),
    "HTTPValidationErrorData": (errors.HTTPValidationError, models.HTTPValidationError),
}


@pytest.mark.parametrize("name", SDK_ERROR_DATA)
def test_sdk_error_data_names(name: str) -> None:
    error_class, model = SDK_ERROR_DATA[name]
    assert getattr(errors, name) is model
    assert name in errors.__all__
    assert error_class.model is model


async def _raised(fake: FakeGr4vy, fault: Fault) -> errors.Gr4vyError:
    fake.faults.enqueue("GET", fault)
    async with client_for(fake, retries=RetryConfig.none()) as client:
        with pytest.raises(errors.Gr4vyError) as raised:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    return raised.value


async def test_error_fields_as_in_the_sdk(gr4vy_fake: FakeGr4vy) -> None:
    error = await _raised(gr4vy_fake, Fault.status(404))
    assert isinstance(error, errors.Error404)
    # e.message is the API's message; str(e) keeps status, code and the request.
    assert error.message == "The resource could not be found"
    assert str(error).startswith("404 not_found: The resource could not be found")
    assert error.summary == "404 not_found: The resource could not be found"
    data = error.data
    assert isinstance(data, errors.Error404Data)
    assert (data.type, data.code, data.status, data.message, data.details) == (
        "error",
        "not_found",
        404,
        "The resource could not be found",
        [],
    )


async def test_raw_response_has_status_headers_and_text(gr4vy_fake: FakeGr4vy) -> None:
    error = await _raised(gr4vy_fake, Fault.status(400, message="amount: too large"))
    raw = error.raw_response
    assert raw is not None
    assert raw.status_code == 400 == error.status_code
    assert raw.headers is error.headers
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.text == error.body
    assert json.loads(raw.text)["message"] == "amount: too large"
    assert raw.json()["code"] == "bad_request"
    assert (raw.method, raw.url) == ("GET", error.url)
    # Printed (as the SDK README does), it shows the status, never the body.
    assert str(raw) == repr(raw) == "<Response [400]>"
    assert error.message == "amount: too large"


async def test_an_undocumented_body_has_no_api_message(gr4vy_fake: FakeGr4vy) -> None:
    error = await _raised(gr4vy_fake, Fault.html(502))
    assert error.data is None
    assert error.message == error.summary
    assert error.message.startswith("502: undocumented response body (text/html")
    assert error.raw_response is not None
    assert "nginx" in error.raw_response.text


async def test_an_empty_api_message_gives_the_summary(gr4vy_fake: FakeGr4vy) -> None:
    error = await _raised(gr4vy_fake, Fault.status(400, message=""))
    assert error.data is not None
    assert error.data.message == ""
    assert error.message == error.summary == "400 bad_request: "


async def test_validation_error_message(gr4vy_fake: FakeGr4vy) -> None:
    error = await _raised(gr4vy_fake, Fault.status(422, message="field required"))
    assert isinstance(error.data, errors.HTTPValidationErrorData)
    assert error.message == "validation failed: body: field required"


def test_errors_raised_before_a_response_have_no_raw_response() -> None:
    error = errors.InvalidRequestError("session_id: not a UUID")
    assert error.raw_response is None
    assert error.message == error.summary == "session_id: not a UUID"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_no_response_error_catches_a_connection_failure() -> None:
    async with client_for(
        f"http://127.0.0.1:{_closed_port()}", retries=RetryConfig.none()
    ) as client:
        try:
            await client.checkout_sessions.get(session_id=SESSION_ID)
        except errors.NoResponseError as error:
            caught: errors.Gr4vyError = error
        else:
            pytest.fail("no error")
    assert isinstance(caught, errors.ConnectError)
    assert caught.raw_response is None
    assert errors.NoResponseError is errors.TransportError
    assert issubclass(errors.RequestTimeoutError, errors.NoResponseError)
    assert not issubclass(errors.Error404, errors.NoResponseError)


# --------------------------------------------------------------------------- models

EXPIRES = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _session() -> models.CheckoutSession:
    return models.CheckoutSession(
        id=SESSION_ID,
        expires_at=EXPIRES,
        cart_items=[models.CartItem(name="GoPro", quantity=1, unit_amount=1299)],
        metadata={"order": "1"},
        payment_method=models.CheckoutSessionPaymentMethod(
            details=models.CheckoutSessionPaymentMethodDetails(card_type=models.CardType.CREDIT)
        ),
    )


def test_model_dump_python_mode_keeps_python_values() -> None:
    dumped = _session().model_dump()
    assert dumped["id"] == SESSION_ID
    assert dumped["expires_at"] == EXPIRES
    assert dumped["amount"] is None
    assert dumped["type"] == "checkout-session"
    # Request models nested in a response: their defaults are dumped too, UNSET fields are not.
    assert dumped["cart_items"] == [
        {"name": "GoPro", "quantity": 1, "unit_amount": 1299, "discount_amount": 0, "tax_amount": 0}
    ]
    card_type = dumped["payment_method"]["details"]["card_type"]
    assert card_type is models.CardType.CREDIT


def test_model_dump_json_mode_and_json() -> None:
    session = _session()
    dumped = session.model_dump(mode="json")
    assert dumped["expires_at"] == "2026-01-02T03:04:05Z"
    assert dumped["payment_method"]["details"]["card_type"] == "credit"
    assert json.loads(session.model_dump_json()) == dumped
    assert session.model_dump_json(indent=2).startswith('{\n  "cart_items"')
    # The JSON decodes back to the same model.
    assert msgspec.json.decode(session.model_dump_json(), type=models.CheckoutSession) == session


def test_model_dump_exclusions() -> None:
    session = _session()
    no_none = session.model_dump(mode="json", exclude_none=True)
    assert "amount" not in no_none
    assert "bin" not in no_none["payment_method"]["details"]
    assert no_none["metadata"] == {"order": "1"}
    # msgspec does not record which fields a value came with: a field at its default is unset.
    unset = session.model_dump(exclude_unset=True)
    assert unset == session.model_dump(exclude_defaults=True)
    assert set(unset) == {"cart_items", "metadata", "id", "expires_at", "payment_method"}
    assert unset["cart_items"] == [{"name": "GoPro", "quantity": 1, "unit_amount": 1299}]
    assert unset["payment_method"] == {"details": {"card_type": models.CardType.CREDIT}}
    # Field names are the JSON names: by_alias changes nothing.
    assert session.model_dump(by_alias=True) == session.model_dump()
    body = models.CheckoutSessionCreate(metadata={"a": "1"}, amount=None)
    assert body.model_dump(exclude_unset=True) == {"metadata": {"a": "1"}, "amount": None}
    assert body.model_dump_json(exclude_none=True, exclude_unset=True) == '{"metadata":{"a":"1"}}'


def test_model_dump_rejects_an_unknown_mode() -> None:
    with pytest.raises(errors.InvalidRequestError, match="mode"):
        _session().model_dump(mode="yaml")


# --------------------------------------------------------------------------- the sync helper


async def test_embed_helper_called_the_sdk_way_fails_loudly(
    gr4vy_fake: FakeGr4vy, pem: str
) -> None:
    async with client_for(gr4vy_fake) as client:
        token: Any = auth.get_embed_token_with_checkout_session(client, pem)
        uses: list[Callable[[Any], object]] = [
            str,
            "{}".format,
            lambda t: t.split("."),
            lambda t: t + "",
            lambda t: "Bearer " + t,
            lambda t: t.encode(),
        ]
        for use in uses:
            with pytest.raises(TypeError, match=r"token = await auth\.get_embed_token_with"):
                use(token)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del token
            gc.collect()
    (warning,) = caught
    assert warning.category is RuntimeWarning
    assert "never awaited" in str(warning.message)
    assert not gr4vy_fake.requests


async def test_embed_helper_awaited_or_run_as_a_task(
    gr4vy_fake: FakeGr4vy, key: ec.EllipticCurvePrivateKey, pem: str
) -> None:
    async with client_for(gr4vy_fake) as client:
        awaited = await auth.get_embed_token_with_checkout_session(client, pem)
        task = asyncio.create_task(auth.get_embed_token_with_checkout_session(client, pem))
        from_task = await task
        gathered = await asyncio.gather(auth.get_embed_token_with_checkout_session(client, pem))
    for token in (awaited, from_task, *gathered):
        assert jwt.decode(token, key.public_key(), algorithms=["ES512"])["scopes"] == ["embed"]
    assert len(gr4vy_fake.sessions) == 3


def test_embed_helper_runs_under_asyncio_run(pem: str) -> None:
    async def main() -> str:
        async with FakeGr4vy() as fake, client_for(fake) as client:
            pending = auth.get_embed_token_with_checkout_session(client, pem)
            return await pending

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert asyncio.run(main()).count(".") == 2
