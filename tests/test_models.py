"""The models against the spec: shapes, examples, defaults, constraints, round trips."""

from __future__ import annotations

import json
import re
import typing
from datetime import date
from typing import Any

import msgspec
import pytest
from support.contract import (
    call_argument_source,
    schema_validator,
    schemas,
    seed_examples,
    validator,
)
from support.sessions import SESSION_ID

from gr4vy_async import models
from gr4vy_async._codec import decoder_for, encode_request, validate
from gr4vy_async.errors import InvalidRequestError
from gr4vy_async.utils import parse_datetime

SEED_NAMESPACE = {"models": models, "date": date, "parse_datetime": parse_datetime}


def seed_create_body() -> models.CheckoutSessionUpdate:
    """The seed's create ``request_body``, evaluated from the seed's own text."""
    source = call_argument_source(seed_examples()[0], "request_body")
    body = eval(source, dict(SEED_NAMESPACE))  # noqa: S307 - our own vendored contract file
    assert isinstance(body, models.CheckoutSessionUpdate)
    return body


# --------------------------------------------------------------------------- shapes


def _model_schemas() -> dict[str, Any]:
    roots = [getattr(models, name) for name in schemas()]
    return msgspec.json.schema_components(roots)[1]


def _canonical_name(spec_name: str) -> str:
    name: str = getattr(models, spec_name).__name__  # GuestBuyer -> GuestBuyerInput
    return name


_UUID_PATTERN = typing.get_args(models.Uuid)[1].pattern


def _normalize(node: Any, defs: dict[str, Any], ref_prefix: str) -> Any:
    """One comparable form for a spec schema and a msgspec-generated one."""
    if isinstance(node, list):
        return [_normalize(item, defs, ref_prefix) for item in node]
    if not isinstance(node, dict):
        return int(node) if isinstance(node, float) and node.is_integer() else node
    if "$ref" in node:
        name = node["$ref"].removeprefix(ref_prefix)
        target = defs[name]
        # What stands beside the reference (a default) is compared too.
        beside = _normalize({k: v for k, v in node.items() if k != "$ref"}, defs, ref_prefix)
        if "enum" in target:
            return {"enum": sorted(target["enum"]), **beside}
        return {"ref": _canonical_name(name), **beside}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in {"title", "description", "examples", "format"} or key.startswith("x-"):
            continue
        if key == "default" and value is None:
            continue  # response models read an absent nullable field as None
        if key == "pattern":
            if value == _UUID_PATTERN:
                out["format"] = "uuid"
                continue
            value = value.replace(r"\Z", "$").replace("[0-9]", r"\d")
        if key == "const":
            key, value = "enum", [value]
        out[key] = _normalize(value, defs, ref_prefix)
    if node.get("format") == "uuid":
        out["format"] = "uuid"
    if "enum" in out:
        out.pop("type", None)
        out["enum"] = sorted(out["enum"])
    if "anyOf" in out:
        options = {json.dumps(option, sort_keys=True) for option in out["anyOf"]}
        if len(options) == 1:
            out.update(json.loads(options.pop()))
            del out["anyOf"]
        else:
            out["anyOf"] = sorted(options)
    return out


@pytest.mark.parametrize("name", sorted(schemas()))
def test_model_matches_spec_schema(name: str) -> None:
    """Properties, types, constraints, enums, defaults and required match the spec."""
    spec_schema = schemas()[name]
    ours = _model_schemas()[_canonical_name(name)]
    if "enum" in spec_schema:
        assert sorted(ours["enum"]) == sorted(spec_schema["enum"])
        return
    spec_props = spec_schema.get("properties", {})
    our_props = ours.get("properties", {})
    assert list(our_props) == list(spec_props)
    assert sorted(ours.get("required", [])) == sorted(spec_schema.get("required", []))
    for prop, spec_prop in spec_props.items():
        expected = _normalize(spec_prop, schemas(), "#/components/schemas/")
        actual = _normalize(our_props[prop], _model_schemas(), "#/$defs/")
        assert actual == expected, f"{name}.{prop}"


def test_every_spec_schema_has_a_model() -> None:
    assert len(schemas()) == 35
    for name in schemas():
        assert hasattr(models, name), name


def test_seed_and_spec_names_are_the_same_models() -> None:
    assert models.GuestBuyer is models.GuestBuyerInput
    assert models.BillingDetails is models.BillingDetailsInput
    assert models.TaxId is models.TaxID
    assert models.TaxIdKind is models.TaxIDKind
    assert models.CheckoutSessionCreate is models.CheckoutSessionUpdate


@pytest.mark.parametrize(
    ("member", "value"),
    [
        (models.ProductType.PHYSICAL, "physical"),
        (models.TaxIDKind.ID_NIK, "id.nik"),
        (models.TaxIDKind.MY_NRIC, "my.nric"),
        (models.TaxIDKind.CA_GST_HST, "ca.gst_hst"),
        (models.CardScheme.CARTE_BANCAIRE, "carte-bancaire"),
        (models.RouteType.ROUND_TRIP, "round_trip"),
        (models.AgeGroup.ADULT, "adult"),
        (models.TicketDeliveryMethod.ELECTRONIC, "electronic"),
    ],
)
def test_enum_members_as_the_seed_spells_them(member: models._OpenEnum, value: str) -> None:
    assert member.value == value
    assert member == value
    assert str(member) == value
    assert member.is_known


# --------------------------------------------------------------------------- the seed


def test_seed_create_example_builds_and_validates_against_spec() -> None:
    body = seed_create_body()
    payload = json.loads(encode_request(body, models.CheckoutSessionUpdate))
    schema_validator("CheckoutSessionUpdate").validate(payload)
    request_schema = validator(
        schemas_of_operation_body := _create_request_schema()  # the anyOf of the create body
    )
    request_schema.validate(payload)
    assert schemas_of_operation_body["anyOf"][0]["$ref"].endswith("CheckoutSessionUpdate")
    assert payload["cart_items"][0]["product_type"] == "physical"
    assert payload["buyer"]["billing_details"]["tax_id"] == {
        "value": "12345678931",
        "kind": "id.nik",
    }
    assert payload["airline"]["passengers"][0]["date_of_birth"] == "2013-07-16"
    assert payload["airline"]["legs"][0]["departure_at"].startswith("2013-07-16T19:23:00")


def _create_request_schema() -> dict[str, Any]:
    from support.contract import operation

    body = operation("/checkout/sessions", "post")["requestBody"]
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]
    return schema


def test_seed_payload_round_trips() -> None:
    body = seed_create_body()
    decoded = msgspec.json.decode(msgspec.json.encode(body), type=models.CheckoutSessionUpdate)
    assert decoded == body
    assert decoded.buyer is not msgspec.UNSET


def test_packaged_seed_payload_is_the_seed_example() -> None:
    from gr4vy_async.testing.payloads import seed_create_body as packaged

    assert packaged() == seed_create_body()


def test_spec_defaults_are_left_out_as_the_api_reads_absent_as_default() -> None:
    item = models.CartItem(name="x", quantity=1, unit_amount=1, discount_amount=0)
    assert msgspec.json.decode(msgspec.json.encode(item)) == {
        "name": "x",
        "quantity": 1,
        "unit_amount": 1,
    }


def test_unset_fields_are_left_out_and_none_is_sent_as_null() -> None:
    body = models.CheckoutSessionUpdate(metadata=None, cart_items=[])
    assert json.loads(encode_request(body, models.CheckoutSessionUpdate)) == {
        "metadata": None,
        "cart_items": [],
    }
    address = models.Address(city="Paris", line2=None)
    assert msgspec.json.encode(address) == b'{"city":"Paris","line2":null}'


# --------------------------------------------------------------------------- responses


def _example_object(name: str) -> dict[str, Any]:
    """An object of schema ``name`` built from each property's first spec example."""
    schema = schemas()[name]
    return {
        prop: spec_prop["examples"][0]
        for prop, spec_prop in schema.get("properties", {}).items()
        if spec_prop.get("examples")
    }


OBJECT_SCHEMAS = sorted(name for name, s in schemas().items() if "properties" in s)


@pytest.mark.parametrize("name", OBJECT_SCHEMAS)
def test_spec_examples_decode(name: str) -> None:
    example = _example_object(name)
    if name == "ValidationError":
        example = {"loc": ["body", "cart_items", 0], "msg": "field required", "type": "missing"}
    if name == "HTTPValidationError":
        example = {"detail": [{"loc": ["body"], "msg": "m", "type": "t"}]}
    schema_validator(name).validate(example)  # the example is itself valid
    with models._strict_enums():
        decoded = decoder_for(getattr(models, name)).decode(json.dumps(example))
    for prop, value in example.items():
        got = msgspec.to_builtins(getattr(decoded, prop))
        if isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\dT", value):
            assert parse_datetime(got) == parse_datetime(value)
        else:
            assert got == value, f"{name}.{prop}"


@pytest.mark.parametrize("name", OBJECT_SCHEMAS)
def test_spec_defaults_are_model_defaults(name: str) -> None:
    required = {
        "CartItem": {"name": "n", "quantity": 1, "unit_amount": 0},
        "CheckoutSession": {"id": SESSION_ID, "expires_at": "2013-07-16T19:23:00+00:00"},
        "TaxId": {"value": "v", "kind": "us.ein"},
        "ErrorDetail": {"location": "body", "pointer": "/", "message": "m", "type": "t"},
        "ValidationError": {"loc": [], "msg": "m", "type": "t"},
    }.get(name, {})
    decoded = decoder_for(getattr(models, name)).decode(json.dumps(required))
    for prop, spec_prop in schemas()[name].get("properties", {}).items():
        if "default" in spec_prop:
            assert msgspec.to_builtins(getattr(decoded, prop)) == spec_prop["default"], prop


def test_checkout_session_with_unknown_fields_and_enum_values_decodes() -> None:
    raw = {
        "type": "checkout-session",
        "id": SESSION_ID,
        "expires_at": "2013-07-16T19:23:00.000+00:00",
        "brand_new_field": {"nested": [1, 2]},
        "cart_items": [
            {
                "name": "Drone",
                "quantity": 1,
                "unit_amount": 5,
                "product_type": "drone",
                "unknown_item_field": True,
            },
        ],
        "buyer": {"billing_details": {"tax_id": {"value": "1", "kind": "zz.new"}}},
        "payment_method": {"scheme": "newscheme", "details": {"card_type": "charge"}},
    }
    session = decoder_for(models.CheckoutSession).decode(json.dumps(raw))
    assert session.id == SESSION_ID
    assert session.cart_items is not None
    product_type = session.cart_items[0].product_type
    assert isinstance(product_type, models.ProductType)
    assert product_type.value == "drone"
    assert not product_type.is_known
    assert session.payment_method is not None
    assert session.payment_method.scheme == "newscheme"
    assert msgspec.to_builtins(session)["buyer"]["billing_details"]["tax_id"]["kind"] == "zz.new"
    # ... but a request never carries a value the library does not know.
    with pytest.raises(
        InvalidRequestError, match=r"product_type: Invalid enum value \(str of length 5\)$"
    ):
        encode_request(session.cart_items, list[models.CartItem], path="cart_items")


def test_unknown_enum_values_are_not_remembered_as_members() -> None:
    assert not models.ProductType("PHYSICAL").is_known  # a member's name, not a value
    models.ProductType("hovercraft")
    assert "hovercraft" not in models.ProductType._value2member_map_
    with pytest.raises(InvalidRequestError):
        validate(
            {"name": "x", "quantity": 1, "unit_amount": 1, "product_type": "hovercraft"},
            models.CartItem,
        )


# --------------------------------------------------------------------------- bad input

GOOD_ITEM = {"name": "GoPro HD", "quantity": 2, "unit_amount": 1299}


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"cart_items": [{**GOOD_ITEM, "quantity": 0}]}, "cart_items[0].quantity", ">= 1"),
        (
            {"cart_items": [{**GOOD_ITEM, "unit_amount": 100_000_000}]},
            "cart_items[0].unit_amount",
            "<= 99999999",
        ),
        ({"expires_in": 60}, "expires_in", ">= 3600"),
        ({"cart_items": [{**GOOD_ITEM, "name": ""}]}, "cart_items[0].name", "length >= 1"),
        ({"buyer": {"display_name": "x" * 201}}, "buyer.display_name", "length <= 200"),
        ({"airline": {"legs": [{}] * 21}}, "airline.legs", "length <= 20"),
        ({"currency": "usd"}, "currency", "matching regex"),
        ({"country": "US\n"}, "country", "matching regex"),
        (
            {"buyer": {"billing_details": {"phone_number": "0123"}}},
            "buyer.billing_details.phone_number",
            "matching regex",
        ),
        (
            {"cart_items": [{**GOOD_ITEM, "product_type": "spaceship"}]},
            "cart_items[0].product_type",
            "Invalid enum value",
        ),
        (
            {"cart_items": [{"name": "x", "unit_amount": 1}]},
            "cart_items[0]",
            "missing required field `quantity`",
        ),
        (
            {"cart_items": [{**GOOD_ITEM, "quantity": "2"}]},
            "cart_items[0].quantity",
            "Expected `int`, got `str`",
        ),
        (
            {"cart_items": [{**GOOD_ITEM, "quantity": 1.5}]},
            "cart_items[0].quantity",
            "Expected `int`, got `float`",
        ),
        ({"cart_items": [{**GOOD_ITEM, "colour": "red"}]}, "cart_items[0].colour", "unknown field"),
        (
            {"airline": {"passengers": [{"date_of_birth": "16/07/2013"}]}},
            "airline.passengers[0].date_of_birth",
            "Invalid RFC3339",
        ),
        ({"payment_service_id": "not-a-uuid"}, "payment_service_id", "matching regex"),
    ],
)
def test_each_constraint_kind_is_rejected_with_the_field_path(
    body: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        validate(body, models.CheckoutSessionUpdate)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert info.value.field == path
    assert message in info.value.reason


def test_struct_constraints_are_checked_too() -> None:
    body = models.CheckoutSessionUpdate(
        cart_items=[models.CartItem(name="x", quantity=-1, unit_amount=1)]
    )
    with pytest.raises(InvalidRequestError, match=r"^cart_items\[0\]\.quantity: "):
        validate(body, models.CheckoutSessionUpdate)


def test_naive_datetimes_are_rejected() -> None:
    from datetime import datetime

    body = models.CheckoutSessionUpdate(airline=models.Airline(issued_at=datetime(2020, 1, 1)))
    with pytest.raises(InvalidRequestError, match=r"^airline\.issued_at: .*timezone"):
        validate(body, models.CheckoutSessionUpdate)


def test_valid_dicts_become_models() -> None:
    body = validate(
        {"cart_items": [GOOD_ITEM], "metadata": {"k": "v"}}, models.CheckoutSessionUpdate
    )
    assert body.cart_items == [models.CartItem(**GOOD_ITEM)]  # type: ignore[arg-type]
    assert body.metadata == {"k": "v"}


def test_cart_item_brand_and_subcategories_from_sdk_2_4_27() -> None:
    """The fields SDK 2.4.27 sends are accepted, sent, nullable, and read back."""
    item = {**GOOD_ITEM, "brand": "Gr4vy", "subcategories": ["lenses", "accessories"]}
    body = validate({"cart_items": [item]}, models.CheckoutSessionUpdate)
    sent = json.loads(encode_request(body, models.CheckoutSessionUpdate, path=""))
    assert sent["cart_items"][0]["brand"] == "Gr4vy"
    assert sent["cart_items"][0]["subcategories"] == ["lenses", "accessories"]
    cleared = validate(
        {"cart_items": [{**GOOD_ITEM, "brand": None, "subcategories": None}]},
        models.CheckoutSessionUpdate,
    )
    assert cleared.cart_items is not None
    assert isinstance(cleared.cart_items, list)
    assert cleared.cart_items[0].brand is None
    with pytest.raises(InvalidRequestError, match=r"cart_items\[0\]\.subcategories"):
        validate(
            {"cart_items": [{**GOOD_ITEM, "subcategories": "lenses"}]},
            models.CheckoutSessionUpdate,
        )


# --------------------------------------------------------------------------- privacy


def test_buyer_and_card_data_never_reach_a_repr() -> None:
    body = seed_create_body()
    payment_method = models.CheckoutSessionPaymentMethod(
        label="4242", details=models.CheckoutSessionPaymentMethodDetails(bin="424242")
    )
    text = repr(body) + str(body.buyer) + repr(payment_method)
    for secret in (
        "John",
        "Doe",
        "john@example.com",
        "+1234567890",
        "12345678931",
        "Stafford",
        "11117700225",
        "424242",
        "4242",
    ):
        assert secret not in text
    assert "GuestBuyerInput(display_name=[redacted]" in text
    assert "GoPro HD" in text  # cart items are not personal data
