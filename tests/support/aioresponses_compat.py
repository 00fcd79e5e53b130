"""aioresponses for this aiohttp, and the constants the mocked-HTTP tests share.

aioresponses 0.7.9 builds its ``ClientResponse`` without ``stream_writer``,
which aiohttp 3.14 made required
(https://github.com/pnuckowski/aioresponses/issues/289). On such an aiohttp,
:class:`CompatAioresponses` hands aioresponses a response class that supplies
a stub; on an older aiohttp it is plain aioresponses. Drop the shim once a
fixed aioresponses is released.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aioresponses import aioresponses
from packaging.version import Version

__all__ = ["BASE_URL", "NEEDS_STREAM_WRITER", "TOKEN", "CompatAioresponses"]

BASE_URL = "https://api.sandbox.acme.gr4vy.app"
"""Where a client with ``id="acme"`` sends its requests."""
TOKEN = "tok_live_do_not_leak_0123456789"
"""A bearer token no log, message or repr may contain."""

NEEDS_STREAM_WRITER = Version(aiohttp.__version__) >= Version("3.14")
"""True when aiohttp's ClientResponse requires the ``stream_writer`` aioresponses omits."""


class _StubStreamWriter:
    output_size = 0


class _CompatClientResponse(aiohttp.ClientResponse):
    """A ClientResponse aioresponses can build: a stub ``stream_writer`` when none is given."""

    def __init__(self, *args: Any, stream_writer: Any = None, **kwargs: Any) -> None:
        writer: Any = stream_writer or _StubStreamWriter()  # the stub has what aiohttp reads
        super().__init__(*args, stream_writer=writer, **kwargs)


class CompatAioresponses(aioresponses):
    """aioresponses whose mocked responses this aiohttp can build."""

    def add(self, *args: Any, **kwargs: Any) -> None:
        if NEEDS_STREAM_WRITER:
            kwargs.setdefault("response_class", _CompatClientResponse)
        super().add(*args, **kwargs)
