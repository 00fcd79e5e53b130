"""The global options, once: flags, environment variables, defaults and value parsers.

Each global option is one :class:`GlobalOption` of :data:`GLOBAL_OPTIONS`; the
parser, ``--help``, the README check and :func:`resolve_globals` (flag, else
environment variable, else default) all read that table. The value parsers
turn one flag or environment value into a setting, or raise
``ArgumentTypeError`` with a message that makes sense after the option's name.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._command_line import UsageError
from .._defaults import DEFAULT_TIMEOUT
from .._keyfile import MAX_KEY_FILE
from ..client import SERVERS
from ..errors import InvalidRequestError
from ..session_ids import canonical_session_id

__all__ = [
    "GLOBAL_OPTIONS",
    "OUTPUTS",
    "PROG",
    "SHOWABLE",
    "GlobalOption",
    "amount",
    "at_least_one",
    "currency",
    "expires_in",
    "key_value",
    "name_the_option",
    "one_of",
    "positive_duration",
    "resolve_globals",
    "scope",
    "session_id_argument",
    "shown",
    "zero_or_more",
]

#: The command's name, as installed.
PROG = "gr4vy-async"
#: The ``--output`` formats.
OUTPUTS = ("table", "json", "yaml")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


#: A bad value a message may repeat: a short plain word, not a pasted secret or personal data.
SHOWABLE = re.compile(r"[\w.*:+-]{1,12}")


def shown(text: str) -> str:
    """A bad value for a message: short plain words as typed, anything else by its length."""
    return repr(text) if SHOWABLE.fullmatch(text) else f"a {len(text)}-character value"


def _seconds(text: str) -> float:
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise argparse.ArgumentTypeError(
            f"expected seconds or a duration such as 30s, 5m, 1h30m, 10d; not {shown(text)}"
        )
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def positive_duration(text: str) -> float:
    """A duration of more than 0 seconds (``--timeout``, ``--deadline``)."""
    seconds = _seconds(text)
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {shown(text)}")
    return seconds


def expires_in(text: str) -> int:
    """A whole number of seconds, at least 1 (``token --expires-in``)."""
    seconds = _seconds(text)
    if seconds < 1 or seconds != int(seconds):
        raise argparse.ArgumentTypeError(
            f"must be a whole number of seconds, at least 1, not {shown(text)}"
        )
    return int(seconds)


def at_least_one(text: str) -> int:
    """A whole number, at least 1 (``--concurrency``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, at least 1, not {shown(text)}")
    return value


def zero_or_more(text: str) -> int:
    """A whole number, 0 or more (``--stop-after``)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (a whole number), not {shown(text)}")
    return value


def session_id_argument(text: str) -> str:
    """A session id typed as an argument, in its canonical form (one rule: session_ids)."""
    try:
        return canonical_session_id(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a checkout session id (a UUID), not {shown(text)}"
        ) from None


def scope(text: str) -> str:
    """A JWT scope; a near miss of one is named."""
    from ..auth import JWTScope

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
    raise argparse.ArgumentTypeError(f"unknown scope {shown(text)}; {lists}")


def amount(text: str) -> int:
    """An amount in the currency's smallest unit."""
    if not re.fullmatch(r"\d+", text):
        raise argparse.ArgumentTypeError(
            f"must be a whole number in the currency's smallest unit "
            f"(1299 for 12.99), not {shown(text)}"
        )
    return int(text)


def currency(text: str) -> str:
    """A 3-letter currency code, upper case."""
    if not re.fullmatch(r"[A-Za-z]{3}", text):
        raise argparse.ArgumentTypeError(
            f"expected a 3-letter ISO 4217 code such as USD, not {shown(text)}"
        )
    return text.upper()


def key_value(text: str) -> tuple[str, str]:
    """A ``KEY=VALUE`` embed parameter (not amount or currency)."""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {shown(text)}")
    if key in ("amount", "currency"):
        raise argparse.ArgumentTypeError(f"{key} is given as the {key.upper()} argument")
    return key, value


def one_of(*choices: str) -> Callable[[str], str]:
    """A parser accepting exactly one of ``choices``."""

    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(
                f"invalid choice {shown(text)} (choose from {', '.join(choices)})"
            )
        return text

    return parse


# --------------------------------------------------------------------------- global options


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
        type=one_of(*sorted(SERVERS)),
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
        f"EC P-521 private key: a PEM file (regular, at most {MAX_KEY_FILE // 1024} KiB), "
        "the PEM itself or the PEM in base64; signs a token for every call",
        ("GR4VY_PRIVATE_KEY", "GR4VY_PRIVATE_KEY_FILE"),
        metavar="PEM",
    ),
    GlobalOption(
        ("--timeout",),
        "per-request timeout in seconds, or a duration such as 30s or 1m",
        ("GR4VY_TIMEOUT",),
        default=DEFAULT_TIMEOUT,
        type=positive_duration,
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
        type=one_of(*OUTPUTS),
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
        "attempt of attempts allowed, time left (with a deadline), request id "
        "(never a token or body)",
        switch=True,
        default=False,
    ),
)


def resolve_globals(args: argparse.Namespace) -> None:
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


#: The library's parameter names that differ from the option setting them.
_PARAMETERS = {"bearer_auth": "token", "timeout_in_seconds": "timeout"}
#: How library messages spell a setting, and how the command line spells it.
_SPELLINGS = {"allow_insecure_http=True": "--allow-insecure-http"}


def name_the_option(error: InvalidRequestError, sources: Mapping[str, str]) -> str:
    """The library's message, naming the flag or variable the user set, not a parameter.

    The parameter is the error's ``field``; an error raised without one
    (``Gr4vy(id=...)``'s) is read by the ``field: `` its message starts with.
    """
    message = str(error)
    for spelled, flag in _SPELLINGS.items():
        message = message.replace(spelled, flag)
    field = error.field or message.partition(": ")[0]
    dest = _PARAMETERS.get(field, field)
    prefix = f"{field}: "
    if dest not in sources or not message.startswith(prefix):
        return message
    source = sources[dest]
    if source == "default":
        source = next(option.name for option in GLOBAL_OPTIONS if option.dest == dest)
    return source + ": " + message.removeprefix(prefix)
