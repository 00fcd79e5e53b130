"""Run the command line in-process, as click's ``CliRunner`` does.

:func:`invoke` calls :func:`gr4vy_async.cli.main` with an argv, an environment and
stdin bytes, and returns the exit status and what it wrote on stdout and stderr,
without the ~0.3 s a new interpreter costs. The CLI runs its own ``asyncio.run``,
so from an async test (whose loop may serve a FakeGr4vy the CLI calls) await
:func:`run_cli`, which runs it on a worker thread while the test's loop serves.

What needs a real process stays a subprocess: the ``python -m gr4vy_async``
entry point, a closed pipe, a terminal, a kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

from gr4vy_async.cli import main

__all__ = ["CliResult", "invoke", "run_cli"]

#: One CLI at a time: stdio and the environment are the process's.
_LOCK = threading.Lock()


class CliResult(NamedTuple):
    """An exit status and the text written on stdout and stderr."""

    code: int
    out: str
    err: str


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` without any ``GR4VY_`` variable of the test run's, plus ``env``."""
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith("GR4VY_")]:
        del os.environ[name]
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _Captured(io.StringIO):
    """Captured output that says whether it stands for a terminal."""

    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self._terminal = terminal

    def isatty(self) -> bool:
        return self._terminal


@contextlib.contextmanager
def _stdio(stdin: bytes, tty: bool) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """stdin as a UTF-8 text stream over ``stdin`` (as a pipe's), stdout and stderr captured.

    stdout stands for a terminal when ``tty`` (the output format's default is then table).
    """
    out, err = _Captured(tty), io.StringIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


@contextlib.contextmanager
def _nothing_left_behind() -> Iterator[None]:
    """Fail if the CLI leaves the working directory or the library's logging changed."""
    cwd = os.getcwd()
    logger = logging.getLogger("gr4vy_async")
    handlers, level = list(logger.handlers), logger.level
    try:
        yield
    finally:
        left = (os.getcwd(), list(logger.handlers), logger.level)
        os.chdir(cwd)
        logger.handlers[:] = handlers
        logger.setLevel(level)
    assert left == (cwd, handlers, level), "the CLI left the cwd or logging changed"


def invoke(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
    tty: bool = True,
) -> CliResult:
    """Run ``main(argv)`` on this thread (which must not be running an event loop).

    The environment is the test run's without its ``GR4VY_`` variables, plus ``env``;
    everything is restored afterwards. An exit through ``SystemExit`` (``--help``,
    ``--version``, a usage error) gives its status, as the process would. stdout
    is a terminal unless ``tty=False`` (then a piped command line's default, JSON).
    """
    with _LOCK, _environment(env or {}), _stdio(stdin, tty) as (out, err), _nothing_left_behind():
        try:
            code = main(list(argv))
        except SystemExit as exit_:
            status = exit_.code
            code = status if isinstance(status, int) else 0 if status is None else 1
    return CliResult(code, out.getvalue(), err.getvalue())


async def run_cli(
    *argv: str, env: Mapping[str, str] | None = None, stdin: bytes = b"", tty: bool = True
) -> CliResult:
    """:func:`invoke` on a worker thread, so the calling test's loop keeps serving."""
    return await asyncio.to_thread(invoke, argv, env=env, stdin=stdin, tty=tty)
