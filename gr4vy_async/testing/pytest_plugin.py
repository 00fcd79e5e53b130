"""pytest fixtures for testing code that uses gr4vy_async.

Registered as a ``pytest11`` entry point, so installing the package makes
them available: ``gr4vy_fake`` (a running :class:`FakeGr4vy`) and
``gr4vy_client`` (a ``Gr4vy`` client pointed at it). Override
``gr4vy_fake_options`` to configure the fake (a ``public_key``, a ``clock``).

The fixtures are async: with pytest-asyncio installed they work in its
``auto`` and ``strict`` modes; otherwise they are plain async fixtures for
whichever async plugin (anyio, ...) runs the tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ..client import Gr4vy
from .fake import FakeGr4vy

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - pytest-asyncio is not a dependency
    _async_fixture = pytest.fixture  # type: ignore[assignment]

__all__ = ["gr4vy_client", "gr4vy_fake", "gr4vy_fake_options"]


@pytest.fixture
def gr4vy_fake_options() -> dict[str, Any]:
    """Keyword arguments for the ``gr4vy_fake`` FakeGr4vy; override to configure it."""
    return {}


@_async_fixture
async def gr4vy_fake(gr4vy_fake_options: dict[str, Any]) -> AsyncIterator[FakeGr4vy]:
    """A FakeGr4vy serving on 127.0.0.1 for the duration of the test."""
    async with FakeGr4vy(**gr4vy_fake_options) as fake:
        yield fake


@_async_fixture
async def gr4vy_client(gr4vy_fake: FakeGr4vy) -> AsyncIterator[Gr4vy]:
    """A ``Gr4vy`` client pointed at ``gr4vy_fake`` (merchant account ``default``)."""
    async with Gr4vy(
        server_url=gr4vy_fake.url, bearer_auth="token", merchant_account_id="default"
    ) as client:
        yield client
