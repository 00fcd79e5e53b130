"""The ``gr4vy-async`` command line (also ``python -m gr4vy_async``).

Global options follow the official Gr4vy CLI (``gr4vy``): the same names and
environment variables where it has them, accepted before or after the
command. Each setting is taken from the flag, else from its environment
variable, else from the default; ``--token`` and ``--private-key`` given as
flags win over either from the environment.

Only the standard library is needed; the ``cli`` extra adds a progress bar
(tqdm) and ``-o yaml`` (PyYAML). Exit status: see :data:`EXIT_STATUS_HELP`.
Errors print one line on stderr, never a traceback and never the token.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import dataclasses
import importlib
import io
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TextIO

import msgspec

from . import models
from ._codec import validate
from ._version import __version__
from .bulk import BulkProgress, BulkReport, Failure, Outcome
from .checkout_sessions import canonical_session_id
from .client import DEFAULT_TIMEOUT, SERVERS, Gr4vy
from .errors import Error404, Gr4vyError, InvalidRequestError

if TYPE_CHECKING:
    from .auth import TokenProvider
    from .checkout_sessions import CheckoutSessions

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_STATUS_HELP",
    "EXIT_USAGE",
    "GLOBAL_OPTIONS",
    "OUTPUTS",
    "PROG",
    "GlobalOption",
    "UsageError",
    "build_parser",
    "main",
]

#: The command's name, as installed.
PROG = "gr4vy-async"
#: The exit statuses (see :data:`EXIT_STATUS_HELP`).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: The exit statuses, as ``--help`` and the README show them.
EXIT_STATUS_HELP = """\
exit status:
  0    everything succeeded (deleting an id that is already gone counts)
  1    a call failed, or an id of a bulk call failed, was malformed, cancelled or not attempted
  2    bad arguments, environment, key or configuration: nothing was sent
  130  interrupted (Ctrl-C)
every non-zero exit prints one line on stderr saying why"""

#: The ``--output`` formats.
OUTPUTS = ("table", "json", "yaml")
_CLI_EXTRA = "pip install 'gr4vy-async[cli]'"


class UsageError(Exception):
    """Bad arguments or configuration: exit status 2."""


# --------------------------------------------------------------------------- values
# Each parser turns one flag or environment value into a setting, or raises
# ArgumentTypeError with a message that makes sense after the option's name.

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


#: A bad value a message may repeat: a short plain word, not a pasted secret or personal data.
_SHOWABLE = re.compile(r"[\w.*:+-]{1,12}")


def _shown(text: str) -> str:
    """A bad value for a message: short plain words as typed, anything else by its length."""
    return repr(text) if _SHOWABLE.fullmatch(text) else f"a {len(text)}-character value"


def _seconds(text: str) -> float:
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise argparse.ArgumentTypeError(
            f"expected seconds or a duration such as 30s, 5m, 1h30m, 10d; not {_shown(text)}"
        )
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def _timeout(text: str) -> float:
    seconds = _seconds(text)
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {_shown(text)}")
    return seconds


def _expires_in(text: str) -> int:
    seconds = _seconds(text)
    if seconds < 1 or seconds != int(seconds):
        raise argparse.ArgumentTypeError(
            f"must be a whole number of seconds, at least 1, not {_shown(text)}"
        )
    return int(seconds)


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, at least 1, not {_shown(text)}")
    return value


def _stop_after(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (a whole number), not {_shown(text)}")
    return value


def _session_id(text: str) -> str:
    try:
        return canonical_session_id(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a checkout session id (a UUID), not {_shown(text)}"
        ) from None


def _scope(text: str) -> str:
    from .auth import JWTScope

    if text not in {scope.value for scope in JWTScope}:
        raise argparse.ArgumentTypeError(
            f"unknown scope {_shown(text)}; '{PROG} token --list-scopes' lists them"
        )
    return text


def _amount(text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise argparse.ArgumentTypeError(
            f"must be a whole number in the currency's smallest unit "
            f"(1299 for 12.99), not {_shown(text)}"
        )
    return int(text)


def _currency(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", text):
        raise argparse.ArgumentTypeError(
            f"expected a 3-letter ISO 4217 code such as USD, not {_shown(text)}"
        )
    return text.upper()


def _key_value(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {_shown(text)}")
    if key in ("amount", "currency"):
        raise argparse.ArgumentTypeError(f"{key} is given as the {key.upper()} argument")
    return key, value


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(
                f"invalid choice {_shown(text)} (choose from {', '.join(choices)})"
            )
        return text

    return parse


# --------------------------------------------------------------------------- arguments


@dataclasses.dataclass(frozen=True)
class GlobalOption:
    """One global option: its flags, help, environment variables and default."""

    flags: tuple[str, ...]
    help: str
    env: tuple[str, ...] = ()
    default: Any = None
    type: Callable[[str], Any] | None = None
    switch: bool = False
    metavar: str | None = None
    shown_default: str | None = None

    @property
    def dest(self) -> str:
        """The attribute name on the parsed arguments."""
        return self.flags[-1].lstrip("-").replace("-", "_")

    @property
    def name(self) -> str:
        """The long flag, as messages name it."""
        return self.flags[-1]

    def full_help(self) -> str:
        """The help text with the environment variables and default."""
        notes = [f"env: {', '.join(self.env)}"] if self.env else []
        if self.shown_default or (self.default is not None and not self.switch):
            notes.append(f"default: {self.shown_default or self.default}")
        return f"{self.help} ({'; '.join(notes)})" if notes else self.help


#: Every global option, once: the parser, the README and the resolution read this.
GLOBAL_OPTIONS: tuple[GlobalOption, ...] = (
    GlobalOption(("--id",), "Gr4vy instance id used for the API host", ("GR4VY_ID",), metavar="ID"),
    GlobalOption(
        ("--server",),
        "server environment: sandbox|production",
        ("GR4VY_SERVER", "GR4VY_ENVIRONMENT"),
        default="sandbox",
        type=_one_of(*sorted(SERVERS)),
        metavar="{sandbox,production}",
    ),
    GlobalOption(
        ("--server-url",),
        "API base URL instead of --id/--server; https, or http to loopback "
        "(or anywhere with --allow-insecure-http)",
        ("GR4VY_SERVER_URL",),
        metavar="URL",
    ),
    GlobalOption(
        ("--merchant-account-id",),
        "merchant account id",
        ("GR4VY_MERCHANT_ACCOUNT_ID",),
        metavar="ID",
    ),
    GlobalOption(
        ("--token",),
        "pre-generated bearer token; skips JWT signing",
        ("GR4VY_TOKEN",),
        metavar="TOKEN",
    ),
    GlobalOption(
        ("--private-key",),
        "EC P-521 private key: a PEM file, the PEM itself or the PEM in base64; "
        "signs a token for every call",
        ("GR4VY_PRIVATE_KEY", "GR4VY_PRIVATE_KEY_FILE"),
        metavar="PEM",
    ),
    GlobalOption(
        ("--timeout",),
        "per-request timeout in seconds, or a duration such as 30s or 1m",
        ("GR4VY_TIMEOUT",),
        default=DEFAULT_TIMEOUT,
        type=_timeout,
        metavar="DURATION",
        shown_default=f"{DEFAULT_TIMEOUT:g}s",
    ),
    GlobalOption(
        ("-o", "--output"),
        "output format: table|json|yaml (yaml needs the cli extra)",
        ("GR4VY_OUTPUT",),
        default="table",
        type=_one_of(*OUTPUTS),
        metavar="{table,json,yaml}",
    ),
    GlobalOption(("--compact",), "compact single-line JSON output", switch=True, default=False),
    GlobalOption(
        ("--allow-insecure-http",),
        "allow a plain-http --server-url to a host that is "
        "not loopback (the token then crosses the network unencrypted)",
        switch=True,
        default=False,
    ),
    GlobalOption(
        ("--debug",),
        "one line per HTTP attempt on stderr: method, path, status, time, "
        "attempt, request id (never a token or body)",
        switch=True,
        default=False,
    ),
)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help with the exit statuses as written; the usage line leaves out the global options."""

    def add_usage(
        self,
        usage: str | None,
        actions: Any,
        groups: Any,
        prefix: str | None = None,
    ) -> None:
        """The usage line, with ``[global options]`` for the many options every command takes."""
        own = [action for action in actions if action.dest not in _GLOBAL_DESTS]
        if len(own) < len(actions):
            own.insert(1, argparse.Action(["[global options]"], dest="_", required=True, nargs=0))
        super().add_usage(usage, own, groups, prefix)


_GLOBAL_DESTS = frozenset(option.dest for option in GLOBAL_OPTIONS)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, as every other error."""

    _intermixing = False

    def error(self, message: str) -> NoReturn:
        _complain(f"error: {message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_USAGE)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """A command's options may also sit between its positionals (``delete ID1 -o json ID2``).

        argparse cannot intermix a parser with subcommands, so only a command's
        own parser (no subcommands) parses intermixed; it calls this again inside.
        """
        if self._subparsers is not None or self._intermixing:
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def _global_options_parser() -> argparse.ArgumentParser:
    """The global options, as a parent of every command's parser.

    Nothing has a parser default: an option given after the command must not
    be reset by the command's parser, and the environment and defaults are
    applied afterwards by :func:`_resolve_globals` (flag > environment > default).
    """
    parent = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = parent.add_argument_group("global options (before or after the command)")
    for option in GLOBAL_OPTIONS:
        if option.switch:
            group.add_argument(*option.flags, action="store_true", help=option.full_help())
        else:
            group.add_argument(
                *option.flags,
                type=option.type or str,
                metavar=option.metavar,
                help=option.full_help(),
            )
    return parent


def _add_body_option(parser: argparse.ArgumentParser, what: str, required: bool = False) -> None:
    parser.add_argument(
        "--data",
        "--body",
        dest="body",
        required=required,
        metavar="JSON",
        help=f"{what} as JSON: inline, @file, or - (or @-) for stdin",
    )


def _add_delete_options(delete: argparse.ArgumentParser) -> None:
    """The options of ``checkout-sessions delete`` (one id or many)."""
    delete.add_argument(
        "session_ids", nargs="*", metavar="SESSION_ID", help="the ids to delete (or --from-file)"
    )
    delete.add_argument(
        "--from-file", metavar="PATH", help="a file of ids, one per line ('-' for stdin)"
    )
    delete.add_argument(
        "--concurrency",
        type=_concurrency,
        default=16,
        metavar="N",
        help="at most N requests in flight; halved while rate limited (default: 16)",
    )
    delete.add_argument(
        "--report", metavar="PATH", help="write every id's outcome as JSON to this file"
    )
    delete.add_argument(
        "--journal",
        metavar="PATH",
        help="append each finished id to this JSON-lines file, flushed as it finishes; "
        "a rerun with the same journal skips the ids it records as deleted or already gone",
    )
    delete.add_argument(
        "--deadline",
        type=_timeout,
        metavar="SECONDS",
        help="time for the whole batch (30, 90s, 5m); ids not finished by then are "
        "reported as cancelled or not attempted, none lost",
    )
    delete.add_argument(
        "--stop-after",
        type=_stop_after,
        default=20,
        metavar="N",
        help="stop after N consecutive failures no retry can fix (401, 403, cannot connect); "
        "the rest are reported as not attempted (0: never stop; default: 20)",
    )
    delete.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global options, then a command, then its options."""
    global_options = _global_options_parser()
    parser = _Parser(
        prog=PROG,
        description="Gr4vy checkout sessions from the command line.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=_HelpFormatter,
        parents=[global_options],
        allow_abbrev=False,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {__version__}",
        help="print the version and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        parent: Any, name: str, handler: Callable[..., Awaitable[int]] | None, help: str
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(
            name,
            help=help,
            description=help,
            parents=[global_options],
            allow_abbrev=False,
            epilog=EXIT_STATUS_HELP,
            formatter_class=_HelpFormatter,
        )
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    # Only its output options: a bad GR4VY_TIMEOUT (say) must not break it.
    command(commands, "version", _version, "print the version").set_defaults(
        uses=("output", "compact")
    )
    command(commands, "demo", _demo, "run create/get/update/delete against an embedded fake")

    token = command(commands, "token", _token, "print a signed API token (needs --private-key)")
    token.add_argument(
        "-s",
        "--scope",
        action="append",
        type=_scope,
        metavar="SCOPE",
        help="a scope to include (repeatable; default: *.read and *.write); see --list-scopes",
    )
    token.add_argument(
        "-e",
        "--expires-in",
        type=_expires_in,
        default=3600,
        metavar="DURATION",
        help="token lifetime: seconds, or a duration such as 30m, 1h, 10d (default: 1h)",
    )
    token.add_argument(
        "--checkout-session-id",
        type=_session_id,
        metavar="ID",
        help="pin the token to this checkout session",
    )
    token.add_argument("--list-scopes", action="store_true", help="list every valid scope and exit")

    embed = command(
        commands,
        "embed",
        _embed,
        "print an Embed token pinned to a checkout session: a new one, or --checkout-session ID",
    )
    embed.add_argument(
        "amount",
        type=_amount,
        metavar="AMOUNT",
        help="the amount in the currency's smallest unit (1299 for 12.99)",
    )
    embed.add_argument("currency", type=_currency, metavar="CURRENCY", help="e.g. USD")
    embed.add_argument(
        "params",
        nargs="*",
        type=_key_value,
        metavar="KEY=VALUE",
        help="more embed parameters to pin, such as buyer_external_identifier=user-1",
    )
    embed.add_argument(
        "--param",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="an embed parameter to pin (repeatable)",
    )
    embed.add_argument(
        "--checkout-session",
        "--checkout-session-id",
        dest="checkout_session",
        nargs="?",
        type=_session_id,
        metavar="ID",
        help="pin this existing session instead of creating one; alone, create one "
        "(as the official CLI's flag does). Put it after AMOUNT CURRENCY.",
    )
    embed.add_argument(
        "--mid",
        metavar="ID",
        help="merchant account for the new session (default: --merchant-account-id)",
    )
    _add_body_option(embed, "the new checkout session (CheckoutSessionCreate)")

    sessions = command(commands, "checkout-sessions", None, "checkout-session operations")
    actions = sessions.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = command(actions, "create", _one_session, "create a checkout session")
    _add_body_option(create, "the new session (CheckoutSessionCreate)")
    get = command(actions, "get", _one_session, "get a checkout session")
    get.add_argument("session_id", metavar="SESSION_ID", help="the session's id")
    update = command(actions, "update", _one_session, "update a checkout session")
    update.add_argument("session_id", metavar="SESSION_ID", help="the session's id")
    _add_body_option(update, "the fields to change (CheckoutSessionUpdate)", required=True)
    delete = command(actions, "delete", _delete, "delete checkout sessions, one or many")
    _add_delete_options(delete)
    return parser


def _resolve_globals(args: argparse.Namespace) -> None:
    """Give every global option its value: flag, else environment, else default.

    ``args.sources`` records where each came from (``--timeout``,
    ``GR4VY_TIMEOUT`` or ``default``), so that messages name the right thing.
    """
    sources: dict[str, str] = {}
    uses = getattr(args, "uses", None)
    for option in GLOBAL_OPTIONS:
        if uses is not None and option.dest not in uses:
            setattr(args, option.dest, option.default)
            sources[option.dest] = "default"
            continue
        if hasattr(args, option.dest):
            sources[option.dest] = option.name
            continue
        env = next((name for name in option.env if os.environ.get(name)), None)
        value = option.default
        if env is not None:
            value = os.environ[env]
            if option.type is not None:
                try:
                    value = option.type(value)
                except argparse.ArgumentTypeError as exc:
                    raise UsageError(f"{env}: {exc}") from None
        setattr(args, option.dest, value)
        sources[option.dest] = env or "default"
    args.sources = sources
    _pick_host(args, sources)


def _pick_host(args: argparse.Namespace, sources: dict[str, str]) -> None:
    """``--id``/``--server`` and ``--server-url`` name the host two ways: a flag wins.

    A ``GR4VY_SERVER_URL`` from the environment would otherwise beat an
    explicit ``--id``/``--server`` (and get the token); both as flags are refused.
    """
    instance_flags = [sources[dest] for dest in ("id", "server") if sources[dest][:2] == "--"]
    if not instance_flags or sources["server_url"] == "default":
        return
    if sources["server_url"] == "--server-url":
        raise UsageError(
            f"--server-url and {'/'.join(instance_flags)} both name the host: pass one"
        )
    args.server_url = None
    sources["server_url"] = "default"


# --------------------------------------------------------------------------- set-up


def _read_text(value: str, option: str) -> str:
    """An argument's text: inline, ``@file``, or ``-`` / ``@-`` for stdin."""
    if value in ("-", "@-"):
        return sys.stdin.read()
    if not value.startswith("@"):
        return value
    try:
        return Path(value[1:]).read_text()
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {value[1:]!r}: {exc.strerror}") from None


def _json_body(args: argparse.Namespace) -> Any:
    if args.body is None:
        return None
    try:
        return msgspec.json.decode(_read_text(args.body, "--body"))
    except msgspec.DecodeError as exc:
        raise UsageError(f"--body is not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError("--body is nested too deeply") from None


def _read_pem(value: str, source: str) -> str:
    """PEM text from the PEM itself, the PEM in base64, or a file (never echoed)."""
    if "-----BEGIN" in value:
        return value
    with contextlib.suppress(binascii.Error, ValueError):
        decoded = base64.b64decode("".join(value.split()), validate=True).decode()
        if "-----BEGIN" in decoded:
            return decoded
    try:
        return Path(value).read_text()
    except OSError as exc:
        raise UsageError(
            f"{source}: not a PEM key, a base64 PEM or a readable file ({exc.strerror})"
        ) from None


def _private_key(args: argparse.Namespace) -> tuple[str, TokenProvider]:
    """The private key (PEM) and a cached token provider for it, checked."""
    source = args.sources["private_key"]
    if not args.private_key:
        raise UsageError(
            f"{args.command} needs a private key: pass --private-key (or GR4VY_PRIVATE_KEY)"
        )
    from . import auth

    pem = _read_pem(args.private_key, source)
    try:
        return pem, auth.with_token(pem)
    except InvalidRequestError as exc:
        raise UsageError(f"bad private key ({source}): {exc}") from None


def _bearer_auth(args: argparse.Namespace) -> str | TokenProvider:
    """The token or the private key: a flag wins over the environment; then the token.

    Between two of the same level the token wins, as in the official CLI,
    where a pre-generated token skips signing.
    """
    given = [
        (not args.sources[dest].startswith("--"), dest != "token", dest)
        for dest in ("token", "private_key")
        if getattr(args, dest)
    ]
    if not given:
        raise UsageError(
            "no credentials: pass --token or --private-key (or GR4VY_TOKEN, GR4VY_PRIVATE_KEY)"
        )
    if min(given)[2] == "token":
        token: str = args.token
        return token
    return _private_key(args)[1]


def _client(args: argparse.Namespace) -> Gr4vy:
    if not args.server_url and not args.id:
        raise UsageError("no instance: pass --id (GR4VY_ID) or --server-url (GR4VY_SERVER_URL)")
    return Gr4vy(
        id=args.id or "example",
        server=args.server,
        server_url=args.server_url,
        merchant_account_id=args.merchant_account_id,
        bearer_auth=_bearer_auth(args),
        timeout_in_seconds=args.timeout,
        allow_insecure_http=args.allow_insecure_http,
    )


#: The library's parameter names that differ from the option setting them.
_PARAMETERS = {"bearer_auth": "token", "timeout_in_seconds": "timeout"}


def _name_the_option(exc: InvalidRequestError, args: argparse.Namespace) -> str:
    """The library's message, naming the flag or variable the user set, not a parameter."""
    message = str(exc).replace("allow_insecure_http=True", "--allow-insecure-http")
    field, colon, rest = message.partition(": ")
    sources: Mapping[str, str] = getattr(args, "sources", {})
    dest = _PARAMETERS.get(field, field)
    if colon and dest in sources:
        source = sources[dest]
        if source == "default":
            source = next(o.name for o in GLOBAL_OPTIONS if o.dest == dest)
        return f"{source}: {rest}"
    return message


# --------------------------------------------------------------------------- output


#: Characters a terminal acts on rather than shows: C0/C1 controls (escape sequences
#: that retitle the window, recolour or move the cursor) and bidi overrides.
_PAST_C0 = r"\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(rf"[\x00-\x1f{_PAST_C0}]")
#: What JSON and YAML leave raw: they escape C0 controls (newlines are their layout).
_UNSAFE_IN_DOCUMENTS = re.compile(f"[{_PAST_C0}]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04x}"  # as JSON writes it: "\u001b", "\u202e"


def _printable(text: str) -> str:
    """``text`` with whitespace runs as one space and unsafe characters as escapes."""
    return _UNSAFE.sub(_escape, " ".join(text.split()))


def _complain(message: str) -> None:
    """One line on stderr, whatever the message holds (server text included)."""
    print(f"{PROG}: {_printable(message)}", file=sys.stderr)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return _printable(value) or '""'
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return _UNSAFE.sub(_escape, json.dumps(value, ensure_ascii=False))


_FIRST_ROWS = ("id", "type", "amount", "currency", "expires_at")


def _table(data: Mapping[str, Any]) -> str:
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


def _emit(value: Any, args: argparse.Namespace, out: TextIO) -> None:
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
        out.write(_UNSAFE_IN_DOCUMENTS.sub(_escape, text) + "\n")
    elif args.output == "yaml":
        text = _yaml().safe_dump(data, sort_keys=False, allow_unicode=True)
        if _UNSAFE_IN_DOCUMENTS.search(text):  # PyYAML escapes those only without allow_unicode
            text = _yaml().safe_dump(data, sort_keys=False, allow_unicode=False)
        out.write(text)
    else:
        out.write(_table(data))


def _report_json(report: BulkReport) -> dict[str, Any]:
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
                "error": failure.message,
            }
            for failure in report.failed
        ],
        "skipped": [{"id": sid, "reason": reason} for sid, reason in report.skipped],
        "cancelled": report.cancelled,
        "not_attempted": report.not_attempted,
        "stopped": report.stopped,
    }


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _bulk_problem(report: BulkReport, first_malformed: str | None) -> str:
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


# --------------------------------------------------------------------------- commands


@contextlib.contextmanager
def _debug_lines(enabled: bool) -> Iterator[None]:
    """Send the library's per-attempt DEBUG lines (never a token or body) to stderr.

    Only while the command runs: ``main`` called in-process leaves logging as it was.
    """
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: debug: %(message)s"))
    logger = logging.getLogger("gr4vy_async")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def _version(args: argparse.Namespace, out: TextIO) -> int:
    if args.output == "table":
        out.write(f"{PROG} {__version__}\n")
    else:
        _emit({"version": __version__}, args, out)
    return EXIT_OK


async def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from .testing.demo import run_demo

    if args.output == "table":
        return await run_demo(out)
    return await run_demo(out, lambda document: _emit(document, args, out))


def _emit_token(token: str, session_id: str | None, args: argparse.Namespace, out: TextIO) -> None:
    if args.output == "table":  # the bare token, for $(gr4vy-async token)
        out.write(token + "\n")
    else:
        _emit({"token": token, "checkout_session_id": session_id}, args, out)


async def _token(args: argparse.Namespace, out: TextIO) -> int:
    if args.list_scopes:
        from .auth import JWTScope

        if args.output == "table":
            out.write("".join(f"{scope.value}\n" for scope in JWTScope))
        else:
            _emit({"scopes": [scope.value for scope in JWTScope]}, args, out)
        return EXIT_OK
    from . import auth

    pem, _ = _private_key(args)
    token = auth.get_token(
        pem,
        scopes=args.scope,
        expires_in=args.expires_in,
        checkout_session_id=args.checkout_session_id,
    )
    _emit_token(token, args.checkout_session_id, args, out)
    return EXIT_OK


async def _embed(args: argparse.Namespace, out: TextIO) -> int:
    import jwt

    from . import auth

    params: dict[str, Any] = {"amount": args.amount, "currency": args.currency}
    params.update([*args.params, *args.param])
    pem, _ = _private_key(args)
    if args.checkout_session is not None:
        if args.body is not None or args.mid is not None:
            raise UsageError("--body and --mid are for a new session, not --checkout-session ID")
        token = auth.get_embed_token(pem, params, checkout_session_id=args.checkout_session)
    else:
        body = _json_body(args)
        async with _client(args) as client:
            token = await auth.create_embed_token_with_checkout_session(
                client,
                pem,
                params,
                request_body=body,
                merchant_account_id=args.mid if args.mid is not None else msgspec.UNSET,
            )
    claims = jwt.decode(token, options={"verify_signature": False})
    _emit_token(token, claims["checkout_session_id"], args, out)
    return EXIT_OK


def _session_body(args: argparse.Namespace) -> Any:
    """The request body of a create or update, read and checked before the client is made."""
    body = _json_body(args) if "body" in args else None
    if args.action == "update":
        if not isinstance(body, dict):
            raise UsageError("--body must be a JSON object of the fields to change")
        validate(body, models.CheckoutSessionUpdate)  # names unknown fields clearly
    return body


_SESSION_CALLS: dict[
    str, Callable[[CheckoutSessions, argparse.Namespace, Any], Awaitable[models.CheckoutSession]]
] = {
    "create": lambda sessions, args, body: sessions.create(request_body=body),
    "get": lambda sessions, args, body: sessions.get(session_id=args.session_id),
    "update": lambda sessions, args, body: sessions.update(session_id=args.session_id, **body),
}


async def _one_session(args: argparse.Namespace, out: TextIO) -> int:
    body = _session_body(args)
    async with _client(args) as client:
        session = await _SESSION_CALLS[args.action](client.checkout_sessions, args, body)
    _emit(session, args, out)
    return EXIT_OK


def _is_session_id(text: str) -> bool:
    try:
        canonical_session_id(text.strip())
    except InvalidRequestError:
        return False
    return True


#: A line that is not UTF-8 reads as U+FFFD, so it is one malformed id, not the run's end.
_LENIENT: dict[str, Any] = {"encoding": "utf-8-sig", "errors": "replace"}  # -sig: drop a BOM


def _lenient_text(stream: IO[str]) -> IO[str]:
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(**_LENIENT)
    return stream


#: The hex digits of a UUID, and the longest text :class:`uuid.UUID` reads ("urn:uuid:" + 36).
_UUID_DIGITS, _LONGEST_UUID_TEXT = 32, 45
_HEX = re.compile(r"[0-9a-fA-F]*")


def _why_not_an_id(text: str) -> str:
    """Why ``text`` is not a session id, repeating none of it.

    An id file can hold anything (a pasted token, buyer data): a message says
    what is wrong with a line, never what the line holds.
    """
    text = text.strip()
    if not text:
        return "is empty"
    digits = text.removeprefix("urn:").removeprefix("uuid:").strip("{}").replace("-", "")
    if len(text) > _LONGEST_UUID_TEXT:
        return f"is too long ({len(text)} characters)"
    if not _HEX.fullmatch(digits):
        return "has bad characters"
    if len(digits) != _UUID_DIGITS:
        size = "too long" if len(digits) > _UUID_DIGITS else "too short"
        return f"is {size} ({len(text)} characters)"
    return "is not a UUID"


class _IdSource:
    """Where the ids of a delete come from, remembering where the first malformed one was."""

    def __init__(self) -> None:
        self.first_malformed: str | None = None

    def _note(self, raw: str, place: str, show: bool = False) -> None:
        """Remember the first malformed id by its place and what is wrong with it.

        With ``show`` (an argument the user typed) a short plain word is quoted as typed.
        """
        if self.first_malformed is None and not _is_session_id(raw):
            text = raw.strip()
            what = repr(text) if show and _SHOWABLE.fullmatch(text) else _why_not_an_id(text)
            self.first_malformed = f"{what} on {place}"

    def arguments(self, ids: list[str]) -> list[str]:
        """The ids given as arguments."""
        for place, raw in enumerate(ids, 1):
            self._note(raw, f"argument {place}", show=True)
        return ids

    def lines(self, path: str) -> AsyncIterator[str]:
        """The non-blank lines of a file (``-``: stdin), opened now to fail before any request."""
        try:
            stream = _lenient_text(sys.stdin) if path == "-" else open(path, **_LENIENT)  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"--from-file: cannot read {path!r}: {exc.strerror}") from None
        return self._read(stream)

    async def _read(self, stream: IO[str]) -> AsyncIterator[str]:
        try:
            for number, line in enumerate(stream, 1):
                if line.strip():
                    self._note(line, f"line {number}")
                    yield line.strip()
        finally:
            if stream is not sys.stdin:
                stream.close()


def _check_delete(args: argparse.Namespace) -> None:
    """Checks of a delete's arguments, before the client is made and any request is sent."""
    if bool(args.session_ids) == bool(args.from_file):
        raise UsageError("give session ids or --from-file, not both or neither")
    _check_writable(args.report, "--report")
    _check_writable(args.journal, "--journal")


def _check_writable(path: str | None, option: str) -> None:
    """Refuse an output file we could not write, before any request is sent."""
    if path is None:
        return
    try:
        with open(path, "ab"):  # creates it, keeps what is there (a journal to resume)
            pass
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {path}: {exc.strerror}") from None


def _write_delete(report: BulkReport, args: argparse.Namespace, out: TextIO) -> None:
    if args.output != "table":
        _emit(_report_json(report), args, out)
        return
    counts = report.counts
    line = "deleted {done}, already gone {missing}, failed {failed}, skipped {skipped}".format(
        **report.summary()
    )
    extra = ((Outcome.CANCELLED, "cancelled"), (Outcome.NOT_ATTEMPTED, "not attempted"))
    line += "".join(f", {name} {counts[outcome]}" for outcome, name in extra if counts[outcome])
    out.write(line + "\n")
    for failure in report.failed[:20]:
        out.write(f"failed {failure.id}: {failure.error}: {_printable(failure.message)}\n")


def _one_delete_failed(
    report: BulkReport, session_id: str, error: Gr4vyError, args: argparse.Namespace, out: TextIO
) -> int:
    """A one-id delete that failed, with ``-o json|yaml``: the report on stdout, as for many."""
    report.record(session_id, Outcome.FAILED, Failure.of(session_id, error))
    _write_delete(report, args, out)
    _complain(f"{type(error).__name__}: {error}")
    return EXIT_FAILED


async def _delete(args: argparse.Namespace, out: TextIO) -> int:
    _check_delete(args)
    keep_ids = bool(args.report) or args.output != "table"
    report = BulkReport(keep_ids=keep_ids)
    if len(args.session_ids) == 1 and not (args.report or args.journal):
        (session_id,) = args.session_ids
        async with _client(args) as client:
            try:
                await client.checkout_sessions.delete(session_id=session_id)
            except Error404:  # as in a bulk delete: gone is what was asked for
                report.record(session_id, Outcome.MISSING)
            except Gr4vyError as error:
                if args.output == "table" or isinstance(error, InvalidRequestError):
                    raise
                return _one_delete_failed(report, session_id, error, args, out)
            else:
                report.record(session_id, Outcome.DONE)
        if args.output == "table":
            outcome = "deleted" if report.counts[Outcome.DONE] else "already gone"
            out.write(f"{outcome} {session_id}\n")
        else:
            _write_delete(report, args, out)
        return EXIT_OK
    source = _IdSource()
    ids = source.arguments(args.session_ids) if args.session_ids else source.lines(args.from_file)
    async with _client(args) as client:
        total = len(ids) if isinstance(ids, list) else None
        try:
            with _progress_bar(total, not args.no_progress) as on_progress:
                await client.checkout_sessions.delete_many(
                    ids,
                    concurrency=args.concurrency,
                    report=report,
                    on_progress=on_progress,
                    journal=args.journal,
                    deadline=args.deadline,
                    stop_after=args.stop_after,
                )
        finally:
            if args.report:
                Path(args.report).write_bytes(msgspec.json.encode(_report_json(report)))  # noqa: ASYNC240
    _write_delete(report, args, out)
    if report.ok:
        return EXIT_OK
    _complain(_bulk_problem(report, source.first_malformed))
    return EXIT_FAILED


# --------------------------------------------------------------------------- main


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    _resolve_globals(args)
    handler: Callable[[argparse.Namespace, TextIO], Awaitable[int]] = args.handler
    with _debug_lines(args.debug):
        return await handler(args, out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        code = asyncio.run(_run(args, out))
        out.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        # The reader (``| head``) has gone: stop quietly, as the Python docs'
        # SIGPIPE note advises, with stdout on devnull so exit's flush stays quiet.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except UsageError as exc:
        _complain(f"error: {exc}")
        return EXIT_USAGE
    except InvalidRequestError as exc:
        _complain(f"error: {_name_the_option(exc, args)}")
        return EXIT_USAGE
    except OSError as exc:
        _complain(f"error: {exc.strerror}: {exc.filename}")
        return EXIT_USAGE
    except UnicodeDecodeError:
        _complain("error: an input file is not UTF-8 text")
        return EXIT_USAGE
    except Gr4vyError as exc:
        _complain(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _complain("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last resort: one line, never a traceback
        # Only the type: an unexpected error's text could hold a header value.
        _complain(f"unexpected error: {type(exc).__name__}")
        return EXIT_FAILED
