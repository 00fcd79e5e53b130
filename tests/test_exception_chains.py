"""No raw server value in any exception's text or chain (issue 19, item 10).

What a traceback prints is the exception, its ``__cause__`` and its
``__context__``: each is checked, as text and as ``traceback`` and
``logging.exception`` print it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import traceback
from collections.abc import AsyncIterator

import pytest
from support.servers import RawServer, answer, raw_client
from support.sessions import SESSION_ID

from gr4vy_async import errors

SECRET = "card-fingerprint-5EC12E7"


def _chain(error: BaseException) -> list[BaseException]:
    """The exception and everything a traceback could print with it."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is done for done in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
    return seen


def assert_nowhere(error: BaseException, secret: str) -> None:
    """``secret`` is in no exception of the chain, no formatted traceback, no logged one."""
    for link in _chain(error):
        assert secret not in str(link), type(link)
        assert secret not in repr(link), type(link)
        assert secret not in "".join(traceback.format_exception_only(type(link), link))
    assert secret not in "".join(traceback.format_exception(error))
    stream = io.StringIO()
    log = logging.getLogger("test_exception_chains")
    handler = logging.StreamHandler(stream)
    log.addHandler(handler)
    try:
        try:
            raise error
        except type(error):
            log.exception("the call failed")
    finally:
        log.removeHandler(handler)
    assert "the call failed" in stream.getvalue()
    assert secret not in stream.getvalue()


async def test_a_response_that_does_not_validate_chains_no_raw_value() -> None:
    body = json.dumps(
        {"type": "checkout-session", "id": SESSION_ID, "payment_method": {"type": SECRET}}
    ).encode()
    async with RawServer(answer(200, body)) as server, raw_client(server.url) as client:
        with pytest.raises(errors.ResponseValidationError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert "payment_method" in str(info.value)  # the reason is kept, sanitized
    assert_nowhere(info.value, SECRET)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "checkout-session", "id": "' + SECRET.encode() + b'", "x": }',
        b'{"type": "checkout-session", "id": 5, "' + SECRET.encode() + b'": 1, "metadata": 7}',
        b'{"type": "checkout-session", "expires_at": "' + SECRET.encode() + b'"}',
    ],
    ids=["malformed", "wrong-type", "bad-datetime"],
)
async def test_a_body_that_does_not_decode_chains_no_raw_value(body: bytes) -> None:
    async with RawServer(answer(200, body)) as server, raw_client(server.url) as client:
        with pytest.raises(errors.ResponseValidationError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert_nowhere(info.value, SECRET)


@contextlib.asynccontextmanager
async def _tcp_server(reply: bytes) -> AsyncIterator[str]:
    """A TCP server on loopback that answers every request with the bytes ``reply``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nX-Token: " + SECRET.encode() + b"\x01\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 2" + SECRET.encode() + b" OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + SECRET.encode()[:5],
        b"HTTP/1.1 200 OK\r\nX-Token: " + SECRET.encode() + b"\r\n",
    ],
    ids=["bad-header", "bad-status-line", "truncated", "headers-cut-short"],
)
async def test_a_response_aiohttp_cannot_parse_chains_no_raw_value(reply: bytes) -> None:
    async with _tcp_server(reply) as url, raw_client(url) as client:
        with pytest.raises(errors.Gr4vyError) as info:
            await client.checkout_sessions.get(session_id=SESSION_ID)
    assert_nowhere(info.value, SECRET)
