"""Auth benchmark: what a signed token costs, and what auth costs per request.

Times, in microseconds (median of rounds), signing one ES512 token, then the
per-request cost of ``bearer_auth``: the cached ``with_token`` provider against
signing a new token on every request, which is what the official SDK's
``with_token`` does. Run from the repository root::

    .venv/bin/python benchmarks/bench_auth.py

With the official SDK installed (``pip install -e '.[bench]'``), its own
``gr4vy.auth`` is timed too; otherwise "sign every request" is our
``get_token(pem)`` called per request. ``--rounds`` and ``--target`` (seconds
per round) change the defaults (7 and 0.2).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _common import environment, new_p521_key
from cryptography.hazmat.primitives import serialization

from gr4vy_async import auth

try:
    from gr4vy import auth as official
except ImportError:  # the bench extra is not installed
    official = None

Fn = Callable[[], Any]


def timed_batch(fn: Fn, is_async: bool, iterations: int) -> Awaitable[float]:
    """A coroutine timing ``iterations`` calls of ``fn``; microseconds per call."""

    async def batch() -> float:
        start = time.perf_counter_ns()
        if is_async:
            for _ in range(iterations):
                await fn()
        else:
            for _ in range(iterations):
                fn()
        return (time.perf_counter_ns() - start) / iterations / 1000

    return batch()


def measure(
    loop: asyncio.AbstractEventLoop,
    cases: list[tuple[str, Fn, bool]],
    rounds: int,
    target_s: float,
) -> list[list[float]]:
    """Microseconds per call of each case, one sample per round.

    Iterations are calibrated so a sample takes about ``target_s``; rounds
    interleave the cases, so drift in machine speed hits them all alike.
    """
    plan = []
    for _, fn, is_async in cases:
        per_call = loop.run_until_complete(timed_batch(fn, is_async, 10))  # warm-up
        plan.append((fn, is_async, max(10, round(target_s * 1e6 / per_call))))
    samples: list[list[float]] = [[] for _ in cases]
    for _ in range(rounds):
        for (fn, is_async, iterations), out in zip(plan, samples, strict=True):
            out.append(loop.run_until_complete(timed_batch(fn, is_async, iterations)))
    return samples


class Jumping:
    """A clock that moves a day per call, so the provider re-signs every time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 86_400
        return self.now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--target", type=float, default=0.2)
    args = parser.parse_args()

    pem, _ = new_p521_key()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    cached = auth.with_token(pem)
    resigning = auth.with_token(pem, clock=Jumping())

    signing: list[tuple[str, Fn, bool]] = [
        ("`get_token(pem)`: load PEM, kid, sign", lambda: auth.get_token(pem), False),
        ("`get_token(key)`: kid, sign (key loaded)", lambda: auth.get_token(key), False),
        ("provider refresh: sign only", resigning, True),
    ]
    per_request: list[tuple[str, Fn, bool]] = [
        ("cached `with_token` provider (ours)", cached, True),
        ("sign every request: `get_token(pem)`", lambda: auth.get_token(pem), False),
    ]
    if official is not None:
        signing.append(
            ("official `gr4vy.auth.get_token(pem)`", lambda: official.get_token(pem), False)
        )
        official_provider = official.with_token(pem)
        per_request.append(("sign every request: official `with_token`", official_provider, False))

    loop = asyncio.new_event_loop()
    try:
        sign_us = measure(loop, signing, args.rounds, args.target)
        request_us = measure(loop, per_request, args.rounds, args.target)
    finally:
        loop.close()

    for line in environment(["PyJWT", "cryptography", "gr4vy"]):
        print(line)
    print(f"median of {args.rounds} interleaved rounds of ~{args.target}s per case\n")
    print("| signing one ES512 token | µs |")
    print("|---|---:|")
    for (name, _, _), us in zip(signing, sign_us, strict=True):
        print(f"| {name} | {statistics.median(us):,.1f} |")
    print("\n| auth per request | µs | vs cached provider |")
    print("|---|---:|---:|")
    cached_us = request_us[0]
    for (name, _, _), us in zip(per_request, request_us, strict=True):
        # The ratio is the median of per-round ratios: each round's pair ran back to back.
        ratio = statistics.median(u / c for u, c in zip(us, cached_us, strict=True))
        print(f"| {name} | {statistics.median(us):,.2f} | {ratio:,.0f}x |")


if __name__ == "__main__":
    main()
