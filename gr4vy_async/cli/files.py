"""The files and streams a command reads or writes, bounded and checked before any request.

Every path goes through :func:`~gr4vy_async._files.open_regular` (a FIFO or
a device is refused, never waited on); a body is at most
:data:`SMALL_INPUT_LIMIT`. Problems are :class:`~gr4vy_async._command_line.UsageError`, naming
the flag.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

import msgspec

from .._command_line import UsageError
from .._files import NotRegularFile, open_regular, read_at_most

__all__ = [
    "MAX_JSON_DEPTH",
    "SMALL_INPUT_LIMIT",
    "SMALL_INPUT_SHOWN",
    "STDIN_HINT",
    "body_flag",
    "check_writable",
    "json_body",
    "read_text",
]

#: The most a request body may hold.
SMALL_INPUT_LIMIT = 1 << 20
SMALL_INPUT_SHOWN = "1 MiB"
#: Said of a flag that accepts '-' when it is given something else that is no regular file.
STDIN_HINT = " ('-' reads stdin)"


def read_text(value: str, option: str) -> str:
    """An argument's text: inline, ``@file``, or ``-`` / ``@-`` for stdin; at most 1 MiB."""
    if value in ("-", "@-"):
        text = sys.stdin.read(SMALL_INPUT_LIMIT + 1)
        if len(text) > SMALL_INPUT_LIMIT:
            raise UsageError(f"{option}: stdin is larger than {SMALL_INPUT_SHOWN}")
        return text
    if not value.startswith("@"):
        return value
    path = value[1:]
    try:
        data = read_at_most(open_regular(path), SMALL_INPUT_LIMIT)
    except NotRegularFile:
        raise UsageError(f"{option}: {path} is not a regular file{STDIN_HINT}") from None
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {path!r}: {exc.strerror}") from None
    if data is None:
        raise UsageError(f"{option}: {path} is larger than {SMALL_INPUT_SHOWN}")
    return data.decode()


def body_flag(args: argparse.Namespace) -> str:
    """The body's flag as the person typed it (``--data`` or ``--body``)."""
    return getattr(args, "body_flag", None) or "--body"


#: The deepest nesting of a body: far beyond any body the API takes (it nests a few levels),
#: and below where a JSON parser meets Python's recursion limit on any interpreter.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _json_depth(text: str) -> int:
    """How deeply ``text`` nests arrays and objects (strings skipped), without parsing it."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def json_body(args: argparse.Namespace) -> Any:
    """The request body of ``--data``/``--body``, decoded; None when not given.

    The depth is checked before parsing, so every interpreter refuses the same
    bodies with the same message (3.13 parses nesting where 3.11 hits its
    recursion limit).
    """
    if args.body is None:
        return None
    flag = body_flag(args)
    text = read_text(args.body, flag)
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise UsageError(f"{flag} is nested too deeply (more than {MAX_JSON_DEPTH} levels)")
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise UsageError(f"{flag} is not valid JSON: {exc}") from None


def check_writable(path: str | None, option: str) -> None:
    """Refuse an output file we could not write, or one that is no regular file, up front."""
    if path is None:
        return
    try:
        os.close(open_regular(path, write=True))
    except NotRegularFile:
        raise UsageError(f"{option}: {path} is not a regular file") from None
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {path}: {exc.strerror}") from None
