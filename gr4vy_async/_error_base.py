"""The exception classes but those of documented statuses (told in :mod:`gr4vy_async.errors`).

Nothing here needs the models, so any module (``models`` too) may raise these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "ClientClosedError",
    "ConnectError",
    "DeadlineExceededError",
    "EventLoopError",
    "Gr4vyError",
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
    "WebhookVerificationError",
]

_EMPTY: Mapping[str, str] = {}


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


class WebhookVerificationError(Gr4vyError, ValueError):
    """A webhook delivery did not verify (:mod:`gr4vy_async.webhooks`).

    ``check`` names the check that failed (``"signature"``, ``"timestamp_too_old"``...);
    the message never holds a secret, a signature or the payload.
    """

    def __init__(self, message: str, *, check: str) -> None:
        super().__init__(message)
        self.check = check


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


class DeadlineExceededError(RequestTimeoutError):
    """The call's ``deadline`` passed: in a hook, the wait for a connection or the token, or
    the request. ``attempts`` and ``elapsed`` say how far it got. Not retried."""


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


# Their home for users (tracebacks, pickling) is ``gr4vy_async.errors``, which re-exports them.
for _cls in [value for value in list(globals().values()) if isinstance(value, type)]:
    if _cls.__module__ == __name__:
        _cls.__module__ = "gr4vy_async.errors"
