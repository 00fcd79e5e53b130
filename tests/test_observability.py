"""What a client tells the outside: DEBUG log lines, request hooks, OpenTelemetry spans.

Each attempt is one DEBUG line, one hook call and one client span; the lines and
the hooks show neither the token nor a body.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from support.aioresponses_compat import TOKEN
from support.helpers import FAST
from support.servers import RawServer
from support.sessions import SESSION_ID

from gr4vy_async import Gr4vy, RetryConfig, errors
from gr4vy_async.hooks import RequestInfo, ResponseInfo
from gr4vy_async.testing import FakeGr4vy, Fault
from gr4vy_async.testing.payloads import seed_create_body

# --------------------------------------------------------------------------- DEBUG lines


LOG_LINE = re.compile(
    r"(GET|POST|PUT|DELETE) (/checkout/sessions(/[0-9a-f-]{36})?) -> (\d{3}|[A-Za-z]+) "
    r"in \d+\.\d ms \(attempt (\d+) of (\d+)(?:, \d+\.\d s left)?, request id ([0-9a-f-]{36}|-)\)"
)


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="gr4vy_async")
    return caplog


async def test_each_attempt_logs_one_debug_line_without_token_or_body(
    gr4vy_fake: FakeGr4vy, debug_log: pytest.LogCaptureFixture
) -> None:
    gr4vy_fake.faults.enqueue("POST", Fault.status(503), times=1)
    async with Gr4vy(
        server_url=gr4vy_fake.url,
        bearer_auth=TOKEN,
        retries=FAST.__class__(initial_delay=0, max_delay=0, retry_unsafe_methods=True),
    ) as client:
        created = await client.checkout_sessions.create(request_body=seed_create_body())
        await client.checkout_sessions.delete(session_id=created.id)
    lines = [r.getMessage() for r in debug_log.records if r.levelno == logging.DEBUG]
    matches = [LOG_LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    summary = [(m.group(1), m.group(4), m.group(5), m.group(6)) for m in matches if m]
    assert summary == [
        ("POST", "503", "1", "4"),
        ("POST", "201", "2", "4"),
        ("DELETE", "204", "1", "4"),
    ]
    assert all(m.group(7) != "-" for m in matches if m)  # the fake sends x-request-id
    everything = " ".join(
        [r.getMessage() for r in debug_log.records] + [repr(r.args) for r in debug_log.records]
    )
    for secret in (TOKEN, "john@example.com", "John", "GoPro"):
        assert secret not in everything


async def test_an_attempt_without_a_response_logs_the_error_class(
    debug_log: pytest.LogCaptureFixture,
) -> None:
    async with Gr4vy(server_url="http://127.0.0.1:9", bearer_auth=TOKEN, retries=FAST) as client:
        with pytest.raises(errors.ConnectError):
            await client.checkout_sessions.get(session_id=SESSION_ID)
    lines = [r.getMessage() for r in debug_log.records if r.levelno == logging.DEBUG]
    assert len(lines) == 4
    for attempt, line in enumerate(lines, 1):
        assert line.startswith(f"GET /checkout/sessions/{SESSION_ID} -> ConnectError in ")
        assert line.endswith(f"(attempt {attempt} of 4, request id -)")


async def test_a_debug_logger_receives_the_lines(server: RawServer) -> None:
    class Collect:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
            self.lines.append(msg % args)

    collect = Collect()
    async with Gr4vy(server_url=server.url, bearer_auth=TOKEN, debug_logger=collect) as client:
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert len(collect.lines) == 1
    assert collect.lines[0].startswith(f"GET /checkout/sessions/{SESSION_ID} -> 200 in ")


def test_gr4vy_debug_turns_the_debug_lines_on(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("gr4vy_async")
    previous = logger.level
    monkeypatch.setenv("GR4VY_DEBUG", "1")
    try:
        logger.setLevel(logging.NOTSET)
        Gr4vy(bearer_auth=TOKEN)
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(previous)


async def test_a_debug_line_says_the_time_left_to_the_deadline(
    gr4vy_fake: FakeGr4vy, debug_log: pytest.LogCaptureFixture
) -> None:
    session = gr4vy_fake.create_session()
    gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=1)
    async with Gr4vy(
        server_url=gr4vy_fake.url, bearer_auth=TOKEN, retries=FAST, deadline=30
    ) as client:
        await client.checkout_sessions.get(session_id=session.id)
        await client.checkout_sessions.get(session_id=session.id, deadline=0.5)
    lines = [r.getMessage() for r in debug_log.records if r.levelno == logging.DEBUG]
    left = [re.search(r"\(attempt (\d) of (\d), (\d+\.\d) s left, request id ", x) for x in lines]
    assert all(left), lines
    found = [(m.group(1), m.group(2), float(m.group(3))) for m in left if m]
    assert [(a, n) for a, n, _ in found] == [("1", "4"), ("2", "4"), ("1", "4")]
    assert 0 < found[1][2] <= found[0][2] <= 30
    assert found[2][2] <= 0.5


# --------------------------------------------------------------------------- hooks


async def test_hooks_see_each_attempt_sync_or_async_without_the_token(
    gr4vy_fake: FakeGr4vy,
) -> None:
    session = gr4vy_fake.create_session()
    gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=1)
    calls: list[tuple[Any, ...]] = []

    def before(request: RequestInfo) -> None:
        calls.append(("before", request))

    async def success(request: RequestInfo, response: ResponseInfo) -> None:
        await asyncio.sleep(0)
        calls.append(("success", request, response))

    def error(request: RequestInfo, response: ResponseInfo | None, exc: errors.Gr4vyError) -> None:
        calls.append(("error", request, response, exc))

    async with Gr4vy(server_url=gr4vy_fake.url, bearer_auth=TOKEN, retries=FAST) as client:
        client.hooks.register_before_request_hook(before)
        client.hooks.register_after_success_hook(success)
        client.hooks.register_after_error_hook(error)
        await client.checkout_sessions.get(session_id=session.id)
    assert [call[0] for call in calls] == ["before", "error", "before", "success"]
    first, failed, second, succeeded = calls
    assert first[1].method == "GET"
    assert first[1].url == f"{gr4vy_fake.url}/checkout/sessions/{session.id}"
    assert first[1].headers["Authorization"] == "[redacted]"
    assert (first[1].attempt, second[1].attempt) == (1, 2)
    assert failed[2].status == 503
    assert failed[2].attempt == 1
    assert isinstance(failed[3], errors.APIError)
    assert failed[3].status_code == 503
    response = succeeded[2]
    assert (response.status, response.attempt) == (200, 2)
    assert response.elapsed > 0
    assert response.request_id
    assert TOKEN not in repr(calls)


async def test_hooks_see_the_attempts_allowed_and_the_time_left(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session()
    gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=1)
    requests: list[RequestInfo] = []
    responses: list[ResponseInfo | None] = []
    retries = RetryConfig(max_attempts=3, initial_delay=0, max_delay=0)
    async with Gr4vy(server_url=gr4vy_fake.url, bearer_auth=TOKEN, retries=retries) as client:
        client.hooks.register_before_request_hook(requests.append)
        client.hooks.register_after_success_hook(lambda req, resp: responses.append(resp))
        client.hooks.register_after_error_hook(lambda req, resp, exc: responses.append(resp))
        await client.checkout_sessions.get(session_id=session.id, deadline=20)
        await client.checkout_sessions.get(session_id=session.id)  # no deadline
    assert [(r.attempt, r.max_attempts) for r in requests] == [(1, 3), (2, 3), (1, 3)]
    assert [(r.attempt, r.max_attempts) for r in responses if r] == [(1, 3), (2, 3), (1, 3)]
    first, second, plain = requests
    assert first.time_left is not None
    assert second.time_left is not None
    assert 0 < second.time_left <= first.time_left <= 20
    after = [r.time_left for r in responses if r]
    assert after[0] is not None
    assert after[1] is not None
    assert second.time_left <= after[0] <= first.time_left
    assert plain.time_left is None
    assert after[2] is None


async def test_an_error_hook_gets_no_response_when_none_came() -> None:
    seen: list[Any] = []
    async with Gr4vy(
        server_url="http://127.0.0.1:9", bearer_auth=TOKEN, retries=RetryConfig.none()
    ) as client:
        client.hooks.register_after_error_hook(lambda req, resp, exc: seen.append((resp, exc)))
        with pytest.raises(errors.ConnectError):
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert len(seen) == 1
    assert seen[0][0] is None
    assert isinstance(seen[0][1], errors.ConnectError)


# --------------------------------------------------------------------------- a real tracer


@pytest.fixture
def spans() -> Iterator[Any]:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize("borrowed", [False, True])
async def test_a_tracer_sees_one_client_span_per_attempt(
    gr4vy_fake: FakeGr4vy, spans: Any, borrowed: bool
) -> None:
    from opentelemetry.trace import SpanKind

    session = gr4vy_fake.create_session()
    gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=2)
    http = aiohttp.ClientSession() if borrowed else None
    try:
        async with Gr4vy(
            server_url=gr4vy_fake.url, bearer_auth=TOKEN, retries=FAST, session=http
        ) as client:
            await client.checkout_sessions.get(session_id=session.id)
    finally:
        if http is not None:
            await http.close()
    finished = [span for span in spans.get_finished_spans() if span.kind == SpanKind.CLIENT]
    assert len(finished) == 3
    codes = [
        span.attributes.get("http.response.status_code") or span.attributes.get("http.status_code")
        for span in finished
    ]
    assert codes == [503, 503, 200]
