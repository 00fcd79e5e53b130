"""The aiohttp session: owned or borrowed, one event loop per client, requests in flight.

A client made without ``session=`` owns its session and closes it on exit; a
borrowed session is used as given for the connection only (none of its defaults
reach our requests) and never closed. A client belongs to the event loop it first
ran in; many requests may be in flight on it at once.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support.aioresponses_compat import TOKEN, CompatAioresponses
from support.helpers import FAST, client_for
from support.servers import RawServer, ThreadedServer, json_response, session_or_404
from support.sessions import SESSION, SESSION_ID

from gr4vy_async import Gr4vy, errors
from gr4vy_async.testing import FakeGr4vy, Fault
from gr4vy_async.testing.payloads import seed_create_body

# --------------------------------------------------------------------------- an owned session


async def test_full_lifecycle_with_an_owned_session(gr4vy_fake: FakeGr4vy) -> None:
    client = client_for(gr4vy_fake)
    async with client:
        created = await client.checkout_sessions.create(request_body=seed_create_body())
        assert created.cart_items == seed_create_body().cart_items
        assert created.buyer == seed_create_body().buyer
        fetched = await client.checkout_sessions.get(session_id=created.id)
        assert fetched == created
        updated = await client.checkout_sessions.update(
            session_id=created.id, metadata={"k": "v"}, buyer=None
        )
        assert updated.metadata == {"k": "v"}
        assert updated.buyer is None
        assert updated.cart_items == created.cart_items  # left alone
        await client.checkout_sessions.delete(session_id=created.id)
        with pytest.raises(errors.Error404):
            await client.checkout_sessions.get(session_id=created.id)
        session = client._transport._session
        assert session is not None
    assert session.closed  # the owned session is closed on exit
    sent = gr4vy_fake.requests[0]
    assert sent.headers["User-Agent"].startswith("gr4vy-async/")
    assert sent.headers["x-gr4vy-merchant-account-id"] == "default"


async def test_a_request_after_close_is_a_clear_error(mock_http: CompatAioresponses) -> None:
    client = Gr4vy(id="acme", bearer_auth=TOKEN)
    async with client:
        pass
    await client.aclose()  # closing twice is harmless
    with pytest.raises(errors.ClientClosedError, match="closed"):
        await client.checkout_sessions.get(session_id=SESSION_ID)
    assert mock_http.requests == {}


# --------------------------------------------------------------------------- a borrowed session


async def test_a_borrowed_session_is_used_and_never_closed(gr4vy_fake: FakeGr4vy) -> None:
    async with aiohttp.ClientSession() as http:
        async with client_for(gr4vy_fake, session=http) as client:
            await client.checkout_sessions.create()
        assert not http.closed
        async with http.get(gr4vy_fake.url + "/checkout/sessions/x") as response:
            assert response.status == 401  # still usable, and it was this session
    assert len(gr4vy_fake.requests) == 2


async def test_a_closed_borrowed_session_is_a_clear_error(gr4vy_fake: FakeGr4vy) -> None:
    http = aiohttp.ClientSession()
    await http.close()
    client = client_for(gr4vy_fake, session=http)
    with pytest.raises(errors.ClientClosedError, match="closed"):
        await client.checkout_sessions.create()
    assert gr4vy_fake.requests == []


async def get_through(http: aiohttp.ClientSession, server: RawServer, **kwargs: Any) -> Any:
    client = Gr4vy(server_url=server.url, bearer_auth=TOKEN, session=http, **kwargs)
    async with client:
        return await client.checkout_sessions.get(session_id=SESSION_ID)


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


# ------------------------------------------------------------------------ one event loop per client


def _no_resource_warnings(run: Callable[[], None]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("then_close", [False, True])
def test_a_second_event_loop_gets_a_clear_error_and_no_resource_warning(then_close: bool) -> None:
    with ThreadedServer(session_or_404) as raw:

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


# --------------------------------------------------------------------------- requests in flight


async def test_a_hundred_requests_in_flight_on_one_client(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.rate("*", Fault.latency(0.05), probability=1.0, seed=1)
    async with client_for(gr4vy_fake) as client:
        created = await asyncio.gather(*(client.checkout_sessions.create() for _ in range(100)))
        fetched = await asyncio.gather(
            *(client.checkout_sessions.get(session_id=s.id) for s in created)
        )
    assert [s.id for s in fetched] == [s.id for s in created]
    assert len({s.id for s in created}) == 100
    assert gr4vy_fake.max_in_flight == 100


async def test_cancelling_in_flight_requests_leaves_no_open_connection(
    gr4vy_fake: FakeGr4vy,
) -> None:
    gr4vy_fake.faults.rate("GET", Fault.latency(5), probability=1.0, seed=1)
    async with client_for(gr4vy_fake) as client:
        session = await client.checkout_sessions.create()
        tasks = [
            asyncio.ensure_future(client.checkout_sessions.get(session_id=session.id))
            for _ in range(20)
        ]
        while gr4vy_fake.in_flight < 20:  # noqa: ASYNC110 - the server's count, polled
            await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        connector = client._transport.open().connector
        assert connector is not None
        assert len(connector._acquired) == 0
        # The client still works after the cancellations.
        gr4vy_fake.faults.clear()
        assert (await client.checkout_sessions.get(session_id=session.id)).id == session.id
