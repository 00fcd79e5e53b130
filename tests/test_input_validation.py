"""Bad input is refused before any I/O, and no message repeats the bad value.

Session ids, bodies, the client's options and headers are checked before a
request is made: non-finite numbers (msgspec would send them as ``null``, clearing
the field), dict keys that are not strings (msgspec would send ``1`` as ``"1"``),
and dicts or models hidden inside a model too. Then the messages for every kind
of bad value, checked with values that look like personal data or a secret.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import msgspec
import pytest
from msgspec import inspect as mi
from support.aioresponses_compat import TOKEN, CompatAioresponses
from support.servers import RawServer, answer, json_response, raw_client
from support.sessions import SESSION, SESSION_ID

from gr4vy_async import Gr4vy, RetryConfig, errors, models
from gr4vy_async._call_options import CallOptions
from gr4vy_async._codec import encode_fields, encode_request, validate
from gr4vy_async.errors import InvalidRequestError
from gr4vy_async.testing import FakeGr4vy, Fault
from gr4vy_async.testing.payloads import seed_create_body
from gr4vy_async.utils import parse_datetime

# --------------------------------------------------------------------------- session ids and bodies


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


def _item(**changes: Any) -> models.CartItem:
    return models.CartItem(name="x", quantity=1, unit_amount=1, **changes)


#: Bad values inside models: (keyword arguments of update, the field the error names).
BAD_MODELS: dict[str, tuple[dict[str, Any], str]] = {
    "constraint in a list item": (
        {"cart_items": [_item(), models.CartItem(name="x", quantity=0, unit_amount=1)]},
        "cart_items[1].quantity",
    ),
    "pattern two models down": (
        {
            "buyer": models.GuestBuyerInput(
                billing_details=models.BillingDetailsInput(address=models.Address(country="france"))
            )
        },
        "buyer.billing_details.address.country",
    ),
    "constraint in a list in a model": (
        {"airline": models.Airline(legs=[models.AirlineLeg(fare_basis_code="x" * 9)])},
        "airline.legs[0].fare_basis_code",
    ),
    "non-finite number in a model": (
        {"cart_items": [_item(tax_amount=math.inf)]},
        "cart_items[0].tax_amount",
    ),
    "unknown enum value in a model": (
        {"cart_items": [_item(product_type="drone")]},
        "cart_items[0].product_type",
    ),
    "model of the wrong class": (
        {"buyer": _item()},
        "buyer",
    ),
    "unknown key in a dict inside a model": (
        {"buyer": models.GuestBuyerInput(billing_details={"colour": "red"})},  # type: ignore[arg-type]
        "buyer.billing_details.colour",
    ),
}


@pytest.mark.parametrize("case", list(BAD_MODELS), ids=list(BAD_MODELS))
async def test_models_passed_to_update_are_checked_like_dicts(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy, case: str
) -> None:
    arguments, field = BAD_MODELS[case]
    with pytest.raises(InvalidRequestError) as as_models:
        await gr4vy_client.checkout_sessions.update(session_id=SESSION_ID, **arguments)
    as_dicts = msgspec.to_builtins(arguments)
    with pytest.raises(InvalidRequestError) as from_dicts:
        encode_request(as_dicts, models.CheckoutSessionUpdate)
    assert as_models.value.field == field
    assert str(as_models.value) == str(from_dicts.value) or case == "model of the wrong class"
    assert gr4vy_fake.requests == []


def test_the_keyword_form_names_an_unknown_key_before_a_bad_value() -> None:
    fields = {"buyer": {"colour": "red", "display_name": ""}}
    with pytest.raises(InvalidRequestError, match=r"^buyer\.colour: unknown field$"):
        encode_fields(fields, models.CheckoutSessionUpdate)


# --------------------------------------------------------------------------- non-finite numbers


def _numeric_paths(type_: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every int or float field reachable in a request model (list items at index 0)."""
    if isinstance(type_, mi.Metadata):
        type_ = type_.type
    if isinstance(type_, mi.UnionType):
        return [path for option in type_.types for path in _numeric_paths(option, prefix)]
    if isinstance(type_, (mi.IntType, mi.FloatType)):
        return [prefix]
    if isinstance(type_, mi.ListType):
        return _numeric_paths(type_.item_type, (*prefix, 0))
    if isinstance(type_, mi.StructType):
        return [
            path for f in type_.fields for path in _numeric_paths(f.type, (*prefix, f.encode_name))
        ]
    return []


NUMERIC_PATHS = _numeric_paths(mi.type_info(models.CheckoutSessionUpdate))


def _text(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def test_every_numeric_request_field_is_found() -> None:
    found = {_text(path) for path in NUMERIC_PATHS}
    assert {
        "amount",
        "expires_in",
        "cart_items[0].discount_amount",
        "cart_items[0].tax_amount",
        "airline.legs[0].fare_amount",
    } <= found
    assert len(found) == len(NUMERIC_PATHS) >= 12


NON_FINITE = [math.nan, math.inf, -math.inf]


def _get(document: Any, name: str) -> Any:
    return document[name] if isinstance(document, dict) else getattr(document, name)


def _set(document: Any, path: tuple[str | int, ...], value: Any) -> None:
    """Set ``value`` at ``path`` in dicts and lists, or in models (by attribute)."""
    *parents, last = path
    for part in parents:
        document = document[part] if isinstance(part, int) else _get(document, part)
    if isinstance(document, dict):
        document[last] = value
    else:
        setattr(document, str(last), value)


@pytest.mark.parametrize("number", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("path", NUMERIC_PATHS, ids=_text)
@pytest.mark.parametrize("form", ["dict", "model"])
def test_non_finite_numbers_are_refused_in_every_numeric_field(
    number: float, path: tuple[str | int, ...], form: str
) -> None:
    body: Any = seed_create_body()
    if form == "dict":
        body = msgspec.to_builtins(body)
    _set(body, path, number)
    with pytest.raises(InvalidRequestError) as info:
        encode_request(body, models.CheckoutSessionUpdate)
    assert info.value.field == _text(path)
    assert "finite" in info.value.reason
    with pytest.raises(InvalidRequestError, match="finite"):
        validate(body, models.CheckoutSessionUpdate)


def test_non_finite_numbers_are_refused_in_metadata_values_too() -> None:
    with pytest.raises(InvalidRequestError, match=r"^metadata\.order: must be a finite"):
        encode_request({"metadata": {"order": math.nan}}, models.CheckoutSessionUpdate)


def test_none_still_clears_a_field() -> None:
    """The search for NaN, triggered by a null in the body, lets a real None through."""
    body = {
        "amount": None,
        "cart_items": [{"name": "x", "quantity": 1, "unit_amount": 1, "tax_amount": None}],
    }
    assert msgspec.json.decode(encode_request(body, models.CheckoutSessionUpdate)) == {
        "amount": None,
        "cart_items": [{"name": "x", "quantity": 1, "unit_amount": 1, "tax_amount": None}],
    }


@pytest.mark.parametrize("form", ["dict", "model"])
def test_the_search_for_nan_copes_with_what_msgpack_cannot_encode(form: str) -> None:
    """An int past 64 bits beside a null: JSON encodes it, msgpack cannot."""
    body: Any = {"amount": 2**70, "currency": None}
    if form == "model":
        body = models.CheckoutSessionUpdate(**body)
    with pytest.raises(InvalidRequestError, match=r"^amount: Expected `int` <= 99999999$"):
        encode_request(body, models.CheckoutSessionUpdate)
    body = {"amount": 2**70, "expires_in": math.nan, "currency": None}
    with pytest.raises(
        InvalidRequestError, match=r"^expires_in: must be a finite number, not nan$"
    ):
        encode_request(body, models.CheckoutSessionUpdate)


@pytest.mark.parametrize("number", NON_FINITE, ids=["nan", "inf", "-inf"])
async def test_update_and_create_send_nothing_for_non_finite_numbers(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy, number: float
) -> None:
    sessions = gr4vy_client.checkout_sessions
    item = {"name": "x", "quantity": 1, "unit_amount": 1}
    calls: list[tuple[str, Any]] = [
        ("amount", sessions.update(session_id=SESSION_ID, amount=number)),  # type: ignore[arg-type]
        ("expires_in", sessions.update(session_id=SESSION_ID, expires_in=number)),
        (
            "cart_items[0].discount_amount",
            sessions.update(
                session_id=SESSION_ID, cart_items=[{**item, "discount_amount": number}]
            ),
        ),
        (
            "cart_items[0].tax_amount",
            sessions.update(
                session_id=SESSION_ID,
                cart_items=[
                    models.CartItem(name="x", quantity=1, unit_amount=1, tax_amount=number)  # type: ignore[arg-type]
                ],
            ),
        ),
        ("amount", sessions.create(request_body={"amount": number})),
        ("amount", sessions.create(request_body=models.CheckoutSessionUpdate(amount=number))),  # type: ignore[arg-type]
    ]
    for field, call in calls:
        with pytest.raises(InvalidRequestError) as info:
            await call
        assert info.value.field == field
        assert "finite" in str(info.value)
    assert gr4vy_fake.requests == []


# --------------------------------------------------------------------------- dict keys


@pytest.mark.parametrize("key", [1, 1.5, True, None], ids=repr)
async def test_metadata_keys_that_are_not_strings_are_refused(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy, key: Any
) -> None:
    sessions = gr4vy_client.checkout_sessions
    metadata = {"order": "o-1", key: "x"}
    for call in (
        sessions.update(session_id=SESSION_ID, metadata=metadata),
        sessions.create(request_body={"metadata": metadata}),
        sessions.create(request_body=models.CheckoutSessionUpdate(metadata=metadata)),
    ):
        with pytest.raises(InvalidRequestError, match=r"^metadata: keys must be strings") as info:
            await call
        assert info.value.field == "metadata"
    assert gr4vy_fake.requests == []


def test_a_dict_inside_a_model_is_checked_like_any_dict() -> None:
    hidden = models.CheckoutSessionUpdate(
        buyer={"display_name": "x", "colour": "red"}  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidRequestError, match=r"^buyer\.colour: unknown field$"):
        encode_request(hidden, models.CheckoutSessionUpdate)
    nested = models.CheckoutSessionUpdate(
        buyer=models.GuestBuyerInput(
            billing_details={"tax_id": {"value": "x", "kind": "gb.vat", "note": "y"}}  # type: ignore[arg-type]
        )
    )
    with pytest.raises(InvalidRequestError, match=r"^buyer\.billing_details\.tax_id\.note: "):
        encode_request(nested, models.CheckoutSessionUpdate)


def test_a_model_of_the_wrong_class_is_refused_not_half_sent() -> None:
    """msgspec would send an Address's fields as a buyer, and the server drop them."""
    wrong = models.CheckoutSessionUpdate(buyer=models.Address(city="x"))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match=r"^buyer: expected GuestBuyerInput, not Address"):
        encode_request(wrong, models.CheckoutSessionUpdate)


def test_models_and_tuples_that_survive_the_round_trip_pass() -> None:
    body = seed_create_body()
    assert validate(body, models.CheckoutSessionUpdate) == body
    assert body.cart_items is not None
    assert isinstance(body.cart_items, list)
    as_tuple = copy.copy(body)
    as_tuple.cart_items = tuple(body.cart_items)  # type: ignore[assignment]
    assert encode_request(as_tuple, models.CheckoutSessionUpdate) == encode_request(
        body, models.CheckoutSessionUpdate
    )


# ---------------------------------------------------------- the client's options and call arguments


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


def _any(value: object) -> Any:
    """A value of the wrong type, past the type checker (what untyped callers pass)."""
    return value


def _sdk_retry(**backoff: Any) -> Any:
    from gr4vy_async import utils

    return utils.BackoffStrategy(
        **{
            "initial_interval": 1,
            "max_interval": 50,
            "exponent": 1.1,
            "max_elapsed_time": 100,
            **backoff,
        }
    )


#: Bad values that raised a plain Python exception (or hung a call later), by where they go.
BAD_CONFIG: dict[str, Any] = {
    "retries-attempts-str": lambda: RetryConfig(max_attempts=_any("3")),
    "retries-attempts-nan": lambda: RetryConfig(max_attempts=_any(math.nan)),
    "retries-attempts-bool": lambda: RetryConfig(max_attempts=True),
    "retries-initial-nan": lambda: RetryConfig(initial_delay=math.nan),
    "retries-initial-inf": lambda: RetryConfig(initial_delay=math.inf),
    "retries-max-delay-inf": lambda: RetryConfig(max_delay=math.inf),
    "retries-elapsed-minus-inf": lambda: RetryConfig(max_elapsed=-math.inf),
    "retries-cap-str": lambda: RetryConfig(retry_after_cap=_any("60")),
    "backoff-huge-int": lambda: _sdk_retry(max_elapsed_time=10**400),
    "backoff-nan": lambda: _sdk_retry(initial_interval=math.nan),
    "client-timeout-huge-int": lambda: Gr4vy(bearer_auth="t", timeout_in_seconds=10**400),
    "client-max-connections-negative": lambda: Gr4vy(bearer_auth="t", max_connections=-1),
    "client-max-connections-nan": lambda: Gr4vy(bearer_auth="t", max_connections=_any(math.nan)),
    "client-max-connections-str": lambda: Gr4vy(bearer_auth="t", max_connections=_any("8")),
    "client-bearer-auth-int": lambda: Gr4vy(bearer_auth=_any(5)),
}


@pytest.mark.parametrize("make", BAD_CONFIG.values(), ids=BAD_CONFIG.keys())
def test_bad_configuration_values_raise_invalid_request_error(make: Any) -> None:
    with pytest.raises(InvalidRequestError):
        make()


_DEEP: dict[str, Any] = {}
_level = _DEEP
for _ in range(1_500):
    _level["a"] = {}
    _level = _level["a"]


#: Bad call arguments that raised RecursionError, TypeError or OverflowError.
BAD_CALLS: dict[str, Any] = {
    "deep-body": lambda c: c.checkout_sessions.create(request_body={"metadata": {"a": _DEEP}}),
    "deep-update": lambda c: c.checkout_sessions.update(session_id=SESSION_ID, metadata=_DEEP),
    "timeout-huge-int": lambda c: c.checkout_sessions.get(
        session_id=SESSION_ID, timeout_in_seconds=10**400
    ),
    "timeout-ms-huge-int": lambda c: c.checkout_sessions.get(
        session_id=SESSION_ID, timeout_ms=10**400
    ),
    "delete-many-none": lambda c: c.checkout_sessions.delete_many(None),
    "delete-many-int": lambda c: c.checkout_sessions.delete_many(5),
    "concurrency-nan": lambda c: c.checkout_sessions.delete_many(
        [SESSION_ID], concurrency=math.nan
    ),
    "concurrency-str": lambda c: c.checkout_sessions.delete_many([SESSION_ID], concurrency="2"),
    "concurrency-bool": lambda c: c.checkout_sessions.delete_many([SESSION_ID], concurrency=True),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
async def test_bad_call_arguments_raise_invalid_request_error_and_send_nothing(
    call: Any,
) -> None:
    async with FakeGr4vy() as fake, Gr4vy(bearer_auth="t", server_url=fake.url) as client:
        with pytest.raises(InvalidRequestError):
            await call(client)
        assert fake.requests == []


def test_a_bad_timeout_ms_is_named_as_timeout_ms() -> None:
    with pytest.raises(InvalidRequestError, match=r"^timeout_ms: ") as info:
        Gr4vy(bearer_auth="t", timeout_ms=math.nan)
    assert info.value.field == "timeout_ms"


async def test_a_nan_backoff_can_no_longer_hang_a_call() -> None:
    """``initial_delay=nan`` passed the check and the first 503 then waited forever."""
    async with FakeGr4vy() as fake:
        fake.faults.enqueue("GET", Fault.status(503), times=2)
        with pytest.raises(InvalidRequestError):
            Gr4vy(bearer_auth="t", server_url=fake.url, retries=RetryConfig(initial_delay=math.nan))
        assert fake.requests == []


# --------------------------------------------------------------------------- headers


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


@pytest.mark.parametrize(
    "token",
    ["a\x85b", "a\u2028b", "tok\u00e9n", " ", "Bearer abc", "tok en", "=abc"],
    ids=["nel", "line-separator", "non-ascii", "blank", "prefixed", "space", "pad-first"],
)
async def test_a_token_that_is_no_bearer_token_is_refused_before_any_request(
    mock_http: CompatAioresponses, token: str
) -> None:
    """RFC 6750: letters, digits and -._~+/ then =; Unicode breaks and blanks are not sent."""
    with pytest.raises(errors.InvalidRequestError, match=r"^bearer_auth: ") as info:
        Gr4vy(bearer_auth=token)
    assert token.strip() not in str(info.value) or not token.strip()
    async with Gr4vy(id="acme", bearer_auth=lambda: token) as client:
        with pytest.raises(errors.InvalidRequestError, match=r"^bearer_auth: "):
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert mock_http.requests == {}


class _Disguised(str):
    """Checked by its contents, written by aiohttp as ``str(value)``: they must be one."""

    def __str__(self) -> str:
        return "ok\r\nX-Evil: 1"


async def test_a_header_value_is_sent_as_the_text_that_was_checked() -> None:
    seen: list[dict[str, str]] = []

    async def record(request: Any) -> Any:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        return json_response(204, b"")

    async with (
        RawServer(record) as server,
        Gr4vy(
            server_url=server.url,
            bearer_auth=TOKEN,
            merchant_account_id=_Disguised("acme"),
            headers={_Disguised("X-Trace"): _Disguised("t1")},
        ) as client,
    ):
        await client.checkout_sessions.delete(
            session_id=SESSION_ID,
            merchant_account_id=_Disguised("other"),
            http_headers={"X-Call": _Disguised("c1")},
        )
    assert len(seen) == 1
    assert seen[0]["x-gr4vy-merchant-account-id"] == "other"
    assert (seen[0]["x-trace"], seen[0]["x-call"]) == ("t1", "c1")
    assert not any("Evil" in name or "Evil" in value for name, value in seen[0].items())


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

    async with RawServer(answer(200, SESSION)) as server, raw_client(server.url) as client:
        transport = client._transport
        path = f"/checkout/sessions/{SESSION_ID}"
        for headers in [
            *({name: "v"} for name in BAD_NAMES),
            *({"X-Trace": value} for value in BAD_VALUES + NOT_STRINGS),
            {"Authorization": "Bearer other"},
            {"X-GR4VY-Merchant-Account-Id": "other"},
        ]:
            with pytest.raises(errors.InvalidRequestError):
                await transport.request("GET", path, None, None, CallOptions(headers=headers))  # type: ignore[arg-type]
        for value in BAD_VALUES:
            with pytest.raises(errors.InvalidRequestError):
                await client.checkout_sessions.get(session_id=SESSION_ID, merchant_account_id=value)
        for token in [*BAD_VALUES, "", 42]:
            provider_client = raw_client(server.url, bearer_auth=lambda token=token: token)
            async with provider_client:
                with pytest.raises(errors.InvalidRequestError):
                    await provider_client.checkout_sessions.get(session_id=SESSION_ID)
        assert server.seen == []
        # A tab is allowed inside a value; per-call headers override the client's.
        await transport.request(
            "GET", path, None, None, CallOptions(headers={"X-Trace": "a\tb", "accept": "*/*"})
        )
    assert server.seen[-1].headers["X-Trace"] == "a\tb"
    assert server.seen[-1].headers["Accept"] == "*/*"


# --------------------------------------------------------------------------- messages


SECRETS = ["jane.doe+orders@example.com", "sk_live_" + "9fK2xQ7rT1vB8nM3pL6wZ4cY0hJ5dG" * 2]


def _assert_hidden(error: BaseException, secret: str) -> None:
    for text in (str(error), repr(error), *map(str, error.args), *map(repr, error.args)):
        assert secret not in text
        assert secret[:12] not in text  # not even a prefix


@pytest.mark.parametrize("secret", SECRETS, ids=["email", "token"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"buyer": {"billing_details": {"tax_id": {"value": "1", "kind": "{s}"}}}},
            "buyer.billing_details.tax_id.kind",
        ),
        ({"intent": "{s}"}, "intent"),
        (
            {"cart_items": [{"name": "x", "quantity": 1, "unit_amount": 1, "product_type": "{s}"}]},
            "cart_items[0].product_type",
        ),
        ({"airline": {"legs": [{"route_type": "{s}"}]}}, "airline.legs[0].route_type"),
        ({"payment_service_id": "{s}"}, "payment_service_id"),
        ({"currency": "{s}"}, "currency"),
        (
            {"buyer": {"billing_details": {"phone_number": "{s}"}}},
            "buyer.billing_details.phone_number",
        ),
        ({"airline": {"issued_at": "{s}"}}, "airline.issued_at"),
        (
            {"airline": {"passengers": [{"date_of_birth": "{s}"}]}},
            "airline.passengers[0].date_of_birth",
        ),
        ({"buyer": {"display_name": "{s}" * 10}}, "buyer.display_name"),
        ({"amount": "{s}"}, "amount"),
        ({"buyer": {"{s}": "x"}}, "buyer[...]"),
        ({"metadata": {"{s}": 1.5}}, "metadata[...]"),
    ],
)
def test_validation_messages_name_the_field_not_the_value(
    secret: str, body: dict[str, Any], field: str
) -> None:
    document = msgspec.json.decode(msgspec.json.encode(body).replace(b"{s}", secret.encode()))
    with pytest.raises(InvalidRequestError) as info:
        encode_request(document, models.CheckoutSessionUpdate)
    assert info.value.field == field
    _assert_hidden(info.value, secret)


def test_messages_give_the_type_and_length() -> None:
    with pytest.raises(InvalidRequestError) as info:
        encode_request({"intent": SECRETS[0]}, models.CheckoutSessionUpdate)
    assert str(info.value) == "intent: Invalid enum value (str of length 27)"
    with pytest.raises(InvalidRequestError) as info:
        encode_request({"buyer": {SECRETS[0]: "x"}}, models.CheckoutSessionUpdate)
    assert str(info.value) == "buyer[...]: unknown field (str of length 27)"
    # A key shaped like a field name (a typo) is named.
    with pytest.raises(InvalidRequestError, match=r"^buyer\.display_nam: unknown field$"):
        encode_request({"buyer": {"display_nam": "x"}}, models.CheckoutSessionUpdate)


@pytest.mark.parametrize("secret", SECRETS, ids=["email", "token"])
async def test_session_id_messages_do_not_repeat_the_id(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy, secret: str
) -> None:
    sessions = gr4vy_client.checkout_sessions
    for call in (
        sessions.get(session_id=secret),
        sessions.update(session_id=secret, amount=1),
        sessions.delete(session_id=secret),
    ):
        with pytest.raises(InvalidRequestError) as info:
            await call
        assert str(info.value) == f"session_id: expected a UUID, got str of length {len(secret)}"
        _assert_hidden(info.value, secret)
    assert gr4vy_fake.requests == []


@pytest.mark.parametrize("secret", SECRETS, ids=["email", "token"])
async def test_bulk_skip_reasons_do_not_repeat_the_id(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy, secret: str
) -> None:
    report = await gr4vy_client.checkout_sessions.delete_many([secret])
    [(_, reason)] = report.skipped
    assert secret[:12] not in str(reason)
    assert "not a UUID" in str(reason)


@pytest.mark.parametrize("secret", SECRETS, ids=["email", "token"])
@pytest.mark.parametrize("argument", ["id", "server"])
def test_configuration_messages_do_not_repeat_the_value(secret: str, argument: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        Gr4vy(bearer_auth="token", **{argument: secret})  # type: ignore[arg-type]
    assert str(info.value).startswith(f"{argument}: ")
    _assert_hidden(info.value, secret)


@pytest.mark.parametrize("secret", SECRETS, ids=["email", "token"])
def test_parse_datetime_does_not_repeat_the_value(secret: str) -> None:
    with pytest.raises(
        ValueError, match=r"^not an RFC 3339 datetime \(str of length \d+\)$"
    ) as info:
        parse_datetime(secret)
    _assert_hidden(info.value, secret)
