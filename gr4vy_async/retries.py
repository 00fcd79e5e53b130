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
import functools
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

import tenacity

from ._checks import non_negative, whole_number
from ._defaults import RETRY_BUDGET, RETRY_COST, TIMEOUT_RETRY_COST
from .errors import (
    ConnectError,
    DeadlineExceededError,
    Gr4vyError,
    RequestTimeoutError,
    TransportError,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "NOT_PROCESSED_STATUSES",
    "RETRY_BUDGET",
    "RetryBudget",
    "RetryConfig",
    "next_retry",
    "retry_after_seconds",
    "sleep",
]

_DELTA_SECONDS = re.compile(r"[0-9]{1,10}")  # ASCII digits only: str.isdigit() takes "²"

#: Methods whose request may be sent again after a 5xx or a dropped connection.
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
        """Reject what would make a call hang or retry without end (NaN, infinity, a string)."""
        whole_number(self.max_attempts, "RetryConfig.max_attempts")
        for name in ("initial_delay", "max_delay", "max_elapsed", "retry_after_cap"):
            non_negative(getattr(self, name), f"RetryConfig.{name}")

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
            if not self.retry_connection_errors or isinstance(error, DeadlineExceededError):
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
        return float(self._wait(_failed_state(error, attempt, time.monotonic())))

    def rate_limit_wait(
        self,
        error: BaseException,
        *,
        elapsed: float,
        default: float,
        remaining: float | None = None,
    ) -> float | None:
        """For a batch's id answered 425/429: the wait before sending it again, or ``None``.

        The wait is ``Retry-After`` capped at ``retry_after_cap`` (``default``
        when absent or unreadable). ``None`` (give up: the id fails with this
        answer) when the policy retries nothing (``max_attempts`` 1), the
        error is not a 425/429, or the wait would end more than
        ``max_elapsed`` after the id's first attempt (``elapsed`` seconds
        ago) or after ``remaining`` seconds (the batch's deadline). 425/429
        do not count against ``max_attempts``: time is their bound.
        """
        if (
            self.max_attempts < 2
            or not isinstance(error, Gr4vyError)
            or error.status_code not in NOT_PROCESSED_STATUSES
        ):
            return None
        try:
            asked = retry_after_seconds(error.headers)
        except (ValueError, OverflowError):  # an odd header is no reason to fail the id
            asked = None
        wait = max(0.0, min(default if asked is None else asked, self.retry_after_cap))
        if self.out_of_time(elapsed + wait) or (remaining is not None and wait >= remaining):
            return None
        return wait

    def out_of_time(self, elapsed: float) -> bool:
        """Whether an attempt ``elapsed`` seconds after the first is past ``max_elapsed``."""
        return elapsed > self.max_elapsed

    @functools.cached_property
    def _wait(self) -> Callable[[tenacity.RetryCallState], float]:
        """tenacity's wait: ``Retry-After`` when the response has one, else full jitter."""
        backoff = tenacity.wait_random_exponential(
            multiplier=self.initial_delay, max=self.max_delay
        )

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, Gr4vyError):
                retry_after = retry_after_seconds(error.headers)
                if retry_after is not None:
                    return min(retry_after, self.retry_after_cap)
            return backoff(state)

        return wait

    @functools.cached_property
    def _stop(self) -> tenacity.stop.stop_base:
        """tenacity's stop: after ``max_attempts``, or a retry that would start too late."""
        return tenacity.stop_after_attempt(self.max_attempts) | tenacity.stop_before_delay(
            self.max_elapsed
        )

    def next_wait(
        self, error: BaseException, method: str, attempt: int, started: float
    ) -> float | None:
        """After attempt ``attempt`` failed with ``error``: the wait before the next, or ``None``.

        tenacity decides, as it would inside ``AsyncRetrying``: the retry
        predicate (:meth:`should_retry`), then the wait, then the stop, which
        sees the wait to come. ``started`` is the ``time.monotonic()`` of the
        first attempt: no retry starts ``max_elapsed`` seconds after it.
        The caller sleeps and loops; nothing here is built for a call that
        succeeds at once.
        """
        state = _failed_state(error, attempt, started)
        retry = tenacity.retry_if_exception(functools.partial(self.should_retry, method=method))
        if not retry(state):
            return None
        state.upcoming_sleep = wait = float(self._wait(state))
        return None if self._stop(state) else wait


class RetryBudget:
    """A client's retry quota, shared by its calls (botocore's "standard" retry mode).

    A retry spends :data:`RETRY_COST` tokens (:data:`TIMEOUT_RETRY_COST`
    after a timeout); a call that succeeds refunds what its last retry
    spent, or 1 token when it needed none; the level never exceeds
    ``capacity``. When a retry cannot be paid, it is not made: while the
    service fails everything, retries add about ``capacity / RETRY_COST``
    requests, not ``max_attempts`` times the calls. A 425/429 costs nothing:
    the pacer answers rate limits.
    """

    __slots__ = ("capacity", "level")

    def __init__(self, capacity: int = RETRY_BUDGET) -> None:
        self.capacity = self.level = capacity

    def spend(self, error: Gr4vyError) -> int | None:
        """The tokens a retry after ``error`` costs, taken; ``None`` (none taken): refused."""
        if error.status_code in NOT_PROCESSED_STATUSES:
            return 0
        cost = TIMEOUT_RETRY_COST if isinstance(error, RequestTimeoutError) else RETRY_COST
        if cost > self.level:
            return None
        self.level -= cost
        return cost

    def refund(self, cost: int) -> None:
        """After a call succeeded: its last retry's ``cost`` back (1 when it needed no retry)."""
        self.level = min(self.capacity, self.level + (cost or 1))

    @staticmethod
    def refused(error: Gr4vyError) -> None:
        """Say in ``error`` that the budget refused its retry."""
        error.summary += "; not retried: the client's retry budget is spent"


def next_retry(
    policy: RetryConfig,
    budget: RetryBudget | None,
    error: Gr4vyError,
    method: str,
    attempt: int,
    started: float,
    left: float | None,
) -> tuple[float, int] | None:
    """After attempt ``attempt`` of a call failed: (the wait, the tokens it spent), or ``None``.

    ``None`` (raise ``error``) when ``policy`` does not retry it, when the
    wait would end past the call's deadline (``left`` seconds away), or when
    the client's ``budget`` cannot pay for it (``error`` then says so).
    """
    wait = policy.next_wait(error, method, attempt, started)
    if wait is None or (left is not None and wait >= left):
        return None
    if budget is None:
        return wait, 0
    cost = budget.spend(error)
    if cost is None:
        budget.refused(error)
        return None
    return wait, cost


def _failed_state(
    error: BaseException | None, attempt: int, started: float
) -> tenacity.RetryCallState:
    """tenacity's view of a call whose attempt number ``attempt`` just failed with ``error``."""
    state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.start_time = started
    state.attempt_number = attempt
    if error is not None:
        state.set_exception((type(error), error, error.__traceback__))
    return state


async def sleep(seconds: float) -> None:
    """The wait between attempts (a seam tests replace to record waits)."""
    await asyncio.sleep(seconds)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The wait a ``Retry-After`` header asks for (delta-seconds or HTTP date)."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return max(0.0, when - time.time())
