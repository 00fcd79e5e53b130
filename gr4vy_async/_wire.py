"""aiohttp glue: what aiohttp is told, and what its answers and failures become.

Middlewares that make the request on the wire exactly ours and one attempt;
the translation of aiohttp's (or the OS's) failures into
:mod:`~gr4vy_async.errors`, with no raw value in the chain; reading a body
up to a limit; decoding a 2xx into its model.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import aiohttp
import msgspec
from yarl import URL

from ._codec import ResponseBody, decoder_for
from ._redact import body_prefix
from .errors import (
    ClientClosedError,
    ConnectError,
    Gr4vyError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ResponseValidationError,
    TransportError,
)

__all__ = [
    "MIDDLEWARES",
    "as_sent_by_us",
    "decode",
    "no_silent_retry",
    "read_body",
    "retire_session",
    "safe_cause",
    "translate",
    "wired",
]

T = TypeVar("T")


class _ConnectionDropped(aiohttp.ClientError):
    """A kept-alive connection dropped: raised instead of what aiohttp would retry silently."""


async def no_silent_retry(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Turn aiohttp's one hidden resend of an idempotent request off.

    aiohttp resends a GET/PUT/DELETE once when a kept-alive connection drops;
    our retry policy counts attempts, so every request on the wire must be one.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # never connected: aiohttp does not resend these
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _ConnectionDropped(type(exc).__name__) from exc


async def as_sent_by_us(
    headers: Mapping[str, str],
    defaults: Mapping[str, str],
    request: aiohttp.ClientRequest,
    handler: aiohttp.ClientHandlerType,
) -> aiohttp.ClientResponse:
    """For a borrowed session: our headers exactly, whatever the session adds.

    Drops its default headers that we did not set and sets ours, including
    ``Authorization``, over its default ``auth`` or ``.netrc`` credentials
    (``trust_env``), which aiohttp refuses to combine with that header.
    """
    for name in defaults:
        if name not in headers:
            request.headers.popall(name, None)
    request.headers.update(headers)
    return await handler(request)


MIDDLEWARES = (no_silent_retry,)


def wired(
    session: aiohttp.ClientSession, borrowed: bool, headers: dict[str, str], authorization: str
) -> tuple[dict[str, str], tuple[aiohttp.ClientMiddlewareType, ...]]:
    """The headers to pass aiohttp and the middlewares that make them exactly what is sent."""
    sent_headers = {**headers, "Authorization": authorization}
    if borrowed and (session.headers or session.auth or session.trust_env):
        # Authorization goes in through the middleware, not as a header aiohttp
        # would refuse beside the session's auth or netrc credentials.
        return headers, (
            functools.partial(as_sent_by_us, sent_headers, session.headers),
            no_silent_retry,
        )
    return sent_headers, MIDDLEWARES


def translate(
    exc: Exception,
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    timeout: float | None,
    closed: bool = False,
) -> Gr4vyError:
    """The Gr4vyError for what aiohttp (or the OS) raised when no usable response came.

    ``closed``: the client was closed under the request (whatever aiohttp raised).
    """
    where: dict[str, Any] = {"method": method, "url": str(url)}
    if closed:
        return ClientClosedError("the Gr4vy client was closed during the call", **where)
    name = type(exc).__name__
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return RequestTimeoutError(f"no response within {timeout} s", **where)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        # Not a transient failure: retrying cannot fix a certificate.
        return TransportError(f"TLS certificate rejected: {exc.certificate_error}", **where)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(f"cannot connect: {exc.os_error or exc}", before_send=True, **where)
    if isinstance(exc, _ConnectionDropped):
        return ConnectError(f"connection lost: {exc}", **where)
    if isinstance(
        exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError)
    ):
        return ConnectError(f"connection lost: {name}", **where)
    if isinstance(exc, RuntimeError) and session.closed:
        return ClientClosedError("the aiohttp session is closed", **where)
    return TransportError(f"request failed: {name}", **where)


def safe_cause(exc: BaseException) -> BaseException | None:
    """What may stay a translated error's ``__cause__``: an OS or timeout error.

    Anything else aiohttp raises can quote the response: a header line it
    could not parse, or (``ServerDisconnectedError``) the headers of a
    response cut short. Those are named in the message only.
    """
    if isinstance(exc, _ConnectionDropped) and exc.__cause__ is not None:
        exc = exc.__cause__
    kept: BaseException | None
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        kept = exc if isinstance(exc.message, str) else None
    else:
        kept = exc if isinstance(exc, (OSError, asyncio.TimeoutError)) else None
    if kept is not None:
        # The kept error's own chain is held to the same rule (on 3.10 aiohttp's
        # ClientOSError carries the parser error that quotes the response).
        cause = kept.__cause__
        kept.__cause__ = None if cause is None or cause is kept else safe_cause(cause)
        kept.__context__ = None
    return kept


async def read_body(response: aiohttp.ClientResponse, limit: int, method: str, url: URL) -> bytes:
    """The (decompressed) body, read until it passes ``limit`` bytes at most."""
    declared = response.content_length
    if declared is None or declared <= limit:
        if declared is not None and "Content-Encoding" not in response.headers:
            # aiohttp reads at most the declared length
            return ResponseBody(await response.read())
        size = 0
        chunks: list[bytes] = []
        content = response.content
        while chunk := await content.readany():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        else:
            return ResponseBody(b"".join(chunks))
    response.close()  # the rest is never read: the connection cannot be reused
    raise ResponseTooLargeError(
        f"{response.status}: response body larger than max_response_bytes={limit}",
        status_code=response.status,
        headers=response.headers,
        method=method,
        url=str(url),
    )


#: A value msgspec quotes in a message (``Invalid enum value 'x'``): response data stays out.
_QUOTED = re.compile(r"'[^']*'")


def decode(
    response: aiohttp.ClientResponse, raw: bytes, response_type: type[T], method: str, url: URL
) -> T:
    """A 2xx body as ``response_type``; anything that does not decode is a typed error."""
    try:
        return decoder_for(response_type).decode(raw)
    except (msgspec.DecodeError, RecursionError, ValueError) as exc:
        reason = _QUOTED.sub("'...'", str(exc))[:200]
    # Raised out here: msgspec's error quotes the value, so it is neither
    # __cause__ nor __context__; the reason above is its text without it.
    status = response.status
    raise ResponseValidationError(
        f"{status}: the response body is not a valid {response_type.__name__}: {reason}",
        status_code=status,
        headers=response.headers,
        body=body_prefix(raw),
        method=method,
        url=str(url),
    )


def retire_session(session: aiohttp.ClientSession) -> None:
    """Let go of an owned session whose loop is closed, without unclosed-resource warnings.

    Nothing can be awaited on a closed loop; the connector is marked closed
    and its sockets closed directly. The session stays its client's, so
    every later call from another loop raises :class:`EventLoopError` too.
    """
    connector = getattr(session, "connector", None)
    session.detach()
    if connector is None:
        return
    # aiohttp internals: guarded, so a change there costs a warning, never an error.
    conns = getattr(connector, "_conns", {})
    protocols = [protocol for entries in conns.values() for protocol, _ in entries]
    with contextlib.suppress(Exception):
        connector._close()
    for protocol in protocols:
        sock = getattr(protocol.transport, "_sock", None)
        if sock is not None:
            sock.close()
            protocol.transport._sock = None
