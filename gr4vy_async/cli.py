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
import collections
import contextlib
import dataclasses
import difflib
import errno
import importlib
import json
import logging
import os
import re
import signal
import stat
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import msgspec

from . import models
from ._codec import validate
from ._terminal import UNSAFE as _UNSAFE
from ._terminal import UNSAFE_IN_DOCUMENTS as _UNSAFE_IN_DOCUMENTS
from ._terminal import EscapingFormatter
from ._terminal import escape as _escape
from ._terminal import printable as _printable
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
    "SMALL_INPUT_LIMIT",
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
#: The most a request body or a key file may hold.
SMALL_INPUT_LIMIT = 1 << 20
_SMALL_INPUT_SHOWN = "1 MiB"


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

    scopes = [scope.value for scope in JWTScope]
    if text in scopes:
        return text
    lists = f"'{PROG} token --list-scopes' lists them"
    # Only a near miss of a public scope name is repeated: a pasted secret is never near one.
    close = difflib.get_close_matches(text, scopes, n=1)
    if close:
        raise argparse.ArgumentTypeError(
            f"unknown scope {text!r}; did you mean {close[0]!r}? {lists}"
        )
    raise argparse.ArgumentTypeError(f"unknown scope {_shown(text)}; {lists}")


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
        ("GR4VY_TOKEN", "GR4VY_BEARER_AUTH"),
        metavar="TOKEN",
    ),
    GlobalOption(
        ("--private-key",),
        f"EC P-521 private key: a PEM file (regular, at most {_SMALL_INPUT_SHOWN}), the PEM itself "
        "or the PEM in base64; signs a token for every call",
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
        "output format: table|json|yaml (yaml needs the cli extra); "
        "a token or embed token stays bare when piped",
        ("GR4VY_OUTPUT",),
        default="table",
        shown_default="table on a terminal, else json",
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


class _StoreWithFlag(argparse.Action):
    """Store the value, and the flag typed (``--data`` or ``--body``) for messages to name."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        """Set ``dest`` and ``dest_flag``."""
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_flag", option_string)


def _body_flag(args: argparse.Namespace) -> str:
    """The body's flag as the person typed it."""
    return getattr(args, "body_flag", None) or "--body"


def _add_body_option(parser: argparse.ArgumentParser, what: str, required: bool = False) -> None:
    parser.add_argument(
        "--data",
        "--body",
        dest="body",
        action=_StoreWithFlag,
        required=required,
        metavar="JSON",
        help=f"{what} as JSON: inline, @file (a regular file), or - (or @-) for stdin; "
        f"at most {_SMALL_INPUT_SHOWN}",
    )


def _add_delete_options(delete: argparse.ArgumentParser) -> None:
    """The options of ``checkout-sessions delete`` (one id or many)."""
    delete.add_argument(
        "session_ids", nargs="*", metavar="SESSION_ID", help="the ids to delete (or --from-file)"
    )
    delete.add_argument(
        "--from-file",
        metavar="PATH",
        help="a regular file of ids, one per line, or '-' for stdin (read as it arrives)",
    )
    delete.add_argument(
        "--concurrency",
        type=_concurrency,
        default=16,
        metavar="N",
        help="at most N requests in flight; when rate limited, the batch paces its sending "
        "rate to what the server allows (default: 16)",
    )
    delete.add_argument(
        "--report",
        metavar="PATH",
        help="write every id's outcome as JSON to this regular file (also on Ctrl-C)",
    )
    delete.add_argument(
        "--journal",
        metavar="PATH",
        help="append each finished id to this regular JSON-lines file, flushed as it finishes; "
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
    token.set_defaults(piped_output="table")  # the bare token, also for $(gr4vy-async token)
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
    embed.set_defaults(piped_output="table")
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
    get.add_argument("session_id", type=_session_id, metavar="SESSION_ID", help="the session's id")
    update = command(actions, "update", _one_session, "update a checkout session")
    update.add_argument(
        "session_id", type=_session_id, metavar="SESSION_ID", help="the session's id"
    )
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
    if sources["output"] == "default" and not getattr(args, "out_is_terminal", True):
        args.output = getattr(args, "piped_output", "json")  # as the official CLI does
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


#: Said of a flag that accepts '-' when it is given something else that is no regular file.
_STDIN_HINT = " ('-' reads stdin)"


class _NotRegular(Exception):
    """A path names a FIFO, a device, a directory or a socket, not a regular file."""


def _open_regular(path: str, *, write: bool = False) -> int:
    """A descriptor of the regular file ``path``; :class:`_NotRegular` for anything else.

    Opened non-blocking, so that a FIFO or a device cannot hang the open, and
    checked with ``fstat`` (no race with a rename); then blocking again. A file
    to write is created if missing and kept as it is (a journal to resume).
    """
    mode = os.O_WRONLY | os.O_CREAT | os.O_APPEND if write else os.O_RDONLY
    try:
        fd = os.open(path, mode | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads
            raise _NotRegular(path) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _NotRegular(path)
    os.set_blocking(fd, True)
    return fd


def _read_small(fd: int) -> bytes | None:
    """At most :data:`SMALL_INPUT_LIMIT` bytes of ``fd`` (closed after); None when it holds more."""
    with open(fd, "rb") as file:
        data = file.read(SMALL_INPUT_LIMIT + 1)
    return data if len(data) <= SMALL_INPUT_LIMIT else None


def _read_text(value: str, option: str) -> str:
    """An argument's text: inline, ``@file``, or ``-`` / ``@-`` for stdin; at most 1 MiB."""
    if value in ("-", "@-"):
        text = sys.stdin.read(SMALL_INPUT_LIMIT + 1)
        if len(text) > SMALL_INPUT_LIMIT:
            raise UsageError(f"{option}: stdin is larger than {_SMALL_INPUT_SHOWN}")
        return text
    if not value.startswith("@"):
        return value
    path = value[1:]
    try:
        data = _read_small(_open_regular(path))
    except _NotRegular:
        raise UsageError(f"{option}: {path} is not a regular file{_STDIN_HINT}") from None
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {path!r}: {exc.strerror}") from None
    if data is None:
        raise UsageError(f"{option}: {path} is larger than {_SMALL_INPUT_SHOWN}")
    return data.decode()


def _json_body(args: argparse.Namespace) -> Any:
    if args.body is None:
        return None
    flag = _body_flag(args)
    try:
        return msgspec.json.decode(_read_text(args.body, flag))
    except msgspec.DecodeError as exc:
        raise UsageError(f"{flag} is not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"{flag} is nested too deeply") from None


def _read_pem(value: str, source: str) -> str:
    """PEM text from the PEM itself, the PEM in base64, or a file (never echoed)."""
    if "-----BEGIN" in value:
        return value
    with contextlib.suppress(binascii.Error, ValueError):
        decoded = base64.b64decode("".join(value.split()), validate=True).decode()
        if "-----BEGIN" in decoded:
            return decoded
    try:
        data = _read_small(_open_regular(value))
    except _NotRegular:
        raise UsageError(f"{source}: not a regular file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the value
        why = getattr(exc, "strerror", None) or "not a path"
        raise UsageError(
            f"{source}: not a PEM key, a base64 PEM or a readable file ({why})"
        ) from None
    if data is None:
        raise UsageError(f"{source}: the key file is larger than {_SMALL_INPUT_SHOWN}")
    return data.decode()


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
            "no credentials: pass --token or --private-key (or set GR4VY_TOKEN, "
            "GR4VY_BEARER_AUTH, GR4VY_PRIVATE_KEY or GR4VY_PRIVATE_KEY_FILE)"
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
    handler.setFormatter(EscapingFormatter(f"{PROG}: debug: %(message)s"))
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
            raise UsageError(
                f"{_body_flag(args)} and --mid are for a new session, not --checkout-session ID"
            )
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
            raise UsageError(f"{_body_flag(args)} must be a JSON object of the fields to change")
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
    """Checks each id of a delete, giving a malformed one its outcome by its place.

    An id file can hold anything (a pasted token, buyer data): a malformed id
    is named by its place (``line 3``, ``argument 2``) in every output, never
    by what it holds; only a short plain word typed as an argument is quoted.
    """

    def __init__(self, report: BulkReport) -> None:
        self.report = report
        self.first_malformed: str | None = None
        self.unread: str | None = None
        """Set when the ids came from a pipe that was not read to its end: what was read."""

    def accept(self, raw: str, place: str, *, typed: bool = False) -> str | None:
        """The canonical id of ``raw``; None for a blank line or a malformed id (recorded)."""
        text = raw.strip()
        if not text and not typed:
            return None
        try:
            return canonical_session_id(text)
        except InvalidRequestError:
            pass
        why = _why_not_an_id(text)
        self.report.record(place, Outcome.SKIPPED, why)
        if self.first_malformed is None:
            what = repr(text) if typed and _SHOWABLE.fullmatch(text) else why
            self.first_malformed = f"{what} on {place}"
        return None

    def arguments(self, ids: list[str]) -> list[str]:
        """The well-formed ids given as arguments."""
        accepted = (self.accept(raw, f"argument {n}", typed=True) for n, raw in enumerate(ids, 1))
        return [session_id for session_id in accepted if session_id is not None]


#: Chunks read ahead of the ids sent: memory stays flat however long the file.
_CHUNKS_AHEAD = 16
_CHUNK = 64 * 1024
_BOM = b"\xef\xbb\xbf"
#: How often a read of an idle pipe looks whether the batch has stopped.
_STOP_CHECK_SECONDS = 0.05


class _FileIds:
    """The well-formed ids of a file or stdin, as an async iterator, read on a thread.

    The event loop never waits on a read: ids a producer has written are sent
    while it pauses, and ``--deadline`` fires however slow stdin is. Once the
    batch has stopped (deadline, stop early, Ctrl-C) a pipe or terminal is
    read no further than what has arrived (:attr:`read_to_end` says so); a
    regular file is read to its end, so every id in it gets an outcome.
    A cancelled ``__anext__`` loses no line (unlike an async generator, which
    a cancellation would close).
    """

    def __init__(
        self, source: _IdSource, fd: int | None, *, regular: bool, owned: bool = False
    ) -> None:
        self.source = source
        self.regular = regular
        self._owned = owned  # close ``fd`` at the end (not stdin's)
        self.line = 0
        """The number of the last line taken."""
        self.read_to_end = False
        self._fd = fd  # None: read sys.stdin's buffer (it has no descriptor in-process)
        self._lines: collections.deque[bytes] = collections.deque()
        self._partial = b""
        self._queue: asyncio.Queue[bytes | None] | None = None
        self._room = threading.Semaphore(_CHUNKS_AHEAD)
        self._closed = False

    def __aiter__(self) -> _FileIds:
        return self

    async def __anext__(self) -> str:
        """The next well-formed id; malformed ones are recorded on the way."""
        while (raw := await self._next_line()) is not None:
            self.line += 1
            if self.line == 1:
                raw = raw.removeprefix(_BOM)  # Windows editors start UTF-8 files with one
            session_id = self.source.accept(raw.decode("utf-8", "replace"), f"line {self.line}")
            if session_id is not None:
                return session_id
        raise StopAsyncIteration

    async def _next_line(self) -> bytes | None:
        while not self._lines:
            if self.read_to_end:
                return None
            chunk = await self._next_chunk()
            if chunk is None:
                return None
            self._split(chunk)
        return self._lines.popleft()

    async def _next_chunk(self) -> bytes | None:
        """The next chunk read; b"" at the end; None when the batch stopped and none is here."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            threading.Thread(target=self._reader, args=(loop, self._queue), daemon=True).start()
        if self.regular:
            chunk = await self._queue.get()
        else:
            # A pipe may stay open and idle: look at the batch's state between waits, so a
            # stop (deadline, stop early) ends the reading without a line having to arrive.
            while True:
                if self.source.report.stopped is not None and self._queue.empty():
                    return None
                with contextlib.suppress(asyncio.TimeoutError):
                    chunk = await asyncio.wait_for(self._queue.get(), _STOP_CHECK_SECONDS)
                    break
        self._room.release()
        return b"" if chunk is None else chunk

    def _split(self, chunk: bytes) -> None:
        """Whole lines of ``chunk`` to :attr:`_lines`; an unfinished one waits for the next."""
        if not chunk:  # the end
            self.read_to_end = True
            if self._partial:
                self._lines.append(self._partial)
            return
        lines = (self._partial + chunk).splitlines(keepends=True)
        last = lines[-1]
        # A last line without its newline, or with a \r whose \n may come next, is unfinished.
        self._partial = lines.pop() if last.endswith(b"\r") or not last.endswith(b"\n") else b""
        self._lines.extend(lines)

    def _reader(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None]) -> None:
        """The reading thread: chunks to ``queue`` until the end (None), an error, or close."""
        read = self._read_function()
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
            if self._owned and self._fd is not None:
                os.close(self._fd)

    def _read_function(self) -> Callable[[], bytes]:
        if self._fd is not None:
            fd = self._fd
            # os.read takes no lock a daemon thread could hold at exit, as a file object's would.
            return lambda: os.read(fd, _CHUNK)
        buffer = sys.stdin.buffer
        read: Callable[[int], bytes] = getattr(buffer, "read1", buffer.read)
        return lambda: read(_CHUNK)

    def close(self) -> None:
        """Let the reading thread end (it may still be blocked in a read of stdin)."""
        self._closed = True
        self._room.release()


def _stdin_fd() -> int | None:
    try:
        return sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test or an embedding
        return None


def _file_ids(path: str, source: _IdSource) -> _FileIds:
    """The ids of ``--from-file`` (``-``: stdin), opened now to fail before any request."""
    if path == "-":
        fd = _stdin_fd()
        regular = fd is not None and stat.S_ISREG(os.fstat(fd).st_mode)
        return _FileIds(source, fd, regular=regular)
    try:
        return _FileIds(source, _open_regular(path), regular=True, owned=True)
    except _NotRegular:
        raise UsageError(f"--from-file: {path} is not a regular file{_STDIN_HINT}") from None
    except OSError as exc:
        raise UsageError(f"--from-file: cannot read {path!r}: {exc.strerror}") from None


def _count_ids(path: str) -> int | None:
    """How many non-blank lines the ids file holds (the progress bar's total); stdin: None."""
    if path == "-":
        return None
    with open(path, "rb") as file:
        return sum(1 for line in file if line.strip())


def _check_delete(args: argparse.Namespace) -> None:
    """Checks of a delete's arguments, before the client is made and any request is sent."""
    if bool(args.session_ids) == bool(args.from_file):
        raise UsageError("give session ids or --from-file, not both or neither")
    _check_writable(args.report, "--report")
    _check_writable(args.journal, "--journal")


def _check_writable(path: str | None, option: str) -> None:
    """Refuse an output file we could not write, or one that is no regular file, up front."""
    if path is None:
        return
    try:
        os.close(_open_regular(path, write=True))
    except _NotRegular:
        raise UsageError(f"{option}: {path} is not a regular file") from None
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


def _argument_id(text: str) -> str:
    """A one-id command's SESSION_ID, checked as argparse checks get's and update's."""
    try:
        return _session_id(text)
    except argparse.ArgumentTypeError as exc:
        help = f"{PROG} checkout-sessions delete --help"
        raise UsageError(f"argument SESSION_ID: {exc} (see '{help}')") from None


async def _delete_one(args: argparse.Namespace, out: TextIO) -> int:
    session_id = _argument_id(args.session_ids[0])
    report = BulkReport(keep_ids=args.output != "table")
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


@contextlib.contextmanager
def _ctrl_c_cancels(task: asyncio.Future[Any]) -> Iterator[Callable[[], bool]]:
    """While in the block, the first Ctrl-C cancels ``task`` (the block then reports it).

    Yields a function that says whether Ctrl-C was pressed. A second Ctrl-C
    interrupts at once. Only in the main thread, and not where SIGINT is ignored.
    """
    pressed = False
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint() -> None:
        nonlocal pressed
        if pressed:
            raise KeyboardInterrupt
        pressed = True
        task.cancel()

    installed = False
    if previous is not signal.SIG_IGN:
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            installed = True
    try:
        yield lambda: pressed
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
            signal.signal(signal.SIGINT, previous)


async def _not_attempted(ids: Iterator[str] | _FileIds, report: BulkReport) -> None:
    """Give the ids never taken from ``ids`` their outcome (what the batch left unread)."""
    if isinstance(ids, _FileIds):
        async for session_id in ids:
            report.record(session_id, Outcome.NOT_ATTEMPTED)
    else:
        for session_id in ids:
            report.record(session_id, Outcome.NOT_ATTEMPTED)


async def _delete_many(args: argparse.Namespace, report: BulkReport, source: _IdSource) -> bool:
    """Delete every id (arguments or ``--from-file``) into ``report``; True if interrupted."""
    if args.session_ids:
        valid = source.arguments(args.session_ids)
        ids: Iterator[str] | _FileIds = iter(valid)
        total: int | None = len(args.session_ids)
    else:
        ids = _file_ids(args.from_file, source)
        total = None
    show_progress = not args.no_progress and sys.stderr.isatty()
    if show_progress and isinstance(ids, _FileIds) and ids.regular:
        total = await asyncio.to_thread(_count_ids, args.from_file)
    interrupted = False
    try:
        async with _client(args) as client:
            with _progress_bar(total, show_progress) as on_progress:
                run = asyncio.ensure_future(
                    client.checkout_sessions.delete_many(
                        ids,
                        concurrency=args.concurrency,
                        report=report,
                        on_progress=on_progress,
                        journal=args.journal,
                        deadline=args.deadline,
                        stop_after=args.stop_after,
                    )
                )
                with _ctrl_c_cancels(run) as pressed:
                    try:
                        await run
                    except asyncio.CancelledError:
                        if not pressed():
                            raise
                        interrupted = True
                        report.stopped = "interrupted"  # the batch says "cancelled": Ctrl-C did it
        await _not_attempted(ids, report)
    finally:
        if isinstance(ids, _FileIds):
            ids.close()
            if not ids.read_to_end:
                source.unread = f"--from-file {args.from_file}: not read to the end " + (
                    f"(line {ids.line} was the last)" if ids.line else "(no line read)"
                )
        if args.report:
            Path(args.report).write_bytes(msgspec.json.encode(_report_json(report)))  # noqa: ASYNC240
    return interrupted


async def _delete(args: argparse.Namespace, out: TextIO) -> int:
    _check_delete(args)
    if len(args.session_ids) == 1 and not (args.report or args.journal):
        return await _delete_one(args, out)
    report = BulkReport(keep_ids=bool(args.report) or args.output != "table")
    source = _IdSource(report)
    interrupted = await _delete_many(args, report, source)
    _write_delete(report, args, out)
    problems = [_bulk_problem(report, source.first_malformed), source.unread]
    problem = "; ".join(filter(None, problems))
    if interrupted:
        _complain(problem)
        return EXIT_INTERRUPTED
    if report.ok and source.unread is None:
        return EXIT_OK
    _complain(problem)
    return EXIT_FAILED


# --------------------------------------------------------------------------- main


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    _resolve_globals(args)
    handler: Callable[[argparse.Namespace, TextIO], Awaitable[int]] = args.handler
    with _debug_lines(args.debug):
        return await handler(args, out)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or no such method
        return False


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    args.out_is_terminal = _is_terminal(out)
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
