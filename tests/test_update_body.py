"""``update``: its keyword arguments become the model at once, checked as deeply as ever.

msgspec's ``convert`` (and a Struct's constructor) take a model passed in as
it is, constraints unchecked; these tests pin that a model passed to
``update`` is checked as deeply as the same values given as dicts, that the
messages are those of the dict form, and that the bytes sent are the
arguments' own (a value equal to a default is still sent: "set", not "leave").
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from gr4vy_async import Gr4vy, models
from gr4vy_async._codec import encode_fields, encode_request
from gr4vy_async.errors import InvalidRequestError
from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.testing.payloads import seed_create_body

SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"


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
