"""Models benchmark: gr4vy_async's msgspec Structs beside the official SDK's pydantic models.

Times, in microseconds per call, encoding the seed's create payload and decoding a
full CheckoutSession response, each the way ``create_async`` does it in both
libraries, plus each library's plainest path. Rounds alternate the two sides;
medians are printed as a Markdown table. Run from the repository root::

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -q -e '.[bench]' \\
        && .venv-bench/bin/python benchmarks/bench_models.py

``--rounds`` and ``--target`` (seconds per round) change the defaults (7 and 0.2).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

import httpx
import msgspec
from _common import Case, environment, print_table, run_cases
from gr4vy import models as sdk
from gr4vy.utils import parse_datetime as sdk_datetime
from gr4vy.utils import serialize_request_body
from gr4vy.utils.unmarshal_json_response import unmarshal_json_response

from gr4vy_async import _codec, models
from gr4vy_async.testing.payloads import seed_create_body

# What ``CheckoutSessions.create_async`` passes to ``serialize_request_body`` in gr4vy 2.4.27.
SDK_BODY_TYPE: Any = sdk.CheckoutSessionCreate | None


def official_create_body() -> sdk.CheckoutSessionCreate:
    """The seed's create example built with the official SDK 2.4.27 models.

    The seed was written for an older SDK; 2.4.27 names the classes
    CheckoutSessionCreate, GuestBuyer and BillingDetails, and its enums are
    string literals. The values are the seed's, field for field.
    """
    address = sdk.Address(
        city="San Jose",
        country="US",
        postal_code="94560",
        state="California",
        state_code="US-CA",
        house_number_or_name="10",
        line1="Stafford Appartments",
        line2="29th Street",
        organization="Gr4vy",
    )
    return sdk.CheckoutSessionCreate(
        cart_items=[
            sdk.CartItem(
                name="GoPro HD",
                quantity=2,
                unit_amount=1299,
                discount_amount=0,
                tax_amount=0,
                external_identifier="goprohd",
                sku="GPHD1078",
                product_url="https://example.com/catalog/go-pro-hd",
                image_url="https://example.com/images/go-pro-hd.jpg",
                categories=["camera", "travel", "gear"],
                product_type="physical",
                seller_country="GB",
            ),
        ],
        metadata={"cohort": "cohort-a", "order_id": "order-12345"},
        buyer=sdk.GuestBuyer(
            display_name="John Doe",
            external_identifier="buyer-12345",
            billing_details=sdk.BillingDetails(
                first_name="John",
                last_name="Doe",
                email_address="john@example.com",
                phone_number="+1234567890",
                address=address,
                tax_id=sdk.TaxID(value="12345678931", kind="id.nik"),
            ),
            shipping_details=sdk.ShippingDetailsCreate(
                first_name="John",
                last_name="Doe",
                email_address="john@example.com",
                phone_number="+1234567890",
                address=sdk.Address(**address.model_dump()),
            ),
        ),
        airline=sdk.Airline(
            booking_code="X36Q9C",
            issued_address="123 Broadway, New York",
            issued_at=sdk_datetime("2013-07-16T19:23:00.000+00:00"),
            issuing_carrier_code="A3",
            legs=[
                sdk.AirlineLeg(
                    arrival_airport="LAX",
                    arrival_at=sdk_datetime("2013-07-16T19:23:00.000+00:00"),
                    arrival_city="Los Angeles",
                    arrival_country="US",
                    carrier_code="BA",
                    coupon_number="15885566",
                    departure_airport="LHR",
                    departure_at=sdk_datetime("2013-07-16T19:23:00.000+00:00"),
                    departure_city="London",
                    departure_country="GB",
                    departure_tax_amount=1200,
                    fare_amount=129900,
                    fare_basis_code="FY",
                    fee_amount=1200,
                    flight_class="E",
                    flight_number="101",
                    route_type="round_trip",
                    stop_over=False,
                    tax_amount=1200,
                ),
            ],
            passenger_name_record="JOHN L",
            passengers=[
                sdk.AirlinePassenger(
                    age_group="adult",
                    date_of_birth=dt.date.fromisoformat("2013-07-16"),
                    email_address="john@example.com",
                    first_name="John",
                    frequent_flyer_number="15885566",
                    last_name="Luhn",
                    passport_number="11117700225",
                    phone_number="+1234567890",
                    ticket_number="BA1236699999",
                    title="Mr.",
                    country_code="US",
                ),
            ],
            reservation_system="Amadeus",
            restricted_ticket=False,
            ticket_delivery_method="electronic",
            ticket_number="123-1234-151555",
            travel_agency_code="12345",
            travel_agency_invoice_number="EG15555155",
            travel_agency_name="ACME Agency",
            travel_agency_plan_name="B733",
        ),
        expires_in=3600,
    )


def response_bytes() -> bytes:
    """A full CheckoutSession response: the seed payload as the server echoes it back."""
    document = msgspec.json.decode(msgspec.json.encode(seed_create_body()))
    del document["expires_in"]  # a request-only field
    document.update(
        type="checkout-session",
        id="4137b1cf-39ac-42a8-bad6-1c680d5dab6b",
        expires_at="2013-07-16T20:23:00.000+00:00",
        payment_method={
            "type": "payment-method",
            "id": "ef9496d8-53a5-4aad-8ca2-00eb68334389",
            "details": {
                "bin": "411111",
                "card_country": "US",
                "card_type": "credit",
                "card_issuer_name": "Bank of America NA",
            },
            "label": "1234",
            "method": "card",
            "scheme": "visa",
            "fingerprint": "a50b85c200ee0795d6fd33a5c66f37a4564f554355c5b46a756aac485dd168a4",
        },
    )
    return msgspec.json.encode(document)


def official_encode(body: sdk.CheckoutSessionCreate) -> str:
    """The request body text, exactly as ``create_async`` produces it."""
    serialized = serialize_request_body(body, False, True, "json", SDK_BODY_TYPE)
    assert serialized is not None
    assert isinstance(serialized.content, str)
    return serialized.content


def official_decode(raw: bytes, http_res: httpx.Response) -> sdk.CheckoutSession:
    """The response model, as ``create_async`` makes it from ``http_res.text``.

    The text is decoded from the bytes on every call (``http_res.text`` is
    cached by httpx, so it is passed in instead); ``http_res`` is only read
    if validation fails.
    """
    return unmarshal_json_response(sdk.CheckoutSession, http_res, raw.decode())


def check_same_work(raw: bytes) -> None:
    """Fail loudly unless both libraries encode the same payload and decode the same data.

    The bytes differ a little: ours omits the three fields whose value is the
    spec's default (``omit_defaults``) and the SDK writes ``expires_in`` as
    ``3600.0``; read back leniently, both are the seed payload.
    """
    seed = seed_create_body()
    for encoded in (
        _codec.encode_request(seed, models.CheckoutSessionUpdate),
        official_encode(official_create_body()),
    ):
        sent = msgspec.json.decode(encoded, type=models.CheckoutSessionUpdate, strict=False)
        assert sent == seed, "an encoder lost part of the seed payload"
    ours = _codec.decoder_for(models.CheckoutSession).decode(raw)
    official = official_decode(raw, httpx.Response(201, content=raw))
    official_json = official.model_dump_json(by_alias=True)
    seen = msgspec.json.decode(official_json, type=models.CheckoutSession, strict=False)
    assert seen == ours, "the two decoders disagree on the CheckoutSession response"


def build_cases(raw: bytes) -> list[Case]:
    """The operations compared, each as (ours, official) zero-argument callables."""
    body = seed_create_body()
    official_body = official_create_body()
    update_type = models.CheckoutSessionUpdate
    decoder = _codec.decoder_for(models.CheckoutSession)
    encode_request = _codec.encode_request
    http_res = httpx.Response(201, content=raw)
    return [
        Case(
            "encode built model (create_async path: validate + encode)",
            lambda: encode_request(body, update_type),
            lambda: official_encode(official_body),
        ),
        Case(
            "encode built model (plain: msgspec.json.encode / model_dump_json)",
            lambda: msgspec.json.encode(body),
            lambda: official_body.model_dump_json(by_alias=True, exclude_none=True),
        ),
        Case(
            "build model + encode (create_async path)",
            lambda: encode_request(seed_create_body(), update_type),
            lambda: official_encode(official_create_body()),
        ),
        Case(
            "decode CheckoutSession (create_async path)",
            lambda: decoder.decode(raw),
            lambda: official_decode(raw, http_res),
        ),
        Case(
            "decode CheckoutSession (plain: Decoder.decode / model_validate_json)",
            lambda: decoder.decode(raw),
            lambda: sdk.CheckoutSession.model_validate_json(raw),
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    """Run every case in alternating rounds and print the environment and the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    parser.add_argument("--target", type=float, default=0.2, help="seconds per round per side")
    args = parser.parse_args(argv)

    raw = response_bytes()
    check_same_work(raw)
    cases = build_cases(raw)
    run_cases(cases, rounds=args.rounds, target_s=args.target)

    for line in environment(["gr4vy-async", "msgspec", "pydantic", "pydantic-core", "gr4vy"]):
        print(line)
    ours_body = _codec.encode_request(seed_create_body(), models.CheckoutSessionUpdate)
    official_body = official_encode(official_create_body()).encode()
    print(
        f"{args.rounds} alternating rounds of ~{args.target} s per side; median µs per call; "
        "ratio = median of per-round official/ours. Seed body: "
        f"{len(ours_body)} B ours, {len(official_body)} B official; response {len(raw)} B."
    )
    print()
    print_table(cases)


if __name__ == "__main__":
    main()
