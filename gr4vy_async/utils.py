"""What the official SDK's examples import from ``gr4vy.utils``.

``parse_datetime``, and the SDK 2.4.27 retry settings ``RetryConfig`` and
``BackoffStrategy``, accepted wherever this library takes ``retries=`` or
``retry_config=`` and mapped onto :class:`gr4vy_async.RetryConfig` (see
:meth:`RetryConfig.to_retry_config` for where the behaviour differs).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Union

import msgspec

from ._codec import finite_number, hint
from .errors import InvalidRequestError
from .retries import RetryConfig as _Policy

__all__ = [
    "AnyRetryConfig",
    "BackoffStrategy",
    "RetryConfig",
    "as_retry_policy",
    "parse_datetime",
    "timeout_seconds",
]


def parse_datetime(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (``2013-07-16T19:23:00.000+00:00``, ``...Z``)."""
    try:
        return msgspec.convert(value, datetime)
    except msgspec.ValidationError as exc:
        raise ValueError(f"not an RFC 3339 datetime ({hint(value)})") from exc


def _check_non_negative(name: str, value: object) -> None:
    if not (finite_number(value) and value >= 0):  # type: ignore[operator]
        raise InvalidRequestError(f"BackoffStrategy.{name}: expected a finite number >= 0")


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
            _check_non_negative(name, value)
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
            raise InvalidRequestError(
                f"RetryConfig.status_codes_override: not a status or range like '5XX': {code!r}"
            )
    return frozenset(statuses)


class RetryConfig:
    """The official SDK's retry settings: ``RetryConfig("backoff", BackoffStrategy(...), True)``.

    ``strategy`` is ``"backoff"`` or ``"none"``; ``retry_connection_errors``
    says whether a failed connection is retried; ``status_codes_override``
    (``["429", "5XX"]``) replaces the statuses that are retried. Pass it as
    ``Gr4vy(retry_config=...)`` or ``retries=`` on a call; it is mapped by
    :meth:`to_retry_config`.
    """

    __slots__ = (
        "_policy",
        "backoff",
        "retry_connection_errors",
        "status_codes_override",
        "strategy",
    )

    def __init__(
        self,
        strategy: str,
        backoff: BackoffStrategy,
        retry_connection_errors: bool,
        status_codes_override: list[str] | None = None,
    ) -> None:
        if strategy not in ("backoff", "none"):
            raise InvalidRequestError(
                f"RetryConfig.strategy: expected 'backoff' or 'none', got {strategy!r}"
            )
        if not isinstance(backoff, BackoffStrategy):
            raise InvalidRequestError("RetryConfig.backoff: expected a BackoffStrategy")
        self.strategy = strategy
        self.backoff = backoff
        self.retry_connection_errors = bool(retry_connection_errors)
        self.status_codes_override = status_codes_override
        self._policy = self._map()  # checked now, not at the first request

    def __repr__(self) -> str:
        return (
            f"RetryConfig({self.strategy!r}, {self.backoff!r}, {self.retry_connection_errors}, "
            f"status_codes_override={self.status_codes_override!r})"
        )

    def to_retry_config(self) -> _Policy:
        """The equivalent :class:`gr4vy_async.RetryConfig`.

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
        return self._policy

    def _map(self) -> _Policy:
        if self.strategy == "none":
            return _Policy.none()
        backoff = self.backoff
        default = _Policy()
        override = self.status_codes_override
        return _Policy(
            max_attempts=sys.maxsize,
            initial_delay=backoff.initial_interval / 1000,
            max_delay=backoff.max_interval / 1000,
            max_elapsed=backoff.max_elapsed_time / 1000,
            statuses=_statuses(override) if override else default.statuses,
            retry_connection_errors=self.retry_connection_errors,
            retry_unsafe_methods=False,
        )


#: What ``retries=`` takes: this library's policy or the SDK's settings.
AnyRetryConfig = Union[_Policy, RetryConfig]  # noqa: UP007


def as_retry_policy(value: _Policy | RetryConfig | None) -> _Policy | None:
    """``value`` as this library's policy (``None`` stays ``None``: the client's default)."""
    if value is None or isinstance(value, _Policy):
        return value
    if isinstance(value, RetryConfig):
        return value.to_retry_config()
    raise InvalidRequestError(f"retries: expected a RetryConfig, got {type(value).__name__}")


def timeout_seconds(timeout_in_seconds: float | None, timeout_ms: float | None) -> float | None:
    """The call's timeout in seconds from either spelling (``None``: the client's)."""
    if timeout_ms is None:
        return timeout_in_seconds
    if timeout_in_seconds is not None:
        raise InvalidRequestError("timeout_ms: pass timeout_in_seconds or timeout_ms, not both")
    if not (finite_number(timeout_ms) and timeout_ms > 0):
        raise InvalidRequestError(
            "timeout_ms: must be a finite number of milliseconds above 0",
            field="timeout_ms",
            reason="range",
        )
    return timeout_ms / 1000
