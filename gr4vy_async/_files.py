"""Files a person names: regular files only, opened without blocking, read within a bound.

The one home of the rule for every path the package opens on someone's say
(a key file, a request body, an ids file, a report or journal to write): a
FIFO, a device, a directory or a socket is refused at once, never waited on
or read without end.
"""

from __future__ import annotations

import errno
import os
import stat

__all__ = ["NotRegularFile", "open_regular", "read_at_most"]


class NotRegularFile(OSError):
    """A path names a FIFO, a device, a directory or a socket, not a regular file."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.EINVAL, "not a regular file", path)


def open_regular(path: str, *, write: bool = False) -> int:
    """A descriptor of the regular file ``path``; :class:`NotRegularFile` for anything else.

    Opened non-blocking, so that a FIFO or a device cannot hang the open, and
    checked with ``fstat`` (no race with a rename); then blocking again. A file
    to write is created if missing and kept as it is (a journal to resume).
    """
    mode = os.O_WRONLY | os.O_CREAT | os.O_APPEND if write else os.O_RDONLY
    try:
        fd = os.open(path, mode | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads
            raise NotRegularFile(path) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegularFile(path)
    os.set_blocking(fd, True)
    return fd


def read_at_most(fd: int, limit: int) -> bytes | None:
    """At most ``limit`` bytes of ``fd`` (closed after); None when it holds more."""
    with open(fd, "rb") as file:
        data = file.read(limit + 1)
    return data if len(data) <= limit else None
