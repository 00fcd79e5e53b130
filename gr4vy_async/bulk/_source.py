"""Where a run's ids come from: any iterable or async iterable, each id read as a session id."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

from .._redact import hint
from ..errors import InvalidRequestError

__all__ = [
    "as_async_iterator",
    "check_source",
]


def check_source(ids: object) -> None:
    """Refuse what is not many ids (one string, a number) before anything is sent."""
    if isinstance(ids, (str, bytes)):
        raise InvalidRequestError(
            "session_ids: expected many ids, got one string", field="session_ids"
        )
    if not isinstance(ids, (Iterable, AsyncIterable)):
        raise InvalidRequestError(
            f"session_ids: expected many ids, got {hint(ids)}", field="session_ids"
        )


async def as_async_iterator(ids: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    """The items of a list, an iterator or an async iterable, as one async iterator."""
    if isinstance(ids, AsyncIterable):
        async for item in ids:
            yield item
    else:
        for item in ids:
            yield item
