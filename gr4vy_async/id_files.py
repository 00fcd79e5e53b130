"""Files of session ids, one per line: the one reader for the CLI and the queue recipe.

``gr4vy-async checkout-sessions delete --from-file`` and the queue recipe's
producer (``saq_cleanup enqueue --from-file``, :func:`read_id_lines`) read
ids the same way:

- a path must name a regular file (a FIFO or a device is refused at once);
  ``-`` is standard input, read as it arrives;
- each line is stripped; a UTF-8 byte order mark before the first is
  dropped (Windows editors write one); bytes that are not UTF-8 read as
  U+FFFD, so such a line is one malformed id, not a crash halfway through;
- lines are numbered from 1, blank ones included, so a malformed id is named
  by its line, never by what it holds (a pasted token, buyer data);
- memory stays flat however long the file: :class:`IdLines` reads at most
  :data:`CHUNKS_AHEAD` chunks ahead, on a thread, so the event loop never
  waits on a read.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TextIO

from ._files import open_regular

__all__ = ["CHUNK", "CHUNKS_AHEAD", "IdLines", "count_ids", "open_id_lines", "read_id_lines"]

#: Bytes read at a time, and how many chunks may wait ahead of the ids taken.
CHUNK, CHUNKS_AHEAD = 64 * 1024, 16
_BOM = b"\xef\xbb\xbf"
#: How often a read of an idle pipe looks whether the reader should stop.
_STOP_CHECK_SECONDS = 0.05


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip()


class _Lines:
    """Byte chunks in, whole lines out; an unfinished line waits for the next chunk."""

    def __init__(self) -> None:
        self.partial = b""
        self.first = True

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines ``chunk`` finishes; ``b""`` (the end) gives the last, unfinished one."""
        if not chunk:
            last, self.partial = self.partial, b""
            return self._bom([last] if last else [])
        lines = (self.partial + chunk).splitlines(keepends=True)
        end = lines[-1]
        # A last line without its newline, or with a \r whose \n may come next, is unfinished.
        self.partial = lines.pop() if end.endswith(b"\r") or not end.endswith(b"\n") else b""
        return self._bom(lines)

    def _bom(self, lines: list[bytes]) -> list[bytes]:
        if lines and self.first:
            self.first = False
            lines[0] = lines[0].removeprefix(_BOM)
        return lines


def _stdin_fd() -> int | None:
    try:
        return sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test or an embedding
        return None


def _stdin_read() -> Callable[[], bytes]:
    buffer = sys.stdin.buffer
    read: Callable[[int], bytes] = getattr(buffer, "read1", buffer.read)
    return lambda: read(CHUNK)


def read_id_lines(source: str | TextIO) -> Iterator[str]:
    """Every line of an ids file, stripped, blank ones as ``""`` (``"-"``: standard input).

    A line's position is its line number. A text stream is read as it is
    (its first line without a byte order mark).
    """
    if not isinstance(source, str):
        for number, line in enumerate(source):
            yield (line.removeprefix("\ufeff") if number == 0 else line).strip()
        return
    fd = _stdin_fd() if source == "-" else open_regular(source)
    read = _stdin_read() if fd is None else functools.partial(os.read, fd, CHUNK)
    lines = _Lines()
    try:
        while chunk := read():
            yield from map(_text, lines.feed(chunk))
        yield from map(_text, lines.feed(b""))
    finally:
        if source != "-" and fd is not None:
            os.close(fd)


class IdLines:
    """The lines of an ids file or stdin as an async iterator of ``(number, stripped text)``.

    Read on a daemon thread, at most :data:`CHUNKS_AHEAD` chunks ahead: ids a
    producer has written are taken while it pauses, and a Ctrl-C exits at
    once. Once ``stopped()`` says so, a pipe or terminal is read no further
    than what has arrived (:attr:`read_to_end` stays False); a regular file is
    read to its end. A cancelled ``__anext__`` loses no line (unlike an async
    generator, which a cancellation would close).
    """

    def __init__(
        self,
        fd: int | None,
        *,
        regular: bool,
        owned: bool = False,
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        self.regular = regular
        self.line = 0
        """The number of the last line taken."""
        self.read_to_end = False
        self._stopped = stopped
        self._owned = owned  # close ``fd`` at the end (not stdin's)
        self._fd = fd  # None: read sys.stdin's buffer (it has no descriptor in-process)
        self._split = _Lines()
        self._lines: collections.deque[bytes] = collections.deque()
        self._queue: asyncio.Queue[bytes | None] | None = None
        self._room = threading.Semaphore(CHUNKS_AHEAD)
        self._closed = False

    def __aiter__(self) -> IdLines:
        return self

    async def __anext__(self) -> tuple[int, str]:
        """The next line's number and stripped text."""
        while not self._lines:
            if self.read_to_end:
                raise StopAsyncIteration
            chunk = await self._next_chunk()
            if chunk is None:
                raise StopAsyncIteration
            if not chunk:
                self.read_to_end = True
            self._lines.extend(self._split.feed(chunk))
        self.line += 1
        return self.line, _text(self._lines.popleft())

    async def _next_chunk(self) -> bytes | None:
        """The next chunk read; b"" at the end; None when stopped and none is here."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            threading.Thread(target=self._reader, args=(loop, self._queue), daemon=True).start()
        if self.regular:
            chunk = await self._queue.get()
        else:
            # A pipe may stay open and idle: look at ``stopped`` between waits, so a stop
            # (deadline, stop early) ends the reading without a line having to arrive.
            while True:
                if self._stopped() and self._queue.empty():
                    return None
                with contextlib.suppress(asyncio.TimeoutError):
                    chunk = await asyncio.wait_for(self._queue.get(), _STOP_CHECK_SECONDS)
                    break
        self._room.release()
        return b"" if chunk is None else chunk

    def _reader(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None]) -> None:
        """The reading thread: chunks to ``queue`` until the end (None), an error, or close."""
        fd = self._fd
        # os.read takes no lock a daemon thread could hold at exit, as a file object's would.
        read = _stdin_read() if fd is None else functools.partial(os.read, fd, CHUNK)
        try:
            while True:
                self._room.acquire()
                chunk = read() if not self._closed else b""
                loop.call_soon_threadsafe(queue.put_nowait, chunk or None)
                if not chunk:
                    return
        except (OSError, ValueError, RuntimeError):  # unreadable, or the loop has closed
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, None)
        finally:
            if self._owned and fd is not None:
                os.close(fd)

    def close(self) -> None:
        """Let the reading thread end (it may still be blocked in a read of stdin)."""
        self._closed = True
        self._room.release()


def open_id_lines(path: str, stopped: Callable[[], bool] = lambda: False) -> IdLines:
    """The :class:`IdLines` of ``path`` (``-``: stdin), opened now to fail before any request.

    Raises :class:`~gr4vy_async._files.NotRegularFile` for a path that names
    no regular file, OSError when it does not open.
    """
    if path == "-":
        fd = _stdin_fd()
        regular = fd is not None and stat.S_ISREG(os.fstat(fd).st_mode)
        return IdLines(fd, regular=regular, stopped=stopped)
    return IdLines(open_regular(path), regular=True, owned=True, stopped=stopped)


def count_ids(path: str) -> int | None:
    """How many non-blank lines the ids file holds (a progress bar's total); stdin: None."""
    if path == "-":
        return None
    return sum(1 for line in read_id_lines(path) if line)
