"""``python -m gr4vy_async demo``: the library's main job, end to end."""

from __future__ import annotations

import sys
import uuid
from datetime import datetime, timedelta, timezone

import msgspec

from . import models
from ._codec import decoder_for, encode_request
from .testing.payloads import seed_create_body


def demo() -> int:
    """Build the seed's create body, validate and encode it, decode a response."""
    body = seed_create_body()
    payload = encode_request(body, models.CheckoutSessionUpdate)
    print(f"create body: {len(payload)} bytes of JSON, validated against every constraint")
    response = msgspec.json.encode(
        {
            **msgspec.json.decode(payload),
            "type": "checkout-session",
            "id": str(uuid.uuid4()),
            "expires_at": datetime.now(timezone.utc) + timedelta(seconds=3600),
        }
    )
    session = decoder_for(models.CheckoutSession).decode(response)
    assert session.cart_items is not None
    print(f"decoded: CheckoutSession id={session.id} expires_at={session.expires_at:%H:%M:%SZ}")
    print(f"  cart: {len(session.cart_items)} item(s), buyer: {session.buyer!r}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["demo"]:
        print("usage: python -m gr4vy_async demo", file=sys.stderr)
        return 2
    return demo()


if __name__ == "__main__":
    sys.exit(main())
