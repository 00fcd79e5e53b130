"""Production fit: borrowed sessions, one loop per client, DEBUG lines, hooks, tracing."""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import logging
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _servers import RawServer, ThreadedServer, json_response
from aiohttp import web

from gr4vy_async import Gr4vy, RetryConfig, errors
from gr4vy_async.hooks import RequestInfo, ResponseInfo
from gr4vy_async.testing import FakeGr4vy, Fault
from gr4vy_async.testing.payloads import seed_create_body

TOKEN = "tok_live_do_not_leak_0123456789"
SESSION_ID = str(uuid.uuid4())
SESSION = json.dumps(
    {"type": "checkout-session", "id": SESSION_ID, "expires_at": "2030-01-01T00:00:00Z"}
).encode()
FAST = RetryConfig(initial_delay=0, max_delay=0, retry_after_cap=0)
LOG_LINE = re.compile(
    r"(GET|POST|PUT|DELETE) (/checkout/sessions(/[0-9a-f-]{36})?) -> (\d{3}|[A-Za-z]+) "
    r"in \d+\.\d ms \(attempt (\d+), request id ([0-9a-f-]{36}|-)\)"
)


async def ok(request: web.Request) -> web.StreamResponse:
    if request.path.endswith("/missing"):
        return json_response(404, b'{"type": "error", "code": "not_found"}')
    return json_response(200, SESSION)


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    async with RawServer(ok) as raw:
        yield raw


async def get_through(http: aiohttp.ClientSession, server: RawServer, **kwargs: Any) -> Any:
    client = Gr4vy(server_url=server.url, bearer_auth=TOKEN, session=http, **kwargs)
    async with client:
        return await client.checkout_sessions.get(session_id=SESSION_ID)


# ---------------------------------------------------------------- borrowed sessions


async def test_a_borrowed_session_with_raise_for_status_still_gets_typed_errors() -> None:
    statuses = iter([404, 429, 200])

    async def handler(request: web.Request) -> web.StreamResponse:
        status = next(statuses)
        return json_response(status, SESSION if status == 200 else b"{}")

    async with RawServer(handler) as raw, aiohttp.ClientSession(raise_for_status=True) as http:
        with pytest.raises(errors.Error404):
            await get_through(http, raw, retries=FAST)
        assert (await get_through(http, raw, retries=FAST)).id == SESSION_ID  # 429 retried


async def test_a_borrowed_session_base_url_is_not_used(server: RawServer) -> None:
    async with aiohttp.ClientSession(base_url="http://127.0.0.1:9/elsewhere/") as http:
        assert (await get_through(http, server)).id == SESSION_ID
    assert server.seen[0].path == f"/checkout/sessions/{SESSION_ID}"


async def test_a_borrowed_session_without_decompression_still_decodes_gzip() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response(200, gzip.compress(SESSION), **{"Content-Encoding": "gzip"})

    async with RawServer(handler) as raw, aiohttp.ClientSession(auto_decompress=False) as http:
        assert (await get_through(http, raw)).id == SESSION_ID


async def test_a_borrowed_session_json_serializer_is_not_used(server: RawServer) -> None:
    def refuse(value: Any) -> str:
        raise AssertionError("the session's json_serialize was called")

    async with aiohttp.ClientSession(json_serialize=refuse) as http:
        client = Gr4vy(server_url=server.url, bearer_auth=TOKEN, session=http)
        await client.checkout_sessions.create(request_body=seed_create_body())
    assert json.loads(server.seen[0].body)["buyer"]["billing_details"]["first_name"] == "John"


async def test_a_borrowed_session_trace_configs_see_requests_without_changing_them(
    server: RawServer,
) -> None:
    started: list[str] = []

    async def on_start(session: Any, context: Any, params: aiohttp.TraceRequestStartParams) -> None:
        started.append(params.method)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as http:
        assert (await get_through(http, server)).id == SESSION_ID
    assert started == ["GET"]
    assert server.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"


async def test_a_borrowed_session_trusting_netrc_still_sends_our_token(
    server: RawServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    async with aiohttp.ClientSession(trust_env=True) as http:
        assert (await get_through(http, server)).id == SESSION_ID
    assert server.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"


async def test_a_borrowed_session_default_auth_is_not_sent(server: RawServer) -> None:
    with pytest.warns(DeprecationWarning, match="auth"):
        http = aiohttp.ClientSession(auth=aiohttp.BasicAuth("someone", "secret"))
    async with http:
        assert (await get_through(http, server)).id == SESSION_ID
    assert server.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"


async def test_a_borrowed_session_default_headers_are_not_sent(server: RawServer) -> None:
    defaults = {
        "Authorization": "Basic c29tZW9uZTpzZWNyZXQ=",
        "Accept": "text/html",
        "X-App": "shop",
        "x-gr4vy-merchant-account-id": "someone-else",
    }
    async with aiohttp.ClientSession(headers=defaults) as http:
        assert (await get_through(http, server)).id == SESSION_ID
    sent = server.seen[0].headers
    assert sent["Authorization"] == f"Bearer {TOKEN}"
    assert sent["Accept"] == "application/json"
    assert "X-App" not in sent
    assert "x-gr4vy-merchant-account-id" not in sent


async def test_a_borrowed_session_timeout_is_not_used() -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        return json_response(200, SESSION)

    short = aiohttp.ClientTimeout(total=0.01)
    async with RawServer(slow) as raw, aiohttp.ClientSession(timeout=short) as http:
        assert (await get_through(http, raw, timeout_in_seconds=5)).id == SESSION_ID


async def test_a_borrowed_session_middlewares_do_not_touch_our_requests(
    server: RawServer,
) -> None:
    async def inject(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        request.headers["X-Injected"] = "1"
        return await handler(request)

    async with aiohttp.ClientSession(middlewares=(inject,)) as http:
        assert (await get_through(http, server)).id == SESSION_ID
    assert "X-Injected" not in server.seen[0].headers


# ---------------------------------------------------------------- one loop per client


def _no_resource_warnings(run: Callable[[], None]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("then_close", [False, True])
def test_a_second_event_loop_gets_a_clear_error_and_no_resource_warning(then_close: bool) -> None:
    with ThreadedServer(ok) as raw:

        def run() -> None:
            client = Gr4vy(server_url=raw.url, bearer_auth=TOKEN)

            async def get() -> Any:
                return await client.checkout_sessions.get(session_id=SESSION_ID)

            assert asyncio.run(get()).id == SESSION_ID  # the session is made in this loop
            for _ in range(2):  # and again: the client stays bound to its first loop
                with pytest.raises(errors.EventLoopError) as info:
                    asyncio.run(get())
                assert str(info.value) == (
                    "this client's session belongs to another event loop; "
                    "create one client per loop"
                )
            if then_close:
                asyncio.run(client.aclose())

        assert _no_resource_warnings(run) == []


async def test_a_client_used_from_another_threads_loop_gets_a_clear_error(
    server: RawServer,
) -> None:
    client = Gr4vy(server_url=server.url, bearer_auth=TOKEN)
    await client.checkout_sessions.get(session_id=SESSION_ID)
    session = client._transport.open()
    failure: list[BaseException] = []

    def elsewhere() -> None:
        try:
            asyncio.run(client.checkout_sessions.get(session_id=SESSION_ID))
        except BaseException as exc:
            failure.append(exc)
        asyncio.run(client.aclose())  # closes the session in its own loop

    await asyncio.to_thread(elsewhere)
    assert len(failure) == 1
    assert isinstance(failure[0], errors.EventLoopError)
    assert session.closed


# ---------------------------------------------------------------- DEBUG lines


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
    summary = [(m.group(1), m.group(4), m.group(5)) for m in matches if m]
    assert summary == [("POST", "503", "1"), ("POST", "201", "2"), ("DELETE", "204", "1")]
    assert all(m.group(6) != "-" for m in matches if m)  # the fake sends x-request-id
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
        assert line.endswith(f"(attempt {attempt}, request id -)")


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


# ---------------------------------------------------------------- hooks


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


# ---------------------------------------------------------------- a real tracer


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
