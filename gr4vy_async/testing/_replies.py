"""The fake's answers: JSON responses, documented error bodies, 400/422/429 and early replies."""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

import msgspec
from aiohttp import web

from .. import models
from .._codec import validate
from ..errors import ERRORS_BY_STATUS, InvalidRequestError
from .faults import Handler, error_body, validation_body

__all__ = [
    "Reply",
    "answer_early",
    "decode_json",
    "error_response",
    "json_response",
    "rate_limited",
    "validated",
]


def json_response(status: int, body: bytes) -> web.Response:
    """A JSON response with a fresh ``x-request-id``, as Gr4vy sends every one."""
    headers = {"x-request-id": str(uuid.uuid4())}
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def error_response(status: int, message: str | None = None) -> web.Response:
    """The documented error body of ``status``."""
    return json_response(status, error_body(status, message))


class Reply(Exception):
    """Raised by a handler to answer at once with ``response``."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


@web.middleware
async def answer_early(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn a :class:`Reply` and aiohttp's own 404/405 into documented JSON errors."""
    try:
        return await handler(request)
    except Reply as reply:
        return reply.response
    except web.HTTPException as exc:
        if exc.status not in ERRORS_BY_STATUS:
            raise
        response = error_response(exc.status)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response


def rate_limited(wait: float) -> web.Response:
    """A documented 429 with ``Retry-After`` in whole seconds (at least 1), as servers send it."""
    response = error_response(429)
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


# --------------------------------------------------------------------------- 400 and 422 bodies

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
#: msgspec/_codec message fragment -> the validation error ``type`` reported.
_ERROR_TYPES = (
    ("unknown field", "extra_forbidden"),
    ("missing required field", "missing"),
    ("Invalid enum value", "enum"),
    (", got `", "type_error"),
)


def _location(path: str) -> list[str | int]:
    """``cart_items[0].quantity`` -> ``["cart_items", 0, "quantity"]``."""
    parts: list[str | int] = []
    for name, index in _PATH_PART.findall(path):
        if name == "...":
            continue  # a dict key msgspec does not name
        parts.append(int(index) if index else name)
    return parts


def _validation_error(where: str, exc: InvalidRequestError) -> web.Response:
    """A 422 whose ``detail`` points at the field ``exc`` names."""
    kind = next((kind for text, kind in _ERROR_TYPES if text in exc.reason), "value_error")
    return json_response(
        422, validation_body([where, *_location(exc.field or "")], exc.reason, kind)
    )


def decode_json(body: bytes) -> Any:
    """The JSON value of a request body (an empty body is ``null``); 400 if malformed."""
    if not body.strip():
        return None
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        detail = models.ErrorDetail(
            location=models.ErrorLocation.BODY, pointer="/", message=str(exc), type="json_invalid"
        )
        error = models.Error400(message="Request body is not valid JSON", details=[detail])
        raise Reply(json_response(400, msgspec.json.encode(error))) from None


def validated(value: Any, type_: Any) -> Any:
    """``value`` as ``type_``, or a 422 pointing at the offending field."""
    try:
        return validate(value, type_)
    except InvalidRequestError as exc:
        raise Reply(_validation_error("body", exc)) from None
