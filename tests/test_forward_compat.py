"""Responses decode whatever the server is entitled to change; requests keep every rule.

A response may carry fields this release does not know (at any depth), values
of enums it does not know, strings beyond the spec's lengths and patterns and
numbers beyond its ranges: all decode. A wrong JSON type, a missing required
field or a datetime without an offset still raise ``ResponseValidationError``.
What is sent keeps every constraint of the spec, checked before sending.
"""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import msgspec
import pytest
from msgspec import inspect as mi
from support.servers import RawServer, answer, raw_client
from support.sessions import SESSION_ID

from gr4vy_async import errors, models
from gr4vy_async._codec import decoder_for, validate
from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.testing.payloads import seed_create_body


def session_document() -> dict[str, Any]:
    """The seed's create body as the server echoes it, with a card payment method."""
    document: dict[str, Any] = msgspec.to_builtins(seed_create_body())
    del document["expires_in"]
    document.update(
        type="checkout-session",
        id=SESSION_ID,
        expires_at="2030-07-16T20:23:00.000+00:00",
        amount=1299,
        currency="USD",
        payment_service_id="ef9496d8-53a5-4aad-8ca2-00eb68334389",
        payment_method={
            "type": "payment-method",
            "id": "ef9496d8-53a5-4aad-8ca2-00eb68334389",
            "details": {"bin": "411111", "card_country": "US", "card_type": "credit"},
            "label": "1234",
            "method": "card",
            "scheme": "visa",
        },
    )
    return document


def changed(path: str, value: Any) -> dict[str, Any]:
    """The session document with the value at ``path`` (``a.b[0].c``) replaced."""
    document = session_document()
    *parents, last = _parts(path)
    node: Any = document
    for part in parents:
        node = node[part]
    node[last] = value
    return document


def _parts(path: str) -> list[str | int]:
    return [
        int(p) if p.isdigit() else p for p in path.replace("[", ".").replace("]", "").split(".")
    ]


def decode(document: dict[str, Any]) -> models.CheckoutSession:
    return decoder_for(models.CheckoutSession).decode(json.dumps(document))


def at(session: models.CheckoutSession, path: str) -> Any:
    node: Any = session
    for part in _parts(path):
        node = node[part] if isinstance(part, int) else getattr(node, part)
    return node


# --------------------------------------------------------------------------- what decodes


def test_unknown_fields_at_every_depth_are_ignored() -> None:
    document = session_document()
    extra = {"added": [{"deep": {"deeper": None}}], "n": 1.5}
    for node in (
        document,
        document["cart_items"][0],
        document["buyer"],
        document["buyer"]["billing_details"],
        document["buyer"]["billing_details"]["address"],
        document["buyer"]["billing_details"]["tax_id"],
        document["buyer"]["shipping_details"],
        document["airline"],
        document["airline"]["legs"][0],
        document["airline"]["passengers"][0],
        document["payment_method"],
        document["payment_method"]["details"],
    ):
        node["field_from_a_later_release"] = extra
    assert decode(document) == decode(session_document())


def test_an_unknown_payment_method_kind_is_kept_and_marked_unknown() -> None:
    """``payment_method.method`` is ``"card"`` in this release's spec; tomorrow it may not be."""
    session = decode(changed("payment_method.method", "paypal"))
    assert session.payment_method is not None
    method = session.payment_method.method
    assert isinstance(method, str)
    assert method == "paypal"
    assert not method.is_known
    assert decode(session_document()).payment_method.method.is_known  # type: ignore[union-attr]
    assert models.PaymentMethodKind("card") is models.PaymentMethodKind.CARD


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("cart_items[0].product_type", "drone"),
        ("buyer.billing_details.tax_id.kind", "zz.new"),
        ("airline.legs[0].route_type", "multi_city"),
        ("airline.passengers[0].age_group", "child"),
        ("airline.ticket_delivery_method", "carrier_pigeon"),
        ("payment_method.scheme", "newscheme"),
        ("payment_method.details.card_type", "charge"),
    ],
)
def test_unknown_enum_values_are_kept_and_marked_unknown(path: str, value: str) -> None:
    got = at(decode(changed(path, value)), path)
    assert isinstance(got, models._OpenEnum)
    assert got == value
    assert not got.is_known


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("id", "cs_2f6f7c1d8e90"),  # not a UUID
        ("payment_service_id", "ps-42"),
        ("currency", "usdollar"),
        ("payment_method.id", "pm_1"),
        ("payment_method.details.card_country", "USA"),
        ("cart_items[0].name", "n" * 300),
        ("cart_items[0].name", ""),
        ("cart_items[0].categories[0]", "c" * 51),
        ("cart_items[0].seller_country", "gb"),
        ("buyer.display_name", "d" * 201),
        ("buyer.billing_details.phone_number", "0800 FLOWERS"),
        ("buyer.billing_details.email_address", "e" * 321),
        ("buyer.billing_details.address.state_code", "CA"),
        ("buyer.billing_details.tax_id.value", "v" * 51),
        ("buyer.shipping_details.address.country", "United States"),
        ("airline.legs[0].arrival_airport", "LAXX"),
        ("airline.legs[0].flight_number", "1"),
        ("airline.passengers[0].frequent_flyer_number", "1"),
        ("airline.issuing_carrier_code", "ABCD"),
    ],
)
def test_strings_beyond_spec_lengths_and_patterns_decode(path: str, value: str) -> None:
    assert at(decode(changed(path, value)), path) == value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("amount", 100_000_000),
        ("amount", -1),
        ("cart_items[0].quantity", 0),
        ("cart_items[0].unit_amount", 10**12),
        ("cart_items[0].discount_amount", -5),
        ("airline.legs[0].fare_amount", 100_000_000),
    ],
)
def test_numbers_beyond_spec_ranges_decode(path: str, value: int) -> None:
    assert at(decode(changed(path, value)), path) == value


def test_lists_beyond_spec_lengths_decode() -> None:
    document = session_document()
    document["airline"]["legs"] *= 21
    document["airline"]["passengers"] *= 21
    session = decode(document)
    assert session.airline is not None
    assert len(session.airline.legs or []) == len(session.airline.passengers or []) == 21


# --------------------------------------------------------------------------- what does not


@pytest.mark.parametrize(
    ("document", "where"),
    [
        (changed("amount", "john@example.com"), "amount"),
        (changed("cart_items[0].name", 12345), "cart_items[0].name"),
        (changed("buyer", ["john@example.com"]), "buyer"),
        (changed("payment_method.method", 7), "payment_method.method"),
        (changed("type", "secret@example.com"), "type"),  # the object's kind, not its state
        (changed("expires_at", "2030-07-16T20:23:00"), "expires_at"),  # no offset
        ({k: v for k, v in session_document().items() if k != "id"}, "id"),
    ],
    ids=["str-for-int", "int-for-str", "list-for-object", "int-for-enum", "kind", "naive", "no-id"],
)
async def test_a_wrong_type_or_a_missing_field_still_raises(
    document: dict[str, Any], where: str
) -> None:
    body = json.dumps(document).encode()
    async with RawServer(answer(200, body)) as server, raw_client(server.url) as client:
        with pytest.raises(errors.ResponseValidationError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert where in str(info.value)
    assert "example.com" not in str(info.value)


# --------------------------------------------------------------------------- the two directions


def _checked_types(type_: Any) -> list[str]:
    """Each constraint or closed Literal a type decodes with, as ``path: what``."""
    found: list[str] = []
    seen: set[type] = set()

    def walk(info: mi.Type, path: str) -> None:
        constraints = {
            name: getattr(info, name)
            for name in ("min_length", "max_length", "pattern", "ge", "gt", "le", "lt")
            if getattr(info, name, None) is not None
        }
        if constraints:
            found.append(f"{path}: {constraints}")
        if isinstance(info, mi.Metadata):
            walk(info.type, path)
        elif isinstance(info, mi.UnionType):
            for member in info.types:
                walk(member, path)
        elif isinstance(info, (mi.ListType, mi.DictType)):
            walk(info.item_type if isinstance(info, mi.ListType) else info.value_type, path + "[]")
        elif isinstance(info, mi.LiteralType) and not path.endswith(".type"):
            found.append(f"{path}: Literal{info.values}")
        elif isinstance(info, mi.StructType) and info.cls not in seen:
            seen.add(info.cls)
            for field in info.fields:
                walk(field.type, f"{path}.{field.encode_name}")

    walk(mi.type_info(type_), "")
    return found


def test_responses_decode_with_no_length_pattern_or_range_and_open_state_values() -> None:
    """Read from the decoder itself: what a response is checked against."""
    assert _checked_types(decoder_for(models.CheckoutSession).type) == []
    # ... while the models, and so requests, keep every constraint of the spec.
    assert ".cart_items[].name: {'min_length': 1, 'max_length': 255}" in _checked_types(
        models.CheckoutSession
    )
    assert len(_checked_types(models.CheckoutSessionUpdate)) > 60


async def test_a_response_value_beyond_the_spec_is_refused_when_sent_back() -> None:
    document = changed("cart_items[0].name", "n" * 300)
    async with FakeGr4vy() as fake, raw_client(fake.url) as client:
        session = decode(document)
        assert session.cart_items is not None
        with pytest.raises(errors.InvalidRequestError, match=r"^cart_items\[0\]\.name: "):
            await client.checkout_sessions.update(
                session_id=SESSION_ID, cart_items=session.cart_items
            )
        unknown = decode(changed("cart_items[0].product_type", "drone")).cart_items
        with pytest.raises(errors.InvalidRequestError, match=r"product_type: Invalid enum"):
            await client.checkout_sessions.update(session_id=SESSION_ID, cart_items=unknown)
        assert fake.requests == []


async def test_response_values_within_the_spec_can_be_sent_back() -> None:
    async with FakeGr4vy() as fake, raw_client(fake.url) as client:
        created = await client.checkout_sessions.create(request_body=seed_create_body())
        updated = await client.checkout_sessions.update(
            session_id=created.id,
            cart_items=created.cart_items,
            buyer=created.buyer,
            airline=created.airline,
        )
    assert updated == created


def test_decoded_models_are_the_models_and_compare_equal_to_built_ones() -> None:
    session = decode(session_document())
    built = models.CheckoutSession(
        **{
            name: getattr(session, name)
            for name in models.CheckoutSession.__struct_fields__
            if name not in ("cart_items",)
        },
        cart_items=[
            msgspec.convert(item, models.CartItem) for item in session_document()["cart_items"]
        ],
    )
    assert isinstance(session, models.CheckoutSession)
    assert session.cart_items is not None
    assert isinstance(session.cart_items[0], models.CartItem)
    assert session == built
    assert built == session
    assert not session != built  # noqa: SIM202 - __ne__ is its own method
    assert session.cart_items == built.cart_items
    assert type(session).__name__ == "CheckoutSession"
    assert repr(session.buyer).startswith("GuestBuyerInput(")
    assert repr(session).startswith("CheckoutSession(")
    assert pickle.loads(pickle.dumps(session)) == session  # noqa: S301 - our own bytes
    assert copy.deepcopy(session) == session
    assert session.model_dump(mode="json") == built.model_dump(mode="json")
    assert (
        validate(msgspec.to_builtins(session.cart_items[0]), models.CartItem)
        == session.cart_items[0]
    )
