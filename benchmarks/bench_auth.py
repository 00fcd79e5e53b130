"""Auth benchmark: what a signed token costs, and what auth costs per request.

Times, in microseconds (median of rounds), signing one ES512 token, then the
per-request cost of ``bearer_auth``: the cached ``with_token`` provider against
signing a new token on every request, ours and the official SDK's
``with_token`` (which does that). Run from the repository root::

    .venv-bench/bin/python benchmarks/bench_auth.py

``--rounds`` and ``--target`` (seconds per sample) change the defaults (7 and 0.2).

``--lag``: the event loop's worst stall while 1,000 gets are in flight
against FakeGr4vy (in a process of its own), with a static token and with
``with_token`` (its first signature in the run; re-signing every 0.1 s), in
alternating rounds (issue 19: signing must not lag the loop more than a static
token does). Needs only the test extras (not the official SDK)::

    .venv/bin/python benchmarks/bench_auth.py --lag [--gets 1000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from _clients import new_p521_key
from _common import (
    Case,
    FakeProcess,
    environment,
    print_header,
    print_table,
    rotated,
    run_cases,
    sync_timer,
)
from bench_bulk import worst_lag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gr4vy_async import Gr4vy, auth
from gr4vy_async._transport import BearerAuth


class Jumping:
    """A clock that moves a day per call, so the provider re-signs every time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 86_400
        return self.now


class Hurried:
    """Unix time running an hour ahead every 0.1 s: a one-hour token is re-signed that often."""

    def __init__(self) -> None:
        self.started = time.time()

    def __call__(self) -> float:
        now = time.time()
        return now + (now - self.started) * 36_000


async def _gets_in_flight(url: str, bearer_auth: BearerAuth, session_id: str, gets: int) -> None:
    async with Gr4vy(
        server_url=url, bearer_auth=bearer_auth, merchant_account_id="default"
    ) as client:
        await asyncio.gather(
            *(client.checkout_sessions.get(session_id=session_id) for _ in range(gets))
        )


async def _lag_rounds(pem: str, gets: int, rounds: int) -> dict[str, list[float]]:
    static = auth.get_token(pem)
    sides: dict[str, Callable[[], BearerAuth]] = {
        "static token": lambda: static,
        "`with_token`, first signature in the run": lambda: auth.with_token(pem),
        "`with_token`, re-signing every 0.1 s": lambda: auth.with_token(pem, clock=Hurried()),
    }
    lags: dict[str, list[float]] = {side: [] for side in sides}
    fake = FakeProcess()
    try:
        (session_id,) = fake.seed(1)
        for round_ in range(rounds):
            for side in rotated(list(sides), round_):
                bearer_auth = sides[side]()
                wall, _, _ = await worst_lag(
                    lambda b=bearer_auth: _gets_in_flight(fake.url, b, session_id, gets)  # type: ignore[misc]
                )
                lags[side].append(wall * 1000)
    finally:
        fake.close()
    return lags


def lag(gets: int, rounds: int) -> None:
    """Print the worst loop lag of each side (median and max over the rounds)."""
    pem, _ = new_p521_key()
    lags = asyncio.run(_lag_rounds(pem, gets, rounds))
    print("\n".join(environment(["gr4vy-async", "aiohttp", "PyJWT", "cryptography"])), "\n")
    static = statistics.median(lags["static token"])
    print_table(
        [f"{gets:,} gets in flight", "worst loop lag ms (median)", "(max)", "vs static ms"],
        (
            [
                side,
                f"{statistics.median(values):.1f}",
                f"{max(values):.1f}",
                f"{statistics.median(values) - static:+.1f}",
            ]
            for side, values in lags.items()
        ),
    )


def main(argv: list[str] | None = None) -> None:
    """Time both cases in alternating rounds and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    parser.add_argument("--target", type=float, default=0.2, help="seconds per sample")
    parser.add_argument("--lag", action="store_true", help="worst loop lag, gets in flight")
    parser.add_argument("--gets", type=int, default=1000, help="gets in flight for --lag")
    args = parser.parse_args(argv)
    if args.lag:
        lag(args.gets, args.rounds)
        return
    from gr4vy import auth as official

    pem, _ = new_p521_key()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    official_provider = official.with_token(pem)
    signing = Case(
        "signing one ES512 token",
        {
            "`get_token(pem)`: load PEM, kid, sign": sync_timer(lambda: auth.get_token(pem)),
            "`get_token(key)`: kid, sign (key loaded)": sync_timer(lambda: auth.get_token(key)),
            "provider refresh: sign only": sync_timer(auth.with_token(pem, clock=Jumping())),
            "official `gr4vy.auth.get_token(pem)`": sync_timer(lambda: official.get_token(pem)),
        },
    )
    per_request = Case(
        "auth per request",
        {
            "cached `with_token` provider (ours)": sync_timer(auth.with_token(pem)),
            "sign every request: `get_token(pem)`": sync_timer(lambda: auth.get_token(pem)),
            "sign every request: official `with_token`": sync_timer(official_provider),
        },
    )
    run_cases([signing, per_request], args.rounds, args.target)

    print_header(
        ["PyJWT", "cryptography", "gr4vy"],
        f"median of {args.rounds} rounds of ~{args.target} s per side, order rotating\n",
    )
    print_table(
        [signing.name, "µs"], ([side, f"{signing.median(side):,.1f}"] for side in signing.sides)
    )
    print()
    cached = next(iter(per_request.sides))
    print_table(
        [per_request.name, "µs", "vs the cached provider"],
        (
            [
                side,
                f"{per_request.median(side):,.2f}",
                f"{per_request.ratio(side, cached):,.0f}x",
            ]
            for side in per_request.sides
        ),
    )


if __name__ == "__main__":
    main()
