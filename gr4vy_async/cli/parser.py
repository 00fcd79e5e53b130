"""The ``gr4vy-async`` argument parser: global options, a command, then its options."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .._command_line import ArgumentParser
from .._defaults import TOKEN_LIFETIME
from .._version import __version__
from . import commands, delete
from .files import SMALL_INPUT_SHOWN
from .options import (
    GLOBAL_OPTIONS,
    PROG,
    amount,
    at_least_one,
    currency,
    expires_in,
    key_value,
    positive_duration,
    scope,
    session_id_argument,
    zero_or_more,
)

__all__ = ["EXIT_STATUS_HELP", "Parser", "build_parser"]

#: The exit statuses, as ``--help`` and the README show them.
EXIT_STATUS_HELP = """\
exit status:
  0    everything succeeded (deleting an id that is already gone counts)
  1    a call failed, or an id of a bulk call failed, was malformed, cancelled or not attempted
  2    bad arguments, environment, key or configuration: nothing was sent
  130  interrupted (Ctrl-C)
every non-zero exit prints one line on stderr saying why"""


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


class Parser(ArgumentParser):
    """The CLI's parser: one-line errors (exit 2), and options between positionals."""

    _intermixing = False

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
    applied afterwards by :func:`~.options.resolve_globals` (flag > environment > default).
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


def _add_body_option(parser: argparse.ArgumentParser, what: str, required: bool = False) -> None:
    parser.add_argument(
        "--data",
        "--body",
        dest="body",
        action=_StoreWithFlag,
        required=required,
        metavar="JSON",
        help=f"{what} as JSON: inline, @file (a regular file), or - (or @-) for stdin; "
        f"at most {SMALL_INPUT_SHOWN}",
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
        type=at_least_one,
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
        type=positive_duration,
        metavar="SECONDS",
        help="time for the whole batch (30, 90s, 5m); ids not finished by then are "
        "reported as cancelled or not attempted, none lost",
    )
    delete.add_argument(
        "--stop-after",
        type=zero_or_more,
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
    parser = Parser(
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
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    command(subcommands, "version", commands.version, "print the version").set_defaults(
        uses=("output", "compact")
    )
    command(
        subcommands, "demo", commands.demo, "run create/get/update/delete against an embedded fake"
    )

    token = command(
        subcommands, "token", commands.token, "print a signed API token (needs --private-key)"
    )
    token.set_defaults(piped_output="table")  # the bare token, also for $(gr4vy-async token)
    token.add_argument(
        "-s",
        "--scope",
        action="append",
        type=scope,
        metavar="SCOPE",
        help="a scope to include (repeatable; default: *.read and *.write); see --list-scopes",
    )
    token.add_argument(
        "-e",
        "--expires-in",
        type=expires_in,
        default=TOKEN_LIFETIME,
        metavar="DURATION",
        help="token lifetime: seconds, or a duration such as 30m, 1h, 10d (default: 1h)",
    )
    token.add_argument(
        "--checkout-session-id",
        type=session_id_argument,
        metavar="ID",
        help="pin the token to this checkout session",
    )
    token.add_argument("--list-scopes", action="store_true", help="list every valid scope and exit")

    embed = command(
        subcommands,
        "embed",
        commands.embed,
        "print an Embed token pinned to a checkout session: a new one, or --checkout-session ID",
    )
    embed.set_defaults(piped_output="table")
    embed.add_argument(
        "amount",
        type=amount,
        metavar="AMOUNT",
        help="the amount in the currency's smallest unit (1299 for 12.99)",
    )
    embed.add_argument("currency", type=currency, metavar="CURRENCY", help="e.g. USD")
    embed.add_argument(
        "params",
        nargs="*",
        type=key_value,
        metavar="KEY=VALUE",
        help="more embed parameters to pin, such as buyer_external_identifier=user-1",
    )
    embed.add_argument(
        "--param",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="an embed parameter to pin (repeatable)",
    )
    embed.add_argument(
        "--checkout-session",
        "--checkout-session-id",
        dest="checkout_session",
        nargs="?",
        type=session_id_argument,
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

    sessions = command(subcommands, "checkout-sessions", None, "checkout-session operations")
    actions = sessions.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = command(actions, "create", commands.one_session, "create a checkout session")
    _add_body_option(create, "the new session (CheckoutSessionCreate)")
    get = command(actions, "get", commands.one_session, "get a checkout session")
    get.add_argument(
        "session_id", type=session_id_argument, metavar="SESSION_ID", help="the session's id"
    )
    update = command(actions, "update", commands.one_session, "update a checkout session")
    update.add_argument(
        "session_id", type=session_id_argument, metavar="SESSION_ID", help="the session's id"
    )
    _add_body_option(update, "the fields to change (CheckoutSessionUpdate)", required=True)
    deleting = command(actions, "delete", delete.delete, "delete checkout sessions, one or many")
    _add_delete_options(deleting)
    return parser
