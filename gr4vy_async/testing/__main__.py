"""``python -m gr4vy_async.testing``: run FakeGr4vy as its own process.

``--session ID`` / ``--sessions FILE.json`` store sessions first and
``--fault ROUTE=KIND[,OPTION=VALUE...]`` schedules faults (see
:mod:`gr4vy_async.testing.preload`); ``--evolve`` answers as a later API
release might (``FakeGr4vy(evolve=True)``). Prints one line,
``listening on http://HOST:PORT``, once it accepts connections (so a parent
process can wait for it), then serves until SIGINT or SIGTERM and exits 0.
Errors follow the package's command-line convention
(:mod:`gr4vy_async._command_line`): a bad option, key file or session exits 2,
a port it cannot bind 1, each with one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from .._command_line import EXIT_FAILED, EXIT_OK, ArgumentParser, UsageError, run_command_line
from .fake import FakeGr4vy
from .preload import FaultSpec, load_sessions, parse_fault, preload

__all__ = ["PROG", "build_parser", "main", "serve"]

#: How the command is run, as its messages name it.
PROG = "python -m gr4vy_async.testing"


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    parser = ArgumentParser(
        prog=PROG,
        description="Serve a fake Gr4vy checkout-sessions API on loopback.",
        epilog="exit status: 0 stopped by SIGINT or SIGTERM, 1 cannot serve (a port in use), "
        "2 bad usage or input, 130 interrupted while starting",
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
    return parser


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


def _fake(args: argparse.Namespace) -> FakeGr4vy:
    """The fake the options describe, its sessions and faults stored; bad input: UsageError."""
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
    except (OSError, ValueError) as exc:  # bad key file, bad session, bad option
        raise UsageError(str(exc)) from None
    return fake


async def _run(args: argparse.Namespace) -> int:
    await serve(_fake(args))
    return EXIT_OK


def _explain(error: BaseException) -> tuple[int, str | None] | None:
    if isinstance(error, OSError):  # a port in use, an address not here
        return EXIT_FAILED, str(error)
    return None


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (see :mod:`gr4vy_async._command_line`)."""
    return run_command_line(PROG, build_parser(), argv, _run, _explain)


if __name__ == "__main__":
    sys.exit(main())
