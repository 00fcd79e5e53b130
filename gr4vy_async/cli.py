"""The ``gr4vy-async`` command line (also ``python -m gr4vy_async``).

Global options follow the official Gr4vy CLI and can come from the
environment: ``--id`` (GR4VY_ID), ``--server`` (GR4VY_SERVER),
``--server-url`` (GR4VY_SERVER_URL), ``--merchant-account-id``
(GR4VY_MERCHANT_ACCOUNT_ID), ``--token`` (GR4VY_TOKEN), ``--private-key``
(GR4VY_PRIVATE_KEY: a PEM file, or the PEM itself), ``--timeout``, ``--output``.

Exit status: 0 when everything succeeded, 1 when a call or any id failed,
2 for bad arguments or configuration, 130 when interrupted. Errors print one
line on stderr, never a traceback and never the token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TextIO

import msgspec

from . import models
from ._codec import validate
from .bulk import BulkProgress, BulkReport, Outcome
from .client import SERVERS, Gr4vy
from .errors import Error404, Gr4vyError, InvalidRequestError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad arguments or configuration: exit status 2."""


# --------------------------------------------------------------------------- arguments


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (global options, then a command)."""
    parser = argparse.ArgumentParser(
        prog="gr4vy-async", description="Gr4vy checkout sessions from the command line."
    )
    parser.add_argument("--id", default=_env("GR4VY_ID"), help="instance id (GR4VY_ID)")
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default=_env("GR4VY_SERVER") or "sandbox",
        help="environment (GR4VY_SERVER)",
    )
    parser.add_argument(
        "--server-url", default=_env("GR4VY_SERVER_URL"), help="base URL (GR4VY_SERVER_URL)"
    )
    parser.add_argument(
        "--merchant-account-id",
        default=_env("GR4VY_MERCHANT_ACCOUNT_ID"),
        help="merchant account (GR4VY_MERCHANT_ACCOUNT_ID)",
    )
    parser.add_argument("--token", default=_env("GR4VY_TOKEN"), help="bearer token (GR4VY_TOKEN)")
    parser.add_argument(
        "--private-key",
        default=_env("GR4VY_PRIVATE_KEY"),
        help="PEM private key file, signs tokens (GR4VY_PRIVATE_KEY)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--output", choices=("json", "table"), default="table")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("demo", help="run create/get/update/delete against an embedded fake")
    token = commands.add_parser("token", help="print a signed token (needs --private-key)")
    token.add_argument("--scope", action="append", help="a scope (repeatable)")
    token.add_argument("--expires-in", type=int, default=3600)
    token.add_argument("--checkout-session-id")

    sessions = commands.add_parser("checkout-sessions", help="checkout-session operations")
    actions = sessions.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a session")
    create.add_argument("--body", help="the JSON body (CheckoutSessionUpdate), or @file")
    get = actions.add_parser("get", help="get a session")
    get.add_argument("session_id")
    update = actions.add_parser("update", help="update a session")
    update.add_argument("session_id")
    update.add_argument("--body", required=True, help="the fields to change as JSON, or @file")
    delete = actions.add_parser("delete", help="delete sessions, one or many")
    delete.add_argument("session_ids", nargs="*", metavar="SESSION_ID")
    delete.add_argument("--from-file", help="a file of ids, one per line ('-' for stdin)")
    delete.add_argument("--concurrency", type=int, default=16)
    delete.add_argument("--report", help="write a JSON report of every id to this file")
    _add_bulk_options(delete)
    delete.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    return parser


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def _add_bulk_options(command: argparse.ArgumentParser) -> None:
    """The options of a bulk job: budget, stop early, journal."""
    command.add_argument(
        "--journal",
        metavar="PATH",
        help="append each finished id to this JSON-lines file; a rerun skips ids done in it",
    )
    command.add_argument(
        "--deadline",
        type=_positive_float,
        metavar="SECONDS",
        help="time for the whole batch; ids not finished then are reported, not lost",
    )
    command.add_argument(
        "--stop-after",
        type=int,
        default=20,
        metavar="N",
        help="stop after N consecutive 401/403/cannot-connect failures (0: never; default 20)",
    )


# --------------------------------------------------------------------------- set-up


def _read_pem(value: str) -> str:
    if value.lstrip().startswith("-----BEGIN"):
        return value
    try:
        return Path(value).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read the private key file: {exc.strerror}") from None


def _bearer_auth(args: argparse.Namespace) -> Any:
    if args.private_key:
        from . import auth

        try:
            return auth.with_token(_read_pem(args.private_key))
        except (InvalidRequestError, ValueError) as exc:
            raise UsageError(f"bad private key: {exc}") from None
    if args.token:
        return args.token
    raise UsageError("no credentials: pass --token or --private-key (or GR4VY_TOKEN)")


def _client(args: argparse.Namespace) -> Gr4vy:
    if not args.server_url and not args.id:
        raise UsageError("no instance: pass --id (GR4VY_ID) or --server-url")
    try:
        return Gr4vy(
            id=args.id or "example",
            server=args.server,
            server_url=args.server_url,
            merchant_account_id=args.merchant_account_id,
            bearer_auth=_bearer_auth(args),
            timeout_in_seconds=args.timeout,
        )
    except InvalidRequestError as exc:
        raise UsageError(str(exc)) from None


def _json_argument(value: str | None) -> Any:
    if value is None:
        return None
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise UsageError(f"--body is not valid JSON: {exc}") from None


# --------------------------------------------------------------------------- output


def _print_session(session: models.CheckoutSession, output: str, out: TextIO) -> None:
    if output == "json":
        out.write(msgspec.json.format(msgspec.json.encode(session)).decode() + "\n")
        return
    rows = {
        "id": session.id,
        "expires_at": session.expires_at.isoformat(),
        "cart_items": len(session.cart_items or []),
        "metadata": session.metadata,
        "buyer": "set" if session.buyer else None,
        "airline": "set" if session.airline else None,
        "payment_method": session.payment_method.scheme if session.payment_method else None,
    }
    width = max(map(len, rows))
    for key, value in rows.items():
        out.write(f"{key:<{width}}  {'-' if value is None else value}\n")


def _report_json(report: BulkReport) -> bytes:
    return msgspec.json.encode(
        {
            "summary": report.summary(),
            "deleted": report.done,
            "already_gone": report.missing,
            "failed": [
                {"id": f.id, "status": f.status, "code": f.code, "error": f.message}
                for f in report.failed
            ],
            "skipped": [{"id": sid, "reason": reason} for sid, reason in report.skipped],
            "cancelled": report.cancelled,
            "not_attempted": report.not_attempted,
            "stopped": report.stopped,
        }
    )


def _check_writable(path: str | None, option: str) -> None:
    """Refuse an output file we could not write, before any request is sent."""
    if path is None:
        return
    try:
        with open(path, "ab"):  # creates it, keeps what is there (a journal to resume)
            pass
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {path}: {exc.strerror}") from None


@contextlib.contextmanager
def _progress_bar(total: int | None, enabled: bool) -> Iterator[Callable[[BulkProgress], None]]:
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


async def _ids_from(source: str) -> AsyncIterator[str]:
    stream: IO[str] = sys.stdin if source == "-" else open(source)  # noqa: SIM115, ASYNC230
    try:
        for line in stream:
            if line.strip():
                yield line.strip()
    finally:
        if stream is not sys.stdin:
            stream.close()


# --------------------------------------------------------------------------- commands


async def _checkout_sessions(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args) as client:
        sessions = client.checkout_sessions
        if args.action == "create":
            session = await sessions.create(request_body=_json_argument(args.body))
        elif args.action == "get":
            session = await sessions.get(session_id=args.session_id)
        elif args.action == "update":
            fields = _json_argument(args.body)
            if not isinstance(fields, dict):
                raise UsageError("--body must be a JSON object of fields to change")
            validate(fields, models.CheckoutSessionUpdate)  # names unknown fields clearly
            session = await sessions.update(session_id=args.session_id, **fields)
        else:
            return await _delete(args, client, out)
        _print_session(session, args.output, out)
        return EXIT_OK


async def _delete(args: argparse.Namespace, client: Gr4vy, out: TextIO) -> int:
    if bool(args.session_ids) == bool(args.from_file):
        raise UsageError("give session ids or --from-file, not both or neither")
    if args.session_ids and len(args.session_ids) == 1 and not (args.report or args.journal):
        (session_id,) = args.session_ids
        try:
            await client.checkout_sessions.delete(session_id=session_id)
        except Error404:  # as in a bulk delete: gone is what was asked for
            out.write(f"already gone {session_id}\n")
        else:
            out.write(f"deleted {session_id}\n")
        return EXIT_OK
    _check_writable(args.report, "--report")
    _check_writable(args.journal, "--journal")
    if args.stop_after < 0:
        raise UsageError("--stop-after: must be 0 or more")
    ids: Sequence[str] | AsyncIterator[str] = args.session_ids or _ids_from(args.from_file)
    total = len(ids) if isinstance(ids, Sequence) else None
    report = BulkReport(keep_ids=bool(args.report))
    try:
        with _progress_bar(total, not args.no_progress) as on_progress:
            await client.checkout_sessions.delete_many(
                ids, concurrency=args.concurrency, report=report, on_progress=on_progress,
                journal=args.journal, deadline=args.deadline, stop_after=args.stop_after,
            )  # fmt: skip
    finally:
        _print_summary(report, args.output, out)
        if args.report:
            Path(args.report).write_bytes(_report_json(report))  # noqa: ASYNC240 - once, at exit
    if report.stopped:
        cause = f": {report.stop_cause}" if report.stop_cause else ""
        print(
            f"gr4vy-async: {report.stopped}{cause}; "
            f"{report.counts[Outcome.NOT_ATTEMPTED]} ids not attempted",
            file=sys.stderr,
        )
    return EXIT_OK if report.ok else EXIT_FAILED


def _print_summary(report: BulkReport, output: str, out: TextIO) -> None:
    summary = report.summary()
    if output == "json":
        out.write(msgspec.json.encode(summary).decode() + "\n")
        return
    line = "deleted {done}, already gone {missing}, failed {failed}, skipped {skipped}".format(
        **summary
    )
    extra = [(Outcome.CANCELLED, "cancelled"), (Outcome.NOT_ATTEMPTED, "not attempted")]
    line += "".join(f", {name} {report.counts[o]}" for o, name in extra if report.counts[o])
    out.write(line + "\n")
    for failure in report.failed[:20]:
        out.write(f"failed {failure.id}: {failure}\n")


def _token(args: argparse.Namespace, out: TextIO) -> int:
    if not args.private_key:
        raise UsageError("token needs --private-key (or GR4VY_PRIVATE_KEY)")
    from . import auth

    try:
        token = auth.get_token(
            _read_pem(args.private_key),
            scopes=args.scope,
            expires_in=args.expires_in,
            checkout_session_id=args.checkout_session_id,
        )
    except (InvalidRequestError, ValueError) as exc:
        raise UsageError(f"bad private key: {exc}") from None
    out.write(token + "\n")
    return EXIT_OK


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "demo":
        from .demo import run_demo

        return await run_demo(out)
    if args.command == "token":
        return _token(args, out)
    return await _checkout_sessions(args, out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args, out))
    except (UsageError, InvalidRequestError) as exc:
        print(f"gr4vy-async: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"gr4vy-async: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_USAGE
    except UnicodeDecodeError:
        print("gr4vy-async: error: an input file is not UTF-8 text", file=sys.stderr)
        return EXIT_USAGE
    except Gr4vyError as exc:
        print(f"gr4vy-async: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("gr4vy-async: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last resort: one line, never a traceback
        # Only the type: an unexpected error's text could hold a header value.
        print(f"gr4vy-async: unexpected error: {type(exc).__name__}", file=sys.stderr)
        return EXIT_FAILED
