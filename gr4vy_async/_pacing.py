"""A client's send rate: a token bucket whose rate follows CUBIC once the server says slow down.

One per client (:class:`~gr4vy_async._transport.Transport`): every call and
every bulk run of the client waits for it, so a queue worker's next chunk
starts at the pace the last one found.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from ._bounds import timeout_at
from .errors import DeadlineExceededError

__all__ = ["AdaptiveRate"]


class AdaptiveRate:
    """A client's send rate: a client-side token bucket whose rate follows CUBIC.

    The design of the AWS SDKs' "adaptive" retry mode (botocore's
    ``retries/adaptive.py``, ``bucket.py``, ``throttling.py``), for asyncio:
    one per client, as there. Until the first rate-limit episode nothing is
    paced (a call does not wait for it at all). Then:

    - an episode: ``W_max`` = the response rate measured (or the bucket's
      rate, if lower); the rate drops to ``BETA * W_max``;
    - any other response: rate = ``W_max * (1 + c * (t - RECOVERY)**3)``,
      ``t`` the seconds since the drop and ``c`` such that it starts at
      ``BETA * W_max``: quick regrowth, a plateau back at ``W_max`` after
      ``RECOVERY`` seconds, then a probe above it;
    - the rate never exceeds twice the measured response rate (no credit
      for idle time), nor goes below ``MIN_RATE``.

    Where it differs from botocore, and why:

    - **Once per episode, not per 429.** Each token carries the number of
      drops so far; a 429 to a request sent before the last drop is part of
      the episode already answered. And a 429 starts an episode only while
      429s are at least ``EPISODE_SHARE`` of the responses since the last
      drop (a moving average over about ``SHARE_WINDOW`` responses):
      scattered 429s (a busy shard, a proxy) are waited out by their own
      request and leave the rate alone, where CUBIC would keep cutting it
      towards ``MIN_RATE``.
    - **Recovery time independent of the rate.** botocore's curve
      (``0.4 * (t - K)**3 + W_max``) takes seconds to regrow a few requests
      per second, so a process squeezed by others that finish first stays
      slow; scaled by ``W_max``, every rate is back in ``RECOVERY`` seconds.
    - **A short burst.** The bucket holds ``BURST_SECONDS`` of tokens, not a
      second's worth: workers come back from a ``Retry-After`` together.
    - **An early estimate.** Before the first measuring interval the
      measured rate is the average so far, not 0.
    """

    MIN_RATE = 0.5
    BETA = 0.7
    RECOVERY = 1.0
    SMOOTHING = 0.8
    MEASURE_EVERY = 0.5
    BURST_SECONDS = 0.1
    EPISODE_SHARE = 0.1
    SHARE_WINDOW = 50
    MEASURE_BATCH = 16

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        now = clock()
        self.enabled = False
        self.rate = math.inf
        """Requests per second the bucket refills at (``inf`` until the first rate limit)."""
        self.drops = 0
        """How many times the rate was dropped: one per rate-limit episode."""
        self._capacity = 1.0
        self._tokens = 0.0
        self._refilled = now
        self._w_max = 0.0
        self._dropped_at = now
        self._measured = 0.0
        self._count = 0
        self._unmeasured = 0
        """Responses :meth:`seen` but not measured yet (added by the next :meth:`_measure`)."""
        self._interval_start = now
        self.share = 0.0
        """Moving average of the share of responses that were 425/429."""
        self._lock = asyncio.Lock()

    async def acquire(self) -> int:
        """Wait for a send token; returns :attr:`drops` as of the send (see :meth:`record`)."""
        if not self.enabled:
            return self.drops
        async with self._lock:  # FIFO: waiters are served in arrival order
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return self.drops
                await asyncio.sleep((1 - self._tokens) / self.rate)

    async def acquire_by(self, ends: float | None, deadline: float | None) -> int:
        """:meth:`acquire`, within a call's deadline (``deadline`` s, ending at loop time ``ends``).

        Raises :class:`DeadlineExceededError` when no token comes before ``ends``.
        """
        if ends is None:
            return await self.acquire()
        try:
            async with timeout_at(ends):
                return await self.acquire()
        except asyncio.TimeoutError:
            raise DeadlineExceededError(
                f"deadline of {deadline:g} s passed waiting for the pacer (429s)"
            ) from None

    def seen(self) -> None:
        """A response while not limiting (:meth:`record` without the clock, batched).

        The responses are measured every ``MEASURE_BATCH``, and at a 429.
        """
        if self._unmeasured < self.MEASURE_BATCH - 1:
            self._unmeasured += 1
        else:
            self._measure(self._clock())  # counts this one and those before

    def record(self, *, rate_limited: bool, drops_at_send: int) -> None:
        """Adjust the rate after a response; ``drops_at_send`` is what :meth:`acquire` gave."""
        now = self._clock()
        measured = self._measure(now)
        self.share += (rate_limited - self.share) / self.SHARE_WINDOW
        if rate_limited:
            if drops_at_send != self.drops or self.share < self.EPISODE_SHARE:
                return  # sent before the last drop (the same episode), or a stray 429
            self._w_max = min(measured, self.rate) if self.enabled else measured
            self._w_max = max(self._w_max, self.MIN_RATE)
            self._dropped_at = now
            self.drops += 1
            self.share = 0.0  # the next episode needs 429s to requests sent at the new rate
            self.enabled = True
            new_rate = self._w_max * self.BETA
        elif not self.enabled:
            return
        else:
            since = now - self._dropped_at - self.RECOVERY
            new_rate = self._w_max * (1 + (1 - self.BETA) / self.RECOVERY**3 * since**3)
        self._set_rate(min(new_rate, 2 * measured), now)

    def _measure(self, now: float) -> float:
        """Responses per second: an average per ``MEASURE_EVERY`` seconds, smoothed.

        Counts this response and those :meth:`seen` since the last measure.
        """
        self._count += 1 + self._unmeasured
        self._unmeasured = 0
        elapsed = now - self._interval_start
        if elapsed >= self.MEASURE_EVERY:
            current = self._count / elapsed
            if self._measured:
                current = self.SMOOTHING * current + (1 - self.SMOOTHING) * self._measured
            self._measured = current
            self._count = 0
            self._interval_start = now
        if self._measured:
            return self._measured
        # Before the first full interval: the average so far (botocore says 0 here).
        return self._count / max(elapsed, self.MEASURE_EVERY / 10)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now

    def _set_rate(self, rate: float, now: float) -> None:
        if self.rate != math.inf:
            self._refill()
        else:
            self._refilled = now
        self.rate = max(rate, self.MIN_RATE)
        # A short burst only: many workers wake together after a Retry-After.
        self._capacity = max(1.0, self.rate * self.BURST_SECONDS)
        self._tokens = min(self._tokens, self._capacity)
