"""Encoding and validating requests, decoding responses: built once, used per call."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from msgspec import inspect as mi

from . import models
from .errors import InvalidRequestError

__all__ = ["decoder_for", "encode_request", "validate"]

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_type_infos: dict[Any, mi.Type] = {}
_walk_plans: dict[type, tuple[frozenset[str], dict[str, mi.Type]]] = {}
_PATH = re.compile(r" - at `\$(?:\.)?(?P<path>[^`]*)`$")


def decoder_for(type_: type[T]) -> msgspec.json.Decoder[T]:
    """The (cached) JSON decoder for a model type."""
    decoder = _decoders.get(type_)
    if decoder is None:
        decoder = _decoders[type_] = msgspec.json.Decoder(type_)
    return decoder


def _invalid(path: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(f"{path or '<body>'}: {message}", field=path, reason=message)


def _holds_struct(type_: mi.Type) -> bool:
    """Whether a value of ``type_`` can contain a model (so may hide an unknown key)."""
    if isinstance(type_, mi.Metadata):
        type_ = type_.type
    if isinstance(type_, mi.StructType):
        return True
    if isinstance(type_, mi.ListType):
        return _holds_struct(type_.item_type)
    if isinstance(type_, mi.UnionType):
        return any(_holds_struct(option) for option in type_.types)
    return False


def _walk_plan(struct_type: mi.StructType) -> tuple[frozenset[str], dict[str, mi.Type]]:
    """A model's JSON keys, and the fields worth walking into: computed once per model."""
    plan = _walk_plans.get(struct_type.cls)
    if plan is None:
        names = frozenset(field.encode_name for field in struct_type.fields)
        nested = {f.encode_name: f.type for f in struct_type.fields if _holds_struct(f.type)}
        plan = _walk_plans[struct_type.cls] = (names, nested)
    return plan


def _reject_unknown_keys(value: Any, type_: mi.Type, path: str) -> None:
    """Raise for a dict key the model does not have (the spec forbids extra keys).

    Struct instances cannot carry unknown fields, so only dicts, and the
    lists holding them, are walked, and only where a model can be.
    """
    if isinstance(type_, mi.Metadata):
        type_ = type_.type
    if isinstance(type_, mi.UnionType):
        for option in type_.types:
            if _holds_struct(option):
                _reject_unknown_keys(value, option, path)
    elif isinstance(type_, mi.ListType) and isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                _reject_unknown_keys(item, type_.item_type, f"{path}[{index}]")
    elif isinstance(type_, mi.StructType) and isinstance(value, dict):
        names, nested = _walk_plan(type_)
        for key, item in value.items():
            if key not in names:
                raise _invalid(f"{path}.{key}" if path else str(key), "unknown field")
            if key in nested and isinstance(item, (dict, list)):
                _reject_unknown_keys(item, nested[key], f"{path}.{key}" if path else key)


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
    return _check(value, type_, path)[1]  # type: ignore[no-any-return]


def encode_request(value: Any, type_: Any, *, path: str = "") -> bytes:
    """The JSON body for ``value``, after checking it against ``type_``.

    The bytes sent are the bytes validated: they are decoded once as the
    server would, with unknown enum values and extra keys rejected.
    """
    return _check(value, type_, path)[0]


def _check(value: Any, type_: Any, path: str) -> tuple[bytes, Any]:
    if not isinstance(value, msgspec.Struct):
        _reject_unknown_keys(value, _type_info(type_), path)
    try:
        body = _encoder.encode(value)
    except (TypeError, ValueError) as exc:
        raise _invalid(path, f"cannot be encoded as JSON: {exc}") from None
    try:
        with models.strict_enums():
            return body, decoder_for(type_).decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        where = path
        match = _PATH.search(message)
        if match:
            inner = match["path"]
            joiner = "." if path and inner and not inner.startswith("[") else ""
            where = f"{path}{joiner}{inner}"
            message = message[: match.start()]
        raise _invalid(where, message) from None
