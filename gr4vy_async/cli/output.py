"""What a command prints: a result as a table, JSON or YAML; a bulk report; progress.

Server and file text is escaped for a terminal (:mod:`gr4vy_async._terminal`):
tables and lines through ``printable``, JSON and YAML documents through
``UNSAFE_IN_DOCUMENTS``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TextIO

import msgspec

from .._command_line import UsageError
from .._defaults import LOGGER_NAME
from .._terminal import UNSAFE, UNSAFE_IN_DOCUMENTS, EscapingFormatter, escape, printable
from ..bulk import BulkProgress, BulkReport, Outcome
from .options import PROG

__all__ = [
    "bulk_problem",
    "debug_lines",
    "emit",
    "emit_token",
    "progress_bar",
    "report_json",
    "table",
    "write_delete",
]

_CLI_EXTRA = "pip install 'gr4vy-async[cli]'"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return printable(value) or '""'
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return UNSAFE.sub(escape, json.dumps(value, ensure_ascii=False))


_FIRST_ROWS = ("id", "type", "amount", "currency", "expires_at")


def table(data: Mapping[str, Any]) -> str:
    """Aligned ``key  value`` lines; nested values as JSON, amount with its currency."""
    rows = {key: data[key] for key in _FIRST_ROWS if key in data} | dict(data)
    if rows.get("amount") is not None and rows.get("currency"):
        rows["amount"] = f"{rows['amount']} {rows.pop('currency')}"
    width = max(map(len, rows), default=0)
    return "".join(f"{key:<{width}}  {_cell(value)}\n" for key, value in rows.items())


def _yaml() -> Any:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        raise UsageError(f"-o yaml needs PyYAML: {_CLI_EXTRA}") from None


def emit(value: Any, args: argparse.Namespace, out: TextIO) -> None:
    """Write a result in the chosen output format."""
    if isinstance(value, msgspec.Struct):  # every field, unset ones as null
        data = {f: getattr(value, f) for f in value.__struct_fields__}
        data = {k: msgspec.to_builtins(v) for k, v in data.items()}
    else:
        data = msgspec.to_builtins(value)
    if args.output == "json":
        encoded = msgspec.json.encode(data)
        text = (encoded if args.compact else msgspec.json.format(encoded)).decode()
        # JSON escapes controls itself; bidi overrides only occur inside strings,
        # where their \u escape is the same value.
        out.write(UNSAFE_IN_DOCUMENTS.sub(escape, text) + "\n")
    elif args.output == "yaml":
        text = _yaml().safe_dump(data, sort_keys=False, allow_unicode=True)
        if UNSAFE_IN_DOCUMENTS.search(text):  # PyYAML escapes those only without allow_unicode
            text = _yaml().safe_dump(data, sort_keys=False, allow_unicode=False)
        out.write(text)
    else:
        out.write(table(data))


def report_json(report: BulkReport) -> dict[str, Any]:
    """Every id's outcome: the ``--report`` file and ``-o json`` output."""
    return {
        "summary": report.summary(),
        "deleted": report.done,
        "already_gone": report.missing,
        "failed": [
            {
                "id": failure.id,
                "status": failure.status,
                "code": failure.code,
                "exception": failure.error,
                "message": failure.message,
            }
            for failure in report.failed
        ],
        "skipped": [_skipped_json(sid, reason) for sid, reason in report.skipped],
        "cancelled": report.cancelled,
        "not_attempted": report.not_attempted,
        "stopped": report.stopped,
    }


#: How a malformed id is named: by its place, never by what it holds.
_PLACE = re.compile(r"(line|argument) ([0-9]+)")


def _skipped_json(session_id: str, reason: str) -> dict[str, Any]:
    """A skipped id: ``{"id": ...}``, or ``{"line": 3}`` / ``{"argument": 2}`` if malformed."""
    place = _PLACE.fullmatch(session_id)
    if place is None:
        return {"id": session_id, "reason": reason}
    return {place[1]: int(place[2]), "reason": reason}


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def bulk_problem(report: BulkReport, first_malformed: str | None) -> str:
    """Why a bulk call did not fully succeed, in one line."""
    problems = []
    if report.stopped:
        cause = report.stop_cause
        problems.append(
            report.stopped + (f" ({cause.error}: {cause.message[:200]})" if cause else "")
        )
    failed = report.counts[Outcome.FAILED]
    if failed:
        first = report.failed[0]
        problems.append(
            f"{_plural(failed, 'id', 'ids')} failed: first {first.id}: "
            f"{first.error}: {first.message[:200]}"
        )
    if report.malformed:
        problems.append(
            f"{_plural(report.malformed, 'id was', 'ids were')} malformed"
            + (f": first {first_malformed}" if first_malformed else "")
        )
    if report.counts[Outcome.CANCELLED]:
        cancelled = report.counts[Outcome.CANCELLED]
        problems.append(f"{_plural(cancelled, 'id was', 'ids were')} cancelled")
    if report.counts[Outcome.NOT_ATTEMPTED]:
        problems.append(
            f"{_plural(report.counts[Outcome.NOT_ATTEMPTED], 'id', 'ids')} not attempted"
        )
    return "; ".join(problems)


@contextlib.contextmanager
def progress_bar(total: int | None, enabled: bool) -> Iterator[Callable[[BulkProgress], None]]:
    """A tqdm bar on stderr when it is a terminal and tqdm (the ``cli`` extra) is installed."""
    bar: Any = None
    if enabled and sys.stderr.isatty():
        with contextlib.suppress(ImportError):
            from tqdm import tqdm

            bar = tqdm(total=total, unit="id", file=sys.stderr)
    last = 0

    def update(progress: BulkProgress) -> None:
        nonlocal last
        if bar is not None:
            bar.update(progress.done - last)
            bar.set_postfix(failed=progress.failures, refresh=False)
        last = progress.done

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


@contextlib.contextmanager
def debug_lines(enabled: bool) -> Iterator[None]:
    """Send the library's per-attempt DEBUG lines (never a token or body) to stderr.

    Only while the command runs: ``main`` called in-process leaves logging as it was.
    """
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter(f"{PROG}: debug: %(message)s"))
    logger = logging.getLogger(LOGGER_NAME)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def write_delete(report: BulkReport, args: argparse.Namespace, out: TextIO) -> None:
    if args.output != "table":
        emit(report_json(report), args, out)
        return
    counts = report.counts
    line = "deleted {done}, already gone {missing}, failed {failed}, skipped {skipped}".format(
        **report.summary()
    )
    extra = ((Outcome.CANCELLED, "cancelled"), (Outcome.NOT_ATTEMPTED, "not attempted"))
    line += "".join(f", {name} {counts[outcome]}" for outcome, name in extra if counts[outcome])
    out.write(line + "\n")
    for failure in report.failed[:20]:
        out.write(f"failed {failure.id}: {failure.error}: {printable(failure.message)}\n")


def emit_token(token: str, session_id: str | None, args: argparse.Namespace, out: TextIO) -> None:
    if args.output == "table":  # the bare token, for $(gr4vy-async token)
        out.write(token + "\n")
    else:
        emit({"token": token, "checkout_session_id": session_id}, args, out)
