"""The exception classes and the status -> class table (told in :mod:`gr4vy_async.errors`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from . import models

__all__ = [
    "ERRORS_BY_STATUS",
    "APIError",
    "ClientClosedError",
    "ConnectError",
    "Error400",
    "Error400Data",
    "Error401",
    "Error401Data",
    "Error403",
    "Error403Active",
    "Error403Data",
    "Error403Forbidden",
    "Error404",
    "Error404Data",
    "Error405",
    "Error405Data",
    "Error409",
    "Error409Data",
    "Error425",
    "Error425Data",
    "Error429",
    "Error429Data",
    "Error500",
    "Error500Data",
    "Error502",
    "Error502Data",
    "Error504",
    "Error504Data",
    "EventLoopError",
    "Gr4vyError",
    "HTTPValidationError",
    "HTTPValidationErrorData",
    "HookTimeoutError",
    "InvalidRequestError",
    "JournalError",
    "NoResponseError",
    "RawResponse",
    "RequestTimeoutError",
    "ResponseError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "TokenProviderError",
    "TransportError",
    "body_model",
]

_EMPTY: Mapping[str, str] = {}

# SDK 2.4.27's names for the body models of its error classes (``e.data``).
Error400Data = models.Error400
Error401Data = models.Error401
Error403Data = models.Error403
Error404Data = models.Error404
Error405Data = models.Error405
Error409Data = models.Error409
Error425Data = models.Error425
Error429Data = models.Error429
Error500Data = models.Error500
Error502Data = models.Error502
Error504Data = models.Error504
HTTPValidationErrorData = models.HTTPValidationError


class RawResponse:
    """The response an error came with: what SDK 2.4.27 users read of ``httpx.Response``.

    ``text`` is the error's ``body`` (at most :data:`BODY_PREFIX_LIMIT`
    characters). Printed, it shows only the status, as ``httpx.Response`` does.
    """

    __slots__ = ("headers", "method", "status_code", "text", "url")

    def __init__(
        self,
        status_code: int,
        headers: Mapping[str, str],
        text: str,
        method: str | None,
        url: str | None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.text = text
        self.method = method
        self.url = url

    def json(self) -> Any:
        """``text`` parsed as JSON (``ValueError`` when it is not JSON)."""
        return json.loads(self.text)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class Gr4vyError(Exception):
    """Base of every exception the library raises.

    ``message`` is the API's message where the response had one (as in
    SDK 2.4.27), else the same as ``summary``: one line with the status, code,
    message and details. ``str(error)`` is ``summary`` with the attempts and
    the request line.

    For a response: ``status_code``, ``headers``, ``body`` (the text),
    ``raw_response`` (the three together), ``data`` (the parsed body where it
    matched the documented model), ``method`` and ``url`` of the request. They
    are ``None``/empty for errors raised before a response (bad input, network
    failures). ``body`` keeps at most the first :data:`BODY_PREFIX_LIMIT`
    characters.

    ``attempts`` and ``elapsed`` (seconds, waits included) say how many
    requests the call made and how long it took before giving up; they are
    ``None`` for errors raised before any request.
    """

    attempts: int | None = None
    elapsed: float | None = None

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
        api_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.summary = message
        self.message = message if api_message is None else api_message
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

    @property
    def raw_response(self) -> RawResponse | None:
        """The response's status, headers and text; ``None`` when there was no response."""
        if self.status_code is None:
            return None
        return RawResponse(self.status_code, self.headers, self.body, self.method, self.url)

    def __str__(self) -> str:
        text = self.summary
        if self.attempts is not None and self.elapsed is not None:
            plural = "s" if self.attempts != 1 else ""
            text += f" ({self.attempts} attempt{plural} over {self.elapsed:.1f} s)"
        if self.method and self.url:
            text += f" ({self.method} {self.url})"
        return text

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


class EventLoopError(Gr4vyError, RuntimeError):
    """The client was used from an event loop other than its session's.

    An aiohttp session (and so a client) belongs to the loop it was made in:
    make one client per event loop (per ``asyncio.run``, per thread).
    """


class TokenProviderError(Gr4vyError):
    """The ``bearer_auth`` provider raised (its exception is the ``__cause__``),
    or did not return within the attempt's timeout. Not retried."""


class HookTimeoutError(Gr4vyError):
    """A hook did not return within the attempt's timeout.

    Not retried: after the request was sent, Gr4vy may have done it (a
    session deleted), and the same hook would stall again.
    """


class JournalError(Gr4vyError):
    """A bulk run's journal could not be written (a full disk, a file too large).

    Raised when the run has stopped and every id has its outcome: ``report``
    is the run's :class:`~gr4vy_async.bulk.BulkReport`, ``errno`` the OS
    error's number.
    """

    def __init__(self, message: str, *, report: Any = None, errno: int | None = None) -> None:
        super().__init__(message)
        self.report = report
        self.errno = errno


class TransportError(Gr4vyError):
    """The request got no HTTP response.

    ``__cause__`` is the OS or timeout error, when there is one whose text
    cannot hold what the server sent; an error from parsing a malformed
    response is named in the message only.
    """


#: SDK 2.4.27's name for an error without a response: ``except errors.NoResponseError``.
NoResponseError = TransportError


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


class ResponseError(Gr4vyError):
    """Gr4vy answered and the call failed on the answer; the base of every error with a status.

    ``status_code`` and ``headers`` are the response's. Catch this for "any
    HTTP error status"; a subclass says which.
    """

    status_code: int


class APIError(ResponseError):
    """An error status (300 or more) the API does not document; ``data`` is ``None``."""


class ResponseValidationError(ResponseError):
    """A success response whose body does not decode into the documented model."""


class ResponseTooLargeError(ResponseError):
    """The response body (decompressed) was larger than the client's ``max_response_bytes``.

    Reading stopped at the limit and the connection was closed; ``status_code``
    and ``headers`` are the response's, ``body`` is empty.
    """


class _DocumentedError(ResponseError):
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
        Error400,
        Error401,
        Error403,
        Error404,
        Error405,
        Error409,
        HTTPValidationError,
        Error425,
        Error429,
        Error500,
        Error502,
        Error504,
    )
}


def body_model(cls: type[ResponseError]) -> type[msgspec.Struct] | None:
    """The model of the body ``cls``'s status documents (``None``: an undocumented status)."""
    return cls.model if issubclass(cls, _DocumentedError) else None


# Their home for users (tracebacks, pickling) is ``gr4vy_async.errors``, which re-exports them.
for _cls in [value for value in list(globals().values()) if isinstance(value, type)]:
    if _cls.__module__ == __name__:
        _cls.__module__ = "gr4vy_async.errors"
