"""``gr4vy-async demo``: the library's main job, end to end, against FakeGr4vy on loopback."""

from __future__ import annotations

from typing import TextIO

from .. import errors
from ..client import Gr4vy
from .fake import FakeGr4vy
from .payloads import seed_create_body

__all__ = ["run_demo"]


async def run_demo(out: TextIO) -> int:
    """Create the seed's session, get, update and delete it, then show the 404."""
    async with (
        FakeGr4vy() as fake,
        Gr4vy(
            server_url=fake.url, bearer_auth="demo-token", merchant_account_id="default"
        ) as client,
    ):
        out.write(f"FakeGr4vy listening on {fake.url}\n")
        sessions = client.checkout_sessions
        created = await sessions.create(request_body=seed_create_body())
        items = len(created.cart_items or [])
        out.write(f"created  {created.id}  {items} cart item(s), expires {created.expires_at}\n")
        fetched = await sessions.get(session_id=created.id)
        out.write(f"got      {fetched.id}  metadata={fetched.metadata}\n")
        updated = await sessions.update(
            session_id=created.id, metadata={"order_id": "order-12346"}, expires_in=7200
        )
        out.write(f"updated  {updated.id}  metadata={updated.metadata}\n")
        await sessions.delete(session_id=created.id)
        out.write(f"deleted  {created.id}\n")
        try:
            await sessions.get(session_id=created.id)
        except errors.Error404 as error:
            out.write(f"get after delete raised {type(error).__name__}: {error}\n")
        else:
            out.write("get after delete unexpectedly succeeded\n")
            return 1
        out.write(f"{len(fake.requests)} requests over loopback, all as documented\n")
    return 0
