"""The exceptions this library raises, and the one status -> exception table.

The tree (each line a class; indented classes are subclasses)::

    Gr4vyError                     every exception the library raises
    ├── InvalidRequestError        bad input, raised before any I/O (also a ValueError)
    ├── ClientClosedError          the client is closed (also a RuntimeError)
    ├── EventLoopError             the client is used from another event loop (also a RuntimeError)
    ├── TokenProviderError         the bearer_auth provider raised or did not return in time
    ├── HookTimeoutError           a hook did not return within the attempt's timeout
    ├── JournalError               a bulk run's journal could not be written
    ├── WebhookVerificationError   a webhook delivery did not verify (also a ValueError)
    ├── TransportError             no HTTP response (the SDK's name: NoResponseError)
    │   ├── ConnectError           the connection failed or was dropped
    │   └── RequestTimeoutError    the request did not finish in time
    │       └── DeadlineExceededError  the call's deadline passed (attempts, elapsed)
    └── ResponseError              Gr4vy answered: status_code is always set
        ├── APIError               an error status (300 or more) the API does not document
        ├── Error400               400: invalid request
        ├── Error401               401: unauthorized
        ├── Error403               403: invalid credentials or no permission
        │   ├── Error403Forbidden  403 "Invalid credentials"
        │   └── Error403Active     403: the resource is currently active
        ├── Error404               404: not found
        ├── Error405               405: method not allowed
        ├── Error409               409: duplicate record
        ├── HTTPValidationError    422: the request did not validate
        ├── Error425               425: too early
        ├── Error429               429: too many requests
        ├── Error500               500: server error
        ├── Error502               502: upstream failed
        ├── Error504               504: upstream timed out
        ├── ResponseValidationError  a 2xx whose body does not decode
        └── ResponseTooLargeError    a body larger than max_response_bytes

``except errors.ResponseError`` catches every error that carries an HTTP
status; ``except errors.NoResponseError`` (SDK 2.4.27's name for
:class:`TransportError`) every failure that got none. A response with a
documented status raises the class named as in the official SDK
(``Error404``, ...; the table is :data:`ERRORS_BY_STATUS`) whatever its body,
with the parsed body in ``data`` when it decodes; any other error status
raises :class:`APIError`. As in the SDK, ``message`` is the API's own
message and ``data`` an ``Error404Data`` (...) model; the one-line ``summary``
and ``str(error)`` add the status, code, details, attempts and request line,
never the bearer token or the request body. ``raw_response`` has the
response's ``status_code``, ``headers`` and ``text``.
"""

from __future__ import annotations

from ._defaults import BODY_PREFIX_LIMIT
from ._error_base import (
    APIError,
    ClientClosedError,
    ConnectError,
    DeadlineExceededError,
    EventLoopError,
    Gr4vyError,
    HookTimeoutError,
    InvalidRequestError,
    JournalError,
    NoResponseError,
    RawResponse,
    RequestTimeoutError,
    ResponseError,
    ResponseTooLargeError,
    ResponseValidationError,
    TokenProviderError,
    TransportError,
    WebhookVerificationError,
)
from ._error_status import (
    ERRORS_BY_STATUS,
    Error400,
    Error400Data,
    Error401,
    Error401Data,
    Error403,
    Error403Active,
    Error403Data,
    Error403Forbidden,
    Error404,
    Error404Data,
    Error405,
    Error405Data,
    Error409,
    Error409Data,
    Error425,
    Error425Data,
    Error429,
    Error429Data,
    Error500,
    Error500Data,
    Error502,
    Error502Data,
    Error504,
    Error504Data,
    HTTPValidationError,
    HTTPValidationErrorData,
)
from ._responses import error_for_response

__all__ = [
    "BODY_PREFIX_LIMIT",
    "ERRORS_BY_STATUS",
    "APIError",
    "ClientClosedError",
    "ConnectError",
    "DeadlineExceededError",
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
    "WebhookVerificationError",
    "error_for_response",
]
