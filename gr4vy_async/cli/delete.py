"""``checkout-sessions delete``: one id, or many from arguments, a file or stdin.

Many go through ``delete_many`` with a report of every id's outcome; a
malformed id is named by its place (``line 3``, ``argument 2``), never by
what it holds. The first Ctrl-C cancels the batch and still reports it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import msgspec

from .._command_line import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError, complain
from .._files import NotRegularFile
from ..bulk import BulkReport, Failure, Outcome
from ..errors import Error404, Gr4vyError, InvalidRequestError
from ..id_files import IdLines, count_ids, open_id_lines
from ..session_ids import canonical_session_id
from .credentials import make_client
from .files import STDIN_HINT, check_writable
from .options import PROG, SHOWABLE, session_id_argument
from .output import bulk_problem, progress_bar, report_json, write_delete

__all__ = ["FileIds", "IdSource", "delete"]


def _complain(message: str) -> None:
    complain(PROG, message)


#: The hex digits of a UUID, and the longest text :class:`uuid.UUID` reads ("urn:uuid:" + 36).
_UUID_DIGITS, _LONGEST_UUID_TEXT = 32, 45
_HEX = re.compile(r"[0-9a-fA-F]*")


def _why_not_an_id(text: str) -> str:
    """Why ``text`` is not a session id, repeating none of it.

    An id file can hold anything (a pasted token, buyer data): a message says
    what is wrong with a line, never what the line holds.
    """
    text = text.strip()
    if not text:
        return "is empty"
    digits = text.removeprefix("urn:").removeprefix("uuid:").strip("{}").replace("-", "")
    if len(text) > _LONGEST_UUID_TEXT:
        return f"is too long ({len(text)} characters)"
    if not _HEX.fullmatch(digits):
        return "has bad characters"
    if len(digits) != _UUID_DIGITS:
        size = "too long" if len(digits) > _UUID_DIGITS else "too short"
        return f"is {size} ({len(text)} characters)"
    return "is not a UUID"


class IdSource:
    """Checks each id of a delete, giving a malformed one its outcome by its place.

    An id file can hold anything (a pasted token, buyer data): a malformed id
    is named by its place (``line 3``, ``argument 2``) in every output, never
    by what it holds; only a short plain word typed as an argument is quoted.
    """

    def __init__(self, report: BulkReport) -> None:
        self.report = report
        self.first_malformed: str | None = None
        self.unread: str | None = None
        """Set when the ids came from a pipe that was not read to its end: what was read."""

    def accept(self, raw: str, place: str, *, typed: bool = False) -> str | None:
        """The canonical id of ``raw``; None for a blank line or a malformed id (recorded)."""
        text = raw.strip()
        if not text and not typed:
            return None
        try:
            return canonical_session_id(text)
        except InvalidRequestError:
            pass
        why = _why_not_an_id(text)
        self.report.record(place, Outcome.SKIPPED, why)
        if self.first_malformed is None:
            what = repr(text) if typed and SHOWABLE.fullmatch(text) else why
            self.first_malformed = f"{what} on {place}"
        return None

    def arguments(self, ids: list[str]) -> list[str]:
        """The well-formed ids given as arguments."""
        accepted = (self.accept(raw, f"argument {n}", typed=True) for n, raw in enumerate(ids, 1))
        return [session_id for session_id in accepted if session_id is not None]


class FileIds:
    """The well-formed ids of ``--from-file`` (a file or stdin); malformed ones recorded."""

    def __init__(self, source: IdSource, lines: IdLines) -> None:
        self.source = source
        self.lines = lines

    def __aiter__(self) -> FileIds:
        return self

    async def __anext__(self) -> str:
        """The next well-formed id; malformed ones are recorded on the way."""
        while True:
            number, text = await self.lines.__anext__()
            session_id = self.source.accept(text, f"line {number}")
            if session_id is not None:
                return session_id


def _file_ids(path: str, source: IdSource) -> FileIds:
    """The ids of ``--from-file`` (``-``: stdin), opened now to fail before any request."""
    try:
        lines = open_id_lines(path, stopped=lambda: source.report.stopped is not None)
    except NotRegularFile:
        raise UsageError(f"--from-file: {path} is not a regular file{STDIN_HINT}") from None
    except OSError as exc:
        raise UsageError(f"--from-file: cannot read {path!r}: {exc.strerror}") from None
    return FileIds(source, lines)


def _check_delete(args: argparse.Namespace) -> None:
    """Checks of a delete's arguments, before the client is made and any request is sent."""
    if bool(args.session_ids) == bool(args.from_file):
        raise UsageError("give session ids or --from-file, not both or neither")
    check_writable(args.report, "--report")
    check_writable(args.journal, "--journal")


def _one_delete_failed(
    report: BulkReport, session_id: str, error: Gr4vyError, args: argparse.Namespace, out: TextIO
) -> int:
    """A one-id delete that failed, with ``-o json|yaml``: the report on stdout, as for many."""
    report.record(session_id, Outcome.FAILED, Failure.of(session_id, error))
    write_delete(report, args, out)
    _complain(f"{type(error).__name__}: {error}")
    return EXIT_FAILED


def _argument_id(text: str) -> str:
    """A one-id command's SESSION_ID, checked as argparse checks get's and update's."""
    try:
        return session_id_argument(text)
    except argparse.ArgumentTypeError as exc:
        help = f"{PROG} checkout-sessions delete --help"
        raise UsageError(f"argument SESSION_ID: {exc} (see '{help}')") from None


async def _delete_one(args: argparse.Namespace, out: TextIO) -> int:
    session_id = _argument_id(args.session_ids[0])
    report = BulkReport(keep_ids=args.output != "table")
    async with make_client(args) as client:
        try:
            await client.checkout_sessions.delete(session_id=session_id)
        except Error404:  # as in a bulk delete: gone is what was asked for
            report.record(session_id, Outcome.MISSING)
        except Gr4vyError as error:
            if args.output == "table" or isinstance(error, InvalidRequestError):
                raise
            return _one_delete_failed(report, session_id, error, args, out)
        else:
            report.record(session_id, Outcome.DONE)
    if args.output == "table":
        outcome = "deleted" if report.counts[Outcome.DONE] else "already gone"
        out.write(f"{outcome} {session_id}\n")
    else:
        write_delete(report, args, out)
    return EXIT_OK


@contextlib.contextmanager
def _ctrl_c_cancels(task: asyncio.Future[Any]) -> Iterator[Callable[[], bool]]:
    """While in the block, the first Ctrl-C cancels ``task`` (the block then reports it).

    Yields a function that says whether Ctrl-C was pressed. A second Ctrl-C
    interrupts at once. Only in the main thread, and not where SIGINT is ignored.
    """
    pressed = False
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint() -> None:
        nonlocal pressed
        if pressed:
            raise KeyboardInterrupt
        pressed = True
        task.cancel()

    installed = False
    if previous is not signal.SIG_IGN:
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            installed = True
    try:
        yield lambda: pressed
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
            signal.signal(signal.SIGINT, previous)


async def _not_attempted(ids: Iterator[str] | FileIds, report: BulkReport) -> None:
    """Give the ids never taken from ``ids`` their outcome (what the batch left unread)."""
    if isinstance(ids, FileIds):
        async for session_id in ids:
            report.record(session_id, Outcome.NOT_ATTEMPTED)
    else:
        for session_id in ids:
            report.record(session_id, Outcome.NOT_ATTEMPTED)


async def _delete_many(args: argparse.Namespace, report: BulkReport, source: IdSource) -> bool:
    """Delete every id (arguments or ``--from-file``) into ``report``; True if interrupted."""
    if args.session_ids:
        valid = source.arguments(args.session_ids)
        ids: Iterator[str] | FileIds = iter(valid)
        total: int | None = len(args.session_ids)
    else:
        ids = _file_ids(args.from_file, source)
        total = None
    show_progress = not args.no_progress and sys.stderr.isatty()
    if show_progress and isinstance(ids, FileIds) and ids.lines.regular:
        total = await asyncio.to_thread(count_ids, args.from_file)
    interrupted = False
    try:
        async with make_client(args) as client:
            with progress_bar(total, show_progress) as on_progress:
                run = asyncio.ensure_future(
                    client.checkout_sessions.delete_many(
                        ids,
                        concurrency=args.concurrency,
                        report=report,
                        on_progress=on_progress,
                        journal=args.journal,
                        deadline=args.deadline,
                        stop_after=args.stop_after,
                    )
                )
                with _ctrl_c_cancels(run) as pressed:
                    try:
                        await run
                    except asyncio.CancelledError:
                        if not pressed():
                            raise
                        interrupted = True
                        report.stopped = "interrupted"  # the batch says "cancelled": Ctrl-C did it
        await _not_attempted(ids, report)
    finally:
        if isinstance(ids, FileIds):
            lines = ids.lines
            lines.close()
            if not lines.read_to_end:
                source.unread = f"--from-file {args.from_file}: not read to the end " + (
                    f"(line {lines.line} was the last)" if lines.line else "(no line read)"
                )
        if args.report:
            Path(args.report).write_bytes(msgspec.json.encode(report_json(report)))  # noqa: ASYNC240
    return interrupted


async def delete(args: argparse.Namespace, out: TextIO) -> int:
    """Delete one id, or many (with a report); exit 1 unless every id is gone."""
    _check_delete(args)
    if len(args.session_ids) == 1 and not (args.report or args.journal):
        return await _delete_one(args, out)
    report = BulkReport(keep_ids=bool(args.report) or args.output != "table")
    source = IdSource(report)
    interrupted = await _delete_many(args, report, source)
    write_delete(report, args, out)
    problems = [bulk_problem(report, source.first_malformed), source.unread]
    problem = "; ".join(filter(None, problems))
    if interrupted:
        _complain(problem)
        return EXIT_INTERRUPTED
    if report.ok and source.unread is None:
        return EXIT_OK
    _complain(problem)
    return EXIT_FAILED
