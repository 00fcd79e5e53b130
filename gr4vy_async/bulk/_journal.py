"""A run's journal: one JSON line per finished id, read back to resume, written off the loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

import msgspec

from ..errors import InvalidRequestError, JournalError
from ._report import BulkReport, Failure, Outcome

__all__ = ["Journal"]

#: The operations whose journals a refusal names (any other is "another operation").
_OPERATIONS = frozenset({"delete_many", "get_many"})


class Journal:
    """The lines of one run's journal: what an earlier run finished, and this run's.

    Lines are buffered and written (one ``write`` per batch, unbuffered file)
    in a thread every :attr:`FLUSH_DELAY` seconds or :attr:`FLUSH_LINES`
    lines, whichever comes first, and when the run ends. Every line names the
    operation that wrote it; a journal of another operation is refused.
    """

    FLUSH_DELAY = 0.1
    FLUSH_LINES = 256

    def __init__(self, path: str | os.PathLike[str], operation: str | None) -> None:
        """Read what an earlier run finished and open for appending (call in a thread)."""
        self.operation = operation
        self.finished: set[str] = set()
        self.error: OSError | None = None
        self.on_error: Callable[[], object] = lambda: None
        self._pending: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writer: asyncio.Future[None] | None = None
        if os.path.isdir(path):
            raise _bad_journal("is a directory, expected a file", "directory")
        try:
            needs_newline = False
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as existing:
                line = b""
                for line in existing:
                    self._read(line)
                needs_newline = bool(line) and not line.endswith(b"\n")
            self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
            if needs_newline:  # a line cut short by a kill: keep the next one whole
                self._file.write(b"\n")
        except OSError as error:
            problem = f"cannot open it for writing ({_why(error)})"
            raise _bad_journal(problem, "unwritable") from None

    def _read(self, line: bytes) -> None:
        try:
            entry = msgspec.json.decode(line)
        except msgspec.DecodeError:
            return  # a line cut short by a kill
        if not isinstance(entry, dict):
            return
        found = entry.get("op")
        if found != self.operation:
            raise _bad_journal(
                f"written by {_operation_name(found)}, not {_operation_name(self.operation)}; "
                "a journal resumes one operation only: give this run a new journal",
                "operation",
            )
        if entry.get("outcome") in ("done", "missing"):
            session_id = entry.get("id")
            if isinstance(session_id, str):
                self.finished.add(session_id)

    def add(self, session_id: str, outcome: Outcome, detail: Any) -> None:
        """Buffer the line of a finished id; it is written within ``FLUSH_DELAY`` seconds."""
        if self.error is not None:
            return
        entry: dict[str, Any] = {"id": session_id, "outcome": outcome.value, "status": None}
        if outcome is Outcome.MISSING:
            entry["status"] = 404
        elif isinstance(detail, Failure):
            entry["status"] = detail.status
            entry["error"] = detail.message
        elif outcome is Outcome.SKIPPED:
            entry["reason"] = detail
        if self.operation is not None:
            entry["op"] = self.operation
        self._pending.append(msgspec.json.encode(entry) + b"\n")
        if self._writer is not None and not self._writer.done():
            return  # the running writer takes it with its next batch
        if len(self._pending) >= self.FLUSH_LINES:
            self._flush_soon()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.FLUSH_DELAY, self._flush_soon)

    def _flush_soon(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_pending())

    async def _write_pending(self) -> None:
        while self._pending and self.error is None:
            batch = b"".join(self._pending)
            self._pending.clear()
            try:
                await asyncio.to_thread(self._write, batch)
            except OSError as error:
                self.error = error
                self.on_error()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._file.write(view) or 0 :]

    async def close(self) -> None:
        """Write what is buffered and close; a write error is kept in :attr:`error`, not raised."""
        self.on_error = lambda: None  # the run is over: nothing left to stop
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            if self._writer is not None:
                await asyncio.shield(self._writer)  # never cut a write short in its thread
            await self._write_pending()
        finally:
            await asyncio.to_thread(self._file.close)

    def raise_if_failed(self, report: BulkReport) -> None:
        """After :meth:`close`: :class:`JournalError` (with ``report``) if a write failed."""
        if self.error is not None:
            raise JournalError(
                f"the journal could not be written ({_why(self.error)}); "
                "every id read has its outcome in the report",
                report=report,
                errno=self.error.errno,
            )


def _bad_journal(problem: str, reason: str) -> InvalidRequestError:
    return InvalidRequestError(f"journal: {problem}", field="journal", reason=reason)


def _operation_name(operation: object) -> str:
    if operation is None:
        return "a run without an operation (run_bulk, or a version before journals named one)"
    return str(operation) if operation in _OPERATIONS else "another operation"


def _why(error: OSError) -> str:
    """What went wrong with a file, without its path: the OS's words, else the error's type."""
    return error.strerror or type(error).__name__
