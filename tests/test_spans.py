"""Native OpenTelemetry spans: one per call, a child per attempt (issue 23)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.aioresponses_compat import TOKEN
from support.helpers import FAST, client_for
from support.sessions import SESSION_ID

from gr4vy_async import errors
from gr4vy_async.testing import FakeGr4vy, Fault


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The global provider can be set once per process: the tests set theirs this way.
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    yield exporter
    provider.shutdown()


def _by_name(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


async def test_a_call_is_a_span_with_a_child_per_attempt(
    gr4vy_fake: FakeGr4vy, exporter: InMemorySpanExporter
) -> None:
    gr4vy_fake.create_session(session_id=SESSION_ID)
    gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=2)
    async with client_for(gr4vy_fake, retries=FAST) as client:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    spans = exporter.get_finished_spans()
    (call,) = _by_name(spans, "gr4vy.checkout_sessions.get")
    attempts = [
        s for s in spans if s.parent is not None and s.parent.span_id == call.context.span_id
    ]
    assert len(attempts) == 3
    assert all(s.context.trace_id == call.context.trace_id for s in attempts)
    first, _, last = sorted(attempts, key=lambda s: s.start_time or 0)
    assert first.attributes is not None
    assert last.attributes is not None
    assert first.attributes["http.request.method"] == "GET"
    assert first.attributes["url.full"] == f"{gr4vy_fake.url}/checkout/sessions/{SESSION_ID}"
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["error.type"] == "APIError"  # 503: not a documented status
    assert "http.request.resend_count" not in first.attributes
    assert last.attributes["http.request.resend_count"] == 2
    assert last.attributes["http.response.status_code"] == 200
    assert last.attributes["gr4vy.merchant_account_id"] == "default"
    assert "error.type" not in last.attributes
    assert call.attributes is not None
    assert call.attributes["gr4vy.attempts"] == 3


async def test_no_token_or_body_reaches_a_span(
    gr4vy_fake: FakeGr4vy, exporter: InMemorySpanExporter
) -> None:
    async with client_for(gr4vy_fake) as client:
        created = await client.checkout_sessions.create(request_body={"metadata": {"k": "v"}})
        with pytest.raises(errors.Error404):
            await client.checkout_sessions.get(session_id="4137b1cf-39ac-42a8-bad6-1c680d5dab6b")
    text = repr(
        [(s.name, dict(s.attributes or {}), s.events) for s in exporter.get_finished_spans()]
    )
    assert TOKEN not in text
    assert '"k"' not in text
    assert created.id is not None
    (call,) = _by_name(exporter.get_finished_spans(), "gr4vy.checkout_sessions.get")
    assert call.attributes is not None
    assert call.attributes["error.type"] == "Error404"
    assert call.status.status_code is trace.StatusCode.ERROR


async def test_aiohttp_spans_nest_under_the_attempt(
    gr4vy_fake: FakeGr4vy, exporter: InMemorySpanExporter
) -> None:
    provider = trace.get_tracer_provider()
    AioHttpClientInstrumentor().instrument(tracer_provider=provider)
    try:
        async with client_for(gr4vy_fake) as client:
            await client.checkout_sessions.create()
    finally:
        AioHttpClientInstrumentor().uninstrument()
    spans = exporter.get_finished_spans()
    (call,) = _by_name(spans, "gr4vy.checkout_sessions.create")
    (attempt,) = [s for s in spans if s.parent and s.parent.span_id == call.context.span_id]
    http = [s for s in spans if s.parent and s.parent.span_id == attempt.context.span_id]
    assert len(http) == 1


async def test_without_a_tracer_provider_no_span_is_made(
    gr4vy_fake: FakeGr4vy, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    monkeypatch.setattr(trace.ProxyTracer, "start_span", lambda *a, **k: made.append(a))
    async with client_for(gr4vy_fake) as client:
        await client.checkout_sessions.create()
    assert made == []


def test_making_a_client_imports_no_opentelemetry() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gr4vy_async; gr4vy_async.Gr4vy(bearer_auth='t'); "
        "print(any(m.startswith('opentelemetry.') for m in sys.modules))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == "False"


def test_a_client_works_without_opentelemetry_installed() -> None:
    """Without the ``otel`` extra, a client is made and used with no tracing at all."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["opentelemetry"] = None  # as if the package were not installed
        from gr4vy_async import Gr4vy
        from gr4vy_async.testing import FakeGr4vy

        async def main():
            async with FakeGr4vy() as fake:
                async with Gr4vy(server_url=fake.url, bearer_auth="token") as client:
                    await client.checkout_sessions.create()
            print("ok")

        asyncio.run(main())
        """
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, our script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")


# --------------------------------------------------------------------------- bulk runs


def _children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_a_bulk_run_is_one_span_with_counts_and_its_calls_under_it(
    gr4vy_fake: FakeGr4vy, exporter: InMemorySpanExporter
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(3)]
    gone = "00000000-0000-4000-8000-000000000001"
    gr4vy_fake.faults.enqueue("DELETE", Fault.status(409), times=1)
    async with client_for(gr4vy_fake, retries=FAST) as client:
        report = await client.checkout_sessions.delete_many(
            [*ids, ids[0], gone, "not-an-id"], concurrency=1
        )
    spans = exporter.get_finished_spans()
    (run,) = _by_name(spans, "gr4vy.checkout_sessions.delete_many")
    assert run.attributes == {
        "gr4vy.bulk.done": 2,
        "gr4vy.bulk.missing": 1,
        "gr4vy.bulk.failed": 1,
        "gr4vy.bulk.skipped": 2,
        "gr4vy.bulk.cancelled": 0,
        "gr4vy.bulk.not_attempted": 0,
        "gr4vy.bulk.rate_limited": 0,
    }
    assert report.summary() == {
        k.removeprefix("gr4vy.bulk."): v
        for k, v in run.attributes.items()
        if k != "gr4vy.bulk.rate_limited"
    }
    calls = _children(spans, run)
    assert len(calls) == 4
    assert {s.name for s in calls} == {"gr4vy.checkout_sessions.delete"}
    assert all(s.context.trace_id == run.context.trace_id for s in calls)
    assert run.status.status_code is trace.StatusCode.UNSET


async def test_a_stopped_bulk_run_says_why_on_its_span(
    gr4vy_fake: FakeGr4vy, exporter: InMemorySpanExporter
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(6)]
    gr4vy_fake.faults.enqueue("GET", Fault.status(401), times=10)
    async with client_for(gr4vy_fake, retries=FAST) as client:
        report = await client.checkout_sessions.get_many(ids, concurrency=1, stop_after=2)
    (run,) = _by_name(exporter.get_finished_spans(), "gr4vy.checkout_sessions.get_many")
    assert run.attributes is not None
    assert report.stopped is not None
    assert run.attributes["gr4vy.bulk.stopped"] == report.stopped
    assert run.attributes["gr4vy.bulk.failed"] == 2
    assert run.attributes["gr4vy.bulk.not_attempted"] == 4


async def test_a_bulk_run_ended_by_an_error_still_counts(
    gr4vy_fake: FakeGr4vy, exporter: InMemorySpanExporter
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(3)]

    def boom(progress: object) -> None:
        raise KeyError("boom")

    async with client_for(gr4vy_fake) as client:
        with pytest.raises(KeyError):
            await client.checkout_sessions.delete_many(ids, concurrency=1, on_progress=boom)
    (run,) = _by_name(exporter.get_finished_spans(), "gr4vy.checkout_sessions.delete_many")
    assert run.attributes is not None
    assert run.attributes["gr4vy.bulk.done"] in (1, 2, 3)
    assert run.attributes["error.type"] == "KeyError"
    assert run.status.status_code is trace.StatusCode.ERROR
    assert "boom" not in repr(run.events)


async def test_without_a_tracer_provider_a_bulk_run_makes_no_span(
    gr4vy_fake: FakeGr4vy, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    monkeypatch.setattr(trace.ProxyTracer, "start_span", lambda *a, **k: made.append(a))
    ids = [gr4vy_fake.create_session().id for _ in range(2)]
    async with client_for(gr4vy_fake) as client:
        report = await client.checkout_sessions.delete_many(ids)
    assert report.ok
    assert made == []
