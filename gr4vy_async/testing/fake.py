"""FakeGr4vy: an in-process Gr4vy checkout-sessions server, with fault injection.

An ``aiohttp.web`` application speaking the checkout-sessions contract over
real HTTP on loopback::

    async with FakeGr4vy() as fake:
        fake.faults.enqueue("GET", Fault.status(503), times=3)
        ...  # point a client at fake.url
        assert fake.requests[-1].status == 200

Request bodies are checked with the library's own models (the same
validation the client runs before sending), responses are encoded from the
same models, and error bodies are the spec's documented ``ErrorNNN`` bodies.
With ``evolve=True`` it answers as a later release of the API might (see
:class:`~gr4vy_async.testing.evolve.Evolution`). Every request is recorded
(without its ``Authorization`` header), and the
number of requests in flight is tracked, so tests can assert on what a client
sent and how concurrently it sent it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from aiohttp import web

from .. import models
from .._codec import validate
from ..errors import ERRORS_BY_STATUS
from ._auth import SCOPES, TokenVerifier, bearer_token
from ._replies import (
    Reply,
    answer_early,
    decode_json,
    error_response,
    json_response,
    rate_limited,
    validated,
)
from ._requests import (
    DEFAULT_MERCHANT_ACCOUNT_ID,
    RecordedRequest,
    merchant_account_id,
    redacted,
    token_digest,
)
from ._state import Clock, Sessions, TokenBucket, utcnow
from .evolve import Evolution
from .faults import FaultScript, Handler, apply_fault, validation_body
from .webhooks import Delivery, deliver, transaction_event

__all__ = ["DEFAULT_MERCHANT_ACCOUNT_ID", "Clock", "FakeGr4vy", "RecordedRequest"]

_COLLECTION = "/checkout/sessions"
_ITEM = "/checkout/sessions/{session_id}"
#: The model of each status's body the fake answers with: what an evolving fake rewrites.
_BODY_MODELS: Mapping[int, Any] = {
    200: models.CheckoutSession,
    201: models.CheckoutSession,
    **{status: error.model for status, error in ERRORS_BY_STATUS.items()},
}


def _session_key(request: web.Request) -> tuple[str, str]:
    """The store key of the path's session; a 422 when ``session_id`` is not a UUID."""
    raw = request.match_info["session_id"]
    try:
        session_id = str(uuid.UUID(msgspec.convert(raw, models.Uuid)))
    except (msgspec.ValidationError, ValueError):
        body = validation_body(
            ["path", "session_id"], "Input should be a valid UUID", "uuid_parsing"
        )
        raise Reply(json_response(422, body)) from None
    return merchant_account_id(request.headers), session_id


def _found(session: models.CheckoutSession | None) -> web.Response:
    """200 with ``session``, or the documented 404 when there is none."""
    if session is None:
        return error_response(404)
    return json_response(200, msgspec.json.encode(session))


def _as_update(body: Any) -> models.CheckoutSessionUpdate:
    """A create body (a model, a list of empty objects or null) as one update."""
    return (
        body if isinstance(body, models.CheckoutSessionUpdate) else models.CheckoutSessionUpdate()
    )


# --------------------------------------------------------------------------- the server


class FakeGr4vy:
    """A Gr4vy checkout-sessions server on loopback, for tests.

    ``async with FakeGr4vy() as fake:`` serves on ``fake.url`` (a free port
    on 127.0.0.1 unless ``port`` is given) until the block ends. A request
    is recorded and counted in flight first, then gets its fault (if any),
    then is authenticated, validated and answered.

    - ``public_key``: a PEM public key; when set, bearer tokens must be ES512
      JWTs it verifies, with the scope each operation needs (``scopes``
      claim; ``*.read``/``*.write`` count). Without it any bearer token works.
    - ``clock``: returns the current aware ``datetime``; drives ``expires_at``
      and expiry, so tests can move time on.
    - ``shutdown_timeout``: seconds :meth:`stop` waits for requests still
      being handled (a delayed fault) before cancelling them.
    - ``rate_limit``: requests per second over all requests (a token bucket
      of ``rate_limit_burst`` tokens, default a tenth of a second's worth,
      at least 1); a request over it is answered 429 with ``Retry-After``
      before its fault or handler.
    - ``evolve``: answer as a later release of the API might: every object
      in a response body gains a field this release does not know, every
      enum field a value it does not know (the stored sessions are not
      changed; a fault's response is sent as scripted). ``evolve_seed``
      draws the names and values: the same seed, the same bytes.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_key: str | bytes | None = None,
        clock: Clock | None = None,
        shutdown_timeout: float = 1.0,
        rate_limit: float | None = None,
        rate_limit_burst: float | None = None,
        evolve: bool = False,
        evolve_seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.faults = FaultScript()
        """The fault script: ``fake.faults.enqueue(...)``, ``fake.faults.rate(...)``."""
        self.requests: list[RecordedRequest] = []
        """Every request received, in arrival order."""
        self.in_flight = 0
        """Requests being handled right now."""
        self.max_in_flight = 0
        """The most requests ever handled at once (since start or :meth:`reset`)."""
        self._sessions = Sessions(clock or utcnow)
        self._verifier = None if public_key is None else TokenVerifier(public_key)
        self._shutdown_timeout = shutdown_timeout
        self._bucket = (
            None
            if rate_limit is None
            else TokenBucket(rate_limit, rate_limit_burst or max(1.0, rate_limit / 10))
        )
        self._evolution = Evolution(evolve_seed) if evolve else None
        self._runner: web.AppRunner | None = None
        self.app = self._build_app()
        """The ``aiohttp.web.Application`` (to mount or run another way)."""

    # ------------------------------------------------------------ lifecycle

    @property
    def evolve(self) -> bool:
        """Whether responses are rewritten as a later API release might send them."""
        return self._evolution is not None

    @property
    def evolve_seed(self) -> int | None:
        """The seed of the evolution (``None`` when ``evolve`` is off)."""
        return None if self._evolution is None else self._evolution.seed

    @property
    def url(self) -> str:
        """The base URL to point a client at, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Start serving; ``port`` then holds the port actually bound."""
        if self._runner is not None:
            raise RuntimeError("FakeGr4vy is already running")
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=self._shutdown_timeout
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeGr4vy:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ state

    @property
    def sessions(self) -> Mapping[tuple[str, str], models.CheckoutSession]:
        """Stored sessions by ``(merchant_account_id, session_id)`` (read-only, live)."""
        return self._sessions.view

    def create_session(
        self,
        body: models.CheckoutSessionUpdate | Mapping[str, Any] | None = None,
        *,
        merchant_account_id: str = DEFAULT_MERCHANT_ACCOUNT_ID,
        session_id: str | None = None,
    ) -> models.CheckoutSession:
        """Store a session directly, without a request (to seed a test).

        ``body`` is validated like a create body; ``session_id`` (a UUID)
        replaces the random id, e.g. to match a documented example.
        """
        update = validate(body if body is not None else {}, models.CheckoutSessionUpdate)
        chosen = None if session_id is None else str(uuid.UUID(session_id))
        return self._sessions.create(merchant_account_id, update, chosen)

    async def send_webhook(
        self,
        url: str,
        secrets: str | bytes | Iterable[str | bytes],
        *,
        session_id: str | None = None,
        merchant_account_id: str = DEFAULT_MERCHANT_ACCOUNT_ID,
        name: str = "transaction.captured",
        **delivery: Any,
    ) -> Delivery:
        """Deliver a signed transaction event for a stored session to ``url``, as Gr4vy does.

        ``session_id`` (default: a session created now) must be stored on the
        fake. ``delivery``: :func:`~gr4vy_async.testing.webhooks.deliver`'s
        options (``retry_delays``, ``timeout``, ``webhook_id``).
        """
        if session_id is None:
            session_id = self.create_session(merchant_account_id=merchant_account_id).id
        elif self._sessions.find((merchant_account_id, session_id)) is None:
            raise ValueError("session_id: no such session stored on the fake")
        event = transaction_event(session_id, merchant_account_id=merchant_account_id, name=name)
        return await deliver(url, secrets, event, **delivery)

    def reset(self) -> None:
        """Forget every session, fault and recorded request."""
        self._sessions.clear()
        self.faults.clear()
        self.requests.clear()
        self.max_in_flight = self.in_flight

    # ------------------------------------------------------------ the app

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._serve, answer_early, self._authenticate])
        app.router.add_post(_COLLECTION, self._create)
        app.router.add_get(_ITEM, self._get, allow_head=False)
        app.router.add_put(_ITEM, self._update)
        app.router.add_delete(_ITEM, self._delete)
        return app

    @web.middleware
    async def _serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record the request, count it in flight, apply its fault."""
        token = bearer_token(request)
        record = RecordedRequest(
            request.method,
            request.path,
            redacted(request.headers),
            await request.read(),
            time.monotonic(),
            token_digest=None if token is None else token_digest(token),
        )
        self.requests.append(record)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            wait = 0.0 if self._bucket is None else self._bucket.take()
            if wait:
                record.status = 429
                return self._evolved(rate_limited(wait))
            record.fault = self.faults.pick(request.method, request.path)
            if record.fault is None:
                response = self._evolved(await handler(request))
            else:
                response = await apply_fault(record.fault, request, handler)
            dropped = record.fault is not None and record.fault.drops_connection
            record.status = None if dropped else response.status
            return response
        finally:
            self.in_flight -= 1

    def _evolved(self, response: web.StreamResponse) -> web.StreamResponse:
        """``response`` as a later API release might send it, when ``evolve`` is on."""
        model = _BODY_MODELS.get(response.status)
        if (
            self._evolution is not None
            and model is not None
            and isinstance(response, web.Response)
            and isinstance(response.body, bytes)
        ):
            response.body = self._evolution.apply(response.body, model)
        return response

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """401 without a bearer token; with a key configured, check it and its scope."""
        token = bearer_token(request)
        if token is None:
            return error_response(401)
        if self._verifier is not None:
            failure = self._verifier.check(token, SCOPES.get(request.method))
            if failure is not None:
                return failure
        return await handler(request)

    async def _create(self, request: web.Request) -> web.Response:
        body = validated(decode_json(await request.read()), models.CreateCheckoutSessionBody)
        session = self._sessions.create(merchant_account_id(request.headers), _as_update(body))
        return json_response(201, msgspec.json.encode(session))

    async def _get(self, request: web.Request) -> web.Response:
        session = self._sessions.find(_session_key(request))
        return _found(session)

    async def _update(self, request: web.Request) -> web.Response:
        key = _session_key(request)
        value = decode_json(await request.read())
        update = validated(value, models.CheckoutSessionUpdate)
        session = self._sessions.replace(key, update, given=value)
        return _found(session)

    async def _delete(self, request: web.Request) -> web.Response:
        if not self._sessions.delete(_session_key(request)):
            return error_response(404)
        return web.Response(status=204, headers={"x-request-id": str(uuid.uuid4())})
