"""The commands but delete: version, demo, token, embed, and one-session calls.

Each takes the parsed, resolved arguments and stdout, and returns an exit status.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TextIO

import msgspec

from .. import models
from .._codec import validate
from .._command_line import EXIT_OK, UsageError
from .._version import __version__
from .credentials import make_client, private_key
from .files import body_flag, json_body
from .options import PROG
from .output import emit, emit_token

if TYPE_CHECKING:
    from ..checkout_sessions import CheckoutSessions

__all__ = ["demo", "embed", "one_session", "token", "version"]


async def version(args: argparse.Namespace, out: TextIO) -> int:
    """The version (``--version`` too, as argparse prints it)."""
    if args.output == "table":
        out.write(f"{PROG} {__version__}\n")
    else:
        emit({"version": __version__}, args, out)
    return EXIT_OK


async def demo(args: argparse.Namespace, out: TextIO) -> int:
    """Create, get, update and delete a session on an embedded fake."""
    from ..testing.demo import run_demo

    if args.output == "table":
        return await run_demo(out)
    return await run_demo(out, lambda document: emit(document, args, out))


async def token(args: argparse.Namespace, out: TextIO) -> int:
    """A signed API token (bare when piped), or the scopes with ``--list-scopes``."""
    if args.list_scopes:
        from ..auth import JWTScope

        if args.output == "table":
            out.write("".join(f"{scope.value}\n" for scope in JWTScope))
        else:
            emit({"scopes": [scope.value for scope in JWTScope]}, args, out)
        return EXIT_OK
    from .. import auth

    pem, _ = private_key(args)
    signed = auth.get_token(
        pem,
        scopes=args.scope,
        expires_in=args.expires_in,
        checkout_session_id=args.checkout_session_id,
    )
    emit_token(signed, args.checkout_session_id, args, out)
    return EXIT_OK


async def embed(args: argparse.Namespace, out: TextIO) -> int:
    """An Embed token pinned to a new checkout session, or to ``--checkout-session ID``."""
    import jwt

    from .. import auth

    params: dict[str, Any] = {"amount": args.amount, "currency": args.currency}
    params.update([*args.params, *args.param])
    pem, _ = private_key(args)
    if args.checkout_session is not None:
        if args.body is not None or args.mid is not None:
            raise UsageError(
                f"{body_flag(args)} and --mid are for a new session, not --checkout-session ID"
            )
        embed_token = auth.get_embed_token(pem, params, checkout_session_id=args.checkout_session)
    else:
        body = json_body(args)
        async with make_client(args) as client:
            embed_token = await auth.create_embed_token_with_checkout_session(
                client,
                pem,
                params,
                request_body=body,
                merchant_account_id=args.mid if args.mid is not None else msgspec.UNSET,
            )
    claims = jwt.decode(embed_token, options={"verify_signature": False})
    emit_token(embed_token, claims["checkout_session_id"], args, out)
    return EXIT_OK


def _session_body(args: argparse.Namespace) -> Any:
    """The request body of a create or update, read and checked before the client is made."""
    body = json_body(args) if "body" in args else None
    if args.action == "update":
        if not isinstance(body, dict):
            raise UsageError(f"{body_flag(args)} must be a JSON object of the fields to change")
        validate(body, models.CheckoutSessionUpdate)  # names unknown fields clearly
    return body


_SESSION_CALLS: dict[
    str, Callable[[CheckoutSessions, argparse.Namespace, Any], Awaitable[models.CheckoutSession]]
] = {
    "create": lambda sessions, args, body: sessions.create(request_body=body),
    "get": lambda sessions, args, body: sessions.get(session_id=args.session_id),
    "update": lambda sessions, args, body: sessions.update(session_id=args.session_id, **body),
}


async def one_session(args: argparse.Namespace, out: TextIO) -> int:
    """``checkout-sessions create``, ``get`` or ``update``: the session, in the output format."""
    body = _session_body(args)
    async with make_client(args) as client:
        session = await _SESSION_CALLS[args.action](client.checkout_sessions, args, body)
    emit(session, args, out)
    return EXIT_OK
