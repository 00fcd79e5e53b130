"""A token provider's token is checked on every attempt, even when it repeats.

The transport keeps the last token's checked header value, so a repeated
token is not scanned again; these tests pin that a new token is what is sent
and that a bad token is refused after good ones, before any request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from gr4vy_async import Gr4vy
from gr4vy_async.errors import InvalidRequestError

SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback server answering every request 204, recording its Authorization."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", seen
    finally:
        await runner.cleanup()


async def test_each_attempt_sends_the_providers_current_token(
    server: tuple[str, list[str]],
) -> None:
    url, seen = server
    tokens: Iterator[str] = iter(["one", "one", "two", "one"])
    async with Gr4vy(server_url=url, bearer_auth=lambda: next(tokens)) as client:
        for _ in range(4):
            await client.checkout_sessions.delete(session_id=SESSION_ID)
    assert seen == ["Bearer one", "Bearer one", "Bearer two", "Bearer one"]


@pytest.mark.parametrize("bad", ["", "line\nbreak", "tab\tok\x7f", 42], ids=repr)
async def test_a_bad_token_after_good_ones_is_refused_before_sending(
    server: tuple[str, list[str]], bad: object
) -> None:
    url, seen = server
    tokens = iter(["good", "good", bad])

    async def provider() -> str:
        return next(tokens)  # type: ignore[return-value]

    async with Gr4vy(server_url=url, bearer_auth=provider) as client:
        await client.checkout_sessions.delete(session_id=SESSION_ID)
        await client.checkout_sessions.delete(session_id=SESSION_ID)
        with pytest.raises(InvalidRequestError, match=r"^bearer_auth: ") as info:
            await client.checkout_sessions.delete(session_id=SESSION_ID)
    assert info.value.field == "bearer_auth"
    assert seen == ["Bearer good", "Bearer good"]
