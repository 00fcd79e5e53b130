"""Text for a terminal: whatever a server or a file sent, shown without being acted on.

The one home of the rule: every line the command line or a recipe prints that
may carry server or user text (errors, ``--debug`` lines, summaries, tables)
goes through :func:`printable`; JSON and YAML documents through
:data:`UNSAFE_IN_DOCUMENTS`.
"""

from __future__ import annotations

import logging
import re

__all__ = ["UNSAFE", "UNSAFE_IN_DOCUMENTS", "EscapingFormatter", "escape", "printable"]

#: Characters a terminal acts on rather than shows, past C0: DEL and C1 controls (escape
#: sequences that retitle the window, recolour or move the cursor), bidi overrides and
#: lone surrogates (undecodable header bytes).
_PAST_C0 = r"\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
#: Every character :func:`printable` escapes.
UNSAFE = re.compile(rf"[\x00-\x1f{_PAST_C0}]")
#: What JSON and YAML leave raw: they escape C0 controls (newlines are their layout).
UNSAFE_IN_DOCUMENTS = re.compile(f"[{_PAST_C0}]")


def escape(match: re.Match[str]) -> str:
    """The escape of one unsafe character, as JSON writes it: ``\\u001b``, ``\\u202e``."""
    return f"\\u{ord(match[0]):04x}"


def printable(text: str) -> str:
    """``text`` on one line: whitespace runs as one space, unsafe characters as escapes."""
    return UNSAFE.sub(escape, " ".join(text.split()))


class EscapingFormatter(logging.Formatter):
    """A log formatter whose lines are :func:`printable`: a log line may carry server text."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, on one line, escaped."""
        return printable(super().format(record))
