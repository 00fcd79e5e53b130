"""The fake's authentication: bearer tokens, and ES512 JWTs checked with their scopes."""

from __future__ import annotations

from aiohttp import web

from ._replies import error_response
from .faults import INVALID_CREDENTIALS

__all__ = ["SCOPES", "TokenVerifier", "bearer_token"]

#: The scope each method needs, as in the spec's security requirements.
SCOPES = {
    "GET": "checkout-sessions.read",
    "POST": "checkout-sessions.write",
    "PUT": "checkout-sessions.write",
    "DELETE": "checkout-sessions.write",
}


def bearer_token(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; ``None`` without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class TokenVerifier:
    """Checks ES512 bearer JWTs against one public key, and their scopes."""

    def __init__(self, public_key_pem: str | bytes) -> None:
        import jwt  # only needed when a key is configured
        from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = load_pem_public_key(pem)
        if not isinstance(key, EllipticCurvePublicKey):
            raise ValueError("public_key must be an EC (P-521) public key in PEM")
        self._jwt = jwt
        self._key = key
        # Checked in order: subclasses before their bases.
        self._failures: tuple[tuple[type[Exception], int, str | None], ...] = (
            (jwt.InvalidSignatureError, 401, None),
            (jwt.DecodeError, 401, None),
            (jwt.InvalidTokenError, 403, INVALID_CREDENTIALS),
        )

    def check(self, token: str, scope: str | None) -> web.Response | None:
        """``None`` when ``token`` is valid and grants ``scope``, else the error response."""
        try:
            claims = self._jwt.decode(
                token,
                self._key,
                algorithms=["ES512"],
                options={"verify_aud": False},
            )
        except self._jwt.InvalidTokenError as exc:
            status, message = next((s, m) for kind, s, m in self._failures if isinstance(exc, kind))
            return error_response(status, message)
        if scope is None:
            return None
        scopes = claims.get("scopes")
        wildcard = "*." + scope.rpartition(".")[2]
        if not isinstance(scopes, list) or not any(s in (scope, wildcard) for s in scopes):
            return error_response(403, f"Missing required scope: {scope}")
        return None
