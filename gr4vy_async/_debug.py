"""An attempt's DEBUG line: its format, what ``debug_logger=`` takes, and the line itself."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
from yarl import URL

from .errors import Gr4vyError

__all__ = ["ATTEMPT_LOG_FORMAT", "DebugLogger", "debug_check", "log_attempt"]

#: The per-attempt DEBUG line; ``gr4vy-async --debug`` and log parsers rely on it:
#: ``GET /checkout/sessions/... -> 200 in 3.1 ms (attempt 1 of 4, 1.9 s left, request id ...)``,
#: the ``, ... s left`` part only when the call has a deadline.
ATTEMPT_LOG_FORMAT = "%s %s -> %s in %.1f ms (attempt %d of %d%s, request id %s)"


class DebugLogger(Protocol):
    """What ``Gr4vy(debug_logger=...)`` takes: anything with ``debug(msg, *args)``."""

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


def _always() -> bool:
    return True


def debug_check(debug_logger: DebugLogger) -> Callable[[], bool]:
    """Whether a DEBUG line would be written now: a logging.Logger's level, else always."""
    is_enabled = getattr(debug_logger, "isEnabledFor", None)
    return functools.partial(is_enabled, logging.DEBUG) if callable(is_enabled) else _always


def log_attempt(
    debug_logger: DebugLogger,
    method: str,
    url: URL,
    response: aiohttp.ClientResponse | None,
    error: Gr4vyError | None,
    elapsed: float,
    attempt: int,
    max_attempts: int,
    time_left: float | None,
) -> None:
    """Write the attempt's DEBUG line: the status, or the error's class when no (whole)
    response came; ``time_left``: seconds to the call's deadline, if it has one."""
    outcome: object = (
        response.status
        if response is not None and (error is None or error.status_code is not None)
        else type(error).__name__
    )
    request_id = response.headers.get("x-request-id") if response is not None else None
    left = "" if time_left is None else f", {time_left:.1f} s left"
    debug_logger.debug(
        ATTEMPT_LOG_FORMAT,
        method,
        url.path,
        outcome,
        elapsed * 1000,
        attempt,
        max_attempts,
        left,
        request_id or "-",
    )
