"""Faults FakeGr4vy can inject, and the documented error bodies they answer with.

A :class:`Fault` says what to do to one request: answer a status with its
documented body, answer late, drop the connection, cut the body; before the
request is processed or after. A :class:`FaultScript` holds the faults per
route, as a queue ("the next 3 GETs") and as seeded rates ("20% of calls").
"""

from __future__ import annotations

import asyncio
import dataclasses
import http
import random
import re
import uuid
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from .. import models
from ..errors import ERRORS_BY_STATUS

__all__ = [
    "INVALID_CREDENTIALS",
    "RESOURCE_ACTIVE",
    "Fault",
    "FaultScript",
    "Handler",
    "apply_fault",
    "error_body",
    "validation_body",
]

INVALID_CREDENTIALS = "Invalid credentials"
#: The message of the 403 the API answers when a resource is in use.
RESOURCE_ACTIVE = "The resource could not be removed as it is currently active"

#: An aiohttp.web handler, as middlewares and :func:`apply_fault` take it.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTML = (
    "<html><head><title>{status} {phrase}</title></head>"
    "<body><center><h1>{status} {phrase}</h1></center><hr><center>nginx</center></body></html>"
)


# --------------------------------------------------------------------------- bodies


def _phrase(status: int) -> str:
    """The reason phrase of ``status`` (``Error`` for one Python does not name)."""
    if not 100 <= status <= 599:
        raise ValueError(f"not an HTTP status: {status}")
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(status: int, message: str | None = None) -> bytes:
    """The JSON body the API documents for an error ``status``.

    Documented statuses get their ``models.ErrorNNN`` default (``message``
    replaces its message; a 422 gets one ``detail`` entry); any other status
    gets a body shaped like the documented ones.
    """
    documented = ERRORS_BY_STATUS.get(status)
    if documented is None:
        phrase = _phrase(status)
        slug = re.sub(r"\W+", "_", phrase.lower()).strip("_")
        return msgspec.json.encode(
            {"type": "error", "code": slug, "status": status, "message": message or phrase}
        )
    if documented.model is models.HTTPValidationError:
        return validation_body(["body"], message or "Invalid request", "value_error")
    fields = {} if message is None else {"message": message}
    return msgspec.json.encode(documented.model(**fields))


def validation_body(loc: list[str | int], msg: str, kind: str) -> bytes:
    """A 422 (``HTTPValidationError``) body with one ``detail`` entry."""
    entry = models.ValidationError(loc=loc, msg=msg, type=kind)
    return msgspec.json.encode(models.HTTPValidationError(detail=[entry]))


# --------------------------------------------------------------------------- faults


@dataclasses.dataclass(frozen=True)
class Fault:
    """What to do to one request instead of (or as well as) answering it normally.

    Build one with :meth:`status`, :meth:`html`, :meth:`latency`, :meth:`drop`
    or :meth:`truncated`. A fault that replaces the response (a status or a
    dropped connection) fires *before* the request is processed unless
    ``after=True``, in which case the request is processed (a delete really
    deletes) and only the response is lost or replaced. Faults that only
    delay or cut the real response always let the request be processed;
    ``after`` then says whether the delay comes before or after processing.
    """

    status_code: int | None = None
    """The status to answer; ``None`` keeps the real response."""
    body: bytes = b""
    """The body to answer with ``status_code``."""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    """Seconds to wait before answering."""
    drops_connection: bool = False
    truncates: bool = False
    """Answer only the first half of the body (a JSON body no longer parses)."""
    after: bool = False

    def __post_init__(self) -> None:
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        if self.status_code is not None and not 100 <= self.status_code <= 599:
            raise ValueError(f"not an HTTP status: {self.status_code}")

    @property
    def replaces_response(self) -> bool:
        """True when the request's own response is never sent."""
        return self.drops_connection or self.status_code is not None

    @classmethod
    def status(
        cls,
        status: int,
        *,
        message: str | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        retry_after: int | str | None = None,
        delay: float = 0.0,
        after: bool = False,
    ) -> Fault:
        """Answer ``status`` with its documented body (see :func:`error_body`).

        ``message`` replaces the documented message (for a 403:
        :data:`INVALID_CREDENTIALS` or :data:`RESOURCE_ACTIVE`); ``body``
        replaces the whole body; ``retry_after`` adds a ``Retry-After`` header.
        """
        headers = () if retry_after is None else (("Retry-After", str(retry_after)),)
        return cls(
            status_code=status,
            body=error_body(status, message) if body is None else body,
            content_type=content_type,
            headers=headers,
            delay=delay,
            after=after,
        )

    @classmethod
    def html(
        cls,
        status: int = 502,
        *,
        retry_after: int | str | None = None,
        delay: float = 0.0,
        after: bool = False,
    ) -> Fault:
        """Answer ``status`` with an HTML page, as a proxy in front of the API would."""
        phrase = _phrase(status)
        page = _HTML.format(status=status, phrase=phrase).encode()
        return cls.status(
            status,
            body=page,
            content_type="text/html",
            retry_after=retry_after,
            delay=delay,
            after=after,
        )

    @classmethod
    def latency(cls, seconds: float, *, after: bool = False) -> Fault:
        """Answer normally, ``seconds`` late (``after=True``: processed first, then the wait)."""
        return cls(delay=seconds, after=after)

    @classmethod
    def drop(cls, *, delay: float = 0.0, after: bool = False) -> Fault:
        """Close the connection without a response (``after=True``: once processed)."""
        return cls(drops_connection=True, delay=delay, after=after)

    @classmethod
    def truncated(
        cls, status: int | None = None, *, delay: float = 0.0, after: bool = False
    ) -> Fault:
        """Answer with the first half of the body: the real one, or ``status``'s documented one."""
        if status is None:
            return cls(truncates=True, delay=delay, after=after)
        return dataclasses.replace(cls.status(status, delay=delay, after=after), truncates=True)


class _Route:
    """A route pattern: ``"GET"``, ``"*"``, ``"DELETE /checkout/sessions/{session_id}"``.

    The method may be ``*``; in the optional path, ``{name}`` matches one
    segment and ``*`` matches anything.
    """

    def __init__(self, pattern: str) -> None:
        method, _, path = pattern.strip().partition(" ")
        self.pattern = pattern
        self.method = method.upper()
        regex = re.escape(path.strip() or "*")
        regex = re.sub(r"\\\{[^}]*\\\}", "[^/]+", regex).replace(r"\*", ".*")
        self._path = re.compile(regex)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self._path.fullmatch(path) is not None


@dataclasses.dataclass
class _Queued:
    route: _Route
    fault: Fault
    remaining: int


@dataclasses.dataclass
class _Rate:
    route: _Route
    fault: Fault
    probability: float
    rng: random.Random


class FaultScript:
    """The faults a :class:`FakeGr4vy` applies, per route.

    Queued faults fire first, in the order they were queued, each for its
    next ``times`` matching requests. Rates are consulted next, in the order
    they were added; each draws once from its own ``random.Random(seed)``
    per matching request that no queued fault took.
    """

    def __init__(self) -> None:
        self._queue: list[_Queued] = []
        self._rates: list[_Rate] = []

    def enqueue(self, route: str, fault: Fault, *, times: int = 1) -> None:
        """The next ``times`` requests matching ``route`` get ``fault``."""
        if times < 1:
            raise ValueError("times must be >= 1")
        self._queue.append(_Queued(_Route(route), fault, times))

    def rate(
        self, route: str, fault: Fault, *, probability: float, seed: int | None = None
    ) -> None:
        """Each request matching ``route`` gets ``fault`` with ``probability`` (seeded)."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        self._rates.append(_Rate(_Route(route), fault, probability, random.Random(seed)))  # noqa: S311

    def remaining(self, route: str | None = None) -> int:
        """How many queued faults have not fired yet (for ``route``, as given, or all)."""
        return sum(q.remaining for q in self._queue if route is None or q.route.pattern == route)

    def clear(self) -> None:
        """Forget every queued fault and rate."""
        self._queue.clear()
        self._rates.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any (consumes a queued one)."""
        for queued in self._queue:
            if queued.route.matches(method, path):
                queued.remaining -= 1
                if not queued.remaining:
                    self._queue.remove(queued)
                return queued.fault
        for rate in self._rates:
            if rate.route.matches(method, path) and rate.rng.random() < rate.probability:
                return rate.fault
        return None


def _cut(body: bytes) -> bytes:
    return body[: len(body) // 2]


def _drop(request: web.Request) -> web.Response:
    """Close the connection; aiohttp then fails quietly to write the returned response."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=599)


def _render(
    fault: Fault, request: web.Request, real: web.StreamResponse | None
) -> web.StreamResponse:
    """The response a fault sends, given the real one (``None`` when not processed)."""
    if fault.drops_connection:
        return _drop(request)
    if fault.status_code is None:
        assert isinstance(real, web.Response)  # the handlers answer whole bodies
        response = real
    else:
        response = web.Response(
            status=fault.status_code, body=fault.body, content_type=fault.content_type
        )
        response.headers.update(fault.headers)
        response.headers["x-request-id"] = str(uuid.uuid4())
    if fault.truncates and isinstance(response.body, bytes):
        response.body = _cut(response.body)
    return response


_DISCONNECT_POLL = 0.02
"""Seconds between checks, during a delay, that the client is still connected."""


async def _delay(request: web.Request, seconds: float) -> None:
    """Wait ``seconds``, or less if the client hangs up first.

    aiohttp keeps running a handler whose client has gone; without this, a
    long latency fault would outlive a client that timed out and hold up
    :meth:`FakeGr4vy.stop <gr4vy_async.testing.FakeGr4vy.stop>` for its whole
    ``shutdown_timeout``. Nobody waits for the answer, so the wait ends.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    await asyncio.sleep(min(seconds, _DISCONNECT_POLL))  # a zero delay still yields once
    # Polled: aiohttp signals a hang-up to a handler only by cancelling it
    # (handler_cancellation), which would leave the request unprocessed.
    while (remaining := deadline - loop.time()) > 0 and request.transport is not None:  # noqa: ASYNC110
        await asyncio.sleep(min(remaining, _DISCONNECT_POLL))


async def apply_fault(fault: Fault, request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer ``request`` through ``handler`` as ``fault`` says."""
    if not fault.after:
        await _delay(request, fault.delay)
    real = None
    if fault.after or not fault.replaces_response:
        real = await handler(request)
    if fault.after:
        await _delay(request, fault.delay)
    return _render(fault, request, real)
