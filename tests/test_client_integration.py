"""The client over real HTTP on loopback, against FakeGr4vy (an aiohttp.web server)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from support.aioresponses_compat import TOKEN
from support.helpers import client_for

from gr4vy_async import Gr4vy, RetryConfig, errors, models
from gr4vy_async.testing import FakeGr4vy, Fault
from gr4vy_async.testing.payloads import seed_create_body


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


async def test_a_borrowed_session_is_used_and_never_closed(gr4vy_fake: FakeGr4vy) -> None:
    async with aiohttp.ClientSession() as http:
        async with client_for(gr4vy_fake, session=http) as client:
            await client.checkout_sessions.create()
        assert not http.closed
        async with http.get(gr4vy_fake.url + "/checkout/sessions/x") as response:
            assert response.status == 401  # still usable, and it was this session
    assert len(gr4vy_fake.requests) == 2


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


async def test_retries_over_real_http_with_injected_faults(gr4vy_fake: FakeGr4vy) -> None:
    fast = RetryConfig(initial_delay=0, max_delay=0, retry_after_cap=0)
    async with client_for(gr4vy_fake, retries=fast) as client:
        session = await client.checkout_sessions.create()
        gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=2)
        assert (await client.checkout_sessions.get(session_id=session.id)).id == session.id
        gr4vy_fake.faults.enqueue("GET", Fault.drop())
        assert (await client.checkout_sessions.get(session_id=session.id)).id == session.id
        gr4vy_fake.faults.enqueue("POST", Fault.status(500))
        with pytest.raises(errors.Error500):
            await client.checkout_sessions.create()
    methods = [r.method for r in gr4vy_fake.requests]
    assert methods == ["POST", "GET", "GET", "GET", "GET", "GET", "POST"]


async def test_a_delete_whose_response_was_lost_is_retried_and_reports_404(
    gr4vy_fake: FakeGr4vy,
) -> None:
    fast = RetryConfig(initial_delay=0, max_delay=0)
    async with client_for(gr4vy_fake, retries=fast) as client:
        session = await client.checkout_sessions.create()
        gr4vy_fake.faults.enqueue("DELETE", Fault.drop(after=True))
        with pytest.raises(errors.Error404):
            await client.checkout_sessions.delete(session_id=session.id)
    assert [r.method for r in gr4vy_fake.requests] == ["POST", "DELETE", "DELETE"]


async def test_timeout_in_seconds_over_real_http(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("POST", Fault.latency(2))
    async with client_for(gr4vy_fake) as client:
        with pytest.raises(errors.RequestTimeoutError) as info:
            await client.checkout_sessions.create(timeout_in_seconds=0.2)
    assert isinstance(info.value.__cause__, asyncio.TimeoutError)
    assert len(gr4vy_fake.requests) == 1  # a create that timed out is not retried


async def test_server_validation_errors_come_back_typed(gr4vy_fake: FakeGr4vy) -> None:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        body = json.dumps({"cart_items": [{"name": "x", "quantity": 0, "unit_amount": 1}]})
        async with http.post(
            gr4vy_fake.url + "/checkout/sessions", data=body, headers=headers
        ) as response:
            raw = await response.read()
    from gr4vy_async.errors import error_for_response

    error = error_for_response(422, {}, raw, method="POST", url="u")
    assert isinstance(error, errors.HTTPValidationError)
    assert isinstance(error.data, models.HTTPValidationError)
    assert "cart_items.0.quantity" in str(error)


async def test_the_pytest_plugin_gives_a_client_pointed_at_the_fake(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy
) -> None:
    session = await gr4vy_client.checkout_sessions.create()
    assert ("default", session.id) in gr4vy_fake.sessions
    assert gr4vy_fake.requests[0].sent_token("token")


async def test_a_closed_borrowed_session_is_a_clear_error(gr4vy_fake: FakeGr4vy) -> None:
    http = aiohttp.ClientSession()
    await http.close()
    client = client_for(gr4vy_fake, session=http)
    with pytest.raises(errors.ClientClosedError, match="closed"):
        await client.checkout_sessions.create()
    assert gr4vy_fake.requests == []


async def test_redirects_are_never_followed() -> None:
    from aiohttp import web

    elsewhere: list[bytes] = []

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"http://127.0.0.1:{port}/stolen")

    async def stolen(request: web.Request) -> web.Response:
        elsewhere.append(await request.read())
        return web.json_response({"id": "x"}, status=201)

    app = web.Application()
    app.router.add_post("/checkout/sessions", redirect)
    app.router.add_post("/stolen", stolen)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with Gr4vy(server_url=f"http://127.0.0.1:{port}", bearer_auth=TOKEN) as client:
            with pytest.raises(errors.APIError) as info:
                await client.checkout_sessions.create(request_body=seed_create_body())
    finally:
        await runner.cleanup()
    assert info.value.status_code == 307
    assert elsewhere == []  # the buyer data never left for the Location
