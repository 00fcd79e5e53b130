"""What the official SDK's examples import from ``gr4vy.utils``.

``parse_datetime``, and SDK 2.4.27's way to write retry settings:
``RetryConfig("backoff", BackoffStrategy(...), True)`` builds a
:class:`gr4vy_async.RetryConfig`, the one retry policy class, accepted
wherever this library takes ``retries=`` or ``retry_config=`` (see
:func:`RetryConfig` for where the behaviour differs from the SDK's).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime

import msgspec

from . import retries
from ._checks import invalid, non_negative
from ._redact import hint

__all__ = ["BackoffStrategy", "RetryConfig", "parse_datetime"]


def parse_datetime(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (``2013-07-16T19:23:00.000+00:00``, ``...Z``)."""
    try:
        return msgspec.convert(value, datetime)
    except msgspec.ValidationError as exc:
        raise ValueError(f"not an RFC 3339 datetime ({hint(value)})") from exc


class BackoffStrategy:
    """The SDK's exponential backoff settings, all times in milliseconds.

    ``BackoffStrategy(initial_interval, max_interval, exponent, max_elapsed_time,
    jitter_ms=None)``, as in ``gr4vy.utils`` 2.4.27. Here the waits double
    from ``initial_interval`` up to ``max_interval`` with full jitter, so
    ``exponent`` and ``jitter_ms`` are checked and kept but do not shape them.
    """

    __slots__ = ("exponent", "initial_interval", "jitter_ms", "max_elapsed_time", "max_interval")

    def __init__(
        self,
        initial_interval: int,
        max_interval: int,
        exponent: float,
        max_elapsed_time: int,
        jitter_ms: int | None = None,
    ) -> None:
        for name, value in (
            ("initial_interval", initial_interval),
            ("max_interval", max_interval),
            ("exponent", exponent),
            ("max_elapsed_time", max_elapsed_time),
            *((("jitter_ms", jitter_ms),) if jitter_ms is not None else ()),
        ):
            non_negative(value, f"BackoffStrategy.{name}", "milliseconds")
        self.initial_interval = initial_interval
        self.max_interval = max_interval
        self.exponent = exponent
        self.max_elapsed_time = max_elapsed_time
        self.jitter_ms = jitter_ms

    def __repr__(self) -> str:
        return (
            f"BackoffStrategy({self.initial_interval}, {self.max_interval}, {self.exponent}, "
            f"{self.max_elapsed_time}, jitter_ms={self.jitter_ms})"
        )


def _statuses(codes: Sequence[str]) -> frozenset[int]:
    """``["429", "5XX"]`` -> the statuses they name."""
    statuses: set[int] = set()
    for code in codes:
        text = str(code).upper()
        if len(text) == 3 and text[0] in "12345" and text[1:] == "XX":
            first = int(text[0]) * 100
            statuses.update(range(first, first + 100))
        elif text.isdigit() and 100 <= int(text) <= 599:
            statuses.add(int(text))
        else:
            raise invalid(
                "RetryConfig.status_codes_override",
                f"statuses or ranges like '5XX', got {hint(code)}",
            )
    return frozenset(statuses)


def RetryConfig(
    strategy: str,
    backoff: BackoffStrategy,
    retry_connection_errors: bool,
    status_codes_override: list[str] | None = None,
) -> retries.RetryConfig:
    """The :class:`gr4vy_async.RetryConfig` SDK 2.4.27's settings describe.

    ``RetryConfig("backoff", BackoffStrategy(...), True)`` as in ``gr4vy.utils``:
    ``strategy`` is ``"backoff"`` or ``"none"``; ``retry_connection_errors``
    says whether a failed connection is retried; ``status_codes_override``
    (``["429", "5XX"]``) replaces the statuses that are retried.

    - ``"none"`` never retries; ``"backoff"`` retries until
      ``max_elapsed_time`` has passed (no attempt limit, as in the SDK).
    - Waits double from ``initial_interval`` up to ``max_interval`` with
      full jitter (the SDK multiplies by ``exponent`` and adds up to
      ``jitter_ms``, default 1 s); a ``Retry-After`` header replaces the
      wait, capped at 60 s.
    - Unlike the SDK, a create (POST) is never sent again after a 5xx or
      a timeout: it takes no idempotency key, so a second try could make
      a second session. GET, PUT and DELETE retry on the same statuses.
    - Without ``status_codes_override`` the statuses retried are this
      library's (425, 429, 500, 502, 503, 504).
    """
    if strategy not in ("backoff", "none"):
        raise invalid("RetryConfig.strategy", f"'backoff' or 'none', got {hint(strategy)}")
    if not isinstance(backoff, BackoffStrategy):
        raise invalid("RetryConfig.backoff", f"a BackoffStrategy, got {hint(backoff)}", "type")
    if strategy == "none":
        return retries.RetryConfig.none()
    statuses = _statuses(status_codes_override) if status_codes_override else None
    return retries.RetryConfig(
        max_attempts=sys.maxsize,
        initial_delay=backoff.initial_interval / 1000,
        max_delay=backoff.max_interval / 1000,
        max_elapsed=backoff.max_elapsed_time / 1000,
        statuses=retries.RetryConfig().statuses if statuses is None else statuses,
        retry_connection_errors=bool(retry_connection_errors),
        retry_unsafe_methods=False,
    )
