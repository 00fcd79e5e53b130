"""An aiohttp endpoint for Gr4vy webhooks: verified, acknowledged in time, handled once."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from .._defaults import LOGGER_NAME
from ..errors import InvalidRequestError, WebhookVerificationError
from .signatures import (
    DEFAULT_TOLERANCE,
    ID_HEADER,
    SIGNATURES_HEADER,
    TIMESTAMP_HEADER,
    Secrets,
    WebhookEvent,
    parse,
    secret_keys,
)

__all__ = [
    "DEFAULT_ACK_WITHIN",
    "DEFAULT_MAX_BODY_BYTES",
    "OnEvent",
    "SeenIds",
    "SeenStore",
    "WebhookReceiver",
]

_logger = logging.getLogger(f"{LOGGER_NAME}.webhooks")

#: Largest body read (bytes); a larger one is refused with 413 before it is verified.
DEFAULT_MAX_BODY_BYTES = 256 * 1024
#: Seconds ``on_event`` has before the delivery is acknowledged anyway (Gr4vy waits 5).
DEFAULT_ACK_WITHIN = 3.0
#: What handles a verified event.
OnEvent = Callable[[WebhookEvent], Awaitable[object]]
#: Checks whose failure means "not from Gr4vy" (401); the others are malformed requests (400).
_UNAUTHORIZED = frozenset({"signature", "timestamp_too_old", "timestamp_too_new"})


class SeenStore(Protocol):
    """Where a receiver records the event ids it has accepted."""

    def add(self, key: str) -> bool:
        """Record ``key``; ``False`` when it was already recorded."""

    def discard(self, key: str) -> None:
        """Forget ``key`` (its handling failed: Gr4vy's retry must get through)."""


class SeenIds:
    """The last ``maxsize`` ids seen, in this process (the default :class:`SeenStore`).

    Nothing survives a restart: a retry arriving after one is handled again.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise InvalidRequestError("maxsize must be >= 1")
        self.maxsize = maxsize
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Record ``key``; ``False`` when it was already recorded."""
        if key in self._ids:
            self._ids.move_to_end(key)
            return False
        self._ids[key] = None
        if len(self._ids) > self.maxsize:
            self._ids.popitem(last=False)
        return True

    def discard(self, key: str) -> None:
        """Forget ``key``."""
        self._ids.pop(key, None)

    def __len__(self) -> int:
        return len(self._ids)


class WebhookReceiver:
    """A webhook endpoint for an aiohttp app: ``receiver.attach(app, "/webhooks/gr4vy")``.

    Per delivery: the body is read up to ``max_body_bytes`` (413 beyond),
    verified against ``secrets`` within ``tolerance`` (401 when the signature
    or the timestamp fails, 400 when headers or the body are malformed; a
    one-line ``text/plain`` reason), and dropped with a 200 when its
    ``X-Gr4vy-Webhook-ID`` or its event ``id`` was accepted before (``seen``,
    by default the last 10,000 in this process). Then ``on_event(event)``
    runs as a task: finished within ``ack_within`` seconds, the answer is 200
    (or 500 if it raised, and the id is forgotten so Gr4vy's retry is
    handled); still running, the answer is 202 and the task goes on in the
    background, logged if it fails. :meth:`close` (on the app's cleanup,
    with :meth:`attach`; call it yourself when you route :meth:`handle`)
    waits for those tasks.
    """

    def __init__(
        self,
        secrets: Secrets,
        on_event: OnEvent,
        *,
        tolerance: float | None = DEFAULT_TOLERANCE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        ack_within: float = DEFAULT_ACK_WITHIN,
        seen: SeenStore | None = None,
    ) -> None:
        self._secrets = secret_keys(secrets)
        if not 0 <= ack_within < 5:
            raise InvalidRequestError("ack_within must be >= 0 and under Gr4vy's 5 s")
        self._on_event = on_event
        self._tolerance = tolerance
        self._max_body_bytes = max_body_bytes
        self._ack_within = ack_within
        self.seen: SeenStore = SeenIds() if seen is None else seen
        self.background: set[asyncio.Task[object]] = set()
        """``on_event`` tasks still running after their delivery was acknowledged."""

    def attach(self, app: web.Application, path: str) -> None:
        """Serve ``POST path`` and :meth:`close` on the app's cleanup."""
        app.router.add_post(path, self.handle)
        app.on_cleanup.append(self._cleanup)

    async def _cleanup(self, app: web.Application) -> None:
        await self.close()

    async def close(self) -> None:
        """Wait for every ``on_event`` still running in the background."""
        while self.background:
            await asyncio.gather(*self.background, return_exceptions=True)

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler (``app.router.add_post(path, receiver.handle)``)."""
        body = await self._body(request)
        if body is None:
            return _reply(413, "body too large")
        headers = request.headers
        try:
            event = parse(
                body,
                self._secrets,
                headers.get(SIGNATURES_HEADER),
                headers.get(TIMESTAMP_HEADER),
                webhook_id=headers.get(ID_HEADER),
                tolerance=self._tolerance,
            )
        except WebhookVerificationError as exc:
            return _reply(401 if exc.check in _UNAUTHORIZED else 400, exc.message)
        keys = _keys(event)
        if not all([self.seen.add(key) for key in keys]):  # a list: record every key
            return _reply(200, "duplicate: already received")
        return await self._handle(event, keys)

    async def _body(self, request: web.Request) -> bytes | None:
        """The raw body, or ``None`` when it is over the bound."""
        limit = self._max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _handle(self, event: WebhookEvent, keys: list[str]) -> web.Response:
        task: asyncio.Task[object] = asyncio.ensure_future(self._on_event(event))
        try:
            done, _ = await asyncio.wait([task], timeout=self._ack_within)
        except asyncio.CancelledError:  # the request was cancelled: the event is still handled
            self._to_background(task, event)
            raise
        if not done:
            self._to_background(task, event)
            return _reply(202, "accepted: being handled")
        if _failed(task):
            for key in keys:
                self.seen.discard(key)
            _log_failure(event, task)
            return _reply(500, "handler failed")
        return _reply(200, "ok")

    def _to_background(self, task: asyncio.Task[object], event: WebhookEvent) -> None:
        self.background.add(task)
        task.add_done_callback(lambda done: self._finished(done, event))

    def _finished(self, task: asyncio.Task[object], event: WebhookEvent) -> None:
        self.background.discard(task)
        if _failed(task):
            _log_failure(event, task)


def _keys(event: WebhookEvent) -> list[str]:
    """Both ids: a replay with another ID header still repeats the signed event id."""
    keys = [f"event:{event.id}"]
    if event.webhook_id:
        keys.append(f"webhook:{event.webhook_id}")
    return keys


def _failed(task: asyncio.Task[object]) -> bool:
    return task.cancelled() or task.exception() is not None


def _log_failure(event: WebhookEvent, task: asyncio.Task[object]) -> None:
    # The exception's type only: its message may hold buyer data from the event.
    failure = "CancelledError" if task.cancelled() else type(task.exception()).__name__
    _logger.error(
        "on_event raised %s for webhook event %s (%s)",
        failure,
        event.id,
        event.name,
    )


def _reply(status: int, reason: str) -> web.Response:
    return web.Response(status=status, text=reason + "\n")
