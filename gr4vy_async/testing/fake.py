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

import dataclasses
import hashlib
import hmac
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import msgspec
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from .. import models
from .._codec import validate
from ..errors import ERRORS_BY_STATUS, InvalidRequestError
from .evolve import Evolution
from .faults import (
    INVALID_CREDENTIALS,
    Fault,
    FaultScript,
    Handler,
    apply_fault,
    error_body,
    validation_body,
)
from .webhooks import Delivery, deliver, transaction_event

__all__ = ["DEFAULT_MERCHANT_ACCOUNT_ID", "Clock", "FakeGr4vy", "RecordedRequest"]

#: The merchant account of a request without an ``x-gr4vy-merchant-account-id`` header.
DEFAULT_MERCHANT_ACCOUNT_ID = "default"
#: What ``FakeGr4vy(clock=...)`` takes: the current time, timezone-aware.
Clock = Callable[[], datetime]

_COLLECTION = "/checkout/sessions"
_ITEM = "/checkout/sessions/{session_id}"
_MERCHANT_HEADER = "x-gr4vy-merchant-account-id"
#: The scope each method needs, as in the spec's security requirements.
_SCOPES = {
    "GET": "checkout-sessions.read",
    "POST": "checkout-sessions.write",
    "PUT": "checkout-sessions.write",
    "DELETE": "checkout-sessions.write",
}
#: The model of each status's body the fake answers with: what an evolving fake rewrites.
_BODY_MODELS: Mapping[int, Any] = {
    200: models.CheckoutSession,
    201: models.CheckoutSession,
    **{status: error.model for status, error in ERRORS_BY_STATUS.items()},
}
#: Fields a create/update body shares with the session it stores.
_SESSION_FIELDS = tuple(
    name
    for name in models.CheckoutSession.__struct_fields__
    if name in models.CheckoutSessionUpdate.__struct_fields__
)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _json(status: int, body: bytes) -> web.Response:
    headers = {"x-request-id": str(uuid.uuid4())}
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def _error(status: int, message: str | None = None) -> web.Response:
    return _json(status, error_body(status, message))


class _Reply(Exception):
    """Raised by a handler to answer at once with ``response``."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


# --------------------------------------------------------------------------- 422 bodies

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
#: msgspec/_codec message fragment -> the validation error ``type`` reported.
_ERROR_TYPES = (
    ("unknown field", "extra_forbidden"),
    ("missing required field", "missing"),
    ("Invalid enum value", "enum"),
    (", got `", "type_error"),
)


def _location(path: str) -> list[str | int]:
    """``cart_items[0].quantity`` -> ``["cart_items", 0, "quantity"]``."""
    parts: list[str | int] = []
    for name, index in _PATH_PART.findall(path):
        if name == "...":
            continue  # a dict key msgspec does not name
        parts.append(int(index) if index else name)
    return parts


def _validation_error(where: str, exc: InvalidRequestError) -> web.Response:
    """A 422 whose ``detail`` points at the field ``exc`` names."""
    kind = next((kind for text, kind in _ERROR_TYPES if text in exc.reason), "value_error")
    return _json(422, validation_body([where, *_location(exc.field or "")], exc.reason, kind))


def _decode_json(body: bytes) -> Any:
    """The JSON value of a request body (an empty body is ``null``); 400 if malformed."""
    if not body.strip():
        return None
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        detail = models.ErrorDetail(
            location=models.ErrorLocation.BODY, pointer="/", message=str(exc), type="json_invalid"
        )
        message = "Request body is not valid JSON"
        raise _Reply(
            _json(400, msgspec.json.encode(models.Error400(message=message, details=[detail])))
        ) from None


def _validated(value: Any, type_: Any) -> Any:
    """``value`` as ``type_``, or a 422 pointing at the offending field."""
    try:
        return validate(value, type_)
    except InvalidRequestError as exc:
        raise _Reply(_validation_error("body", exc)) from None


# --------------------------------------------------------------------------- the log


@dataclasses.dataclass
class RecordedRequest:
    """One request the fake received, in arrival order.

    Its repr shows the request line, status and fault, never the headers or
    the body (which hold buyer data): read ``body``, ``json()`` or ``headers``.
    """

    method: str
    path: str
    headers: CIMultiDictProxy[str] = dataclasses.field(repr=False)
    """Request headers, without ``Authorization``."""
    body: bytes = dataclasses.field(repr=False)
    time: float
    """``time.monotonic()`` when the request arrived."""
    status: int | None = None
    """The status answered; ``None`` while in flight or when the connection was dropped."""
    fault: Fault | None = None
    """The fault applied, if any."""
    token_digest: bytes | None = dataclasses.field(default=None, repr=False)
    """SHA-256 of the bearer token sent, if any (the token itself is not kept)."""

    @property
    def merchant_account_id(self) -> str:
        """The merchant account the request was made for."""
        return self.headers.get(_MERCHANT_HEADER) or DEFAULT_MERCHANT_ACCOUNT_ID

    def json(self) -> Any:
        """The body as JSON (``None`` when empty)."""
        return msgspec.json.decode(self.body) if self.body else None

    def sent_token(self, token: str) -> bool:
        """Whether the request carried ``Authorization: Bearer <token>``."""
        return self.token_digest is not None and hmac.compare_digest(
            self.token_digest, hashlib.sha256(token.encode()).digest()
        )


def _redacted(headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
    copy = CIMultiDict(headers)
    copy.popall("Authorization", None)
    return CIMultiDictProxy(copy)


# --------------------------------------------------------------------------- auth


class _TokenVerifier:
    """Checks ES512 bearer JWTs against one public key, and their scopes."""

    def __init__(self, public_key_pem: str | bytes) -> None:
        import jwt  # only needed when a key is configured
        from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = load_pem_public_key(pem)
        if not isinstance(key, EllipticCurvePublicKey):
            raise ValueError("public_key must be an EC (P-521) public key in PEM")
        self._jwt = jwt
        self._key = key
        # Checked in order: subclasses before their bases.
        self._failures: tuple[tuple[type[Exception], int, str | None], ...] = (
            (jwt.InvalidSignatureError, 401, None),
            (jwt.DecodeError, 401, None),
            (jwt.InvalidTokenError, 403, INVALID_CREDENTIALS),
        )

    def check(self, token: str, scope: str | None) -> web.Response | None:
        """``None`` when ``token`` is valid and grants ``scope``, else the error response."""
        try:
            claims = self._jwt.decode(
                token,
                self._key,
                algorithms=["ES512"],
                options={"verify_aud": False},
            )
        except self._jwt.InvalidTokenError as exc:
            status, message = next((s, m) for kind, s, m in self._failures if isinstance(exc, kind))
            return _error(status, message)
        if scope is None:
            return None
        scopes = claims.get("scopes")
        wildcard = "*." + scope.rpartition(".")[2]
        if not isinstance(scopes, list) or not any(s in (scope, wildcard) for s in scopes):
            return _error(403, f"Missing required scope: {scope}")
        return None


def _bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


# --------------------------------------------------------------------------- sessions


class _Sessions:
    """Checkout sessions by ``(merchant_account_id, session_id)``, with expiry."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[tuple[str, str], models.CheckoutSession] = {}
        self.view: Mapping[tuple[str, str], models.CheckoutSession] = MappingProxyType(self._items)

    def create(
        self, merchant: str, update: models.CheckoutSessionUpdate, session_id: str | None = None
    ) -> models.CheckoutSession:
        fields = {
            name: getattr(update, name)
            for name in _SESSION_FIELDS
            if getattr(update, name) is not models.UNSET
        }
        session = models.CheckoutSession(
            id=session_id or str(uuid.uuid4()), expires_at=self._expiry(update.expires_in), **fields
        )
        self._items[merchant, session.id] = session
        return session

    def find(self, key: tuple[str, str]) -> models.CheckoutSession | None:
        session = self._items.get(key)
        if session is not None and self._clock() >= session.expires_at:
            del self._items[key]
            return None
        return session

    def replace(
        self, key: tuple[str, str], update: models.CheckoutSessionUpdate, given: Iterable[str]
    ) -> models.CheckoutSession | None:
        session = self.find(key)
        if session is None:
            return None
        names = set(given)
        changes: dict[str, Any] = {n: getattr(update, n) for n in _SESSION_FIELDS if n in names}
        if "expires_in" in names:
            changes["expires_at"] = self._expiry(update.expires_in)
        self._items[key] = session = msgspec.structs.replace(session, **changes)
        return session

    def delete(self, key: tuple[str, str]) -> bool:
        if self.find(key) is None:
            return False
        del self._items[key]
        return True

    def clear(self) -> None:
        self._items.clear()

    def _expiry(self, seconds: float) -> datetime:
        return self._clock() + timedelta(seconds=seconds)


def _merchant(request: web.Request) -> str:
    return request.headers.get(_MERCHANT_HEADER) or DEFAULT_MERCHANT_ACCOUNT_ID


def _session_key(request: web.Request) -> tuple[str, str]:
    """The store key of the path's session; a 422 when ``session_id`` is not a UUID."""
    raw = request.match_info["session_id"]
    try:
        session_id = str(uuid.UUID(msgspec.convert(raw, models.Uuid)))
    except (msgspec.ValidationError, ValueError):
        body = validation_body(
            ["path", "session_id"], "Input should be a valid UUID", "uuid_parsing"
        )
        raise _Reply(_json(422, body)) from None
    return _merchant(request), session_id


def _as_update(body: Any) -> models.CheckoutSessionUpdate:
    """A create body (a model, a list of empty objects or null) as one update."""
    return (
        body if isinstance(body, models.CheckoutSessionUpdate) else models.CheckoutSessionUpdate()
    )


# --------------------------------------------------------------------------- rate limit


class _TokenBucket:
    """A server-side rate limit: ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        if not rate > 0 or not burst >= 1:
            raise ValueError("rate_limit must be > 0 and rate_limit_burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = time.monotonic()

    def take(self) -> float:
        """0 when the request may pass, else the seconds until a token is free."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate


def _rate_limited(wait: float) -> web.Response:
    """A documented 429 with ``Retry-After`` in whole seconds (at least 1), as servers send it."""
    response = _error(429)
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


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
        self._sessions = _Sessions(clock or _utcnow)
        self._verifier = None if public_key is None else _TokenVerifier(public_key)
        self._shutdown_timeout = shutdown_timeout
        self._bucket = (
            None
            if rate_limit is None
            else _TokenBucket(rate_limit, rate_limit_burst or max(1.0, rate_limit / 10))
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
        app = web.Application(middlewares=[self._serve, _answer_early, self._authenticate])
        app.router.add_post(_COLLECTION, self._create)
        app.router.add_get(_ITEM, self._get, allow_head=False)
        app.router.add_put(_ITEM, self._update)
        app.router.add_delete(_ITEM, self._delete)
        return app

    @web.middleware
    async def _serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record the request, count it in flight, apply its fault."""
        token = _bearer_token(request)
        record = RecordedRequest(
            request.method,
            request.path,
            _redacted(request.headers),
            await request.read(),
            time.monotonic(),
            token_digest=None if token is None else hashlib.sha256(token.encode()).digest(),
        )
        self.requests.append(record)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            wait = 0.0 if self._bucket is None else self._bucket.take()
            if wait:
                record.status = 429
                return self._evolved(_rate_limited(wait))
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
        token = _bearer_token(request)
        if token is None:
            return _error(401)
        if self._verifier is not None:
            failure = self._verifier.check(token, _SCOPES.get(request.method))
            if failure is not None:
                return failure
        return await handler(request)

    async def _create(self, request: web.Request) -> web.Response:
        body = _validated(_decode_json(await request.read()), models.CreateCheckoutSessionBody)
        session = self._sessions.create(_merchant(request), _as_update(body))
        return _json(201, msgspec.json.encode(session))

    async def _get(self, request: web.Request) -> web.Response:
        session = self._sessions.find(_session_key(request))
        return _error(404) if session is None else _json(200, msgspec.json.encode(session))

    async def _update(self, request: web.Request) -> web.Response:
        key = _session_key(request)
        value = _decode_json(await request.read())
        update = _validated(value, models.CheckoutSessionUpdate)
        session = self._sessions.replace(key, update, given=value)
        return _error(404) if session is None else _json(200, msgspec.json.encode(session))

    async def _delete(self, request: web.Request) -> web.Response:
        if not self._sessions.delete(_session_key(request)):
            return _error(404)
        return web.Response(status=204, headers={"x-request-id": str(uuid.uuid4())})


@web.middleware
async def _answer_early(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn a :class:`_Reply` and aiohttp's own 404/405 into documented JSON errors."""
    try:
        return await handler(request)
    except _Reply as reply:
        return reply.response
    except web.HTTPException as exc:
        if exc.status not in ERRORS_BY_STATUS:
            raise
        response = _error(exc.status)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
