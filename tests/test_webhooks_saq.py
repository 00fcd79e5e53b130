"""The webhooks queue recipe (gr4vy_async.contrib.saq_webhooks) on a real redis-server.

A receiver whose ``on_event`` enqueues, FakeGr4vy delivering to it, an SAQ
worker running the jobs: however often the same event is delivered (Gr4vy's
retries, a replay after the web app restarts, after the job ran), one job.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from saq import Status, Worker
from saq.queue.redis import RedisQueue
from saq.types import Context
from support import cluster

from gr4vy_async.contrib.saq_webhooks import (
    FUNCTION,
    JOB_TTL,
    enqueue_event,
    event_of,
    job_key,
)
from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.webhooks import (
    ID_HEADER,
    SIGNATURES_HEADER,
    TIMESTAMP_HEADER,
    WebhookEvent,
    WebhookReceiver,
    parse,
    sign,
)

SECRET = "whsec-queue-" + "q" * 40
PATH = "/webhooks/gr4vy"
#: Upper bound on any wait for Redis or the worker; a hang fails instead of blocking CI.
PATIENCE = 60.0


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with cluster.redis_server() as url:
        yield url


@pytest.fixture
async def queue(redis_url: str) -> AsyncIterator[RedisQueue]:
    saq_queue = RedisQueue.from_url(redis_url, name="webhooks")
    await saq_queue.connect()
    await saq_queue.redis.flushall()
    try:
        yield saq_queue
    finally:
        await saq_queue.disconnect()


async def receiver_app(queue: RedisQueue) -> TestClient[web.Request, web.Application]:
    """The documented recipe: a fresh receiver (a restarted web app) that only enqueues."""

    async def on_event(event: WebhookEvent) -> None:
        await enqueue_event(queue, event)

    app = web.Application()
    WebhookReceiver(SECRET, on_event).attach(app, PATH)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def until(check: Callable[[], Awaitable[object]]) -> None:
    """Poll Redis until ``check()`` is true; fail after ``PATIENCE`` seconds."""
    deadline = time.monotonic() + PATIENCE
    while not await check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.005)


async def completed(queue: RedisQueue, key: str) -> bool:
    job = await queue.job(key)
    return job is not None and job.status == Status.COMPLETE


async def replay(client: TestClient[web.Request, web.Application], body: bytes, wid: str) -> int:
    signature, timestamp = sign(body, SECRET)
    headers = {SIGNATURES_HEADER: signature, TIMESTAMP_HEADER: timestamp, ID_HEADER: wid}
    async with client.post(PATH, data=body, headers=headers) as response:
        return response.status


async def test_each_event_is_one_job_however_often_it_is_delivered(queue: RedisQueue) -> None:
    handled: list[dict[str, Any]] = []

    async def handle_gr4vy_webhook(ctx: Context, *, event: dict[str, Any]) -> None:
        handled.append(event)

    worker = Worker(queue, functions=[(FUNCTION, handle_gr4vy_webhook)], concurrency=1)
    running = asyncio.ensure_future(worker.start())
    clients: list[TestClient[web.Request, web.Application]] = []
    try:
        await until(lambda: queue.redis.exists(queue.namespace("sweep")))  # SAQ's startup sweep
        async with FakeGr4vy() as fake:
            clients.append(await receiver_app(queue))
            delivery = await fake.send_webhook(str(clients[0].make_url(PATH)), SECRET)
        assert delivery.delivered
        key = "gr4vy-webhook:" + delivery.webhook_id
        await until(lambda: completed(queue, key))
        job = await queue.job(key)
        assert job is not None
        assert job.ttl == JOB_TTL
        assert job.function == FUNCTION

        for _ in range(2):  # Gr4vy retries after the web app restarted: an empty in-memory cache
            clients.append(await receiver_app(queue))
            assert await replay(clients[-1], delivery.body, delivery.webhook_id) == 200
        assert await queue.count("queued") == 0
        assert await queue.count("incomplete") == 0
    finally:
        for client in clients:
            await client.close()
        await worker.stop()
        await running

    (event,) = [event_of(raw) for raw in handled]
    assert event.webhook_id == delivery.webhook_id
    assert event.checkout_session_id == json.loads(delivery.body)["target"]["checkout_session_id"]


async def test_concurrent_deliveries_of_one_event_enqueue_one_job(queue: RedisQueue) -> None:
    body = json.dumps({"type": "event", "id": "e-1", "name": "transaction.captured"}).encode()
    event = parse(body, SECRET, *sign(body, SECRET), webhook_id="w-1")
    jobs = await asyncio.gather(*(enqueue_event(queue, event) for _ in range(20)))
    assert sum(job is not None for job in jobs) == 1
    assert jobs[0] is None or jobs[0].key == job_key(event) == "gr4vy-webhook:w-1"
    assert await queue.count("queued") == 1
