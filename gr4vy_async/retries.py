"""When a failed request is tried again, and how long to wait: a tenacity policy.

Idempotent methods (GET, PUT, DELETE) are retried on connection errors,
timeouts, 425, 429 and 5xx. A create (POST) takes no idempotency key, so it is
retried only where Gr4vy cannot have processed it: a connection that failed
before the request was sent, 425 and 429. Timeouts and 5xx on a POST are
retried only with ``RetryConfig(retry_unsafe_methods=True)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import tenacity

from .errors import ConnectError, Gr4vyError, RequestTimeoutError, TransportError

__all__ = ["RetryConfig", "retry_after_seconds"]

logger = logging.getLogger("gr4vy_async")

IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
#: Statuses that say "nothing was done, try later": safe to retry for any method.
NOT_PROCESSED_STATUSES = frozenset({425, 429})


@dataclasses.dataclass(frozen=True)
class RetryConfig:
    """How many times, for how long and on what a request is retried.

    ``max_attempts`` counts the first try; the waits grow exponentially from
    ``initial_delay`` up to ``max_delay`` with full jitter, and no retry starts
    after ``max_elapsed`` seconds. A ``Retry-After`` header (seconds or an HTTP
    date) replaces the computed wait, capped at ``retry_after_cap``.
    """

    max_attempts: int = 4
    initial_delay: float = 0.25
    max_delay: float = 8.0
    max_elapsed: float = 60.0
    retry_after_cap: float = 60.0
    statuses: frozenset[int] = frozenset({425, 429, 500, 502, 503, 504})
    retry_connection_errors: bool = True
    retry_unsafe_methods: bool = False

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.initial_delay, self.max_delay, self.max_elapsed, self.retry_after_cap) < 0:
            raise ValueError("delays must not be negative")

    @classmethod
    def none(cls) -> RetryConfig:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def should_retry(self, error: BaseException, method: str) -> bool:
        """Whether ``error`` from a ``method`` request may be tried again."""
        if self.max_attempts < 2 or not isinstance(error, Gr4vyError):
            return False
        unsafe_ok = method in IDEMPOTENT_METHODS or self.retry_unsafe_methods
        if isinstance(error, TransportError):
            if not self.retry_connection_errors:
                return False
            if isinstance(error, ConnectError) and error.before_send:
                return True
            return unsafe_ok and isinstance(error, (ConnectError, RequestTimeoutError))
        status = error.status_code
        if status is None or status not in self.statuses:
            return False
        return status in NOT_PROCESSED_STATUSES or unsafe_ok

    def wait_seconds(self, error: BaseException | None, attempt: int) -> float:
        """The wait before attempt ``attempt + 1``: Retry-After, else jittered backoff."""
        if isinstance(error, Gr4vyError):
            retry_after = retry_after_seconds(error.headers)
            if retry_after is not None:
                return min(retry_after, self.retry_after_cap)
        ceiling = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography

    def retrying(self, method: str, started: float) -> tenacity.AsyncRetrying:
        """A fresh tenacity controller for one request (they hold per-call state).

        ``started`` is the ``time.monotonic()`` of the first attempt: no retry
        starts after ``max_elapsed`` seconds from it, waits included.
        """

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.wait_seconds(error, state.attempt_number)

        def stop(state: tenacity.RetryCallState) -> bool:
            # tenacity computes the wait before asking stop: ``upcoming_sleep`` is known.
            elapsed_after_wait = time.monotonic() - started + state.upcoming_sleep
            return (
                state.attempt_number >= self.max_attempts or elapsed_after_wait > self.max_elapsed
            )

        return tenacity.AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception(lambda error: self.should_retry(error, method)),
            before_sleep=_log_retry,
            sleep=_sleep,
            reraise=True,
        )


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    # The error's str() carries method, URL, status and code: never token or body.
    logger.info("retrying in %.2fs (attempt %d failed): %s", wait, state.attempt_number, error)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a ``Retry-After`` header asks for (delta-seconds or HTTP date)."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
