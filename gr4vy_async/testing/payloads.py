"""Realistic payloads for tests, demos and benchmarks."""

from __future__ import annotations

from datetime import date

from .. import models
from ..utils import parse_datetime

__all__ = ["seed_create_body"]


def seed_create_body() -> models.CheckoutSessionUpdate:
    """The create body of the official SDK's documented example (cart, buyer, airline)."""
    return models.CheckoutSessionUpdate(
        cart_items=[
            models.CartItem(
                name="GoPro HD",
                quantity=2,
                unit_amount=1299,
                discount_amount=0,
                tax_amount=0,
                external_identifier="goprohd",
                sku="GPHD1078",
                product_url="https://example.com/catalog/go-pro-hd",
                image_url="https://example.com/images/go-pro-hd.jpg",
                categories=[
                    "camera",
                    "travel",
                    "gear",
                ],
                product_type=models.ProductType.PHYSICAL,
                seller_country="GB",
            ),
        ],
        metadata={
            "cohort": "cohort-a",
            "order_id": "order-12345",
        },
        buyer=models.GuestBuyerInput(
            display_name="John Doe",
            external_identifier="buyer-12345",
            billing_details=models.BillingDetailsInput(
                first_name="John",
                last_name="Doe",
                email_address="john@example.com",
                phone_number="+1234567890",
                address=models.Address(
                    city="San Jose",
                    country="US",
                    postal_code="94560",
                    state="California",
                    state_code="US-CA",
                    house_number_or_name="10",
                    line1="Stafford Appartments",
                    line2="29th Street",
                    organization="Gr4vy",
                ),
                tax_id=models.TaxID(
                    value="12345678931",
                    kind=models.TaxIDKind.ID_NIK,
                ),
            ),
            shipping_details=models.ShippingDetailsCreate(
                first_name="John",
                last_name="Doe",
                email_address="john@example.com",
                phone_number="+1234567890",
                address=models.Address(
                    city="San Jose",
                    country="US",
                    postal_code="94560",
                    state="California",
                    state_code="US-CA",
                    house_number_or_name="10",
                    line1="Stafford Appartments",
                    line2="29th Street",
                    organization="Gr4vy",
                ),
            ),
        ),
        airline=models.Airline(
            booking_code="X36Q9C",
            issued_address="123 Broadway, New York",
            issued_at=parse_datetime("2013-07-16T19:23:00.000+00:00"),
            issuing_carrier_code="A3",
            legs=[
                models.AirlineLeg(
                    arrival_airport="LAX",
                    arrival_at=parse_datetime("2013-07-16T19:23:00.000+00:00"),
                    arrival_city="Los Angeles",
                    arrival_country="US",
                    carrier_code="BA",
                    coupon_number="15885566",
                    departure_airport="LHR",
                    departure_at=parse_datetime("2013-07-16T19:23:00.000+00:00"),
                    departure_city="London",
                    departure_country="GB",
                    departure_tax_amount=1200,
                    fare_amount=129900,
                    fare_basis_code="FY",
                    fee_amount=1200,
                    flight_class="E",
                    flight_number="101",
                    route_type=models.RouteType.ROUND_TRIP,
                    stop_over=False,
                    tax_amount=1200,
                ),
            ],
            passenger_name_record="JOHN L",
            passengers=[
                models.AirlinePassenger(
                    age_group=models.AgeGroup.ADULT,
                    date_of_birth=date.fromisoformat("2013-07-16"),
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
            ticket_delivery_method=models.TicketDeliveryMethod.ELECTRONIC,
            ticket_number="123-1234-151555",
            travel_agency_code="12345",
            travel_agency_invoice_number="EG15555155",
            travel_agency_name="ACME Agency",
            travel_agency_plan_name="B733",
        ),
        expires_in=3600,
    )
