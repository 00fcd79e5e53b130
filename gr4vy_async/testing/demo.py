"""``gr4vy-async demo``: the library's main job, end to end, against FakeGr4vy on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

from .. import errors
from ..client import Gr4vy
from .fake import FakeGr4vy
from .payloads import seed_create_body

__all__ = ["run_demo"]


async def run_demo(out: TextIO, emit: Callable[[Any], None] | None = None) -> int:
    """Create the seed's session, get, update and delete it, then show the 404.

    One line per step on ``out``; with ``emit``, the steps are given to it
    as one document (``{"steps": [...]}``, for ``-o json|yaml``) instead.
    """
    steps: list[dict[str, Any]] = []

    def step(line: str, name: str, **fields: Any) -> None:
        steps.append({"step": name, **fields})
        if emit is None:
            out.write(line + "\n")

    async with (
        FakeGr4vy() as fake,
        Gr4vy(
            server_url=fake.url, bearer_auth="demo-token", merchant_account_id="default"
        ) as client,
    ):
        step(f"FakeGr4vy listening on {fake.url}", "listening", url=fake.url)
        sessions = client.checkout_sessions
        created = await sessions.create(request_body=seed_create_body())
        items = len(created.cart_items or [])
        step(
            f"created  {created.id}  {items} cart item(s), expires {created.expires_at}",
            "created",
            id=created.id,
            cart_items=items,
            expires_at=created.expires_at,
        )
        fetched = await sessions.get(session_id=created.id)
        step(
            f"got      {fetched.id}  metadata {json.dumps(fetched.metadata)}",
            "got",
            id=fetched.id,
            metadata=fetched.metadata,
        )
        updated = await sessions.update(
            session_id=created.id, metadata={"order_id": "order-12346"}, expires_in=7200
        )
        step(
            f"updated  {updated.id}  metadata {json.dumps(updated.metadata)}",
            "updated",
            id=updated.id,
            metadata=updated.metadata,
        )
        await sessions.delete(session_id=created.id)
        step(f"deleted  {created.id}", "deleted", id=created.id)
        try:
            await sessions.get(session_id=created.id)
        except errors.Error404 as error:
            step(
                f"get after delete raised {type(error).__name__}: {error}",
                "get_after_delete",
                raised=type(error).__name__,
                message=str(error),
            )
            code = 0
        else:
            step("get after delete unexpectedly succeeded", "get_after_delete", raised=None)
            code = 1
        requests = len(fake.requests)
        step(f"{requests} requests over loopback, all as documented", "done", requests=requests)
    if emit is not None:
        emit({"steps": steps})
    return code
