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
import enum
import hashlib
import json
import math
import os
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeAlias

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import ECAlgorithm
from msgspec import UNSET, UnsetType

from ._awaitable import MustAwait
from ._defaults import TOKEN_LIFETIME
from ._redact import field_path
from ._version import PRODUCT
from .errors import InvalidRequestError

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

#: The ``iss`` claim: the library's user agent.
ISSUER = PRODUCT
_ALGORITHM = "ES512"
_DEFAULT_REFRESH_MARGIN = 60.0

#: A P-521 private key: PEM text (``str`` or ``bytes``), or one already loaded.
PrivateKey: TypeAlias = str | bytes | ec.EllipticCurvePrivateKey


class JWTScope(str, enum.Enum):
    """A token scope: those of the API's security scheme, plus the wildcards."""

    READ_ALL = "*.read"
    WRITE_ALL = "*.write"
    EMBED = "embed"
    SESSIONS_REFRESH = "sessions.refresh"
    ANTI_FRAUD_SERVICE_DEFINITIONS_READ = "anti-fraud-service-definitions.read"
    ANTI_FRAUD_SERVICE_DEFINITIONS_WRITE = "anti-fraud-service-definitions.write"
    ANTI_FRAUD_SERVICES_READ = "anti-fraud-services.read"
    ANTI_FRAUD_SERVICES_WRITE = "anti-fraud-services.write"
    API_KEY_PAIRS_READ = "api-key-pairs.read"
    API_KEY_PAIRS_WRITE = "api-key-pairs.write"
    API_LOGS_READ = "api-logs.read"
    API_LOGS_WRITE = "api-logs.write"
    APPLE_PAY_CERTIFICATES_READ = "apple-pay-certificates.read"
    APPLE_PAY_CERTIFICATES_WRITE = "apple-pay-certificates.write"
    AUDIT_LOGS_READ = "audit-logs.read"
    AUDIT_LOGS_WRITE = "audit-logs.write"
    BIN_CHECKER_READ = "bin-checker.read"
    BIN_CHECKER_WRITE = "bin-checker.write"
    BUSINESS_CONTEXTS_READ = "business-contexts.read"
    BUSINESS_CONTEXTS_WRITE = "business-contexts.write"
    BUYERS_READ = "buyers.read"
    BUYERS_WRITE = "buyers.write"
    BUYERS_BILLING_DETAILS_READ = "buyers.billing-details.read"
    BUYERS_BILLING_DETAILS_WRITE = "buyers.billing-details.write"
    CARD_SCHEME_DEFINITIONS_READ = "card-scheme-definitions.read"
    CARD_SCHEME_DEFINITIONS_WRITE = "card-scheme-definitions.write"
    CHECKOUT_SESSIONS_READ = "checkout-sessions.read"
    CHECKOUT_SESSIONS_WRITE = "checkout-sessions.write"
    CONNECTIONS_READ = "connections.read"
    CONNECTIONS_WRITE = "connections.write"
    DIGITAL_WALLETS_READ = "digital-wallets.read"
    DIGITAL_WALLETS_WRITE = "digital-wallets.write"
    FLOWS_READ = "flows.read"
    FLOWS_WRITE = "flows.write"
    GIFT_CARD_SERVICE_DEFINITIONS_READ = "gift-card-service-definitions.read"
    GIFT_CARD_SERVICE_DEFINITIONS_WRITE = "gift-card-service-definitions.write"
    GIFT_CARD_SERVICES_READ = "gift-card-services.read"
    GIFT_CARD_SERVICES_WRITE = "gift-card-services.write"
    GIFT_CARDS_READ = "gift-cards.read"
    GIFT_CARDS_WRITE = "gift-cards.write"
    HEALTH_DASHBOARD_READ = "health-dashboard.read"
    HEALTH_DASHBOARD_WRITE = "health-dashboard.write"
    MERCHANT_ACCOUNTS_READ = "merchant-accounts.read"
    MERCHANT_ACCOUNTS_WRITE = "merchant-accounts.write"
    METRICS_EXPLORER_READ = "metrics-explorer.read"
    METRICS_EXPLORER_WRITE = "metrics-explorer.write"
    MONITORING_READ = "monitoring.read"
    MONITORING_WRITE = "monitoring.write"
    PAYMENT_LINKS_READ = "payment-links.read"
    PAYMENT_LINKS_WRITE = "payment-links.write"
    PAYMENT_METHOD_DEFINITIONS_READ = "payment-method-definitions.read"
    PAYMENT_METHOD_DEFINITIONS_WRITE = "payment-method-definitions.write"
    PAYMENT_METHODS_READ = "payment-methods.read"
    PAYMENT_METHODS_WRITE = "payment-methods.write"
    PAYMENT_OPTIONS_READ = "payment-options.read"
    PAYMENT_OPTIONS_WRITE = "payment-options.write"
    PAYMENT_SERVICE_DEFINITIONS_READ = "payment-service-definitions.read"
    PAYMENT_SERVICE_DEFINITIONS_WRITE = "payment-service-definitions.write"
    PAYMENT_SERVICES_READ = "payment-services.read"
    PAYMENT_SERVICES_WRITE = "payment-services.write"
    PAYOUTS_READ = "payouts.read"
    PAYOUTS_WRITE = "payouts.write"
    REPORTS_READ = "reports.read"
    REPORTS_WRITE = "reports.write"
    RESET_READ = "reset.read"
    RESET_WRITE = "reset.write"
    ROLES_READ = "roles.read"
    ROLES_WRITE = "roles.write"
    SESSIONS_READ = "sessions.read"
    SESSIONS_WRITE = "sessions.write"
    THREE_DS_SCENARIOS_READ = "three-ds-scenarios.read"
    THREE_DS_SCENARIOS_WRITE = "three-ds-scenarios.write"
    TRANSACTIONS_READ = "transactions.read"
    TRANSACTIONS_WRITE = "transactions.write"
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"
    USERS_ME_READ = "users.me.read"
    USERS_ME_WRITE = "users.me.write"
    VAULT_FORWARD_READ = "vault-forward.read"
    VAULT_FORWARD_WRITE = "vault-forward.write"
    VAULT_FORWARD_AUTHENTICATIONS_READ = "vault-forward-authentications.read"
    VAULT_FORWARD_AUTHENTICATIONS_WRITE = "vault-forward-authentications.write"
    VAULT_FORWARD_CONFIGS_READ = "vault-forward-configs.read"
    VAULT_FORWARD_CONFIGS_WRITE = "vault-forward-configs.write"
    VAULT_FORWARD_DEFINITIONS_READ = "vault-forward-definitions.read"
    VAULT_FORWARD_DEFINITIONS_WRITE = "vault-forward-definitions.write"
    WEBHOOK_SUBSCRIPTIONS_READ = "webhook-subscriptions.read"
    WEBHOOK_SUBSCRIPTIONS_WRITE = "webhook-subscriptions.write"

    def __str__(self) -> str:
        return str(self.value)


_DEFAULT_SCOPES = (JWTScope.READ_ALL.value, JWTScope.WRITE_ALL.value)

#: A list of scopes, as SDK 2.4.27 names the type.
JWTScopes: TypeAlias = Sequence[JWTScope | str]


# --------------------------------------------------------------------------- keys


class _SigningKey:
    """A loaded P-521 private key and its ``kid``; its repr shows only the kid."""

    __slots__ = ("_private", "_public", "kid")

    def __init__(self, private: ec.EllipticCurvePrivateKey) -> None:
        self._private = private
        self._public = private.public_key()
        self.kid = _thumbprint(self._public)

    def __repr__(self) -> str:
        return f"<signing key kid={self.kid!r}>"


def _thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """The RFC 7638 JWK thumbprint: SHA-256 of the canonical JSON of crv, kty, x, y."""
    jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)  # x, y padded to 66 bytes
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return jwt.utils.base64url_encode(digest).decode()


def _load_key(private_key: PrivateKey) -> _SigningKey:
    """Load and check a key; every error names the problem, never the key."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        key: object = private_key
    elif isinstance(private_key, (str, bytes)):
        pem = private_key.encode() if isinstance(private_key, str) else private_key
        pem = textwrap.dedent(pem.decode("ascii", "replace")).strip().encode()
        if not pem.startswith(b"-----BEGIN "):
            raise InvalidRequestError("private_key is not a PEM-encoded private key")
        if b"PUBLIC KEY-----" in pem.split(b"\n", 1)[0]:
            raise InvalidRequestError("private_key is a public key; pass the private key")
        try:
            key = load_pem_private_key(pem, password=None)
        except TypeError:
            raise InvalidRequestError(
                "private_key is encrypted; pass an unencrypted PEM or a loaded key"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            raise InvalidRequestError("private_key is not a valid PEM private key") from None
    else:
        raise InvalidRequestError(
            f"private_key must be PEM text (str or bytes), not {type(private_key).__name__}"
        )
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        kind = type(key).__name__.removesuffix("PrivateKey")
        raise InvalidRequestError(
            f"private_key must be an EC P-521 private key for ES512, not a {kind} key"
        )
    if not isinstance(key.curve, ec.SECP521R1):
        raise InvalidRequestError(
            f"private_key must be an EC P-521 (secp521r1) key for ES512, not {key.curve.name}"
        )
    return _SigningKey(key)


# --------------------------------------------------------------------------- tokens


def _scope_list(scopes: Sequence[JWTScope | str] | None) -> list[str]:
    if scopes is None:
        return list(_DEFAULT_SCOPES)
    if isinstance(scopes, str):
        raise InvalidRequestError("scopes must be a list of scopes, not one string")
    names = [scope.value if isinstance(scope, JWTScope) else scope for scope in scopes]
    if not names or not all(isinstance(name, str) and name for name in names):
        raise InvalidRequestError("scopes must be a non-empty list of scope names")
    return names


def _check_expires_in(expires_in: int) -> None:
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise InvalidRequestError(f"expires_in must be a positive int, not {expires_in!r}")


def _check_embed_params(value: Any, path: str = "embed_params") -> None:
    """Refuse what the ``embed`` claim cannot carry as given, before anything is done.

    JSON has no NaN or infinity (they would be signed as the invalid ``NaN``)
    and only string keys (``7`` would be signed as ``"7"``).
    """
    if not isinstance(value, Mapping):
        raise InvalidRequestError(
            f"{path}: expected a mapping, not {type(value).__name__}", field=path
        )
    try:
        _check_json_value(value, path)
    except RecursionError:
        raise InvalidRequestError(f"{path}: nested too deeply", field=path) from None


def _check_json_value(value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequestError(
                    f"{path}: keys must be strings, not {type(key).__name__}", field=path
                )
            _check_json_value(item, field_path(path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequestError(f"{path}: must be a finite number", field=path)
    elif value is not None and not isinstance(value, (str, int, float)):
        raise InvalidRequestError(f"{path}: not a JSON value ({type(value).__name__})", field=path)


def _sign(
    key: _SigningKey,
    scopes: list[str],
    expires_in: int,
    now: float,
    embed_params: Mapping[str, Any] | None = None,
    checkout_session_id: str | None = None,
) -> str:
    """Sign one token; ``now`` is the Unix time it is issued at."""
    issued_at = int(now)
    claims: dict[str, Any] = {
        "scopes": scopes,
        "iss": ISSUER,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + expires_in,
        "jti": str(uuid.uuid4()),
    }
    if checkout_session_id:
        claims["checkout_session_id"] = str(checkout_session_id)
    if embed_params and JWTScope.EMBED.value in scopes:
        claims["embed"] = dict(embed_params)
    try:
        return jwt.encode(claims, key._private, algorithm=_ALGORITHM, headers={"kid": key.kid})
    except TypeError as exc:  # a claim json cannot encode
        raise InvalidRequestError(f"embed_params must be JSON serializable: {exc}") from None


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
    _check_expires_in(expires_in)
    if embed_params is not None:
        _check_embed_params(embed_params)
    return _sign(
        _load_key(private_key),
        _scope_list(scopes),
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
    key = _load_key(private_key)
    if embed_params is not None:
        _check_embed_params(embed_params)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key._public,
            algorithms=[_ALGORITHM],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise InvalidRequestError("token is not a valid token signed by private_key") from None
    _check_expires_in(expires_in)
    return _sign(
        key,
        _scope_list(scopes or claims.get("scopes") or None),
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
        _check_expires_in(expires_in)
        if refresh_margin is None:
            refresh_margin = min(_DEFAULT_REFRESH_MARGIN, expires_in / 2)
        if not 0 <= refresh_margin < expires_in:
            raise InvalidRequestError(
                f"refresh_margin must be >= 0 and < expires_in ({expires_in}), "
                f"not {refresh_margin!r}"
            )
        self._key = _load_key(private_key)
        self._scopes = _scope_list(scopes)
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
        token = _sign(self._key, self._scopes, self._expires_in, now)
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
    key = _load_key(private_key)  # checked before the session is created
    if embed_params is not None:
        _check_embed_params(embed_params)
    session = await client.checkout_sessions.create(
        request_body=request_body, merchant_account_id=merchant_account_id
    )
    return _sign(key, [JWTScope.EMBED.value], TOKEN_LIFETIME, time.time(), embed_params, session.id)


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
