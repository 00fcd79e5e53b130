"""The fake's request log: :class:`RecordedRequest`, kept without its ``Authorization`` header."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import msgspec
from multidict import CIMultiDict, CIMultiDictProxy

from .faults import Fault

__all__ = [
    "DEFAULT_MERCHANT_ACCOUNT_ID",
    "RecordedRequest",
    "merchant_account_id",
    "redacted",
    "token_digest",
]

#: The merchant account of a request without an ``x-gr4vy-merchant-account-id`` header.
DEFAULT_MERCHANT_ACCOUNT_ID = "default"
_MERCHANT_HEADER = "x-gr4vy-merchant-account-id"


def merchant_account_id(headers: Mapping[str, str]) -> str:
    """The merchant account a request with ``headers`` is made for."""
    return headers.get(_MERCHANT_HEADER) or DEFAULT_MERCHANT_ACCOUNT_ID


def token_digest(token: str) -> bytes:
    """What the log keeps of a bearer token: its SHA-256."""
    return hashlib.sha256(token.encode()).digest()


def redacted(headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
    """A read-only copy of ``headers`` without ``Authorization``."""
    copy = CIMultiDict(headers)
    copy.popall("Authorization", None)
    return CIMultiDictProxy(copy)


@dataclasses.dataclass
class RecordedRequest:
    """One request the fake received, in arrival order.

    Its repr shows the request line, status and fault, never the headers or
    the body (which hold buyer data): read ``body``, ``json()`` or ``headers``.
    """

    method: str
    path: str
    headers: CIMultiDictProxy[str] = dataclasses.field(repr=False)
    """Request headers, without ``Authorization``."""
    body: bytes = dataclasses.field(repr=False)
    time: float
    """``time.monotonic()`` when the request arrived."""
    status: int | None = None
    """The status answered; ``None`` while in flight or when the connection was dropped."""
    fault: Fault | None = None
    """The fault applied, if any."""
    token_digest: bytes | None = dataclasses.field(default=None, repr=False)
    """SHA-256 of the bearer token sent, if any (the token itself is not kept)."""

    @property
    def merchant_account_id(self) -> str:
        """The merchant account the request was made for."""
        return merchant_account_id(self.headers)

    def json(self) -> Any:
        """The body as JSON (``None`` when empty)."""
        return msgspec.json.decode(self.body) if self.body else None

    def sent_token(self, token: str) -> bool:
        """Whether the request carried ``Authorization: Bearer <token>``."""
        return self.token_digest is not None and hmac.compare_digest(
            self.token_digest, token_digest(token)
        )
