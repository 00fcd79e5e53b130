"""Auth benchmark: what a signed token costs, and what auth costs per request.

Times, in microseconds (median of rounds), signing one ES512 token, then the
per-request cost of ``bearer_auth``: the cached ``with_token`` provider against
signing a new token on every request, ours and the official SDK's
``with_token`` (which does that). Run from the repository root::

    .venv-bench/bin/python benchmarks/bench_auth.py

``--rounds`` and ``--target`` (seconds per sample) change the defaults (7 and 0.2).
"""

from __future__ import annotations

import argparse
import time

from _clients import new_p521_key
from _common import Case, print_header, print_table, run_cases, sync_timer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from gr4vy import auth as official

from gr4vy_async import auth


class Jumping:
    """A clock that moves a day per call, so the provider re-signs every time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 86_400
        return self.now


def main(argv: list[str] | None = None) -> None:
    """Time both cases in alternating rounds and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    parser.add_argument("--target", type=float, default=0.2, help="seconds per sample")
    args = parser.parse_args(argv)

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
