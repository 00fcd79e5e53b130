"""The exceptions this library raises, and the one status -> exception table.

Every exception is a :class:`Gr4vyError`. Responses with a documented status
raise the class named as in the official SDK (``Error404``, ...), with the
parsed body in ``data``; anything else raises :class:`APIError`. Messages and
reprs carry the status, code, message and request line, never the bearer
token or the request body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from . import models

__all__ = [
    "APIError",
    "ClientClosedError",
    "ConnectError",
    "Error400",
    "Error401",
    "Error403",
    "Error403Active",
    "Error403Forbidden",
    "Error404",
    "Error405",
    "Error409",
    "Error425",
    "Error429",
    "Error500",
    "Error502",
    "Error504",
    "Gr4vyError",
    "HTTPValidationError",
    "InvalidRequestError",
    "RequestTimeoutError",
    "ResponseValidationError",
    "TransportError",
    "error_for_response",
]

_EMPTY: Mapping[str, str] = {}


class Gr4vyError(Exception):
    """Base of every exception the library raises.

    For a response: ``status_code``, ``headers``, ``body`` (the text),
    ``data`` (the parsed body where it matched the documented model),
    ``method`` and ``url`` of the request. They are ``None``/empty for errors
    raised before a response (bad input, network failures).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        body: str = "",
        data: Any = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.headers: Mapping[str, str] = headers if headers is not None else _EMPTY
        self.body = body
        self.data = data
        self.method = method
        self.url = url

    @property
    def request_id(self) -> str | None:
        """The ``x-request-id`` Gr4vy gave the response, if any."""
        return self.headers.get("x-request-id")

    def __str__(self) -> str:
        if self.method and self.url:
            return f"{self.message} ({self.method} {self.url})"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, message={self.message!r})"


class InvalidRequestError(Gr4vyError, ValueError):
    """The call's arguments are invalid; raised before any network I/O.

    ``field`` is the path of the offending value (``cart_items[0].quantity``,
    empty for the whole body) and ``reason`` what is wrong with it, where known.
    """

    def __init__(
        self, message: str, *, field: str | None = None, reason: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.field = field
        self.reason = reason if reason is not None else message


class ClientClosedError(Gr4vyError, RuntimeError):
    """A request was made on a client that is closed."""


class TransportError(Gr4vyError):
    """The request got no HTTP response; ``__cause__`` is the aiohttp error."""


class ConnectError(TransportError):
    """The connection to Gr4vy failed or was dropped.

    ``before_send`` is true when the request cannot have reached Gr4vy (the
    connection was never made), so even a create is safe to retry.
    """

    def __init__(self, message: str, *, before_send: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.before_send = before_send


class RequestTimeoutError(TransportError):
    """The request did not finish within its timeout."""


class APIError(Gr4vyError):
    """An error status the API does not document, or an undocumented error body."""


class ResponseValidationError(Gr4vyError):
    """A success response whose body does not decode into the documented model."""


class _DocumentedError(Gr4vyError):
    """An error status the spec documents, with its JSON body model."""

    status: ClassVar[int]
    model: ClassVar[type[msgspec.Struct]]


class Error400(_DocumentedError):
    """400: the request was invalid."""

    status, model = 400, models.Error400
    data: models.Error400


class Error401(_DocumentedError):
    """401: the request was unauthorized."""

    status, model = 401, models.Error401
    data: models.Error401


class Error403(_DocumentedError):
    """403: the credentials were invalid or lack permission on the resource."""

    status, model = 403, models.Error403
    data: models.Error403


class Error403Forbidden(Error403):
    """403 with message "Invalid credentials"."""


class Error403Active(Error403):
    """403: the resource could not be removed as it is currently active."""


class Error404(_DocumentedError):
    """404: the resource was not found."""

    status, model = 404, models.Error404
    data: models.Error404


class Error405(_DocumentedError):
    """405: the method was not allowed."""

    status, model = 405, models.Error405
    data: models.Error405


class Error409(_DocumentedError):
    """409: a duplicate record was found."""

    status, model = 409, models.Error409
    data: models.Error409


class HTTPValidationError(_DocumentedError):
    """422: the request did not validate."""

    status, model = 422, models.HTTPValidationError
    data: models.HTTPValidationError


class Error425(_DocumentedError):
    """425: too early; retry later."""

    status, model = 425, models.Error425
    data: models.Error425


class Error429(_DocumentedError):
    """429: too many requests."""

    status, model = 429, models.Error429
    data: models.Error429


class Error500(_DocumentedError):
    """500: the server failed."""

    status, model = 500, models.Error500
    data: models.Error500


class Error502(_DocumentedError):
    """502: an upstream failed."""

    status, model = 502, models.Error502
    data: models.Error502


class Error504(_DocumentedError):
    """504: an upstream timed out."""

    status, model = 504, models.Error504
    data: models.Error504


#: The one table from HTTP status to exception class.
ERRORS_BY_STATUS: Mapping[int, type[_DocumentedError]] = {
    cls.status: cls
    for cls in (
        Error400, Error401, Error403, Error404, Error405, Error409,
        HTTPValidationError, Error425, Error429, Error500, Error502, Error504,
    )
}  # fmt: skip

# 403 bodies the API uses for two distinct conditions (see the seed's error table).
_FORBIDDEN_MESSAGE = "invalid credentials"
_ACTIVE_MESSAGE = "currently active"


def _describe(data: msgspec.Struct) -> str:
    """Status, code, message and details of a documented error body, in one line."""
    if isinstance(data, models.HTTPValidationError):
        details = data.detail or []
        parts = [f"{'.'.join(map(str, d.loc))}: {d.msg}" for d in details]
        return "validation failed" + (f": {'; '.join(parts)}" if parts else "")
    assert isinstance(data, models._ErrorBody)
    text = f"{data.code}: {data.message}"
    if data.details:
        text += " [" + "; ".join(f"{d.pointer}: {d.message}" for d in data.details) + "]"
    return text


def _documented_body(status: int, body: bytes, model: type[msgspec.Struct]) -> msgspec.Struct:
    """The body as ``model``; ValueError unless it is the documented shape.

    Every field of the error models has a default, so any JSON object would
    decode: the documented markers (``"type": "error"``, or a 422's
    ``detail``) must be present.
    """
    value = msgspec.json.decode(body)
    marker_ok = isinstance(value, dict) and (
        "detail" in value if status == 422 else value.get("type") == "error"
    )
    if not marker_ok:
        raise ValueError("not a documented error body")
    return msgspec.convert(value, model)


def error_for_response(
    status: int, headers: Mapping[str, str], body: bytes, *, method: str, url: str
) -> Gr4vyError:
    """The exception for an error response, picked by HTTP status (never the body)."""
    text = body.decode("utf-8", "replace")
    documented = ERRORS_BY_STATUS.get(status)
    cls: type[Gr4vyError] | None = documented
    data: Any = None
    if documented is not None:
        try:
            data = _documented_body(status, body, documented.model)
        except (msgspec.DecodeError, ValueError):
            cls = None
    if cls is None:
        # The body itself stays out of the message: it may echo request data.
        kind = headers.get("content-type", "no content type")
        return APIError(
            f"{status}: undocumented response body ({kind}, {len(body)} bytes)",
            status_code=status, headers=headers, body=text, method=method, url=url,
        )  # fmt: skip
    if cls is Error403:
        message = data.message.lower()
        if message == _FORBIDDEN_MESSAGE:
            cls = Error403Forbidden
        elif _ACTIVE_MESSAGE in message:
            cls = Error403Active
    return cls(
        f"{status} {_describe(data)}",
        status_code=status, headers=headers, body=text, data=data, method=method, url=url,
    )  # fmt: skip
