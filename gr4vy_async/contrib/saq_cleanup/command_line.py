"""``python -m gr4vy_async.contrib.saq_cleanup``: enqueue ids, or sum a run up."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from typing import TextIO

import msgspec
from redis.exceptions import RedisError

from ..._command_line import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ArgumentParser, run_command_line
from ...errors import InvalidRequestError
from ...id_files import IdLines, open_id_lines
from .producer import DEFAULT_CHUNK_SIZE, JobOptions, enqueue_ids
from .records import QUEUE_NAME
from .summary import summarize

__all__ = ["PROG", "build_parser", "main"]

#: How the command is run, as its messages name it.
PROG = "python -m gr4vy_async.contrib.saq_cleanup"


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser: ``enqueue`` and ``summary``."""
    parser = ArgumentParser(
        prog=PROG,
        description="Enqueue checkout-session ids for SAQ cleanup workers, or sum a run up.",
        epilog="exit status: 0 done (summary: the run is finished and clean), 1 failed or "
        "(summary) not finished or not clean, 2 bad usage or input, 130 interrupted",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("enqueue", "enqueue ids in chunks"), ("summary", "add the reports up")):
        command = commands.add_parser(name, help=text)
        command.add_argument("redis_url", help="e.g. redis://127.0.0.1:6379")
        command.add_argument("--run", required=True, help="the run's name (names its keys)")
        command.add_argument("--queue", default=QUEUE_NAME, help=f"default {QUEUE_NAME}")
    enqueue = commands.choices["enqueue"]
    enqueue.add_argument(
        "--from-file",
        default="-",
        help="ids, one per line: a regular file, or '-' for stdin (read as it arrives)",
    )
    enqueue.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        metavar="N",
        help=f"ids per job (default {DEFAULT_CHUNK_SIZE}); a chunk is retried as a whole",
    )
    enqueue.add_argument(
        "--heartbeat",
        type=int,
        default=JobOptions.heartbeat,
        metavar="SECONDS",
        help="a job whose worker is silent this long is retried on another worker "
        f"(default {JobOptions.heartbeat})",
    )
    commands.choices["summary"].add_argument("--json", action="store_true", help="print JSON")
    return parser


async def _texts(lines: IdLines) -> AsyncIterator[str]:
    """Every line's text, blank ones included: its position is its line number."""
    try:
        async for _, text in lines:
            yield text
    finally:
        lines.close()


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "enqueue":
        result = await enqueue_ids(
            args.redis_url,
            _texts(open_id_lines(args.from_file)),
            run=args.run,
            chunk_size=args.chunk_size,
            job_options=JobOptions(heartbeat=args.heartbeat),
            queue_name=args.queue,
        )
        print(result.line(), file=out)
        return EXIT_OK
    summary = await summarize(args.redis_url, args.run, queue_name=args.queue)
    if args.json:
        print(msgspec.json.encode(summary).decode(), file=out)
    else:
        print("\n".join(summary.lines()), file=out)
    return EXIT_OK if summary.ok else EXIT_FAILED


def _explain(error: BaseException) -> tuple[int, str | None] | None:
    if isinstance(error, InvalidRequestError):  # a bad run name, a stored report that does not read
        return EXIT_USAGE, str(error)
    if isinstance(error, OSError):  # an ids file that does not open
        return EXIT_USAGE, f"{error.strerror or type(error).__name__}: {error.filename}"
    if isinstance(error, RedisError):
        return EXIT_FAILED, f"redis: {error}"
    return None


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """The command line; returns the exit status, by the convention of every command line here.

    0 done; 1 failed (Redis unreachable, say) or, for ``summary``, the run is
    unknown, not finished or not clean; 2 bad usage or input (an ids file
    that does not open, a stored report that does not read); 130 interrupted.
    See :mod:`gr4vy_async._command_line`.
    """
    stdout = out or sys.stdout
    return run_command_line(PROG, build_parser(), argv, lambda args: _run(args, stdout), _explain)
