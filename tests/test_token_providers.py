"""A token provider's repeated token: what the client may skip, and what it may not.

A token provider's token is checked once and its header value kept while the
provider returns an equal string: these tests pin that only an equal *string*
takes that path, that a string subclass is compared by its text, and that a
token taken that way is never shown bare by a traceback with locals.
"""

from __future__ import annotations

import gc
import io
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from rich.console import Console
from rich.traceback import Traceback
from support.servers import RawServer

from gr4vy_async import Gr4vy
from gr4vy_async.errors import Gr4vyError, InvalidRequestError

SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
#: Built here, so only the library could print it whole.
SECRET = "tok-" + "S3CRET-repeated-7d4a"


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback server recording each Authorization: 204, or 400 once ``fail`` is in the list."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if "fail" in seen:
            return web.json_response({"type": "error", "code": "bad_request"}, status=400)
        return web.Response(status=204)

    async with RawServer(handle) as server:
        yield server.url, seen


class _EqualToAnything:
    """Not a token, though it says it equals every string."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


class _CaseBlind(str):
    """A string whose own ``==`` ignores case; the header must carry its exact text."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.lower() == other.lower()

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__


async def test_a_non_string_that_equals_the_last_token_is_refused_not_sent(
    server: tuple[str, list[str]],
) -> None:
    url, seen = server
    tokens: Iterator[Any] = iter(["good", _EqualToAnything()])
    async with Gr4vy(server_url=url, bearer_auth=lambda: next(tokens)) as client:
        await client.checkout_sessions.delete(session_id=SESSION_ID)
        with pytest.raises(InvalidRequestError, match=r"^bearer_auth: ") as info:
            await client.checkout_sessions.delete(session_id=SESSION_ID)
    assert info.value.field == "bearer_auth"
    assert seen == ["Bearer good"]


async def test_a_string_subclass_token_is_compared_and_sent_by_its_text(
    server: tuple[str, list[str]],
) -> None:
    url, seen = server
    tokens: Iterator[str] = iter(["abc", _CaseBlind("ABC"), _CaseBlind("ABC"), "abc"])
    async with Gr4vy(server_url=url, bearer_auth=lambda: next(tokens)) as client:
        for _ in range(4):
            await client.checkout_sessions.delete(session_id=SESSION_ID)
    assert seen == ["Bearer abc", "Bearer ABC", "Bearer ABC", "Bearer abc"]


def _locals_text(error: BaseException) -> str:
    """The rich traceback (with locals) from the library's first frame on."""
    tb = error.__traceback__
    while tb is not None and "gr4vy_async" not in tb.tb_frame.f_code.co_filename:
        tb = tb.tb_next
    traceback = Traceback.from_exception(
        type(error), error, tb, show_locals=True, width=200, locals_max_string=100_000
    )
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(traceback)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return text


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_a_repeated_token_is_never_shown_by_a_later_failures_locals(
    server: tuple[str, list[str]], asynchronous: bool
) -> None:
    """The second call takes the repeated-token path, then fails: its frames hide the token."""
    url, seen = server

    def token() -> str:
        # A new string with the same text each call, as from a provider that re-reads it.
        return "".join(["tok-", "S3CRET-repeated-7d4a"])

    async def token_async() -> str:
        return token()

    provider: Any = token_async if asynchronous else token
    async with Gr4vy(server_url=url, bearer_auth=provider, retry_config=None) as client:
        await client.checkout_sessions.delete(session_id=SESSION_ID)
        seen.append("fail")  # the server answers 400 from now on
        with pytest.raises(Gr4vyError) as info:
            await client.checkout_sessions.delete(session_id=SESSION_ID)
    assert info.value.status_code == 400
    text = _locals_text(info.value)
    assert "_attempt" in text  # the library's locals were printed ...
    assert "'Authorization': '[redacted]'" in text
    assert "S3CRET" not in text  # ... and the token is not among them
    assert seen == [f"Bearer {SECRET}", "fail", f"Bearer {SECRET}"]


async def test_a_coroutine_that_returns_a_coroutine_is_refused_and_closed(
    server: tuple[str, list[str]],
) -> None:
    """Refused as no token; the inner coroutine is closed, so no "never awaited" warning."""
    url, seen = server

    async def inner() -> str:
        return "never-sent"

    async def provider() -> Any:
        return inner()

    async with Gr4vy(server_url=url, bearer_auth=provider) as client:
        with pytest.raises(InvalidRequestError, match=r"^bearer_auth: "):
            await client.checkout_sessions.delete(session_id=SESSION_ID)
    gc.collect()  # a coroutine left unclosed warns here, and warnings are errors
    assert seen == []
