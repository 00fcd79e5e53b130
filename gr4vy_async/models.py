"""msgspec models for every schema of the Gr4vy checkout-sessions API.

Field names, types, constraints, defaults and required lists follow
``checkout-sessions.openapi.json``. Names follow the official SDK where it has
its own (``GuestBuyerInput``, ``TaxID``, ...); the spec's names are aliases.

Request models leave a field the caller did not set out of the JSON (``UNSET``)
and send an explicit ``None`` as ``null``, so an update can tell "leave it"
from "clear it". A field with a spec default (``discount_amount=0``,
``expires_in=3600``, ...) is also left out when it holds that default, which
the API reads the same way. Constraints (``msgspec.Meta``) are checked when a value is
decoded or validated with :func:`validate`, not when a Struct is built.

The models state the spec as it is written, and requests are held to all of
it. Responses are held to what the API cannot change without breaking its
clients: JSON types, required fields, datetimes with an offset and each
object's ``type``. They are decoded into twins of the models (subclasses of
the same name, equal to a model with the same values) built by
:func:`_response_type` from the same declarations, with the spec's lengths,
patterns and ranges left out. Unknown fields are ignored, and an enum value
this release does not know decodes to a member that keeps its string
(``ProductType("drone").value == "drone"``, ``.is_known`` False).
"""

from __future__ import annotations

import contextvars
import enum
import types
import typing
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ._error_base import InvalidRequestError
from ._redact import PLACEHOLDER, REDACTED

__all__ = [
    "UNSET",
    "Address",
    "AgeGroup",
    "Airline",
    "AirlineLeg",
    "AirlinePassenger",
    "AirportCode",
    "Amount",
    "AwareDatetime",
    "BaseModel",
    "BillingDetails",
    "BillingDetailsInput",
    "CardScheme",
    "CardType",
    "CarrierCode",
    "CartItem",
    "CheckoutSession",
    "CheckoutSessionCreate",
    "CheckoutSessionPaymentMethod",
    "CheckoutSessionPaymentMethodDetails",
    "CheckoutSessionUpdate",
    "CountryCode",
    "CreateCheckoutSessionBody",
    "CurrencyCode",
    "EmailAddress",
    "Error400",
    "Error401",
    "Error403",
    "Error404",
    "Error405",
    "Error409",
    "Error425",
    "Error429",
    "Error500",
    "Error502",
    "Error504",
    "ErrorDetail",
    "ErrorLocation",
    "GuestBuyer",
    "GuestBuyerInput",
    "HTTPValidationError",
    "IataDesignator",
    "IcaoCode",
    "Maybe",
    "PaymentMethodKind",
    "PhoneNumber",
    "ProductType",
    "RouteType",
    "ShippingDetailsCreate",
    "TaxID",
    "TaxIDKind",
    "TaxId",
    "TaxIdKind",
    "Text",
    "Text50",
    "Text100",
    "Text200",
    "Text255",
    "TicketDeliveryMethod",
    "TransactionIntent",
    "TransactionPaymentSource",
    "UnsetType",
    "Uuid",
    "ValidationError",
]

_T = TypeVar("_T")

#: A request field that may be left out (``UNSET``), cleared (``None``) or set.
Maybe = Union[_T, None, UnsetType]  # noqa: UP007 - a generic alias needs Union

# Shapes that recur across the spec, public since field annotations name them.
# Patterns end in ``\Z`` where the spec says ``$``: Python's ``$`` also matches
# before a trailing newline, JSON Schema's not.
Amount = Annotated[int, Meta(ge=0, le=99_999_999)]
CountryCode = Annotated[str, Meta(pattern=r"^[A-Z]{2}\Z")]
CurrencyCode = Annotated[str, Meta(pattern=r"^[A-Z]{3}\Z")]
PhoneNumber = Annotated[str, Meta(pattern=r"^\+[1-9][0-9]{1,14}\Z")]
EmailAddress = Annotated[str, Meta(min_length=1, max_length=320)]
Text = Annotated[str, Meta(min_length=1)]
Text50 = Annotated[str, Meta(min_length=1, max_length=50)]
Text100 = Annotated[str, Meta(min_length=1, max_length=100)]
Text200 = Annotated[str, Meta(min_length=1, max_length=200)]
Text255 = Annotated[str, Meta(min_length=1, max_length=255)]
AirportCode = Annotated[str, Meta(min_length=3, max_length=3)]
CarrierCode = Annotated[str, Meta(min_length=2, max_length=3)]
IataDesignator = Annotated[str, Meta(min_length=2, max_length=2)]
IcaoCode = Annotated[str, Meta(min_length=3, max_length=3)]
AwareDatetime = Annotated[datetime, Meta(tz=True)]
Uuid = Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\Z")]


# --------------------------------------------------------------------------- enums

_enums_strict: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "gr4vy_async_strict_enums", default=False
)


class _strict_enums:  # lower case: used like a function, ``with _strict_enums():``
    """Reject enum values this release does not know (used to validate requests).

    A class, not a generator context manager: it runs on every request, and
    this costs a fifth as much.
    """

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _enums_strict.set(True)

    def __exit__(self, *exc_info: object) -> None:
        _enums_strict.reset(self._token)


class _OpenEnum(str, enum.Enum):
    """A string enum that keeps values added to the API after this release.

    An unknown value becomes a pseudo-member whose ``value`` is the string it
    came with; it is never added to the class, so requests still reject it.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if _enums_strict.get() or not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    def __str__(self) -> str:
        return str(self.value)

    @property
    def is_known(self) -> bool:
        """False for a value the API sent that this release does not know."""
        return self._value_ in type(self)._value2member_map_


class ProductType(_OpenEnum):
    """The kind of a cart item."""

    PHYSICAL = "physical"
    DISCOUNT = "discount"
    SHIPPING_FEE = "shipping_fee"
    SALES_TAX = "sales_tax"
    DIGITAL = "digital"
    GIFT_CARD = "gift_card"
    STORE_CREDIT = "store_credit"
    SURCHARGE = "surcharge"


class TaxIDKind(_OpenEnum):
    """The kind of a tax identifier (``country.kind``)."""

    AE_TRN = "ae.trn"
    AU_ABN = "au.abn"
    AR_DNI = "ar.dni"
    AR_CUIL = "ar.cuil"
    AR_CUIT = "ar.cuit"
    BR_CNPJ = "br.cnpj"
    BR_CPF = "br.cpf"
    CA_BN = "ca.bn"
    CA_GST_HST = "ca.gst_hst"
    CA_PST_BC = "ca.pst_bc"
    CA_PST_MB = "ca.pst_mb"
    CA_PST_SK = "ca.pst_sk"
    CA_QST = "ca.qst"
    CH_VAT = "ch.vat"
    CL_TIN = "cl.tin"
    CO_ITIN = "co.itin"
    CO_NIT = "co.nit"
    CO_CC = "co.cc"
    CO_CE = "co.ce"
    CO_DE = "co.de"
    CO_RC = "co.rc"
    CO_TI = "co.ti"
    CO_PASSPORT = "co.passport"
    ES_CIF = "es.cif"
    EU_VAT = "eu.vat"
    GB_VAT = "gb.vat"
    HK_BR = "hk.br"
    ID_NIK = "id.nik"
    ID_NPWP = "id.npwp"
    IN_GST = "in.gst"
    IN_PAN = "in.pan"
    JP_CN = "jp.cn"
    JP_RN = "jp.rn"
    KR_BRN = "kr.brn"
    LI_UID = "li.uid"
    MX_CURP = "mx.curp"
    MX_RFC = "mx.rfc"
    MY_FRP = "my.frp"
    MY_ITN = "my.itn"
    MY_NRIC = "my.nric"
    MY_SST = "my.sst"
    NO_VAT = "no.vat"
    NZ_GST = "nz.gst"
    PE_RUC = "pe.ruc"
    PH_TIN = "ph.tin"
    RU_INN = "ru.inn"
    RU_KPP = "ru.kpp"
    SA_VAT = "sa.vat"
    SG_GST = "sg.gst"
    SG_UEN = "sg.uen"
    TH_ID = "th.id"
    TH_VAT = "th.vat"
    TW_VAT = "tw.vat"
    US_EIN = "us.ein"
    ZA_VAT = "za.vat"
    BO_CI = "bo.ci"
    UY_RUT = "uy.rut"
    UY_CI = "uy.ci"


class CardType(_OpenEnum):
    """The funding type of a card."""

    CREDIT = "credit"
    DEBIT = "debit"
    PREPAID = "prepaid"


class CardScheme(_OpenEnum):
    """A card scheme (network)."""

    ACCEL = "accel"
    AMEX = "amex"
    BANCONTACT = "bancontact"
    CARTE_BANCAIRE = "carte-bancaire"
    CIRRUS = "cirrus"
    CULIANCE = "culiance"
    DANKORT = "dankort"
    DINERS_CLUB = "diners-club"
    DISCOVER = "discover"
    EFTPOS_AUSTRALIA = "eftpos-australia"
    ELO = "elo"
    HIPERCARD = "hipercard"
    JCB = "jcb"
    MAESTRO = "maestro"
    MASTERCARD = "mastercard"
    MIR = "mir"
    NYCE = "nyce"
    OTHER = "other"
    PULSE = "pulse"
    QCARD = "qcard"
    RUPAY = "rupay"
    STAR = "star"
    UATP = "uatp"
    UNIONPAY = "unionpay"
    VISA = "visa"


class TransactionPaymentSource(_OpenEnum):
    """Where a transaction's payment comes from."""

    ECOMMERCE = "ecommerce"
    MOTO = "moto"
    RECURRING = "recurring"
    INSTALLMENT = "installment"
    CARD_ON_FILE = "card_on_file"


class TransactionIntent(_OpenEnum):
    """Whether a transaction is only authorized or also captured."""

    AUTHORIZE = "authorize"
    CAPTURE = "capture"


class PaymentMethodKind(_OpenEnum):
    """``CheckoutSessionPaymentMethod.method``: the spec knows only cards."""

    CARD = "card"


class ErrorLocation(_OpenEnum):
    """The part of a request an error detail points at."""

    QUERY = "query"
    BODY = "body"
    PATH = "path"
    HEADER = "header"
    UNKNOWN = "unknown"


class RouteType(_OpenEnum):
    """``AirlineLeg.route_type``."""

    ROUND_TRIP = "round_trip"
    ONE_WAY = "one_way"


class AgeGroup(_OpenEnum):
    """``AirlinePassenger.age_group``."""

    ADULT = "adult"
    INFANT = "infant"


class TicketDeliveryMethod(_OpenEnum):
    """``Airline.ticket_delivery_method``."""

    ELECTRONIC = "electronic"
    OTHER = "other"


# --------------------------------------------------------------------------- bases


def _is_default(field: msgspec.structs.FieldInfo, value: Any) -> bool:
    if field.default is not msgspec.NODEFAULT:
        return bool(value == field.default)
    if field.default_factory is not msgspec.NODEFAULT:
        return bool(value == field.default_factory())
    return False


def _dumped(value: Any, by_alias: bool, exclude_none: bool, exclude_defaults: bool) -> Any:
    """``value`` with every Struct in it made a dict (see :meth:`_Dumpable.model_dump`)."""
    if isinstance(value, msgspec.Struct):
        fields = {}
        for field in msgspec.structs.fields(value):
            item = getattr(value, field.name)
            if (
                item is UNSET
                or (exclude_none and item is None)
                or (exclude_defaults and _is_default(field, item))
            ):
                continue
            name = field.encode_name if by_alias else field.name
            fields[name] = _dumped(item, by_alias, exclude_none, exclude_defaults)
        return fields
    if isinstance(value, (list, tuple)):
        return [_dumped(item, by_alias, exclude_none, exclude_defaults) for item in value]
    if isinstance(value, dict):
        return {
            key: _dumped(item, by_alias, exclude_none, exclude_defaults)
            for key, item in value.items()
        }
    return value


class _Dumpable:
    """Pydantic's ``model_dump``/``model_dump_json``, for code written against SDK 2.4.27."""

    __slots__ = ()

    def model_dump(
        self,
        *,
        mode: str = "python",
        by_alias: bool = False,
        exclude_none: bool = False,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
    ) -> dict[str, Any]:
        """The model as a dict, nested models as dicts; fields left ``UNSET`` are left out.

        ``mode="json"`` gives JSON values (datetimes as ISO 8601 strings,
        enums as their strings); ``"python"`` keeps the objects.
        ``exclude_none`` leaves out ``None`` fields, ``exclude_defaults``
        fields equal to their default. msgspec does not record which fields a
        model was given, so ``exclude_unset`` is ``exclude_defaults``. Field
        names are the JSON names, so ``by_alias`` changes nothing.
        """
        if mode not in ("python", "json"):
            raise InvalidRequestError("mode: expected 'python' or 'json'", field="mode")
        dumped = _dumped(self, by_alias, exclude_none, exclude_defaults or exclude_unset)
        result: dict[str, Any] = msgspec.to_builtins(dumped) if mode == "json" else dumped
        return result

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        by_alias: bool = False,
        exclude_none: bool = False,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
    ) -> str:
        """:meth:`model_dump` as a JSON string, compact unless ``indent`` is given."""
        encoded = msgspec.json.encode(
            self.model_dump(
                by_alias=by_alias,
                exclude_none=exclude_none,
                exclude_unset=exclude_unset,
                exclude_defaults=exclude_defaults,
            )
        )
        if indent is not None:
            encoded = msgspec.json.format(encoded, indent=indent)
        return encoded.decode()


class _Request(
    _Dumpable, msgspec.Struct, kw_only=True, omit_defaults=True, repr_omit_defaults=True
):
    """Base of request models: unset fields are left out of the JSON."""


class _RedactedRepr:
    """Mixin of models holding personal or card data: no printer shows their values.

    Every way a model is displayed names the fields that are set, never their
    values: ``repr``/``str`` (so logging, pprint and IPython's default), rich's
    ``__rich_repr__`` (``rich.pretty``, tracebacks with locals), which msgspec
    would otherwise fill with the values, and IPython's ``_repr_pretty_``.
    """

    __slots__ = ()

    def _set_fields(self) -> list[str]:
        names: tuple[str, ...] = self.__struct_fields__  # type: ignore[attr-defined]
        return [name for name in names if getattr(self, name) is not UNSET]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={REDACTED}" for name in self._set_fields())
        return f"{type(self).__name__}({fields})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [(name, PLACEHOLDER) for name in self._set_fields()]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


class _Sensitive(_RedactedRepr, _Request):
    """Base of request models holding buyer, passenger or card data."""


class _Response(_Dumpable, msgspec.Struct, kw_only=True, repr_omit_defaults=True):
    """Base of response-only models: every field is encoded."""


# --------------------------------------------------------------------------- requests


class Address(_Sensitive):
    """A postal address."""

    city: Maybe[Text100] = UNSET
    country: Maybe[CountryCode] = UNSET
    postal_code: Maybe[Annotated[str, Meta(min_length=1, max_length=50)]] = UNSET
    state: Maybe[Text255] = UNSET
    state_code: Maybe[Annotated[str, Meta(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}\Z")]] = UNSET
    house_number_or_name: Maybe[Text255] = UNSET
    line1: Maybe[Text255] = UNSET
    line2: Maybe[Text255] = UNSET
    organization: Maybe[Text255] = UNSET


class TaxID(_Sensitive):
    """A buyer's tax identifier."""

    value: Text50
    kind: TaxIDKind


class BillingDetailsInput(_Sensitive):
    """A buyer's billing details."""

    first_name: Maybe[Text255] = UNSET
    last_name: Maybe[Text255] = UNSET
    email_address: Maybe[EmailAddress] = UNSET
    phone_number: Maybe[PhoneNumber] = UNSET
    address: Maybe[Address] = UNSET
    tax_id: Maybe[TaxID] = UNSET


class ShippingDetailsCreate(_Sensitive):
    """Where an order ships to."""

    first_name: Maybe[Text255] = UNSET
    last_name: Maybe[Text255] = UNSET
    email_address: Maybe[EmailAddress] = UNSET
    phone_number: Maybe[PhoneNumber] = UNSET
    address: Maybe[Address] = UNSET


class GuestBuyerInput(_Sensitive):
    """Buyer details for one transaction; no buyer resource is created."""

    display_name: Maybe[Text200] = UNSET
    external_identifier: Maybe[Text200] = UNSET
    billing_details: Maybe[BillingDetailsInput] = UNSET
    account_number: Maybe[Text200] = UNSET
    shipping_details: Maybe[ShippingDetailsCreate] = UNSET


class CartItem(_Request):
    """A line item of a transaction."""

    name: Text255
    quantity: Annotated[int, Meta(gt=0, le=99_999_999)]
    unit_amount: Amount
    discount_amount: Amount | None = 0
    tax_amount: Amount | None = 0
    external_identifier: Maybe[Text200] = UNSET
    sku: Maybe[Text200] = UNSET
    upc: Maybe[Text50] = UNSET
    product_url: Maybe[str] = UNSET
    image_url: Maybe[str] = UNSET
    categories: Maybe[list[Text50]] = UNSET
    # From the official SDK 2.4.27 (generated from a later spec): nullable, no limits stated.
    subcategories: Maybe[list[str]] = UNSET
    brand: Maybe[str] = UNSET
    product_type: Maybe[ProductType] = UNSET
    seller_country: Maybe[CountryCode] = UNSET
    tax_exempt: Maybe[bool] = UNSET
    unit_of_measure: Maybe[Text50] = UNSET
    commodity_code: Maybe[Text50] = UNSET
    description: Maybe[Text255] = UNSET
    duty_amount: Maybe[Amount] = UNSET
    shipping_amount: Maybe[Amount] = UNSET


class AirlineLeg(_Request):
    """One flight of an airline booking."""

    arrival_airport: Maybe[AirportCode] = UNSET
    arrival_at: Maybe[AwareDatetime] = UNSET
    arrival_city: Maybe[Text100] = UNSET
    arrival_country: Maybe[CountryCode] = UNSET
    carrier_code: Maybe[CarrierCode] = UNSET
    carrier_name: Maybe[Text] = UNSET
    iata_designator: Maybe[IataDesignator] = UNSET
    icao_code: Maybe[IcaoCode] = UNSET
    coupon_number: Maybe[Text50] = UNSET
    departure_airport: Maybe[AirportCode] = UNSET
    departure_at: Maybe[AwareDatetime] = UNSET
    departure_city: Maybe[Text100] = UNSET
    departure_country: Maybe[CountryCode] = UNSET
    departure_tax_amount: Maybe[Amount] = UNSET
    fare_amount: Maybe[Amount] = UNSET
    fare_basis_code: Maybe[Annotated[str, Meta(min_length=1, max_length=8)]] = UNSET
    fee_amount: Maybe[Amount] = UNSET
    flight_class: Maybe[Annotated[str, Meta(min_length=1, max_length=5)]] = UNSET
    flight_number: Maybe[Annotated[str, Meta(min_length=3, max_length=6)]] = UNSET
    route_type: Maybe[RouteType] = UNSET
    seat_class: Maybe[Annotated[str, Meta(min_length=1, max_length=5)]] = UNSET
    stop_over: Maybe[bool] = UNSET
    tax_amount: Maybe[Amount] = UNSET


class AirlinePassenger(_Sensitive):
    """A passenger of an airline booking."""

    age_group: Maybe[AgeGroup] = UNSET
    date_of_birth: Maybe[date] = UNSET
    email_address: Maybe[EmailAddress] = UNSET
    first_name: Maybe[Text255] = UNSET
    frequent_flyer_number: Maybe[Annotated[str, Meta(min_length=5, max_length=50)]] = UNSET
    last_name: Maybe[Text255] = UNSET
    passport_number: Maybe[Text50] = UNSET
    phone_number: Maybe[PhoneNumber] = UNSET
    ticket_number: Maybe[Text50] = UNSET
    title: Maybe[Text50] = UNSET
    country_code: Maybe[CountryCode] = UNSET


class Airline(_Sensitive):
    """The airline addendum: the booking a transaction pays for."""

    booking_code: Maybe[Text50] = UNSET
    is_cardholder_traveling: Maybe[bool] = UNSET
    issued_address: Maybe[Text255] = UNSET
    issued_at: Maybe[AwareDatetime] = UNSET
    issuing_carrier_code: Maybe[CarrierCode] = UNSET
    issuing_carrier_name: Maybe[Text] = UNSET
    issuing_iata_designator: Maybe[IataDesignator] = UNSET
    issuing_icao_code: Maybe[IcaoCode] = UNSET
    legs: Maybe[Annotated[list[AirlineLeg], Meta(max_length=20)]] = UNSET
    passenger_name_record: Maybe[Text50] = UNSET
    passengers: Maybe[Annotated[list[AirlinePassenger], Meta(max_length=20)]] = UNSET
    reservation_system: Maybe[Text200] = UNSET
    restricted_ticket: Maybe[bool] = UNSET
    ticket_delivery_method: TicketDeliveryMethod | None = TicketDeliveryMethod.ELECTRONIC
    ticket_number: Maybe[Text50] = UNSET
    travel_agency_code: Maybe[Text50] = UNSET
    travel_agency_invoice_number: Maybe[Text50] = UNSET
    travel_agency_name: Maybe[Text200] = UNSET
    travel_agency_plan_name: Maybe[Text200] = UNSET


class CheckoutSessionUpdate(_Request):
    """The body of a create or update: what a checkout session holds."""

    cart_items: Maybe[list[CartItem]] = UNSET
    metadata: Maybe[dict[str, str]] = UNSET
    buyer: Maybe[GuestBuyerInput] = UNSET
    airline: Maybe[Airline] = UNSET
    amount: Maybe[Amount] = UNSET
    currency: Maybe[CurrencyCode] = UNSET
    payment_service_id: Maybe[Uuid] = UNSET
    expires_in: Annotated[float, Meta(ge=3600, le=86400)] = 3600
    country: Maybe[CountryCode] = UNSET
    is_subsequent_payment: Maybe[bool] = UNSET
    merchant_initiated: Maybe[bool] = UNSET
    payment_source: Maybe[TransactionPaymentSource] = UNSET
    intent: Maybe[TransactionIntent] = UNSET


class BaseModel(_Request, forbid_unknown_fields=True):
    """The spec's empty object (an item of the array form of a create body)."""


#: What ``create`` accepts as its body, as in the spec's ``anyOf``.
CreateCheckoutSessionBody = CheckoutSessionUpdate | list[BaseModel] | None

# The spec's names for the models the official SDK renames, and the newer SDK's
# name for the create body (gr4vy >= 2.4 calls it CheckoutSessionCreate).
CheckoutSessionCreate = CheckoutSessionUpdate
GuestBuyer = GuestBuyerInput
BillingDetails = BillingDetailsInput
TaxId = TaxID
TaxIdKind = TaxIDKind


# --------------------------------------------------------------------------- responses


class CheckoutSessionPaymentMethodDetails(_RedactedRepr, _Response):
    """Card details of the payment method stored on a checkout session."""

    bin: str | None = None
    card_country: CountryCode | None = None
    card_type: CardType | None = None
    card_issuer_name: str | None = None


class CheckoutSessionPaymentMethod(_RedactedRepr, _Response):
    """The payment method stored on a checkout session."""

    type: Literal["payment-method"] = "payment-method"
    id: Uuid | None = None
    details: CheckoutSessionPaymentMethodDetails | None = None
    label: str | None = None
    method: PaymentMethodKind = PaymentMethodKind.CARD
    scheme: CardScheme | None = None
    fingerprint: str | None = None


class CheckoutSession(_Response, kw_only=True):
    """A checkout session, as the API returns it."""

    cart_items: list[CartItem] | None = None
    metadata: dict[str, str] | None = None
    buyer: GuestBuyerInput | None = None
    airline: Airline | None = None
    amount: Amount | None = None
    currency: CurrencyCode | None = None
    payment_service_id: Uuid | None = None
    type: Literal["checkout-session"] = "checkout-session"
    id: Uuid
    expires_at: AwareDatetime
    payment_method: CheckoutSessionPaymentMethod | None = None


class ErrorDetail(_Response):
    """One problem found in a request."""

    location: ErrorLocation
    pointer: str
    message: str
    type: str


class _ErrorBody(_Response):
    """The documented JSON body of an error response."""

    type: Literal["error"] = "error"
    code: str = ""
    status: int = 0
    message: str = "Generic error"
    details: list[ErrorDetail] = msgspec.field(default_factory=list)


class Error400(_ErrorBody):
    """Body of a 400: the request was invalid."""

    code: str = "bad_request"
    status: int = 400


class Error401(_ErrorBody):
    """Body of a 401: the request was unauthorized."""

    code: str = "unauthorized"
    status: int = 401
    message: str = "No valid API authentication found"


class Error403(_ErrorBody):
    """Body of a 403: bad credentials, or no permission on the resource."""

    code: str = "forbidden"
    status: int = 403


class Error404(_ErrorBody):
    """Body of a 404: the resource was not found."""

    code: str = "not_found"
    status: int = 404
    message: str = "The resource could not be found"


class Error405(_ErrorBody):
    """Body of a 405: the method was not allowed."""

    code: str = "method_not_allowed"
    status: int = 405
    message: str = "Method Not Allowed"


class Error409(_ErrorBody):
    """Body of a 409: a duplicate record was found."""

    code: str = "duplicate_record"
    status: int = 409
    resource_id: str | UnsetType | None = UNSET


class Error425(_ErrorBody):
    """Body of a 425: the request was too early."""

    code: str = "too_early"
    status: int = 425


class Error429(_ErrorBody):
    """Body of a 429: too many requests."""

    code: str = "too_many_requests"
    status: int = 429


class Error500(_ErrorBody):
    """Body of a 500: the server failed."""

    code: str = "server_error"
    status: int = 500
    message: str = "Request could not be processed"


class Error502(_ErrorBody):
    """Body of a 502: an upstream failed."""

    code: str = "bad_gateway"
    status: int = 502
    message: str = "Request could not be processed"


class Error504(_ErrorBody):
    """Body of a 504: an upstream timed out."""

    code: str = "gateway_timeout"
    status: int = 504
    message: str = "Request could not be processed"


class ValidationError(_Response):
    """One entry of a 422 body (the spec's ``ValidationError``)."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = UNSET
    ctx: dict[str, Any] | UnsetType = UNSET


class HTTPValidationError(_Response):
    """Body of a 422: the request did not validate."""

    detail: list[ValidationError] | UnsetType = UNSET


# --------------------------------------------------------------------------- response decoding

_response_types: dict[Any, Any] = {}


def _response_type(type_: Any) -> Any:
    """``type_`` as a response is decoded: the spec's lengths, patterns and ranges left out.

    Each model holding a constraint, directly or in a nested model, gets a
    twin: a subclass of the same name whose fields have the same types without
    the constraints (a datetime's required offset is a type, and stays). Enums
    are open already; the only ``Literal`` fields are each object's ``type``,
    which names what the object is, and stay. Other types come back unchanged.
    """
    try:
        return _response_types[type_]
    except KeyError:
        loosened = _response_types[type_] = _loosened(type_)
        return loosened


def _loosened(type_: Any) -> Any:
    origin = typing.get_origin(type_)
    if origin is Annotated:
        inner, *metadata = typing.get_args(type_)
        tz = next((m.tz for m in metadata if isinstance(m, Meta) and m.tz is not None), None)
        loose = _response_type(inner)
        return loose if tz is None else Annotated[loose, Meta(tz=tz)]
    if origin in (Union, types.UnionType, list, dict):
        args = typing.get_args(type_)
        loosened = tuple(_response_type(arg) for arg in args)
        if all(new is old for new, old in zip(loosened, args, strict=True)):
            return type_
        return (Union if origin is types.UnionType else origin)[loosened]
    if isinstance(type_, type) and issubclass(type_, msgspec.Struct):
        return _twin(type_)
    return type_


def _twin(model: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """``model`` with its fields' constraints left out, or ``model`` itself if it has none."""
    fields = msgspec.structs.fields(model)
    loosened = [_response_type(field.type) for field in fields]
    if all(new is field.type for new, field in zip(loosened, fields, strict=True)):
        return model
    twin: type[msgspec.Struct] = msgspec.defstruct(
        model.__name__,
        [
            (field.name, new, _same_default(field))
            for new, field in zip(loosened, fields, strict=True)
        ],
        bases=(_Twin, model),
        module=model.__module__,
        namespace={"__doc__": model.__doc__, "_model": model},
        kw_only=True,
    )
    return twin


def _same_default(field: msgspec.structs.FieldInfo) -> Any:
    """A field of a twin with ``field``'s default and JSON name."""
    if field.default_factory is not msgspec.NODEFAULT:
        return msgspec.field(default_factory=field.default_factory, name=field.encode_name)
    return msgspec.field(default=field.default, name=field.encode_name)


class _Twin:
    """Mixin of the classes responses decode to: each stands for its model.

    It equals a model with the same values (either way round: Python asks the
    subclass first), and pickles as itself.
    """

    __slots__ = ()
    _model: ClassVar[type[msgspec.Struct]]

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self) or type(other) is self._model:
            return bool(msgspec.structs.astuple(self) == msgspec.structs.astuple(other))  # type: ignore[arg-type]
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuilt, (self._model, msgspec.structs.asdict(self))  # type: ignore[arg-type]


def _rebuilt(model: type[msgspec.Struct], fields: dict[str, Any]) -> Any:
    """Unpickle a response model: the twin of ``model`` with ``fields``."""
    return _response_type(model)(**fields)
