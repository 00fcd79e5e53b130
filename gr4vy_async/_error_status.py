"""The exceptions of the statuses the API documents, and the status -> class table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import msgspec

from . import models
from ._error_base import ResponseError

__all__ = [
    "ERRORS_BY_STATUS",
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
    "HTTPValidationError",
    "HTTPValidationErrorData",
    "body_model",
]

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
