"""No printer, traceback or message shows a token, buyer, address, tax id, passenger or card data.

``repr``/``str`` were redacted already; rich (``rich.pretty``, tracebacks with
locals) went through msgspec's ``__rich_repr__`` and printed every value, and
IPython asks ``_repr_pretty_``. The fake's request log is covered too.
"""

from __future__ import annotations

import io
import json
import pprint
from typing import Any

import aiohttp
import msgspec
import pytest
from rich.console import Console
from rich.pretty import Pretty, pretty_repr
from rich.traceback import Traceback
from support.aioresponses_compat import TOKEN, CompatAioresponses
from support.servers import RawServer, answer, raw_client
from support.sessions import COLLECTION, SESSION_ID

from gr4vy_async import Gr4vy, RetryConfig, errors, models
from gr4vy_async._codec import encode_request
from gr4vy_async.errors import Error400, Gr4vyError
from gr4vy_async.testing import FakeGr4vy, Fault
from gr4vy_async.testing.faults import error_body
from gr4vy_async.testing.payloads import seed_create_body

#: Every model holding buyer, address, tax id, passenger or card data.
REDACTED_MODELS = [
    models.Address,
    models.TaxID,
    models.BillingDetailsInput,
    models.ShippingDetailsCreate,
    models.GuestBuyerInput,
    models.AirlinePassenger,
    models.Airline,
    models.CheckoutSessionPaymentMethodDetails,
    models.CheckoutSessionPaymentMethod,
]
#: Values of the seed payload (and the card below) that are personal or card data.
SEED_SECRETS = [
    "John",
    "Doe",
    "JOHN L",
    "john@example.com",
    "+1234567890",
    "12345678931",
    "Stafford",
    "94560",
    "11117700225",
    "BA1236699999",
    "123 Broadway",
    "424242",
    "Visa ending 4242",
    "a50b85c200ee0795d6fd33a5c66f37a4564f554355c5b46a756aac485dd168a4",
]
CARD = {
    "type": "payment-method",
    "id": "77a76f7e-d2de-4bbc-ada9-d6a0015e6bd5",
    "label": "Visa ending 4242",
    "fingerprint": SEED_SECRETS[-1],
    "details": {"bin": "424242", "card_type": "credit", "card_issuer_name": "Acme Bank"},
}


class _Printer:
    """The part of IPython's ``PrettyPrinter`` that ``_repr_pretty_`` uses."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, text: str) -> None:
        self.parts.append(text)


def _ipython(value: Any) -> str:
    """What IPython shows: the ``_repr_pretty_`` hook if any, else the (custom) repr."""
    if not hasattr(value, "_repr_pretty_"):
        return repr(value)
    printer = _Printer()
    value._repr_pretty_(printer, False)
    return "".join(printer.parts)


def _rich_console(value: Any) -> str:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(Pretty(value))
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


PRINTERS = {
    "repr": repr,
    "str": str,
    "format": "{}".format,
    "pprint": pprint.pformat,
    "rich.pretty_repr": pretty_repr,
    "rich.console": _rich_console,
    "ipython": _ipython,
}


def _session() -> models.CheckoutSession:
    """A session as the API returns it: the seed's buyer and airline, and a card."""
    document = msgspec.to_builtins(seed_create_body())
    document.pop("expires_in")
    document.update(
        id="4137b1cf-39ac-42a8-bad6-1c680d5dab6b",
        type="checkout-session",
        expires_at="2026-01-01T00:00:00Z",
        payment_method=CARD,
    )
    return msgspec.convert(document, models.CheckoutSession)


def _marked(cls: type[msgspec.Struct]) -> msgspec.Struct:
    """An instance of ``cls`` whose every field holds a recognisable marker (unchecked)."""
    return cls(**{name: f"PII-{name}" for name in cls.__struct_fields__})


@pytest.mark.parametrize("printer", PRINTERS.values(), ids=PRINTERS.keys())
@pytest.mark.parametrize("cls", REDACTED_MODELS, ids=lambda cls: cls.__name__)
def test_no_printer_shows_a_value_of_a_redacted_model(
    cls: type[msgspec.Struct], printer: Any
) -> None:
    value = _marked(cls)
    text = printer(value)
    assert "PII-" not in text
    assert cls.__name__ in text
    assert "[redacted]" in text


@pytest.mark.parametrize("printer", PRINTERS.values(), ids=PRINTERS.keys())
def test_no_printer_shows_personal_data_nested_in_a_body_or_a_session(printer: Any) -> None:
    for value in (seed_create_body(), _session()):
        text = printer(value)
        for secret in SEED_SECRETS:
            assert secret not in text, (secret, text)
        assert "GoPro HD" in text  # cart items are not personal data


def test_rich_prints_the_same_fields_as_repr() -> None:
    buyer = models.GuestBuyerInput(display_name="Jane", account_number="12")
    assert pretty_repr(buyer) == repr(buyer)
    assert repr(buyer) == "GuestBuyerInput(display_name=[redacted], account_number=[redacted])"


def _fail_with_locals(body: models.CheckoutSessionUpdate, session: models.CheckoutSession) -> None:
    raise RuntimeError("boom")


def test_a_rich_traceback_with_locals_shows_no_personal_data() -> None:
    try:
        _fail_with_locals(seed_create_body(), _session())
    except RuntimeError as exc:
        traceback = Traceback.from_exception(
            type(exc),
            exc,
            exc.__traceback__,
            show_locals=True,
            locals_max_length=100,
            locals_max_string=1000,
            width=200,
        )
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(traceback)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "GuestBuyerInput" in text  # the locals were printed ...
    for secret in SEED_SECRETS:
        assert secret not in text  # ... without their values


@pytest.mark.parametrize("max_string", [80, 100_000], ids=["rich-default", "unshortened"])
async def test_a_failed_calls_traceback_with_locals_shows_no_body(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy, max_string: int
) -> None:
    """The library's own frames hold the encoded body: its repr (and a slice's) is its size."""
    gr4vy_fake.faults.enqueue("PUT", Fault.status(400))
    body = seed_create_body()
    with pytest.raises(Error400) as info:
        await gr4vy_client.checkout_sessions.update(
            session_id="4137b1cf-39ac-42a8-bad6-1c680d5dab6b",
            buyer=body.buyer,
            airline=body.airline,
        )
    traceback = Traceback.from_exception(
        Error400,
        info.value,
        info.value.__traceback__,
        show_locals=True,
        locals_max_string=max_string,
        width=200,
    )
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(traceback)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "<request body, " in text
    for secret in ["John Doe", *SEED_SECRETS]:
        assert secret not in text


def test_an_encoded_body_shows_its_size_only() -> None:
    body = encode_request(seed_create_body(), models.CheckoutSessionUpdate)
    size = len(body)
    for text in (repr(body), str(body), f"{body}", pretty_repr(body), repr(body[:80])):
        assert text.startswith("<request body, ")
    assert repr(body) == f"<request body, {size} bytes>"
    assert bytes(body) == body
    assert body[0] == ord("{")


# --------------------------------------------------------------------------- the fake's log


async def test_the_fakes_request_log_shows_no_body_or_headers(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy
) -> None:
    session = await gr4vy_client.checkout_sessions.create(request_body=seed_create_body())
    await gr4vy_client.checkout_sessions.update(
        session_id=session.id, buyer={"billing_details": {"email_address": "jane@example.com"}}
    )
    for text in (
        repr(gr4vy_fake.requests),
        pretty_repr(gr4vy_fake.requests),
        pprint.pformat(gr4vy_fake.requests),
    ):
        for secret in [*SEED_SECRETS[:-3], "jane@example.com"]:
            assert secret not in text
        assert "'POST'" in text
        assert "'/checkout/sessions'" in text
        assert "body=" not in text
        assert "headers=" not in text
    # The data is still there for tests to read.
    assert gr4vy_fake.requests[-1].json()["buyer"]["billing_details"]["email_address"] == (
        "jane@example.com"
    )


# --------------------------------------------------------------------------- token, body in locals

#: A static token; the test frames name it, never spell it, so only the library could print it.
STATIC_TOKEN = "tok-" + "S3CRET-static-5b1c"
PROVIDED_TOKEN = "tok-" + "S3CRET-provided-9e2f"


async def _provided_token() -> str:
    return PROVIDED_TOKEN


def _locals_text(error: BaseException) -> str:
    """The traceback from the library's first frame on (the test's own frame holds the token)."""
    tb = error.__traceback__
    while tb is not None and "gr4vy_async" not in tb.tb_frame.f_code.co_filename:
        tb = tb.tb_next
    traceback = Traceback.from_exception(
        type(error),
        error,
        tb,
        show_locals=True,
        width=200,
        locals_max_string=100_000,
    )
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(traceback)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return text


@pytest.mark.parametrize("auth", [STATIC_TOKEN, _provided_token], ids=["static", "provider"])
@pytest.mark.parametrize("fault", ["truncated", "400"])
async def test_a_failed_calls_traceback_with_locals_shows_no_token_or_response_body(
    gr4vy_fake: FakeGr4vy, auth: Any, fault: str
) -> None:
    """Header dicts and the raw response body sit in library frames: their reprs hide them."""
    session = gr4vy_fake.create_session(seed_create_body())
    gr4vy_fake.faults.enqueue(
        "GET", Fault.truncated() if fault == "truncated" else Fault.truncated(400)
    )
    async with Gr4vy(server_url=gr4vy_fake.url, bearer_auth=auth, retry_config=None) as client:
        with pytest.raises(Gr4vyError) as info:
            await client.checkout_sessions.get(session_id=session.id)
    text = _locals_text(info.value)
    assert "_attempt" in text  # the library's locals were printed ...
    assert "'Authorization': '[redacted]'" in text
    assert "<response body, " in text
    for secret in ["S3CRET", "Bearer ", *SEED_SECRETS]:
        assert secret not in text


@pytest.mark.parametrize("source", ["argument", "environment"])
def test_a_failed_constructions_traceback_with_locals_shows_no_token(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token sits in the constructors' frames while a later option is checked."""
    options: dict[str, Any] = {"headers": {"X-Bad": 1}}
    if source == "argument":
        options["bearer_auth"] = STATIC_TOKEN
    else:
        monkeypatch.setenv("GR4VY_BEARER_AUTH", STATIC_TOKEN)
    with pytest.raises(Gr4vyError) as info:
        Gr4vy(**options)
    text = _locals_text(info.value)
    assert "bearer_auth = '[redacted]'" in text
    assert "S3CRET" not in text


# --------------------------------------------------------------------------- error messages


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


async def test_a_response_that_does_not_validate_keeps_its_values_out_of_the_message() -> None:
    body = json.dumps(
        {"type": "checkout-session", "id": SESSION_ID, "payment_method": {"type": "secret@x.io"}}
    ).encode()
    async with RawServer(answer(200, body)) as server, raw_client(server.url) as client:
        with pytest.raises(errors.ResponseValidationError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert "secret@x.io" not in str(info.value)
    assert "payment_method" in str(info.value)
