"""The fake's state: the session store (with expiry) and the rate limit's token bucket."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import msgspec

from .. import models

__all__ = ["Clock", "Sessions", "TokenBucket", "utcnow"]

#: What ``FakeGr4vy(clock=...)`` takes: the current time, timezone-aware.
Clock = Callable[[], datetime]

#: Fields a create/update body shares with the session it stores.
_SESSION_FIELDS = tuple(
    name
    for name in models.CheckoutSession.__struct_fields__
    if name in models.CheckoutSessionUpdate.__struct_fields__
)


def utcnow() -> datetime:
    """The current time, in UTC: the fake's default clock."""
    return datetime.now(timezone.utc)


class Sessions:
    """Checkout sessions by ``(merchant_account_id, session_id)``, with expiry."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[tuple[str, str], models.CheckoutSession] = {}
        self.view: Mapping[tuple[str, str], models.CheckoutSession] = MappingProxyType(self._items)

    def create(
        self, merchant: str, update: models.CheckoutSessionUpdate, session_id: str | None = None
    ) -> models.CheckoutSession:
        fields = {
            name: getattr(update, name)
            for name in _SESSION_FIELDS
            if getattr(update, name) is not models.UNSET
        }
        session = models.CheckoutSession(
            id=session_id or str(uuid.uuid4()), expires_at=self._expiry(update.expires_in), **fields
        )
        self._items[merchant, session.id] = session
        return session

    def find(self, key: tuple[str, str]) -> models.CheckoutSession | None:
        session = self._items.get(key)
        if session is not None and self._clock() >= session.expires_at:
            del self._items[key]
            return None
        return session

    def replace(
        self, key: tuple[str, str], update: models.CheckoutSessionUpdate, given: Iterable[str]
    ) -> models.CheckoutSession | None:
        session = self.find(key)
        if session is None:
            return None
        names = set(given)
        changes: dict[str, Any] = {n: getattr(update, n) for n in _SESSION_FIELDS if n in names}
        if "expires_in" in names:
            changes["expires_at"] = self._expiry(update.expires_in)
        self._items[key] = session = msgspec.structs.replace(session, **changes)
        return session

    def delete(self, key: tuple[str, str]) -> bool:
        if self.find(key) is None:
            return False
        del self._items[key]
        return True

    def clear(self) -> None:
        self._items.clear()

    def _expiry(self, seconds: float) -> datetime:
        return self._clock() + timedelta(seconds=seconds)


class TokenBucket:
    """A server-side rate limit: ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        if not rate > 0 or not burst >= 1:
            raise ValueError("rate_limit must be > 0 and rate_limit_burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = time.monotonic()

    def take(self) -> float:
        """0 when the request may pass, else the seconds until a token is free."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate
