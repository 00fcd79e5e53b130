"""An error response as the exception it raises: the class by status, the body parsed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from . import models
from ._error_base import APIError, ResponseError
from ._error_status import (
    ERRORS_BY_STATUS,
    Error403,
    Error403Active,
    Error403Forbidden,
    body_model,
)
from ._redact import body_prefix

__all__ = ["error_for_response"]

# 403 bodies the API uses for two distinct conditions (see the seed's error table).
_FORBIDDEN_MESSAGE = "invalid credentials"
_ACTIVE_MESSAGE = "currently active"


def _validation_message(data: models.HTTPValidationError) -> str:
    """The entries of a 422 body, in one line (the body has no ``message``)."""
    parts = [f"{'.'.join(map(str, d.loc))}: {d.msg}" for d in data.detail or []]
    return "validation failed" + (f": {'; '.join(parts)}" if parts else "")


def _describe(data: msgspec.Struct) -> str:
    """Code, message and details of a documented error body, in one line."""
    if isinstance(data, models.HTTPValidationError):
        return _validation_message(data)
    assert isinstance(data, models._ErrorBody)
    text = f"{data.code}: {data.message}"
    if data.details:
        text += " [" + "; ".join(f"{d.pointer}: {d.message}" for d in data.details) + "]"
    return text


def _parse_body(body: bytes, model: type[msgspec.Struct]) -> Any:
    """The body as ``model``, or ``None`` when it does not decode as one (never raises)."""
    try:
        return msgspec.json.decode(body, type=model)
    except (msgspec.DecodeError, RecursionError, ValueError):
        return None


def error_for_response(
    status: int, headers: Mapping[str, str], body: bytes, *, method: str, url: str
) -> ResponseError:
    """The exception for an error response: the class follows the status, whatever the body.

    ``data`` is the body parsed as the status's documented model when it
    decodes as one (every field of those models is optional, so ``{}`` does),
    else ``None``.
    """
    cls: type[ResponseError] = ERRORS_BY_STATUS.get(status, APIError)
    model = body_model(cls)
    data = None if model is None else _parse_body(body, model)
    api_message = None
    if data is None:
        # The body itself stays out of the message: it may echo request data.
        kind = headers.get("content-type", "no content type")
        message = f"{status}: undocumented response body ({kind}, {len(body)} bytes)"
    else:
        message = f"{status} {_describe(data)}"
        api_message = (
            _validation_message(data)
            if isinstance(data, models.HTTPValidationError)
            else data.message or None  # an empty message: the summary, as the SDK falls back
        )
        if cls is Error403:
            text = (data.message or "").lower()
            if text == _FORBIDDEN_MESSAGE:
                cls = Error403Forbidden
            elif _ACTIVE_MESSAGE in text:
                cls = Error403Active
    return cls(
        message,
        status_code=status,
        headers=headers,
        body=body_prefix(body),
        data=data,
        method=method,
        url=url,
        api_message=api_message,
    )
