"""The client a command calls with: its host, and its token or private key (flag over env)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .._command_line import UsageError
from .._keyfile import read_pem
from ..client import Gr4vy
from ..errors import InvalidRequestError

if TYPE_CHECKING:
    from ..auth import TokenProvider

__all__ = ["bearer_auth", "make_client", "private_key"]


def private_key(args: argparse.Namespace) -> tuple[str, TokenProvider]:
    """The private key (PEM) and a cached token provider for it, checked."""
    source = args.sources["private_key"]
    if not args.private_key:
        raise UsageError(
            f"{args.command} needs a private key: pass --private-key (or GR4VY_PRIVATE_KEY)"
        )
    from .. import auth

    try:
        pem = read_pem(args.private_key, source)
    except InvalidRequestError as exc:
        raise UsageError(str(exc)) from None
    try:
        return pem, auth.with_token(pem)
    except InvalidRequestError as exc:
        raise UsageError(f"bad private key ({source}): {exc}") from None


def bearer_auth(args: argparse.Namespace) -> str | TokenProvider:
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
    return private_key(args)[1]


def make_client(args: argparse.Namespace) -> Gr4vy:
    """The client of the global options (close it: ``async with``)."""
    if not args.server_url and not args.id:
        raise UsageError("no instance: pass --id (GR4VY_ID) or --server-url (GR4VY_SERVER_URL)")
    return Gr4vy(
        id=args.id or "example",
        server=args.server,
        server_url=args.server_url,
        merchant_account_id=args.merchant_account_id,
        bearer_auth=bearer_auth(args),
        timeout_in_seconds=args.timeout,
        allow_insecure_http=args.allow_insecure_http,
    )
