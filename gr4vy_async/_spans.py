"""Optional OpenTelemetry spans: one per call, with a child per attempt, and one per bulk run
(the ``otel`` extra).

Without ``opentelemetry-api`` installed nothing is imported; with it but no
tracer provider set, a call costs one clock read (the provider is looked for
at most once a second, so one set after the client was made is found).
Attributes follow the HTTP semantic conventions; never a token, a body or a
query string.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol, TypeVar

from yarl import URL

from ._bounds import Progress
from ._checks import MERCHANT_HEADER
from ._defaults import LOGGER_NAME
from ._version import __version__
from .errors import Gr4vyError

__all__ = ["CallSpan", "Counted", "Tracing", "tracing"]

T = TypeVar("T")

#: Seconds between two looks for a tracer provider while none is set.
_RECHECK = 1.0
#: The call span's name by method: ``gr4vy.checkout_sessions.get`` ...
_OPERATIONS = {"POST": "create", "GET": "get", "PUT": "update", "DELETE": "delete"}


def tracing() -> Tracing | None:
    """A new client's tracing; ``None`` (nothing to do, ever) without opentelemetry-api."""
    try:
        found = importlib.util.find_spec("opentelemetry.trace")
    except ModuleNotFoundError:  # no opentelemetry package at all: the parent is looked up
        found = None
    return None if found is None else Tracing()


class Tracing:
    """A client's tracer, taken from the global provider once one is set."""

    __slots__ = ("_look_at", "_trace", "_tracer")

    def __init__(self) -> None:
        self._trace: Any = None
        self._tracer: Any = None
        self._look_at = 0.0

    def call(self, method: str, url: URL, headers: Mapping[str, str]) -> CallSpan | None:
        """A span for one call (``headers``: its own), or ``None`` while no provider is set."""
        tracer = self._tracer
        if tracer is None:
            tracer = self._find()
            if tracer is None:
                return None
        return CallSpan(self._trace, tracer, method, url, headers.get(MERCHANT_HEADER))

    async def bulk(self, method: str, run: Awaitable[T], report: Counted) -> T:
        """``run``, a bulk run of ``method`` requests filling ``report``, in one span.

        The span (``gr4vy.checkout_sessions.delete_many`` ...) is current
        while the run goes on, so its calls' spans are its children; at the
        end, however the run ends, it holds the report's counts.
        """
        tracer = self._tracer
        if tracer is None:
            tracer = self._find()
            if tracer is None:
                return await run
        name = f"gr4vy.checkout_sessions.{_OPERATIONS.get(method, method.lower())}_many"
        with tracer.start_as_current_span(
            name, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                return await run
            except BaseException as error:
                span.set_attribute("error.type", type(error).__name__)
                span.set_status(self._trace.StatusCode.ERROR)
                raise
            finally:
                for outcome, count in report.summary().items():
                    span.set_attribute(f"gr4vy.bulk.{outcome}", count)
                span.set_attribute("gr4vy.bulk.rate_limited", report.rate_limited)
                if report.stopped is not None:
                    span.set_attribute("gr4vy.bulk.stopped", report.stopped)

    def _find(self) -> Any:
        """The global provider's tracer, looked for at most once a second while none is set."""
        now = time.monotonic()
        if now < self._look_at:
            return None
        self._look_at = now + _RECHECK
        trace = self._trace
        if trace is None:  # imported at the first call: the otel extra is optional
            from opentelemetry import trace

            self._trace = trace
        provider = trace.get_tracer_provider()
        if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
            return None
        self._tracer = provider.get_tracer(LOGGER_NAME, __version__)
        return self._tracer


class Counted(Protocol):
    """What a bulk run's span counts: a :class:`~gr4vy_async.bulk.BulkReport`."""

    rate_limited: int
    stopped: str | None

    def summary(self) -> dict[str, int]:
        """The count of ids by outcome."""
        ...


class CallSpan:
    """The span of one call; :meth:`attempt` runs an attempt in a child span."""

    __slots__ = ("_attributes", "_context", "_span", "_trace", "_tracer", "progress")

    def __init__(
        self, trace: Any, tracer: Any, method: str, url: URL, merchant: str | None
    ) -> None:
        self._trace, self._tracer = trace, tracer
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.full": str(url.with_query(None).with_fragment(None)),
        }
        if merchant is not None:
            attributes["gr4vy.merchant_account_id"] = merchant
        self._attributes = attributes
        name = f"gr4vy.checkout_sessions.{_OPERATIONS.get(method, method.lower())}"
        self._span = tracer.start_span(name, attributes=attributes)
        self._context = trace.set_span_in_context(self._span)
        #: The running attempt's progress (its response, when one came), set by the attempt.
        self.progress: Progress | None = None

    async def attempt(self, attempt: Awaitable[T], number: int) -> T:
        """``attempt`` (number ``number``) in a child span, current while it runs."""
        attributes = dict(self._attributes)
        if number > 1:
            attributes["http.request.resend_count"] = number - 1
        self.progress = None
        with self._tracer.start_as_current_span(
            attributes["http.request.method"],
            context=self._context,
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                result = await attempt
            except Gr4vyError as error:
                self._outcome(span, error)
                raise
            self._outcome(span, None)
            return result

    def _outcome(self, span: Any, error: Gr4vyError | None) -> None:
        response = None if self.progress is None else self.progress.response
        status = response.status if response is not None else None
        if error is not None and error.status_code is not None:
            status = error.status_code
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        request_id = response.headers.get("x-request-id") if response is not None else None
        if request_id:
            span.set_attribute("gr4vy.request_id", request_id)
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(self._trace.StatusCode.ERROR)

    def end(self, error: BaseException | None, attempts: int) -> None:
        """End the call's span: its attempts, and the error class it raised."""
        span = self._span
        span.set_attribute("gr4vy.attempts", attempts)
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(self._trace.StatusCode.ERROR)
        span.end()
