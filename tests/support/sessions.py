"""One checkout session and the four operations on it, as the client tests call them.

``SESSION_JSON`` is the session a mocked (aioresponses) answer returns, ``SESSION``
the same kind of body as bytes for a raw loopback server (``support.servers``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from support.aioresponses_compat import BASE_URL, CompatAioresponses
from yarl import URL

from gr4vy_async import Gr4vy
from gr4vy_async.testing.payloads import seed_create_body

__all__ = [
    "COLLECTION",
    "ITEM",
    "OPERATIONS",
    "OPERATION_IDS",
    "SESSION",
    "SESSION_ID",
    "SESSION_JSON",
    "Call",
    "attempts",
]

SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
COLLECTION = f"{BASE_URL}/checkout/sessions"
ITEM = f"{COLLECTION}/{SESSION_ID}"
SESSION_JSON = {
    "type": "checkout-session",
    "id": SESSION_ID,
    "expires_at": "2030-07-16T19:23:00+00:00",
    "metadata": {"order_id": "order-12345"},
}
SESSION = json.dumps(
    {"type": "checkout-session", "id": SESSION_ID, "expires_at": "2030-01-01T00:00:00Z"}
).encode()

Call = Callable[[Gr4vy], Awaitable[Any]]

# Each operation: (name, HTTP method, URL, the call, spec path, success status).
OPERATIONS: list[tuple[str, str, str, Call, str, int]] = [
    (
        "create",
        "POST",
        COLLECTION,
        lambda c: c.checkout_sessions.create(request_body=seed_create_body()),
        "/checkout/sessions",
        201,
    ),
    (
        "get",
        "GET",
        ITEM,
        lambda c: c.checkout_sessions.get(session_id=SESSION_ID),
        "/checkout/sessions/{session_id}",
        200,
    ),
    (
        "update",
        "PUT",
        ITEM,
        lambda c: c.checkout_sessions.update(session_id=SESSION_ID, metadata={"k": "v"}),
        "/checkout/sessions/{session_id}",
        200,
    ),
    (
        "delete",
        "DELETE",
        ITEM,
        lambda c: c.checkout_sessions.delete(session_id=SESSION_ID),
        "/checkout/sessions/{session_id}",
        204,
    ),
]
OPERATION_IDS = [op[0] for op in OPERATIONS]


def attempts(mock: CompatAioresponses, method: str, url: str) -> int:
    """How many requests ``mock`` saw for ``method`` and ``url``."""
    return len(mock.requests.get((method, URL(url)), []))
