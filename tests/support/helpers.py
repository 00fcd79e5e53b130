"""Helpers the tests share: a client for a server, fast retries, a clock the test moves, keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from support.aioresponses_compat import TOKEN

from gr4vy_async import Gr4vy, RetryConfig
from gr4vy_async.testing import FakeGr4vy

__all__ = [
    "FAST",
    "ManualClock",
    "PrivateKey",
    "client_for",
    "p521_key",
    "private_pem",
    "public_pem",
    "wait_until",
]

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def client_for(server: FakeGr4vy | str, **options: Any) -> Gr4vy:
    """A client for ``server`` (a FakeGr4vy or a base URL) as merchant ``default``.

    It authenticates with :data:`TOKEN`; ``options`` add to or replace any of that.
    """
    url = server if isinstance(server, str) else server.url
    return Gr4vy(
        **{"server_url": url, "bearer_auth": TOKEN, "merchant_account_id": "default", **options}
    )


def p521_key() -> ec.EllipticCurvePrivateKey:
    """A new P-521 private key object (``gr4vy_async.testing.keys.KeyPair`` for PEM texts)."""
    return ec.generate_private_key(ec.SECP521R1())


def private_pem(
    key: PrivateKey, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8
) -> str:
    """``key`` as an unencrypted PEM text (PKCS#8 unless ``fmt`` says otherwise)."""
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def public_pem(key: PrivateKey) -> bytes:
    """The public half of ``key`` as PEM bytes (SubjectPublicKeyInfo)."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class ManualClock:
    """A clock the test moves by hand: ``clock()`` is an aware datetime, ``clock.unix()`` seconds.

    Starts at ``start`` (by default 2030-01-01 UTC); :meth:`at_now` starts at the real time,
    for tokens another library checks against the real clock.
    """

    def __init__(self, start: datetime = datetime(2030, 1, 1, tzinfo=timezone.utc)) -> None:
        self.now = start

    @classmethod
    def at_now(cls) -> ManualClock:
        """A clock starting at the current second."""
        return cls(datetime.fromtimestamp(int(time.time()), timezone.utc))

    def __call__(self) -> datetime:
        return self.now

    def unix(self) -> float:
        """The clock's time in Unix seconds."""
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        """Move the clock on (back, for a negative ``seconds``)."""
        self.now += timedelta(seconds=seconds)


FAST = RetryConfig(initial_delay=0, max_delay=0, retry_after_cap=0)
"""The default retry policy without its waits (the ``fast_retries`` fixture's value)."""


async def wait_until(
    condition: Callable[[], object], what: str = "the condition", timeout: float = 10.0
) -> None:
    """Poll ``condition`` on the event loop until it is true; fail after ``timeout`` seconds.

    For a test that waits for a state (a request in flight, a worker started): a fixed sleep
    is either too short on a loaded machine or wastes time on an idle one.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout} s")
        await asyncio.sleep(0.005)
