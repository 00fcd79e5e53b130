"""The aiohttp webhook endpoint (WebhookReceiver) and FakeGr4vy's deliveries, over loopback.

Each test serves a receiver in an ``aiohttp.web`` app on 127.0.0.1 and posts
to it: signed by hand, or delivered by ``FakeGr4vy.send_webhook`` (signed,
retried after a non-2xx) as Gr4vy would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from support.helpers import wait_until

from gr4vy_async import errors
from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.testing.webhooks import Delivery, deliver
from gr4vy_async.webhooks import (
    ID_HEADER,
    SIGNATURES_HEADER,
    TIMESTAMP_HEADER,
    SeenIds,
    WebhookEvent,
    WebhookReceiver,
    sign,
)

SECRET = "whsec-receiver-" + "r" * 40
PATH = "/webhooks/gr4vy"
NO_WAIT = (0.0, 0.0, 0.0)


def event_body(event_id: str = "e-1", **fields: Any) -> bytes:
    event = {"type": "event", "id": event_id, "name": "transaction.captured", **fields}
    return json.dumps(event).encode()


def headers_for(body: bytes, webhook_id: str = "w-1", secret: str = SECRET) -> dict[str, str]:
    signature, timestamp = sign(body, secret)
    return {SIGNATURES_HEADER: signature, TIMESTAMP_HEADER: timestamp, ID_HEADER: webhook_id}


class Recorder:
    """An ``on_event`` that records events; ``fail`` times it raises first; ``gate`` it waits on."""

    def __init__(self, fail: int = 0, gate: asyncio.Event | None = None) -> None:
        self.events: list[WebhookEvent] = []
        self.finished: list[WebhookEvent] = []
        self.fail = fail
        self.gate = gate

    async def __call__(self, event: WebhookEvent) -> None:
        self.events.append(event)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("buyer 4111 secret detail")
        if self.gate is not None:
            await self.gate.wait()
        self.finished.append(event)


Serve = Callable[..., Awaitable[tuple[TestClient[web.Request, web.Application], WebhookReceiver]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``await serve(on_event, **options)``: a client of an app with a receiver at ``PATH``."""
    clients: list[TestClient[web.Request, web.Application]] = []

    async def start(
        on_event: Any, **options: Any
    ) -> tuple[TestClient[web.Request, web.Application], WebhookReceiver]:
        app = web.Application()
        receiver = WebhookReceiver(options.pop("secrets", SECRET), on_event, **options)
        receiver.attach(app, PATH)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client, receiver

    yield start
    for client in clients:
        await client.close()


async def post(
    client: TestClient[web.Request, web.Application], body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    async with client.post(PATH, data=body, headers=headers) as response:
        return response.status, await response.text()


async def test_a_verified_delivery_is_handled_and_acknowledged(serve: Serve) -> None:
    recorder = Recorder()
    client, _ = await serve(recorder)
    body = event_body(target={"type": "transaction", "checkout_session_id": "cs-1"})
    assert await post(client, body, headers_for(body)) == (200, "ok\n")
    (event,) = recorder.events
    assert (event.id, event.webhook_id, event.checkout_session_id) == ("e-1", "w-1", "cs-1")


@pytest.mark.parametrize(
    ("tamper", "status", "reason"),
    [
        (lambda b, h: (b, headers_for(b, secret="wrong")), 401, "No matching signature"),
        (lambda b, h: (b.replace(b"e-1", b"e-2"), h), 401, "No matching signature"),
        (lambda b, h: (b, {**h, TIMESTAMP_HEADER: str(int(h[TIMESTAMP_HEADER]) - 1)}), 401, "No"),
        (lambda b, h: (b, {ID_HEADER: "w-1"}), 400, "Missing header values"),
        (lambda b, h: (b, {**h, TIMESTAMP_HEADER: "soon"}), 400, "Invalid header timestamp"),
        (lambda b, h: (b, {**h, SIGNATURES_HEADER: ",".join(["0" * 64] * 11)}), 400, "Too many"),
    ],
    ids=["wrong-secret", "tampered-payload", "tampered-timestamp", "no-headers", "bad-ts", "11"],
)
async def test_a_bad_delivery_is_refused_with_a_one_line_reason(
    serve: Serve, tamper: Any, status: int, reason: str
) -> None:
    recorder = Recorder()
    client, _ = await serve(recorder)
    body = event_body()
    got_status, text = await post(client, *tamper(body, headers_for(body)))
    assert got_status == status
    assert text.startswith(reason)
    assert text.count("\n") == 1
    assert SECRET not in text
    assert "e-1" not in text
    assert recorder.events == []


async def test_ten_thousand_signatures_are_refused(serve: Serve) -> None:
    """aiohttp's 8 KiB header line limit answers 400 before the receiver runs; under it, ours."""
    recorder = Recorder()
    client, _ = await serve(recorder)
    body = event_body()
    for candidates, reason in (
        (["0" * 64] * 10_000, "Got more than 8190 bytes"),
        (["0"] * 2000, "Too many"),
    ):
        headers = {**headers_for(body), SIGNATURES_HEADER: ",".join(candidates)}
        status, text = await post(client, body, headers)
        assert status == 400
        assert reason in text
    assert recorder.events == []


@pytest.mark.parametrize("age", [301, -301], ids=["too-old", "too-new"])
async def test_a_stale_or_future_delivery_is_refused(serve: Serve, age: int) -> None:
    client, _ = await serve(Recorder())
    body = event_body()
    signature, timestamp = sign(body, SECRET, int(time.time()) - age)
    headers = {SIGNATURES_HEADER: signature, TIMESTAMP_HEADER: timestamp}
    status, text = await post(client, body, headers)
    assert status == 401
    assert "Timestamp too" in text


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_bound_is_refused_unread(serve: Serve, chunked: bool) -> None:
    recorder = Recorder()
    client, _ = await serve(recorder, max_body_bytes=1000)
    body = event_body(padding="x" * 2000)
    data: Any = body
    if chunked:

        async def stream() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 100):
                yield body[start : start + 100]

        data = stream()
    async with client.post(PATH, data=data, headers=headers_for(body)) as response:
        assert (response.status, await response.text()) == (413, "body too large\n")
    assert recorder.events == []


async def test_a_replayed_event_is_dropped(serve: Serve) -> None:
    """The same ID header, or the same signed event id under another ID header: handled once."""
    recorder = Recorder()
    client, receiver = await serve(recorder)
    body = event_body()
    assert (await post(client, body, headers_for(body)))[0] == 200
    assert await post(client, body, headers_for(body)) == (200, "duplicate: already received\n")
    assert (await post(client, body, headers_for(body, webhook_id="w-forged")))[0] == 200
    assert [event.id for event in recorder.events] == ["e-1"]
    other = event_body("e-2")
    assert await post(client, other, headers_for(other, webhook_id="w-2")) == (200, "ok\n")
    assert len(recorder.events) == 2
    assert isinstance(receiver.seen, SeenIds)


async def test_a_failed_handler_answers_500_and_the_retry_gets_through(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(fail=1)
    client, _ = await serve(recorder)
    body = event_body()
    assert await post(client, body, headers_for(body)) == (500, "handler failed\n")
    assert await post(client, body, headers_for(body)) == (200, "ok\n")
    assert len(recorder.events) == 2
    assert len(recorder.finished) == 1
    assert "RuntimeError" in caplog.text
    assert "4111" not in caplog.text


async def test_a_slow_handler_is_acknowledged_in_time_and_awaited_on_cleanup() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate=gate)
    cleanups: list[str] = []
    app = web.Application()

    async def mark(name: str) -> None:
        cleanups.append(name)

    app.on_cleanup.append(lambda app: mark("before"))
    receiver = WebhookReceiver(SECRET, recorder, ack_within=0.01)
    receiver.attach(app, PATH)
    app.on_cleanup.append(lambda app: mark("after"))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    body = event_body()
    assert await post(client, body, headers_for(body)) == (202, "accepted: being handled\n")
    assert len(receiver.background) == 1
    assert recorder.finished == []
    closing = asyncio.ensure_future(client.close())
    await wait_until(lambda: cleanups == ["before"])
    assert not closing.done()  # the receiver's cleanup waits for on_event
    gate.set()
    await closing
    assert cleanups == ["before", "after"]
    assert len(recorder.finished) == 1
    assert receiver.background == set()


async def test_a_background_failure_is_logged_without_its_message(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    gate = asyncio.Event()

    async def slow_then_fail(event: WebhookEvent) -> None:
        await gate.wait()
        raise ValueError("card 4111 1111")

    client, receiver = await serve(slow_then_fail, ack_within=0)
    body = event_body()
    assert (await post(client, body, headers_for(body)))[0] == 202
    with caplog.at_level(logging.ERROR, "gr4vy_async.webhooks"):
        gate.set()
        await receiver.close()
    assert "ValueError" in caplog.text
    assert "e-1" in caplog.text
    assert "4111" not in caplog.text


def test_seen_ids_keep_the_last_maxsize() -> None:
    seen = SeenIds(maxsize=2)
    assert seen.add("a")
    assert seen.add("b")
    assert not seen.add("a")
    assert seen.add("c")  # evicts b, the least recently seen
    assert not seen.add("a")
    assert seen.add("b")
    assert len(seen) == 2
    with pytest.raises(errors.InvalidRequestError, match="maxsize"):
        SeenIds(0)


@pytest.mark.parametrize(
    ("options", "match"),
    [({"secrets": ""}, "secrets"), ({"secrets": []}, "secrets"), ({"ack_within": 5}, "5 s")],
)
def test_bad_receiver_options_are_refused(options: dict[str, Any], match: str) -> None:
    with pytest.raises(errors.InvalidRequestError, match=match):
        WebhookReceiver(options.pop("secrets", SECRET), Recorder(), **options)


# ------------------------------------------------------------------ FakeGr4vy delivers


async def test_the_fake_delivers_a_transaction_event_for_its_session(serve: Serve) -> None:
    recorder = Recorder()
    client, _ = await serve(recorder)
    async with FakeGr4vy() as fake:
        session = fake.create_session({"metadata": {"order": "o-1"}})
        delivery = await fake.send_webhook(
            str(client.make_url(PATH)), SECRET, session_id=session.id
        )
        assert delivery.delivered
        assert delivery.statuses == [200]
        (event,) = recorder.events
        assert event.checkout_session_id == session.id
        assert event.webhook_id == delivery.webhook_id
        assert event.target["type"] == "transaction"
        assert event.merchant_account_id == "default"
        assert ("default", event.checkout_session_id) in fake.sessions
        with pytest.raises(ValueError, match="no such session"):
            await fake.send_webhook("http://127.0.0.1:9", SECRET, session_id="nope")


async def test_the_fake_retries_a_non_2xx_with_the_same_webhook_id(serve: Serve) -> None:
    recorder = Recorder(fail=2)
    client, _ = await serve(recorder, secrets=["new-secret", SECRET])
    async with FakeGr4vy() as fake:
        delivery = await fake.send_webhook(
            str(client.make_url(PATH)), [SECRET, "old-secret"], retry_delays=NO_WAIT
        )
    assert delivery.statuses == [500, 500, 200]
    assert {event.webhook_id for event in recorder.events} == {delivery.webhook_id}
    assert len(recorder.finished) == 1


async def test_the_fake_gives_up_after_its_retries() -> None:
    statuses: list[int] = []

    async def unavailable(request: web.Request) -> web.Response:
        statuses.append(503)
        return web.Response(status=503)

    app = web.Application()
    app.router.add_post(PATH, unavailable)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        delivery = await deliver(
            str(client.make_url(PATH)), SECRET, {"id": "e", "name": "n"}, retry_delays=NO_WAIT
        )
    assert delivery.statuses == [503] * 4
    assert not delivery.delivered
    assert len(statuses) == 4


async def test_a_delivery_with_no_answer_in_time_is_retried() -> None:
    never = asyncio.Event()

    async def hangs(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post(PATH, hangs)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        delivery = await deliver(
            str(client.make_url(PATH)), SECRET, b"{}", retry_delays=(0.0,), timeout=0.05
        )
    assert delivery.statuses == [None, None]
    assert all(attempt.error for attempt in delivery.attempts)


async def test_the_pytest_fixtures_deliver_to_an_app(
    serve: Serve,
    gr4vy_fake: FakeGr4vy,
    gr4vy_webhook_secret: str,
    gr4vy_send_webhook: Callable[..., Awaitable[Delivery]],
) -> None:
    recorder = Recorder()
    client, _ = await serve(recorder, secrets=gr4vy_webhook_secret)
    delivery = await gr4vy_send_webhook(str(client.make_url(PATH)))
    assert delivery.delivered
    (event,) = recorder.events
    assert ("default", event.checkout_session_id) in gr4vy_fake.sessions
