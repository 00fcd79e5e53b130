"""ES512 signing, the cached token provider and Embed tokens (gr4vy_async.auth)."""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import textwrap
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from msgspec import UNSET, UnsetType
from support.contract import spec
from support.helpers import ManualClock, p521_key, private_pem
from support.sessions import SESSION_ID

import gr4vy_async
from gr4vy_async import auth, models
from gr4vy_async.auth import JWTScope
from gr4vy_async.errors import InvalidRequestError

EMBED_PARAMS = {"amount": 1299, "currency": "USD", "buyer_external_identifier": "buyer-1"}


# --------------------------------------------------------------------------- helpers


def pem_body_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM: none of them may appear anywhere."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def expected_kid(key: ec.EllipticCurvePrivateKey) -> str:
    """RFC 7638 thumbprint, written out by hand (no JWK library)."""
    numbers = key.public_key().public_numbers()
    x = b64url(numbers.x.to_bytes(66, "big"))
    y = b64url(numbers.y.to_bytes(66, "big"))
    canonical = '{"crv":"P-521","kty":"EC","x":"' + x + '","y":"' + y + '"}'
    return b64url(hashlib.sha256(canonical.encode()).digest())


def decode(token: str, key: ec.EllipticCurvePrivateKey, **options: bool) -> dict[str, Any]:
    checks: Any = options
    claims: dict[str, Any] = jwt.decode(
        token, key.public_key(), algorithms=["ES512"], options=checks
    )
    return claims


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every claims set ``jwt.encode`` signs during the test."""
    calls: list[dict[str, Any]] = []
    real_encode = jwt.encode

    def counting_encode(payload: dict[str, Any], *args: Any, **kwargs: Any) -> str:
        calls.append(payload)
        return real_encode(payload, *args, **kwargs)

    monkeypatch.setattr(jwt, "encode", counting_encode)
    return calls


# --------------------------------------------------------------------------- signing


def test_token_verifies_with_the_public_key(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    token = auth.get_token(pem)
    assert decode(token, key)["iss"] == auth.ISSUER
    other = p521_key()
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, other)


def test_header_is_es512_with_the_thumbprint_as_kid(
    key: ec.EllipticCurvePrivateKey, pem: str
) -> None:
    header = jwt.get_unverified_header(auth.get_token(pem))
    assert header == {"alg": "ES512", "typ": "JWT", "kid": expected_kid(key)}


def test_kid_pads_short_coordinates_to_66_bytes() -> None:
    # About half of P-521 coordinates fit in 65 bytes; RFC 7518 still wants 66.
    while True:
        key = p521_key()
        numbers = key.public_key().public_numbers()
        if numbers.x.bit_length() <= 520 and numbers.y.bit_length() <= 520:
            break
    assert jwt.get_unverified_header(auth.get_token(private_pem(key)))["kid"] == expected_kid(key)


def test_default_claims(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    before = int(time.time())
    claims = decode(auth.get_token(pem), key)
    after = int(time.time())
    assert set(claims) == {"scopes", "iss", "iat", "nbf", "exp", "jti"}
    assert claims["scopes"] == ["*.read", "*.write"]
    assert claims["iss"] == f"gr4vy-async/{gr4vy_async.__version__}"
    assert before <= claims["iat"] <= after
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] == claims["iat"] + 3600
    assert uuid.UUID(claims["jti"]).version == 4
    assert decode(auth.get_token(pem), key)["jti"] != claims["jti"]


def test_scopes_and_expiry_as_given(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    token = auth.get_token(pem, [JWTScope.CHECKOUT_SESSIONS_READ, "custom.read"], expires_in=90)
    claims = decode(token, key)
    assert claims["scopes"] == ["checkout-sessions.read", "custom.read"]
    assert claims["exp"] - claims["iat"] == 90


def test_embed_claim_only_with_the_embed_scope(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    with_scope = decode(auth.get_token(pem, [JWTScope.EMBED], embed_params=EMBED_PARAMS), key)
    assert with_scope["embed"] == EMBED_PARAMS
    without = decode(auth.get_token(pem, embed_params=EMBED_PARAMS), key)
    assert "embed" not in without


def test_checkout_session_id_claim(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    claims = decode(auth.get_token(pem, checkout_session_id=SESSION_ID), key)
    assert claims["checkout_session_id"] == SESSION_ID


def test_get_embed_token(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    claims = decode(auth.get_embed_token(pem, EMBED_PARAMS, SESSION_ID), key)
    assert claims["scopes"] == ["embed"]
    assert claims["embed"] == EMBED_PARAMS
    assert claims["checkout_session_id"] == SESSION_ID
    assert claims["exp"] - claims["iat"] == 3600


def test_scopes_are_those_of_the_spec_plus_wildcards() -> None:
    scheme = spec()["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    documented = set(scheme["flows"]["password"]["scopes"]) | {"*.read", "*.write", "embed"}
    assert {scope.value for scope in JWTScope} == documented
    assert str(JWTScope.EMBED) == "embed"
    assert JWTScope("checkout-sessions.write") is JWTScope.CHECKOUT_SESSIONS_WRITE


def test_key_forms_give_the_same_kid(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    traditional = private_pem(key, serialization.PrivateFormat.TraditionalOpenSSL)
    assert traditional.startswith("-----BEGIN EC PRIVATE KEY-----")
    forms: list[auth.PrivateKey] = [
        pem,
        pem.encode(),
        traditional,
        textwrap.indent(pem, "    "),  # pasted into indented code or YAML
        key,
    ]
    kids = {jwt.get_unverified_header(auth.get_token(form))["kid"] for form in forms}
    assert kids == {expected_kid(key)}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3600"])
def test_bad_expires_in(pem: str, bad: Any) -> None:
    with pytest.raises(InvalidRequestError, match="expires_in"):
        auth.get_token(pem, expires_in=bad)
    with pytest.raises(InvalidRequestError, match="expires_in"):
        auth.with_token(pem, expires_in=bad)


@pytest.mark.parametrize("bad", ["embed", [], [""], [None]])
def test_bad_scopes(pem: str, bad: Any) -> None:
    with pytest.raises(InvalidRequestError, match="scopes"):
        auth.get_token(pem, bad)
    with pytest.raises(InvalidRequestError, match="scopes"):
        auth.with_token(pem, bad)


def test_embed_params_that_json_cannot_encode(pem: str) -> None:
    with pytest.raises(InvalidRequestError, match="embed_params"):
        auth.get_embed_token(pem, {"when": object()})


# --------------------------------------------------------------------------- update_token


def test_update_token_keeps_claims_and_renews_the_rest(
    key: ec.EllipticCurvePrivateKey, pem: str
) -> None:
    old = auth.get_embed_token(pem, EMBED_PARAMS, SESSION_ID)
    old_claims = decode(old, key)
    new_claims = decode(auth.update_token(old, pem, expires_in=120), key)
    assert new_claims["scopes"] == ["embed"]
    assert new_claims["embed"] == EMBED_PARAMS
    assert new_claims["checkout_session_id"] == SESSION_ID
    assert new_claims["exp"] - new_claims["iat"] == 120
    assert new_claims["jti"] != old_claims["jti"]


def test_update_token_replaces_given_claims(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    old = auth.get_embed_token(pem, EMBED_PARAMS, SESSION_ID)
    other_id = str(uuid.uuid4())
    token = auth.update_token(old, pem, embed_params={"amount": 1}, checkout_session_id=other_id)
    claims = decode(token, key)
    assert claims["embed"] == {"amount": 1}
    assert claims["checkout_session_id"] == other_id


async def test_update_token_accepts_an_expired_token(
    key: ec.EllipticCurvePrivateKey, pem: str
) -> None:
    clock = ManualClock.at_now()
    clock.advance(-7200)
    expired = auth.with_token(pem, [JWTScope.EMBED], clock=clock.unix)()
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(expired, key)
    assert decode(auth.update_token(expired, pem), key)["scopes"] == ["embed"]


def test_update_token_refuses_tokens_it_did_not_sign(pem: str) -> None:
    foreign = auth.get_token(private_pem(p521_key()), [JWTScope.EMBED])
    with pytest.raises(InvalidRequestError, match="signed by private_key"):
        auth.update_token(foreign, pem)
    # Our own token with its claims edited (scopes widened) keeps the old signature.
    header, _, signature = auth.get_embed_token(pem).split(".")
    forged_claims = b'{"scopes":["*.write"],"iss":"x","iat":1,"nbf":1,"exp":2,"jti":"j"}'
    forged = f"{header}.{b64url(forged_claims)}.{signature}"
    with pytest.raises(InvalidRequestError, match="signed by private_key"):
        auth.update_token(forged, pem)
    with pytest.raises(InvalidRequestError, match="signed by private_key"):
        auth.update_token("not-a-token", pem)


# --------------------------------------------------------------------------- provider


async def test_provider_signs_once_then_again_after_the_margin(
    key: ec.EllipticCurvePrivateKey, pem: str, signatures: list[dict[str, Any]]
) -> None:
    clock = ManualClock.at_now()
    provider = auth.with_token(pem, expires_in=600, refresh_margin=60, clock=clock.unix)
    first = provider()
    assert [provider() for _ in range(100)] == [first] * 100
    assert len(signatures) == 1
    issued = decode(first, key)["iat"]
    assert issued == clock.unix()

    clock.advance(600 - 60 - 1)  # one second before the margin
    assert provider() == first
    assert len(signatures) == 1

    clock.advance(1)  # the margin is reached
    second = provider()
    assert second != first
    assert len(signatures) == 2
    assert decode(second, key, verify_iat=False, verify_nbf=False)["iat"] == clock.unix()
    assert provider() == second
    assert len(signatures) == 2


async def test_provider_tokens_carry_its_scopes(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    provider = auth.with_token(pem, [JWTScope.CHECKOUT_SESSIONS_READ], expires_in=300)
    claims = decode(provider(), key)
    assert claims["scopes"] == ["checkout-sessions.read"]
    assert claims["exp"] - claims["iat"] == 300
    assert provider.kid == expected_kid(key)


async def test_default_margin_is_at_most_half_the_lifetime(
    pem: str, signatures: list[dict[str, Any]]
) -> None:
    clock = ManualClock.at_now()
    provider = auth.with_token(pem, expires_in=60, clock=clock.unix)  # margin 30, not 60
    first = provider()
    clock.advance(29)
    assert provider() == first
    clock.advance(1)
    assert provider() != first
    assert len(signatures) == 2


@pytest.mark.parametrize("margin", [-1, 600, 601])
def test_bad_refresh_margin(pem: str, margin: float) -> None:
    with pytest.raises(InvalidRequestError, match="refresh_margin"):
        auth.with_token(pem, expires_in=600, refresh_margin=margin)


def test_calls_from_many_threads_at_expiry_sign_once(
    pem: str, signatures: list[dict[str, Any]]
) -> None:
    clock = ManualClock.at_now()
    provider = auth.with_token(pem, clock=clock.unix)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(lambda _: provider(), range(1000)))
        assert len(signatures) == 1
        assert set(tokens) == {tokens[0]}
        clock.advance(3600)  # every caller arrives at expiry
        renewed = list(pool.map(lambda _: provider(), range(1000)))
    assert len(signatures) == 2
    assert set(renewed) == {renewed[0]}
    assert renewed[0] != tokens[0]


def test_with_token_returns_a_plain_callable_as_the_sdk(pem: str) -> None:
    """SDK 2.4.27: ``auth.with_token(key)()`` is the token itself, not a coroutine."""
    token = auth.with_token(pem)()
    assert isinstance(token, str)
    assert token.count(".") == 2


def bad_keys() -> dict[str, Callable[[], str | bytes]]:
    p256 = ec.generate_private_key(ec.SECP256R1())
    p521 = p521_key()
    return {
        "not PEM": lambda: "my-api-key",
        "garbage bytes": lambda: b"\x00\xffnot a key",
        "broken PEM": lambda: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "RSA": lambda: private_pem(rsa.generate_private_key(65537, 2048)),
        "EC P-256": lambda: private_pem(p256),
        "Ed25519": lambda: private_pem(ed25519.Ed25519PrivateKey.generate()),
        "P-521 public key": lambda: (
            p521.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        ),
        "encrypted": lambda: p521.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        ),
    }


BAD_KEY_MESSAGES = {
    "not PEM": "not a PEM",
    "garbage bytes": "not a PEM",
    "broken PEM": "not a valid PEM",
    "RSA": "not a RSA key",
    "EC P-256": "not secp256r1",
    "Ed25519": "not a Ed25519 key",
    "P-521 public key": "is a public key",
    "encrypted": "encrypted",
}


@pytest.mark.parametrize("name", list(BAD_KEY_MESSAGES))
def test_bad_keys_fail_when_the_provider_is_made(name: str) -> None:
    bad = bad_keys()[name]()
    text = bad.decode("latin-1") if isinstance(bad, bytes) else bad
    with pytest.raises(InvalidRequestError, match=BAD_KEY_MESSAGES[name]) as caught:
        auth.with_token(bad)
    with pytest.raises(InvalidRequestError, match=BAD_KEY_MESSAGES[name]):
        auth.get_token(bad)
    shown = str(caught.value) + repr(caught.value)
    shown += "".join(traceback.format_exception(caught.value))
    for line in pem_body_lines(text) or [text]:
        assert line not in shown


def test_non_key_types_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="not int"):
        auth.with_token(42)  # type: ignore[arg-type]


def test_provider_repr_shows_only_the_kid(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    provider = auth.with_token(pem)
    kid = expected_kid(key)
    assert repr(provider) == f"TokenProvider(kid={kid!r})"
    assert str(provider) == repr(provider)
    assert repr(provider._key) == f"<signing key kid={kid!r}>"
    # The PEM text is not kept at all: no attribute holds it.
    held = [getattr(provider, name) for name in type(provider).__slots__]
    held += [getattr(provider._key, name) for name in type(provider._key).__slots__]
    pem_text = [
        value for value in held if isinstance(value, (str, bytes)) and "PRIVATE" in str(value)
    ]
    assert pem_text == []


def test_tokens_never_hold_the_private_key(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    private_value = key.private_numbers().private_value
    d = b64url(private_value.to_bytes(66, "big"))
    token = auth.get_embed_token(pem, EMBED_PARAMS, SESSION_ID)
    assert d not in token
    assert d not in base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()


# --------------------------------------------------------------------------- embed flow


class FakeCheckoutSessions:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def create(
        self, *, request_body: Any = None, merchant_account_id: str | UnsetType | None = UNSET
    ) -> models.CheckoutSession:
        self.calls.append(
            {"request_body": request_body, "merchant_account_id": merchant_account_id}
        )
        return models.CheckoutSession(id=SESSION_ID, expires_at=datetime.now(timezone.utc))


class FakeClient:
    def __init__(self) -> None:
        self.checkout_sessions = FakeCheckoutSessions()


async def test_create_embed_token_with_checkout_session(
    key: ec.EllipticCurvePrivateKey, pem: str
) -> None:
    client = FakeClient()
    body = models.CheckoutSessionUpdate(metadata={"order_id": "order-1"})
    token = await auth.create_embed_token_with_checkout_session(
        client, pem, EMBED_PARAMS, request_body=body, merchant_account_id="acme"
    )
    assert client.checkout_sessions.calls == [{"request_body": body, "merchant_account_id": "acme"}]
    claims = decode(token, key)
    assert claims["scopes"] == ["embed"]
    assert claims["checkout_session_id"] == SESSION_ID
    assert claims["embed"] == EMBED_PARAMS
    assert jwt.get_unverified_header(token)["kid"] == expected_kid(key)


async def test_embed_flow_keeps_the_clients_merchant_account_by_default(pem: str) -> None:
    # Gr4vy's create sends no merchant header for None; UNSET means the client default.
    client = FakeClient()
    await auth.create_embed_token_with_checkout_session(client, pem)
    assert client.checkout_sessions.calls == [{"request_body": None, "merchant_account_id": UNSET}]


async def test_embed_flow_checks_the_key_before_creating_a_session() -> None:
    client = FakeClient()
    with pytest.raises(InvalidRequestError):
        await auth.create_embed_token_with_checkout_session(client, "not a key")
    assert client.checkout_sessions.calls == []


#: Embed params the claim would change: NaN signed as ``NaN`` (invalid JSON), ``7`` as "7".
BAD_EMBED_PARAMS = {
    "nan": {"amount": float("nan")},
    "inf": {"amount": float("inf")},
    "nested-nan": {"metadata": {"ratio": [1.0, float("-inf")]}},
    "int-key": {7: "x"},
    "nested-int-key": {"metadata": {1: "x"}},
    "not-a-mapping": ["amount", 1299],
}


@pytest.mark.parametrize("params", BAD_EMBED_PARAMS.values(), ids=BAD_EMBED_PARAMS.keys())
def test_embed_params_json_would_change_are_refused(pem: str, params: Any) -> None:
    with pytest.raises(InvalidRequestError, match=r"^embed_params"):
        auth.get_embed_token(pem, params)
    with pytest.raises(InvalidRequestError, match=r"^embed_params"):
        auth.get_token(pem, [JWTScope.EMBED], embed_params=params)
    with pytest.raises(InvalidRequestError, match=r"^embed_params"):
        auth.update_token(auth.get_embed_token(pem), pem, embed_params=params)


@pytest.mark.parametrize("params", BAD_EMBED_PARAMS.values(), ids=BAD_EMBED_PARAMS.keys())
async def test_bad_embed_params_are_refused_before_the_session_is_created(
    pem: str, params: Any
) -> None:
    for helper in (
        auth.create_embed_token_with_checkout_session,
        auth.get_embed_token_with_checkout_session,
    ):
        client = FakeClient()
        with pytest.raises(InvalidRequestError, match=r"^embed_params"):
            await helper(client, pem, params)
        assert client.checkout_sessions.calls == []
