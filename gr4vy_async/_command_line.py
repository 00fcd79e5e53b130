"""The one error and exit-status convention of the package's three command lines.

``gr4vy-async``, ``python -m gr4vy_async.contrib.saq_cleanup`` and
``python -m gr4vy_async.testing`` all run through :func:`run_command_line`:

- exit 0: done; 1: failed; 2: bad arguments or input (nothing was done);
  130: interrupted (Ctrl-C);
- every non-zero exit prints one line on stderr, ``<prog>: <why>``, escaped
  for a terminal (:func:`~gr4vy_async._terminal.printable`), never a traceback;
  a usage error reads ``<prog>: error: <message>``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NoReturn

from ._terminal import printable

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "ArgumentParser",
    "Explain",
    "UsageError",
    "complain",
    "run_command_line",
]

#: The exit statuses every command line of the package uses.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad arguments, environment or input: exit status 2, ``<prog>: error: <message>``."""


def complain(prog: str, message: str) -> None:
    """One line on stderr, ``<prog>: <message>``, whatever the message holds (server text)."""
    print(f"{prog}: {printable(message)}", file=sys.stderr)


class ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise :class:`UsageError` (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        """Raise the error for :func:`run_command_line` to print, naming the ``--help``."""
        raise UsageError(f"{message} (see '{self.prog} --help')")


#: What a command line says of an exception its work raised: the exit status and the
#: line to print (None: nothing), or None for an exception it does not know.
Explain = Callable[[BaseException], "tuple[int, str | None] | None"]


def _unknown(error: BaseException) -> tuple[int, str | None] | None:
    return None


def run_command_line(
    prog: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    work: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
    explain: Explain = _unknown,
) -> int:
    """Parse ``argv``, run ``work(args)`` in a new event loop, and return the exit status.

    :class:`UsageError` (a bad argument included) gives 2, Ctrl-C 130, and an
    exception ``explain`` knows its status and line; any other exception exits
    1 naming only its type (its text could hold a header value). ``--help`` and
    ``--version`` still exit through ``SystemExit(0)``, as argparse does.
    """
    try:
        return asyncio.run(work(parser.parse_args(argv)))
    except UsageError as error:
        complain(prog, f"error: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        complain(prog, "interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:
        known = explain(error)
        if known is None:
            complain(prog, f"unexpected error: {type(error).__name__}")
            return EXIT_FAILED
        code, message = known
        if message is not None:
            complain(prog, f"error: {message}" if code == EXIT_USAGE else message)
        return code
