"""ES512 signing for :mod:`gr4vy_async.auth`: scopes, keys and their ``kid``, one token's claims.

A key is loaded and checked once (:func:`load_key`); :func:`sign` signs one
token. Every error names the problem, never the key.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import textwrap
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import ECAlgorithm

from ._checks import whole_number
from ._redact import field_path
from ._version import PRODUCT
from .errors import InvalidRequestError

__all__ = [
    "ISSUER",
    "JWTScope",
    "JWTScopes",
    "PrivateKey",
    "SigningKey",
    "check_embed_params",
    "check_expires_in",
    "load_key",
    "scope_list",
    "sign",
    "verified_claims",
]

#: The ``iss`` claim: the library's user agent.
ISSUER = PRODUCT
_ALGORITHM = "ES512"

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


class SigningKey:
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


def load_key(private_key: PrivateKey) -> SigningKey:
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
    return SigningKey(key)


# --------------------------------------------------------------------------- tokens


def scope_list(scopes: Sequence[JWTScope | str] | None) -> list[str]:
    if scopes is None:
        return list(_DEFAULT_SCOPES)
    if isinstance(scopes, str):
        raise InvalidRequestError("scopes must be a list of scopes, not one string")
    names = [scope.value if isinstance(scope, JWTScope) else scope for scope in scopes]
    if not names or not all(isinstance(name, str) and name for name in names):
        raise InvalidRequestError("scopes must be a non-empty list of scope names")
    return names


def check_expires_in(expires_in: int) -> None:
    """A token's lifetime: whole seconds, at least 1."""
    whole_number(expires_in, "expires_in")


def check_embed_params(value: Any, path: str = "embed_params") -> None:
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


def sign(
    key: SigningKey,
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


def verified_claims(token: str, key: SigningKey) -> dict[str, Any]:
    """``token``'s claims, if ``key`` signed it (expired is fine); else InvalidRequestError."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key._public,
            algorithms=[_ALGORITHM],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise InvalidRequestError("token is not a valid token signed by private_key") from None
    return claims
