"""Gr4vy API authentication: ES512 JWTs, a cached token provider, Embed tokens.

Gr4vy has no static API keys: each request carries a JWT signed (ES512) with
the merchant's P-521 private key, whose header ``kid`` is the RFC 7638
thumbprint of the public key. Signing uses PyJWT with ``cryptography``.

:func:`with_token` is the ``bearer_auth`` to give the client: it loads the key
once and keeps one token, signing a new one only near expiry, where the
official SDK signs a new token for every request.

The private key never appears in a repr, str, exception message or log.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from msgspec import UNSET, UnsetType

from . import _signing
from ._awaitable import MustAwait
from ._checks import finite_number, invalid
from ._defaults import TOKEN_LIFETIME
from ._signing import ISSUER, JWTScope, JWTScopes, PrivateKey

if TYPE_CHECKING:
    from .models import CheckoutSession

__all__ = [
    "ISSUER",
    "JWTScope",
    "JWTScopes",
    "PrivateKey",
    "SupportsCheckoutSessions",
    "TokenProvider",
    "create_embed_token_with_checkout_session",
    "get_embed_token",
    "get_embed_token_with_checkout_session",
    "get_token",
    "update_token",
    "with_token",
]

#: How long before expiry a provider re-signs, at most (seconds).
_DEFAULT_REFRESH_MARGIN = 60.0


def get_token(
    private_key: PrivateKey,
    scopes: Sequence[JWTScope | str] | None = None,
    expires_in: int = TOKEN_LIFETIME,
    embed_params: Mapping[str, Any] | None = None,
    checkout_session_id: str | None = None,
) -> str:
    """Sign a bearer token (ES512 JWT) for the Gr4vy API.

    ``scopes`` defaults to ``["*.read", "*.write"]``. ``embed_params`` become
    the ``embed`` claim, and only when ``scopes`` includes ``embed``;
    ``checkout_session_id`` pins the token to that session. Raises
    :class:`~gr4vy_async.errors.InvalidRequestError` for a key that is not an
    EC P-521 private key. To authenticate a client, use :func:`with_token`.
    """
    _signing.check_expires_in(expires_in)
    if embed_params is not None:
        _signing.check_embed_params(embed_params)
    return _signing.sign(
        _signing.load_key(private_key),
        _signing.scope_list(scopes),
        expires_in,
        time.time(),
        embed_params,
        checkout_session_id,
    )


def get_embed_token(
    private_key: PrivateKey,
    embed_params: Mapping[str, Any] | None = None,
    checkout_session_id: str | None = None,
) -> str:
    """Sign a token for Gr4vy Embed: scope ``embed``, valid for an hour.

    ``embed_params`` (amount, currency, buyer_id, ...) are pinned in the token
    so the browser cannot change them.
    """
    return get_token(
        private_key,
        scopes=[JWTScope.EMBED],
        expires_in=TOKEN_LIFETIME,
        embed_params=embed_params,
        checkout_session_id=checkout_session_id,
    )


def update_token(
    token: str,
    private_key: PrivateKey,
    scopes: Sequence[JWTScope | str] | None = None,
    expires_in: int = TOKEN_LIFETIME,
    embed_params: Mapping[str, Any] | None = None,
    checkout_session_id: str | None = None,
) -> str:
    """Sign a fresh copy of ``token``, replacing the claims that are given.

    Scopes, ``embed`` and ``checkout_session_id`` not given are kept from
    ``token``; ``iat``, ``nbf``, ``exp`` and ``jti`` are new. Unlike the
    official SDK, ``token`` must carry a valid signature by ``private_key``
    (expired is fine), so a token someone altered is never re-signed.
    """
    key = _signing.load_key(private_key)
    if embed_params is not None:
        _signing.check_embed_params(embed_params)
    claims = _signing.verified_claims(token, key)
    _signing.check_expires_in(expires_in)
    return _signing.sign(
        key,
        _signing.scope_list(scopes or claims.get("scopes") or None),
        expires_in,
        time.time(),
        embed_params or claims.get("embed"),
        checkout_session_id or claims.get("checkout_session_id"),
    )


# --------------------------------------------------------------------------- provider


#: The thread ``token_async`` signs in, and the process it belongs to.
_signer: tuple[int, concurrent.futures.ThreadPoolExecutor] | None = None


def _signing_thread() -> concurrent.futures.ThreadPoolExecutor:
    """The one thread :meth:`TokenProvider.token_async` signs in (made on first use).

    A forked child has no thread behind its parent's executor: it makes its own.
    """
    global _signer
    pid = os.getpid()
    if _signer is None or _signer[0] != pid:
        _signer = (pid, concurrent.futures.ThreadPoolExecutor(1, "gr4vy-async-sign"))
    return _signer[1]


class _Token(NamedTuple):
    token: str
    refresh_at: float
    expires_at: float


class TokenProvider:
    """A ``bearer_auth`` that keeps one token and re-signs it near expiry.

    ``provider()`` returns the current token, signing a new one only
    when none is left or the current one expires within ``refresh_margin``
    seconds. Concurrent calls at expiry sign once. Made by :func:`with_token`.

    The client awaits :meth:`token_async` instead, which signs in a thread
    and ahead of expiry, so that no request waits on a signature but the
    first one.
    """

    __slots__ = (
        "_clock",
        "_current",
        "_expires_in",
        "_key",
        "_lock",
        "_margin",
        "_pending",
        "_scopes",
    )

    def __init__(
        self,
        private_key: PrivateKey,
        scopes: Sequence[JWTScope | str] | None = None,
        expires_in: int = TOKEN_LIFETIME,
        *,
        refresh_margin: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _signing.check_expires_in(expires_in)
        if refresh_margin is None:
            refresh_margin = min(_DEFAULT_REFRESH_MARGIN, expires_in / 2)
        if not (finite_number(refresh_margin) and 0 <= refresh_margin < expires_in):
            raise invalid(
                "refresh_margin",
                f"a number of seconds, at least 0 and below expires_in ({expires_in})",
            )
        self._key = _signing.load_key(private_key)
        self._scopes = _signing.scope_list(scopes)
        self._expires_in = expires_in
        self._margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        # The token and when to re-sign it, swapped as one value.
        self._current: _Token | None = None
        #: The process and signature under way in its signing thread, if any (one at a time).
        self._pending: tuple[int, concurrent.futures.Future[_Token]] | None = None

    @property
    def kid(self) -> str:
        """The key id (RFC 7638 thumbprint) in every token's header."""
        return self._key.kid

    def __call__(self) -> str:
        """The current token; signs a new one if it is within the margin of expiry.

        A plain call returning a ``str``, as the SDK's ``with_token`` callback.
        """
        token = self.cached_token()
        if token is not None:
            return token
        # One loop cannot interleave here (nothing awaits); the lock and second
        # check keep it one signature per expiry across threads too.
        with self._lock:
            current = self._current
            if current is None or self._clock() >= current.refresh_at:
                current = self._current = self._signed()
            return current.token

    def cached_token(self) -> str | None:
        """The current token if it is not yet due for re-signing, else ``None``; never signs."""
        current = self._current
        if current is not None and self._clock() < current.refresh_at:
            return current.token
        return None

    async def token_async(self) -> str:
        """The current token, without signing on the event loop.

        Within ``refresh_margin`` of expiry, the current token is returned
        while the next one is signed in a thread. A call waits only when no
        token is valid (the first call, or after a long idle), and then for
        the one signature under way.
        """
        current = self._current
        if current is not None:
            now = self._clock()
            if now < current.refresh_at:
                return current.token
            if now < current.expires_at:
                self._sign_in_thread()
                return current.token
        return (await asyncio.wrap_future(self._sign_in_thread())).token

    def _sign_in_thread(self) -> concurrent.futures.Future[_Token]:
        """The signature under way, or a new one started in the signing thread."""
        pid = os.getpid()
        with self._lock:
            if self._pending is None or self._pending[0] != pid:  # none, or the parent's
                self._pending = (pid, _signing_thread().submit(self._sign_and_keep))
            return self._pending[1]

    def _sign_and_keep(self) -> _Token:
        """Sign (in the signing thread) and make the new token the current one."""
        try:
            current = self._signed()
            with self._lock:
                self._current = current
            return current
        finally:
            with self._lock:  # after the submitter set it: it held the lock
                self._pending = None

    def _signed(self) -> _Token:
        """A new token, signed now."""
        now = self._clock()
        token = _signing.sign(self._key, self._scopes, self._expires_in, now)
        expires_at = int(now) + self._expires_in
        return _Token(token, expires_at - self._margin, expires_at)

    def __repr__(self) -> str:
        return f"TokenProvider(kid={self._key.kid!r})"


def with_token(
    private_key: PrivateKey,
    scopes: Sequence[JWTScope | str] | None = None,
    expires_in: int = TOKEN_LIFETIME,
    *,
    refresh_margin: float | None = None,
    clock: Callable[[], float] = time.time,
) -> TokenProvider:
    """A cached token provider to pass as the client's ``bearer_auth``.

    The key is loaded and checked here, once: a key that is not an EC P-521
    private key raises :class:`~gr4vy_async.errors.InvalidRequestError` now,
    not at the first request. ``refresh_margin`` (seconds; default 60, or half
    of ``expires_in`` if shorter) is how long before expiry a new token is
    signed. ``clock`` returns Unix time (for tests).
    """
    return TokenProvider(
        private_key, scopes, expires_in, refresh_margin=refresh_margin, clock=clock
    )


# --------------------------------------------------------------------------- embed


class _CreatesCheckoutSessions(Protocol):
    async def create(
        self, *, request_body: Any = ..., merchant_account_id: str | UnsetType | None = ...
    ) -> CheckoutSession: ...


class SupportsCheckoutSessions(Protocol):
    """Anything with ``checkout_sessions.create``, such as the ``Gr4vy`` client."""

    @property
    def checkout_sessions(self) -> _CreatesCheckoutSessions: ...


async def _embed_token_for_new_session(
    client: SupportsCheckoutSessions,
    private_key: PrivateKey,
    embed_params: Mapping[str, Any] | None,
    request_body: Any,
    merchant_account_id: str | UnsetType | None,
) -> str:
    key = _signing.load_key(private_key)  # checked before the session is created
    if embed_params is not None:
        _signing.check_embed_params(embed_params)
    session = await client.checkout_sessions.create(
        request_body=request_body, merchant_account_id=merchant_account_id
    )
    return _signing.sign(
        key, [JWTScope.EMBED.value], TOKEN_LIFETIME, time.time(), embed_params, session.id
    )


async def create_embed_token_with_checkout_session(
    client: SupportsCheckoutSessions,
    private_key: PrivateKey,
    embed_params: Mapping[str, Any] | None = None,
    request_body: Any = None,
    merchant_account_id: str | UnsetType | None = UNSET,
) -> str:
    """Create a checkout session and return an Embed token pinned to it.

    ``request_body`` (cart items, metadata, ...) and ``merchant_account_id``
    go to ``client.checkout_sessions.create``; left unset, the client's default
    merchant account is used (``None`` sends none). The token carries the new
    session's id as ``checkout_session_id``. The key is checked before the
    session is created. :func:`get_embed_token_with_checkout_session` is the
    same with SDK 2.4.27's argument names.
    """
    return await _embed_token_for_new_session(
        client, private_key, embed_params, request_body, merchant_account_id
    )


def get_embed_token_with_checkout_session(
    client: SupportsCheckoutSessions,
    private_key: PrivateKey,
    embed_params: Mapping[str, Any] | None = None,
    checkout_session_create: Any = None,
    merchant_account_id: str | None = None,
) -> Coroutine[Any, Any, str]:
    """SDK 2.4.27's helper: create a checkout session, return an Embed token pinned to it.

    ``checkout_session_create`` (a ``CheckoutSessionCreate`` or a dict) seeds
    the session; ``merchant_account_id`` overrides the client's, which is
    used when it is ``None``. Awaited here (the SDK's is synchronous): the
    result used as a string without ``await`` raises ``TypeError``.
    """
    return MustAwait(
        _embed_token_for_new_session(
            client,
            private_key,
            embed_params,
            checkout_session_create,
            UNSET if merchant_account_id is None else merchant_account_id,
        ),
        "auth.get_embed_token_with_checkout_session",
    )
