"""Small raw aiohttp.web servers on 127.0.0.1 for tests that need a hostile or odd upstream,
and a client for them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from support.aioresponses_compat import TOKEN
from support.sessions import SESSION

from gr4vy_async import Gr4vy, RetryConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RawServer:
    """``async with RawServer(handler) as server``: every request goes to ``handler``.

    ``server.seen`` lists the requests that reached the handler.
    """

    handler: Handler
    seen: list[Seen] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, dict(request.headers), body))
        return await self.handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> RawServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class ThreadedServer:
    """A :class:`RawServer` running in a thread with its own event loop.

    For tests that call ``asyncio.run`` themselves (several loops, one server).
    """

    def __init__(self, handler: Handler) -> None:
        self.server = RawServer(handler)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def json_response(status: int, body: bytes, **headers: str) -> web.Response:
    """A response with ``body`` as given and a JSON content type unless one is passed."""
    headers.setdefault("Content-Type", "application/json")
    return web.Response(status=status, body=body, headers=headers)


def answer(status: int, body: bytes, **headers: str) -> Handler:
    """A handler answering every request with ``status`` and ``body`` (:func:`json_response`)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response(status, body, **headers)

    return handler


def raw_client(url: str, **kwargs: Any) -> Gr4vy:
    """A client for the server at ``url`` with :data:`TOKEN` and no retries unless given."""
    kwargs.setdefault("retries", RetryConfig.none())
    return Gr4vy(server_url=url, bearer_auth=kwargs.pop("bearer_auth", TOKEN), **kwargs)


async def session_or_404(request: web.Request) -> web.StreamResponse:
    """A handler answering ``support.sessions.SESSION`` (404 for a path ending ``/missing``)."""
    if request.path.endswith("/missing"):
        return json_response(404, b'{"type": "error", "code": "not_found"}')
    return json_response(200, SESSION)
