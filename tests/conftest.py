"""Shared fixtures: mocked HTTP, raw loopback servers, leak checks, clients."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from support.aioresponses_compat import TOKEN, CompatAioresponses
from support.helpers import FAST, p521_key, private_pem
from support.servers import RawServer, session_or_404

from gr4vy_async import Gr4vy, RetryConfig


def pytest_collection_finish(session: pytest.Session) -> None:
    # Everything imported so far lives for the whole run: keep it out of the
    # per-test gc.collect() below, which then takes milliseconds, not tenths.
    gc.freeze()


@pytest.fixture
def mock_http() -> Iterator[CompatAioresponses]:
    """aioresponses (gated for this aiohttp), active for the test."""
    mocked = CompatAioresponses()
    with mocked:
        yield mocked


@pytest.fixture(autouse=True)
async def _no_unclosed_sessions() -> AsyncIterator[None]:
    """Fail a test that leaves an aiohttp session or connector unclosed."""
    loop = asyncio.get_running_loop()
    reports: list[str] = []
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        reports.append(str(context.get("message")))
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    yield
    gc.collect()
    loop.set_exception_handler(previous)
    unclosed = [report for report in reports if "Unclosed" in report]
    assert not unclosed, unclosed


@pytest.fixture
def fast_retries() -> RetryConfig:
    """The default policy without its waits, so attempt counts are tested quickly."""
    return FAST


@pytest.fixture
async def client(fast_retries: RetryConfig) -> AsyncIterator[Gr4vy]:
    async with Gr4vy(
        id="acme", bearer_auth=TOKEN, merchant_account_id="default", retries=fast_retries
    ) as gr4vy:
        yield gr4vy


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    """A raw loopback server answering a session (404 for a path ending ``/missing``)."""
    async with RawServer(session_or_404) as raw:
        yield raw


@pytest.fixture
async def fuzzed_client() -> AsyncIterator[tuple[dict[str, Any], Gr4vy]]:
    """A client, and the response its server sends: ``answer["status"/"body"/"headers"]``."""
    answer: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        answer["seen"] = answer.get("seen", 0) + 1
        status = answer["status"]
        body = b"" if status == 204 else answer["body"]
        return web.Response(status=status, body=body, headers=answer["headers"])

    async with (
        RawServer(handler) as server,
        Gr4vy(
            server_url=server.url,
            bearer_auth="token",
            retries=RetryConfig(max_attempts=2, initial_delay=0, max_delay=0, retry_after_cap=0),
            max_response_bytes=64 * 1024,
        ) as client,
    ):
        yield answer, client


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    """A P-521 private key, one per test module."""
    return p521_key()


@pytest.fixture(scope="module")
def pem(key: ec.EllipticCurvePrivateKey) -> str:
    """``key`` as PKCS#8 PEM text."""
    return private_pem(key)
