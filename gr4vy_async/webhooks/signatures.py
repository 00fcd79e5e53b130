"""Verifying Gr4vy webhook signatures, and the event they carry.

Gr4vy signs ``f"{timestamp}.{payload}"`` with HMAC-SHA256 under each active
secret and sends the hex digests comma-separated in
``X-Gr4vy-Webhook-Signatures``, the Unix timestamp in
``X-Gr4vy-Webhook-Timestamp``. A delivery verifies when any signature matches
any of the secrets and the timestamp is within the tolerance of now.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from ..errors import InvalidRequestError, WebhookVerificationError

__all__ = [
    "CHECKS",
    "DEFAULT_TOLERANCE",
    "ID_HEADER",
    "MAX_SIGNATURES",
    "MAX_SIGNATURE_HEADER_LENGTH",
    "SIGNATURES_HEADER",
    "TIMESTAMP_HEADER",
    "Secrets",
    "WebhookEvent",
    "parse",
    "secret_keys",
    "sign",
    "verify",
    "verify_webhook",
]

SIGNATURES_HEADER = "X-Gr4vy-Webhook-Signatures"
TIMESTAMP_HEADER = "X-Gr4vy-Webhook-Timestamp"
ID_HEADER = "X-Gr4vy-Webhook-ID"
#: Seconds a delivery's timestamp may be from now, either way (Stripe's and OpenAI's default).
DEFAULT_TOLERANCE = 300.0
#: Signatures one header may carry (Gr4vy sends one per active secret: two during a rotation).
MAX_SIGNATURES = 10
#: Characters the signatures header may have: refused before any HMAC is computed.
MAX_SIGNATURE_HEADER_LENGTH = 1024
#: One secret, or several during a rotation.
Secrets = str | bytes | Iterable[str | bytes]

_TIMESTAMP = re.compile(r"[0-9]{1,15}")
#: Why a delivery did not verify, by check; the SDK's words first (``pytest.raises(match=)``).
CHECKS: Mapping[str, str] = {
    "missing_header": f"Missing header values: {SIGNATURES_HEADER} and {TIMESTAMP_HEADER}",
    "timestamp_format": f"Invalid header timestamp: {TIMESTAMP_HEADER} is not Unix seconds",
    "too_many_signatures": f"Too many signatures: at most {MAX_SIGNATURES} in "
    f"{MAX_SIGNATURE_HEADER_LENGTH} characters",
    "signature": "No matching signature found for any secret",
    "timestamp_too_old": "Timestamp too old: outside the tolerance",
    "timestamp_too_new": "Timestamp too new: in the future beyond the tolerance",
    "payload": "Payload is not a webhook event (a JSON object with id and name)",
}


class WebhookEvent(msgspec.Struct, kw_only=True):
    """A webhook's event envelope; forward-compatible.

    ``name`` is any string (``"transaction.captured"``, or one this release
    does not know), ``target`` the resource as Gr4vy sent it (every field
    kept), ``extra`` the envelope's fields this release does not know.
    ``webhook_id`` is the ``X-Gr4vy-Webhook-ID`` header of the delivery
    (stable across Gr4vy's retries), not part of the signed body.
    """

    id: str
    name: str
    type: str = "event"
    merchant_account_id: str | None = None
    created_at: datetime | None = None
    target: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    webhook_id: str | None = None

    @property
    def checkout_session_id(self) -> str | None:
        """The target's ``checkout_session_id`` (a transaction made with a session), if any."""
        value = self.target.get("checkout_session_id")
        return value if isinstance(value, str) else None


_ENVELOPE = tuple(f for f in WebhookEvent.__struct_fields__ if f not in ("extra", "webhook_id"))


def sign(
    payload: str | bytes, secret: str | bytes, timestamp: int | None = None
) -> tuple[str, str]:
    """For tests: the ``(signature, timestamp)`` headers Gr4vy would send with ``payload``.

    ``timestamp`` defaults to now. Join several signatures with ``","`` to
    play a secret rotation.
    """
    when = int(time.time()) if timestamp is None else timestamp
    return _digest(_encoded(secret), _signed_bytes(when, payload)).decode(), str(when)


def verify(
    payload: str | bytes,
    secrets: Secrets,
    signature_header: str | None,
    timestamp_header: str | None,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a delivery's signatures and timestamp; raise if it is not Gr4vy's.

    ``payload`` is the raw body (``await request.read()``), ``secrets`` one
    secret or several (a rotation). Signatures may be separated by ``","``
    with or without spaces; every one is compared in constant time against
    every secret's digest. The timestamp must be within ``tolerance`` seconds
    of ``now`` (default the current time) either way; ``0`` means this very
    second, ``None`` skips the check. Raises
    :class:`~gr4vy_async.errors.WebhookVerificationError` naming the check.
    """
    keys = secret_keys(secrets)
    if tolerance is not None and not tolerance >= 0:
        raise InvalidRequestError("tolerance: must be a number of seconds >= 0, or None")
    if not signature_header or not timestamp_header:
        raise _failed("missing_header")
    timestamp = _timestamp(timestamp_header)
    candidates = _candidates(signature_header)
    message = _signed_bytes(timestamp, payload)
    matched = False
    for key in keys:
        expected = _digest(key, message)
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)  # no short cut: time leaks nothing
    if not matched:
        raise _failed("signature")
    if tolerance is not None:
        _check_age(timestamp, tolerance, time.time() if now is None else now)


def parse(
    payload: str | bytes,
    secrets: Secrets,
    signature_header: str | None,
    timestamp_header: str | None,
    *,
    webhook_id: str | None = None,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """:func:`verify` the delivery, then decode its event (``webhook_id``: the ID header)."""
    verify(payload, secrets, signature_header, timestamp_header, tolerance=tolerance, now=now)
    try:
        raw = msgspec.json.decode(payload)
        if not isinstance(raw, dict):
            raise _failed("payload")
        known = {name: raw.pop(name) for name in _ENVELOPE if name in raw}
        return msgspec.convert({**known, "extra": raw, "webhook_id": webhook_id}, WebhookEvent)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise _failed("payload") from None


def verify_webhook(
    payload: str | bytes,
    secret: str,
    signature_header: str | None,
    timestamp_header: str | None,
    timestamp_tolerance: int,
) -> None:
    """The official SDK's ``gr4vy.webhooks.verify_webhook``, a drop-in.

    As in SDK 2.4.27, ``timestamp_tolerance`` of 0 skips the timestamp check
    and errors are ``ValueError``s with the SDK's messages. Stricter: ``bytes``
    payloads verify, spaces after commas are allowed, a timestamp more than
    the tolerance in the future is refused, every signature is compared in
    constant time, the timestamp must be plain digits, and a header of more
    than :data:`MAX_SIGNATURES` signatures is refused (errors are
    :class:`~gr4vy_async.errors.WebhookVerificationError`).
    """
    tolerance = float(timestamp_tolerance) if timestamp_tolerance else None
    verify(payload, secret, signature_header, timestamp_header, tolerance=tolerance)


def _failed(check: str) -> WebhookVerificationError:
    return WebhookVerificationError(CHECKS[check], check=check)


def _timestamp(header: str) -> int:
    if not _TIMESTAMP.fullmatch(header.strip()):
        raise _failed("timestamp_format")
    return int(header)


def _candidates(header: str) -> list[bytes]:
    if len(header) > MAX_SIGNATURE_HEADER_LENGTH or header.count(",") >= MAX_SIGNATURES:
        raise _failed("too_many_signatures")
    return [part.strip().encode() for part in header.split(",")]


def secret_keys(secrets: Secrets) -> list[bytes]:
    """``secrets`` (one, or several) as HMAC keys; :class:`InvalidRequestError` if none or empty."""
    items = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    keys = [_encoded(item) for item in items]
    if not keys or not all(keys):
        raise InvalidRequestError("webhook secrets: give at least one, none empty")
    return keys


def _check_age(timestamp: int, tolerance: float, now: float) -> None:
    age = int(now) - timestamp
    if age > tolerance:
        raise _failed("timestamp_too_old")
    if -age > tolerance:
        raise _failed("timestamp_too_new")


def _encoded(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _signed_bytes(timestamp: int, payload: str | bytes) -> bytes:
    return f"{timestamp}.".encode() + _encoded(payload)


def _digest(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).hexdigest().encode()
