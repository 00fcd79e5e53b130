"""The ``gr4vy-async`` command line (also ``python -m gr4vy_async``).

Global options follow the official Gr4vy CLI (``gr4vy``): the same names and
environment variables where it has them, accepted before or after the
command. Each setting is taken from the flag, else from its environment
variable, else from the default; ``--token`` and ``--private-key`` given as
flags win over either from the environment.

Only the standard library is needed; the ``cli`` extra adds a progress bar
(tqdm) and ``-o yaml`` (PyYAML). Exit status: see :data:`EXIT_STATUS_HELP`.
Errors print one line on stderr, never a traceback and never the token
(:mod:`gr4vy_async._command_line`, the convention of the package's three command lines).

The package: :mod:`.options` (the global options, flag > environment >
default, and the value parsers), :mod:`.parser` (the argument parser),
:mod:`.files` (bodies and output files), :mod:`.credentials` (the client),
:mod:`.output` (table, JSON, YAML, reports, progress), :mod:`.commands` and
:mod:`.delete` (the commands). It stays on argparse rather than click: the
command line needs nothing outside the standard library, and its messages,
``--help`` and intermixed options are the ones users and scripts know.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TextIO

from .._command_line import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    run_command_line,
)
from ..errors import Gr4vyError, InvalidRequestError
from .files import SMALL_INPUT_LIMIT
from .options import GLOBAL_OPTIONS, OUTPUTS, PROG, GlobalOption, name_the_option, resolve_globals
from .output import debug_lines
from .parser import EXIT_STATUS_HELP, build_parser

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_STATUS_HELP",
    "EXIT_USAGE",
    "GLOBAL_OPTIONS",
    "OUTPUTS",
    "PROG",
    "SMALL_INPUT_LIMIT",
    "GlobalOption",
    "UsageError",
    "build_parser",
    "main",
]


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or no such method
        return False


def _explain(error: BaseException) -> tuple[int, str | None] | None:
    """The exit status and line of what a command raised (see :mod:`gr4vy_async._command_line`)."""
    if isinstance(error, BrokenPipeError):
        # The reader (``| head``) has gone: stop quietly, as the Python docs'
        # SIGPIPE note advises, with stdout on devnull so exit's flush stays quiet.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED, None
    if isinstance(error, OSError):
        return EXIT_USAGE, f"{error.strerror}: {error.filename}"
    if isinstance(error, UnicodeDecodeError):
        return EXIT_USAGE, "an input file is not UTF-8 text"
    if isinstance(error, Gr4vyError):
        return EXIT_FAILED, f"{type(error).__name__}: {error}"
    return None


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    stdout = out or sys.stdout

    async def run(args: argparse.Namespace) -> int:
        args.out_is_terminal = _is_terminal(stdout)
        resolve_globals(args)
        handler: Callable[[argparse.Namespace, TextIO], Awaitable[int]] = args.handler
        try:
            with debug_lines(args.debug):
                code = await handler(args, stdout)
        except InvalidRequestError as exc:  # bad input, found by the library: name the flag
            raise UsageError(name_the_option(exc, args.sources)) from None
        stdout.flush()  # a closed pipe shows here, not at exit
        return code

    return run_command_line(PROG, build_parser(), argv, run, _explain)
