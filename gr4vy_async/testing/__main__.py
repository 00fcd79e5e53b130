"""``python -m gr4vy_async.testing``: run FakeGr4vy as its own process.

``--session ID`` / ``--sessions FILE.json`` store sessions first and
``--fault ROUTE=KIND[,OPTION=VALUE...]`` schedules faults (see
:mod:`gr4vy_async.testing.preload`); ``--evolve`` answers as a later API
release might (``FakeGr4vy(evolve=True)``). Prints one line,
``listening on http://HOST:PORT``, once it accepts connections (so a parent
process can wait for it), then serves until SIGINT or SIGTERM and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from .fake import FakeGr4vy
from .preload import FaultSpec, load_sessions, parse_fault, preload

__all__ = ["main", "serve"]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gr4vy_async.testing",
        description="Serve a fake Gr4vy checkout-sessions API on loopback.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--public-key",
        type=Path,
        help="PEM file of the ES512 public key bearer tokens must be signed with",
    )
    parser.add_argument(
        "--session",
        action="append",
        default=[],
        metavar="ID",
        help="store an empty session with this id (merchant account 'default'); repeatable",
    )
    parser.add_argument(
        "--sessions",
        type=Path,
        metavar="FILE",
        help='store the sessions of a JSON list: ids, or {"id": ..., "merchant_account_id": ..., '
        "create-body fields}",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault,
        metavar="ROUTE=KIND[,OPTION=VALUE...]",
        help="schedule a fault, e.g. GET=503,times=3  '*=429,retry_after=1,probability=0.2,seed=1'"
        "  DELETE=drop,after=true  POST=latency:0.5; repeatable",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        metavar="PER_SECOND",
        help="answer 429 (Retry-After) above this many requests per second",
    )
    parser.add_argument(
        "--evolve",
        action="store_true",
        help="answer as a later API release might: an unknown field in every object, "
        "an unknown value in every enum field",
    )
    parser.add_argument(
        "--evolve-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the unknown names and values --evolve adds (default 0)",
    )
    return parser.parse_args(argv)


def _fault(spec: str) -> FaultSpec:
    try:
        return parse_fault(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


async def serve(fake: FakeGr4vy) -> None:
    """Run ``fake`` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not on Windows, where Ctrl-C raises KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with fake:
        print(f"listening on {fake.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (1 when it cannot serve)."""
    args = _parse(argv)
    try:
        public_key = args.public_key.read_bytes() if args.public_key else None
        fake = FakeGr4vy(
            host=args.host,
            port=args.port,
            public_key=public_key,
            rate_limit=args.rate_limit,
            evolve=args.evolve,
            evolve_seed=args.evolve_seed,
        )
        sessions = load_sessions(args.sessions) if args.sessions else []
        preload(fake, session_ids=args.session, sessions=sessions, faults=args.fault)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(fake))
    except (OSError, ValueError) as exc:  # port in use, bad key file, bad session
        print(f"python -m gr4vy_async.testing: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
