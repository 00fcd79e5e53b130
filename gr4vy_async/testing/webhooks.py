"""Webhook deliveries as Gr4vy makes them, for testing an app's endpoint offline.

:meth:`FakeGr4vy.send_webhook <gr4vy_async.testing.FakeGr4vy.send_webhook>`
builds a transaction event for a checkout session stored on the fake and
calls :func:`deliver`: the body is signed with every secret given (the
``X-Gr4vy-Webhook-*`` headers), POSTed, and sent again after a non-2xx, a
connection failure or no answer within ``timeout`` seconds, after each of
``retry_delays`` (Gr4vy's growing delays, scaled down), re-signed with a fresh
timestamp and the same ``X-Gr4vy-Webhook-ID`` each time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import aiohttp
import msgspec

from ..webhooks import ID_HEADER, SIGNATURES_HEADER, TIMESTAMP_HEADER, Secrets, secret_keys, sign

__all__ = ["DEFAULT_RETRY_DELAYS", "Delivery", "DeliveryAttempt", "deliver", "transaction_event"]

#: Seconds between attempts: Gr4vy's growing delays, a thousand times shorter.
DEFAULT_RETRY_DELAYS = (0.01, 0.02, 0.04, 0.08, 0.16)


@dataclasses.dataclass
class DeliveryAttempt:
    """One POST of a delivery: its status, or ``None`` when none came (then ``error``)."""

    status: int | None
    error: str | None = None


@dataclasses.dataclass
class Delivery:
    """A webhook delivery: what was sent and how each attempt went."""

    webhook_id: str
    body: bytes = dataclasses.field(repr=False)
    attempts: list[DeliveryAttempt] = dataclasses.field(default_factory=list)

    @property
    def delivered(self) -> bool:
        """Whether an attempt got a 2xx."""
        return any(a.status is not None and 200 <= a.status < 300 for a in self.attempts)

    @property
    def statuses(self) -> list[int | None]:
        """Each attempt's status, in order."""
        return [attempt.status for attempt in self.attempts]


def transaction_event(
    checkout_session_id: str,
    *,
    merchant_account_id: str = "default",
    name: str = "transaction.captured",
    amount: int = 1299,
    currency: str = "USD",
) -> dict[str, Any]:
    """A transaction event as Gr4vy sends it, for a transaction made with that session."""
    now = datetime.now(timezone.utc).isoformat()
    return {
        "type": "event",
        "id": str(uuid.uuid4()),
        "name": name,
        "merchant_account_id": merchant_account_id,
        "created_at": now,
        "target": {
            "type": "transaction",
            "id": str(uuid.uuid4()),
            "merchant_account_id": merchant_account_id,
            "checkout_session_id": checkout_session_id,
            "status": name.rpartition(".")[2] if name.startswith("transaction.") else "processing",
            "amount": amount,
            "currency": currency,
            "created_at": now,
            "updated_at": now,
        },
    }


async def deliver(
    url: str,
    secrets: Secrets,
    event: dict[str, Any] | bytes,
    *,
    webhook_id: str | None = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    timeout: float = 5.0,
) -> Delivery:
    """POST ``event`` to ``url`` signed with ``secrets``, retrying as Gr4vy does (scaled down).

    Stops at the first 2xx or when ``retry_delays`` run out; returns the
    :class:`Delivery` either way.
    """
    keys = secret_keys(secrets)
    body = event if isinstance(event, bytes) else msgspec.json.encode(event)
    delivery = Delivery(webhook_id or str(uuid.uuid4()), body)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        for delay in (0.0, *retry_delays):
            await asyncio.sleep(delay)
            delivery.attempts.append(await _attempt(session, url, keys, delivery))
            if delivery.delivered:
                break
    return delivery


async def _attempt(
    session: aiohttp.ClientSession, url: str, keys: list[bytes], delivery: Delivery
) -> DeliveryAttempt:
    now = int(time.time())
    headers = {
        SIGNATURES_HEADER: ",".join(sign(delivery.body, key, now)[0] for key in keys),
        TIMESTAMP_HEADER: str(now),
        ID_HEADER: delivery.webhook_id,
        "Content-Type": "application/json",
        "User-Agent": "Gr4vy-Webhooks (FakeGr4vy)",
    }
    try:
        async with session.post(url, data=delivery.body, headers=headers) as response:
            await response.read()
            return DeliveryAttempt(response.status)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return DeliveryAttempt(None, type(exc).__name__)
