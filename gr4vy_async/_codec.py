"""Encoding and validating requests, decoding responses: built once, used per call."""

from __future__ import annotations

import ast
import math
import re
from typing import Any, SupportsIndex, TypeVar, overload

import msgspec
from msgspec import inspect as mi

from . import models
from ._redact import field_path, hint, is_field_name
from .errors import InvalidRequestError

__all__ = [
    "RequestBody",
    "ResponseBody",
    "decoder_for",
    "encode_fields",
    "encode_request",
    "type_options",
    "validate",
]

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_request_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_type_infos: dict[Any, mi.Type] = {}
_PATH = re.compile(r" - at `\$(?:\.)?(?P<path>[^`]*)`$")
#: A msgpack float64 with every exponent bit set: NaN or infinity (or such bytes in a string).
_NON_FINITE_FLOAT = re.compile(rb"\xcb[\x7f\xff][\xf0-\xff]")
#: msgspec messages that quote the bad value (enum, literal or tag values).
_ECHOED_VALUE = re.compile(r"(?P<what>Invalid (?:enum )?value) (?P<value>.+)", re.DOTALL)


def decoder_for(type_: type[T]) -> msgspec.json.Decoder[T]:
    """The (cached) JSON decoder of responses of a model type.

    It checks JSON types and required fields, not the spec's lengths,
    patterns and ranges (:func:`models._response_type`): what the API returns
    may grow past what this release's copy of the spec says it accepts.
    """
    decoder = _decoders.get(type_)
    if decoder is None:
        decoder = _decoders[type_] = msgspec.json.Decoder(models._response_type(type_))
    return decoder


def _request_decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    """The (cached) JSON decoder checking a request against every constraint of ``type_``."""
    decoder = _request_decoders.get(type_)
    if decoder is None:
        decoder = _request_decoders[type_] = msgspec.json.Decoder(type_)
    return decoder


def _invalid(path: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(f"{path or '<body>'}: {message}", field=path, reason=message)


class RequestBody(bytes):
    """An encoded request body: bytes whose repr gives only the size.

    It holds buyer data, and printers of locals (rich tracebacks with
    ``show_locals``, debuggers) show every frame's variables. rich shortens a
    long value by slicing it first, so a slice keeps the class.
    """

    __slots__ = ()
    _what = "request body"

    def __repr__(self) -> str:
        return f"<{self._what}, {len(self)} bytes>"

    __str__ = __repr__

    @overload
    def __getitem__(self, key: SupportsIndex, /) -> int: ...
    @overload
    def __getitem__(self, key: slice, /) -> bytes: ...
    def __getitem__(self, key: SupportsIndex | slice, /) -> int | bytes:
        part = super().__getitem__(key)
        return type(self)(part) if isinstance(part, bytes) else part


class ResponseBody(RequestBody):
    """A response body as read: buyer data too, so the same size-only repr."""

    __slots__ = ()
    _what = "response body"


_CONTAINERS = (dict, list, tuple, msgspec.Struct)


def type_options(type_: mi.Type) -> list[mi.Type]:
    """The alternatives a type allows (its union members), constraints set aside."""
    if isinstance(type_, mi.Metadata):
        type_ = type_.type
    if isinstance(type_, mi.UnionType):
        return [option for member in type_.types for option in type_options(member)]
    return [type_]


class _KeyCheck:
    """Checks the JSON object keys in values of one type; worked out once per type.

    msgspec would send the key ``1`` as ``"1"``, and the server would ignore a
    key its model does not have, so both are refused. Only the parts of a value
    where the type allows an object (a model or a dict) are walked, model
    instances included, as their fields may hold plain dicts.
    """

    __slots__ = ("items", "struct", "values")

    def __init__(self, type_: mi.Type) -> None:
        self.struct: type | None = None  #: the model a dict (or instance) stands for
        self.values: _KeyCheck | None = None  #: for the values of a ``dict[str, X]``
        self.items: _KeyCheck | None = None  #: for the items of a ``list[X]``
        for option in type_options(type_):
            if isinstance(option, mi.StructType):
                self.struct = option.cls
            elif isinstance(option, mi.DictType):
                self.values = _key_check(option.value_type)
            elif isinstance(option, mi.ListType):
                self.items = _key_check(option.item_type)

    def __call__(self, value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    raise _invalid(path, f"keys must be strings, not {hint(key)}")
            if self.struct is not None:
                names, fields = _model_plan(self.struct)
                for key, item in value.items():
                    if key not in names:
                        named = is_field_name(key)
                        raise _invalid(
                            field_path(path, key),
                            "unknown field" + ("" if named else f" ({hint(key)})"),
                        )
                    field = fields.get(key)
                    if field is not None and isinstance(item, _CONTAINERS):
                        field[1](item, field_path(path, key))
            elif self.values is not None:
                for key, item in value.items():
                    if isinstance(item, _CONTAINERS):
                        self.values(item, field_path(path, key))
        elif isinstance(value, (list, tuple)):
            if self.items is not None:
                for index, item in enumerate(value):
                    if isinstance(item, _CONTAINERS):
                        self.items(item, f"{path}[{index}]")
        elif isinstance(value, msgspec.Struct) and self.struct is not None:
            if not isinstance(value, self.struct):
                raise _invalid(path, f"expected {self.struct.__name__}, not {hint(value)}")
            for key, (attribute, check) in _model_plan(type(value))[1].items():
                item = getattr(value, attribute)
                if isinstance(item, _CONTAINERS):
                    check(item, field_path(path, key))


_key_checks: dict[Any, _KeyCheck | None] = {}
#: Per model: its JSON keys, and ``{JSON key: (attribute, check)}`` of the fields that may hold
#: an object.
_model_plans: dict[type, tuple[frozenset[str], dict[str, tuple[str, _KeyCheck]]]] = {}


def _key_check(type_: mi.Type) -> _KeyCheck | None:
    """The key check for ``type_``, or ``None`` where no JSON object can be."""
    check = _KeyCheck(type_)
    if check.struct or check.items or any(isinstance(o, mi.DictType) for o in type_options(type_)):
        return check
    return None


def _model_plan(cls: type) -> tuple[frozenset[str], dict[str, tuple[str, _KeyCheck]]]:
    plan = _model_plans.get(cls)
    if plan is None:
        info = _type_info(cls)
        assert isinstance(info, mi.StructType)
        fields = {}
        for field in info.fields:
            check = _key_check(field.type)
            if check is not None:
                fields[field.encode_name] = (field.name, check)
        plan = _model_plans[cls] = (frozenset(f.encode_name for f in info.fields), fields)
    return plan


def _reject_non_finite(value: Any, path: str) -> None:
    """Raise for a NaN or infinity anywhere in ``value``, naming its field.

    msgpack keeps them, so its encoding says at C speed whether there is one
    (or such bytes in a string); only then is the value walked.
    """
    try:
        suspect = _NON_FINITE_FLOAT.search(msgspec.msgpack.encode(value)) is not None
    except (TypeError, ValueError, OverflowError):  # msgpack has no ints past 64 bits
        suspect = True
    if suspect:
        _find_non_finite(msgspec.to_builtins(value), path)


def _find_non_finite(value: Any, path: str) -> None:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _invalid(path, f"must be a finite number, not {value}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _find_non_finite(item, field_path(path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_non_finite(item, f"{path}[{index}]")


def _type_info(type_: Any) -> mi.Type:
    info = _type_infos.get(type_)
    if info is None:
        info = _type_infos[type_] = mi.type_info(type_)
    return info


def validate(value: Any, type_: type[T], *, path: str = "") -> T:
    """Check ``value`` (a model, or plain dicts and lists) against every constraint.

    Returns the value as the model type. Raises :class:`InvalidRequestError`
    naming the field path (``cart_items[0].quantity: Expected `int` >= 1``).
    """
    try:
        return _check(value, type_, path)[1]  # type: ignore[no-any-return]
    except RecursionError:
        raise _too_deep(path) from None


def encode_request(value: Any, type_: Any, *, path: str = "") -> RequestBody:
    """The JSON body for ``value``, after checking it against ``type_``.

    The bytes sent are the bytes validated: they are decoded once as the
    server would, with unknown enum values and extra keys rejected. What JSON
    would silently change is refused too: NaN and infinity (sent as ``null``),
    dict keys that are not strings (``1`` sent as ``"1"``), and a dict or a
    model of the wrong class inside a model. The bytes' repr shows no data.
    """
    try:
        return RequestBody(_check(value, type_, path)[0])
    except RecursionError:
        raise _too_deep(path) from None


def _too_deep(path: str) -> InvalidRequestError:
    return _invalid(path, "nested too deeply to encode")


def encode_fields(fields: dict[str, Any], type_: type[msgspec.Struct]) -> RequestBody:
    """The JSON body of a model given as its fields (an update's keyword arguments).

    The fields are made into the model at once, with no walk over them, and
    checked as a model is; the bytes are the fields' own, so a value passed
    equal to a default is still sent. What is refused, and the message, are
    those of :func:`encode_request` with the fields as a dict.
    """
    try:
        return RequestBody(_check(fields, type_, "", type_(**fields))[0])
    except RecursionError:
        raise _too_deep("") from None
    except (InvalidRequestError, TypeError) as error:
        # The dict form names the culprit as it always has (an unknown key
        # before a bad value); it refuses every input refused above.
        body = encode_request(fields, type_)
        if isinstance(error, TypeError):
            return body
        raise error from None


def _check(value: Any, type_: Any, path: str, model: Any = None) -> tuple[bytes, Any]:
    """``value``'s JSON and the model it decodes to; ``model``: ``value`` as a model, if known."""
    try:
        check = _key_checks[type_]
    except KeyError:
        check = _key_checks[type_] = _key_check(_type_info(type_))
    if model is None and isinstance(value, msgspec.Struct):
        model = value
    is_model = model is not None
    if check is not None and not is_model and isinstance(value, _CONTAINERS):
        check(value, path)
    try:
        body = _encoder.encode(value)
    except (TypeError, ValueError) as exc:
        if is_model and check is not None:
            check(value, path)  # name the field, if a key is to blame
        raise _invalid(path, f"cannot be encoded as JSON: {exc}") from None
    if not is_model and b"null" in body:
        # JSON has NaN and infinity as null, which would clear the field: only
        # a body with a null can hold one. (A model is compared below instead.)
        _reject_non_finite(value, path)
    try:
        with models._strict_enums():
            decoded = _request_decoder(type_).decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if is_model and "got `null`" in message:
            _reject_non_finite(value, path)  # the null may have been a NaN
        where = path
        match = _PATH.search(message)
        if match:
            inner = match["path"]
            joiner = "." if path and inner and not inner.startswith("[") else ""
            where = f"{path}{joiner}{inner}"
            message = message[: match.start()]
        raise _invalid(where, _without_value(message)) from None
    if is_model and decoded != model:
        # A model reads back as itself unless something in it did not survive
        # the trip (NaN read back as None, a dict with a bad key, a model of the
        # wrong class): only then is it walked, which costs several times more.
        _reject_non_finite(value, path)
        if check is not None:
            check(value, path)
    return body, decoded


def _without_value(message: str) -> str:
    """msgspec's message with the value it quotes (``Invalid enum value 'x'``) made a hint."""
    match = _ECHOED_VALUE.match(message)
    if match is None:
        return message
    try:
        value = ast.literal_eval(match["value"])
    except (ValueError, SyntaxError):
        value = match["value"]
    return f"{match['what']} ({hint(value)})"
