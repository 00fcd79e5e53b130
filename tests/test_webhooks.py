"""Webhook signatures (gr4vy_async.webhooks): the SDK's vector, the stricter checks, the event.

The first tests are the official SDKs' shared test vector (gr4vy-python
``tests/test_webhooks.py``) with only the import changed: ``verify_webhook``
is a drop-in. The rest are where this library is stricter than SDK 2.4.27,
and the security checks of issue 24.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gr4vy_async import errors
from gr4vy_async.webhooks import (
    MAX_SIGNATURES,
    Secrets,
    WebhookEvent,
    parse,
    sign,
    verify,
    verify_webhook,
)

SDK_SECRET = (
    "Ik4L-8FH0ihWczctcIPXZRR_8F0fPNgmhEfVBbZ3zNwqQVa1Or4tBz4Pgw2eNaVDod7H56Y268h_wohEUaWbUg"
)
SDK_SIGNATURE = "78aca0c78005107a654a957b8566fa6e0e5e06aea92d7da72a6da9e5a690d013"
SDK_TIMESTAMP = "1744018920"
SECRET = "whsec-test-" + "k" * 40
OTHER_SECRET = "whsec-other-" + "o" * 40
EVENT: dict[str, Any] = {
    "type": "event",
    "id": "0b3b3f3c-5b6a-4a8e-9f0e-2f0d6f3c2a11",
    "name": "transaction.captured",
    "merchant_account_id": "default",
    "created_at": "2026-12-06T12:00:00.000+00:00",
    "target": {"type": "transaction", "id": "t-1", "checkout_session_id": "cs-1", "amount": 1299},
}
BODY = json.dumps(EVENT).encode()


def signed(
    body: bytes | str = BODY, secret: str = SECRET, at: int | None = None
) -> tuple[str, str]:
    return sign(body, secret, int(time.time()) if at is None else at)


# ------------------------------------------------------------------ the SDK's shared vector


def test_verify_webhook_signature() -> None:
    signature_header = f"{SDK_SIGNATURE},other"
    verify_webhook("payload", SDK_SECRET, signature_header, SDK_TIMESTAMP, 0)


def test_verify_webhook_old_timestamp() -> None:
    with pytest.raises(ValueError, match="Timestamp too old"):
        verify_webhook("payload", SDK_SECRET, f"{SDK_SIGNATURE},other", SDK_TIMESTAMP, 60)


def test_verify_webhook_wrong_signature() -> None:
    with pytest.raises(ValueError, match="No matching signature found"):
        verify_webhook("payload", SDK_SECRET, "other", SDK_TIMESTAMP, 0)


def test_verify_webhook_invalid_timestamp() -> None:
    with pytest.raises(ValueError, match="Invalid header timestamp"):
        verify_webhook("payload", SDK_SECRET, f"{SDK_SIGNATURE},other", "wrong", 0)


@pytest.mark.parametrize(
    ("signature_header", "timestamp_header"),
    [(None, SDK_TIMESTAMP), (f"{SDK_SIGNATURE},other", None)],
)
def test_verify_webhook_missing_header(
    signature_header: str | None, timestamp_header: str | None
) -> None:
    with pytest.raises(ValueError, match="Missing header values"):
        verify_webhook("payload", SDK_SECRET, signature_header, timestamp_header, 0)


def test_sign_makes_the_vector_signature() -> None:
    assert sign("payload", SDK_SECRET, int(SDK_TIMESTAMP)) == (SDK_SIGNATURE, SDK_TIMESTAMP)


# ------------------------------------------------------------------ stricter than SDK 2.4.27


def test_bytes_payload_verifies() -> None:
    """The SDK formats ``b'payload'`` into the signed string, so aiohttp's bytes never verify."""
    verify_webhook(b"payload", SDK_SECRET, SDK_SIGNATURE, SDK_TIMESTAMP, 0)
    verify(BODY, SECRET, *signed())


def test_spaces_after_commas_are_allowed() -> None:
    verify_webhook("payload", SDK_SECRET, f"other, {SDK_SIGNATURE}", SDK_TIMESTAMP, 0)


def test_verify_webhook_refuses_a_future_timestamp() -> None:
    signature, timestamp = signed("payload", SDK_SECRET, int(time.time()) + 86_400)
    with pytest.raises(errors.WebhookVerificationError, match="too new") as caught:
        verify_webhook("payload", SDK_SECRET, signature, timestamp, 300)
    assert caught.value.check == "timestamp_too_new"


def test_timestamp_must_be_plain_digits() -> None:
    """``int()`` takes ``+1``, ``1_0`` and non-ASCII digits; the header is Unix seconds."""
    for header in ("+1744018920", "1744_018920", "١٧٤٤٠١٨٩٢٠", "-1", "1.5"):
        with pytest.raises(errors.WebhookVerificationError) as caught:
            verify_webhook("payload", SDK_SECRET, SDK_SIGNATURE, header, 0)
        assert caught.value.check == "timestamp_format"


def test_errors_are_typed_and_still_value_errors() -> None:
    with pytest.raises(errors.WebhookVerificationError) as caught:
        verify_webhook("payload", SDK_SECRET, "other", SDK_TIMESTAMP, 0)
    assert isinstance(caught.value, errors.Gr4vyError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.check == "signature"


# ------------------------------------------------------------------ verify / parse


def test_tolerance_defaults_to_300_seconds_both_ways() -> None:
    now = 2_000_000_000
    for offset in (-300, 0, 300):
        verify(BODY, SECRET, *signed(at=now + offset), now=now)
    for offset, check in ((-301, "timestamp_too_old"), (301, "timestamp_too_new")):
        with pytest.raises(errors.WebhookVerificationError) as caught:
            verify(BODY, SECRET, *signed(at=now + offset), now=now)
        assert caught.value.check == check


def test_tolerance_zero_means_this_second_and_none_skips_the_check() -> None:
    now = 2_000_000_000
    verify(BODY, SECRET, *signed(at=now), tolerance=0, now=now + 0.9)
    with pytest.raises(errors.WebhookVerificationError, match="too old"):
        verify(BODY, SECRET, *signed(at=now - 1), tolerance=0, now=now)
    verify(BODY, SECRET, *signed(at=1), tolerance=None)


def test_several_secrets_for_a_rotation() -> None:
    """During a rotation Gr4vy signs with both secrets; either secret alone verifies."""
    now = int(time.time())
    both = ",".join(sign(BODY, key, now)[0] for key in (OTHER_SECRET, SECRET))
    verify(BODY, SECRET, both, str(now))
    verify(BODY, [OTHER_SECRET.encode()], both, str(now))
    verify(BODY, ["not-it", SECRET], signed()[0], str(now))


def test_str_and_bytes_payloads_sign_alike() -> None:
    text = '{"name": "caf\u00e9"}'
    assert sign(text, SECRET, 1) == sign(text.encode(), SECRET, 1)


def test_bad_configuration_is_an_invalid_request() -> None:
    no_secrets: list[Secrets] = ["", [], ["ok", b""]]
    for secrets in no_secrets:
        with pytest.raises(errors.InvalidRequestError, match="secrets"):
            verify(BODY, secrets, *signed())
    with pytest.raises(errors.InvalidRequestError, match="tolerance"):
        verify(BODY, SECRET, *signed(), tolerance=-1)


def test_parse_returns_the_event_with_every_field_kept() -> None:
    event_json: dict[str, Any] = {
        **EVENT,
        "name": "payout.settled-next-year",
        "schema_version": 7,
        "target": {**EVENT["target"], "new_field": [1]},
    }
    body = json.dumps(event_json).encode()
    event = parse(body, SECRET, *signed(body), webhook_id="w-1")
    assert isinstance(event, WebhookEvent)
    assert (event.id, event.name, event.type) == (EVENT["id"], "payout.settled-next-year", "event")
    assert event.merchant_account_id == "default"
    assert event.created_at is not None
    assert event.created_at.year == 2026
    assert event.target["new_field"] == [1]
    assert event.checkout_session_id == "cs-1"
    assert event.extra == {"schema_version": 7}
    assert event.webhook_id == "w-1"


@pytest.mark.parametrize("body", [b"[]", b"not json", b'{"id": "x"}', b'{"id": 1, "name": "n"}'])
def test_parse_refuses_a_verified_body_that_is_no_event(body: bytes) -> None:
    with pytest.raises(errors.WebhookVerificationError) as caught:
        parse(body, SECRET, *signed(body))
    assert caught.value.check == "payload"


def test_parse_verifies_before_decoding() -> None:
    with pytest.raises(errors.WebhookVerificationError) as caught:
        parse(b"not json", SECRET, "0" * 64, str(int(time.time())))
    assert caught.value.check == "signature"


# ------------------------------------------------------------------ security


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"secret": OTHER_SECRET}, "signature"),
        ({"body": BODY.replace(b"1299", b"1")}, "signature"),
        ({"timestamp": +1}, "signature"),
        ({"signature": None}, "missing_header"),
        ({"timestamp_header": None}, "missing_header"),
        ({"signature": ""}, "missing_header"),
        ({"age": 301}, "timestamp_too_old"),
        ({"age": -301}, "timestamp_too_new"),
        ({"signature": ",".join(["0" * 64] * 10_000)}, "too_many_signatures"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_a_forged_or_stale_delivery_is_refused(change: dict[str, Any], check: str) -> None:
    now = int(time.time())
    at = now - change.get("age", 0)
    signature, timestamp = sign(BODY, change.get("secret", SECRET), at)
    timestamp = str(int(timestamp) + change.get("timestamp", 0))
    with pytest.raises(errors.WebhookVerificationError) as caught:
        verify(
            change.get("body", BODY),
            SECRET,
            change.get("signature", signature),
            change.get("timestamp_header", timestamp),
            now=now,
        )
    assert caught.value.check == check


def test_every_candidate_is_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Constant time for every candidate and every secret: no ``==``, no short cut on a match."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    signature, timestamp = signed()
    verify(BODY, [SECRET, OTHER_SECRET], f"{signature}, {'1' * 64}, other", timestamp)
    assert len(calls) == 2 * 3  # the match was the first candidate of the first secret
    assert signature.encode() in {b for _, b in calls}


def test_ten_thousand_signatures_are_refused_before_any_hmac(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hmac, "new", pytest.fail)
    for header in (",".join(["a"] * 10_000), ",".join(["a"] * (MAX_SIGNATURES + 1)), "a" * 5000):
        with pytest.raises(errors.WebhookVerificationError, match="Too many signatures"):
            verify(BODY, SECRET, header, str(int(time.time())))


def test_messages_never_hold_a_secret_a_signature_or_the_payload() -> None:
    now = int(time.time())
    signature, _ = sign(BODY, SECRET, now)
    attempts = [
        (BODY, signature[:-1] + ("1" if signature.endswith("0") else "0"), str(now)),
        (BODY, signature, str(now - 10_000)),
        (b"\x00secret-payload", signature, "x" + SECRET),
    ]
    for body, header, timestamp in attempts:
        with pytest.raises(errors.WebhookVerificationError) as caught:
            parse(body, SECRET, header, timestamp, now=now)
        text = f"{caught.value} {caught.value!r} {caught.value.message}"
        for value in (SECRET, signature, "1299", "secret-payload", "cs-1"):
            assert value not in text


@settings(max_examples=50, deadline=None)
@given(
    payload=st.binary(max_size=200),
    secret=st.text(min_size=1, max_size=40),
    at=st.integers(0, 2**40),
)
def test_what_sign_makes_verify_accepts(payload: bytes, secret: str, at: int) -> None:
    signature, timestamp = sign(payload, secret, at)
    verify(payload, secret, signature, timestamp, now=at)
