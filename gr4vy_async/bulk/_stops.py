"""Stop early, by cause: which failures no retry and no other id can fix, and their streak."""

from __future__ import annotations

import aiohttp

from ..errors import ConnectError, Error403Active, Gr4vyError, TransportError
from ..retries import NOT_PROCESSED_STATUSES
from ._report import Failure

__all__ = ["Streak", "status_of", "systemic"]


def status_of(error: BaseException) -> int | None:
    """The HTTP status of a failed request, ``None`` when no response came."""
    return error.status_code if isinstance(error, Gr4vyError) else None


def systemic(error: BaseException) -> str | None:
    """The kind of a failure that no retry and no other id can fix, or None.

    Bad credentials (401; 403 other than "resource active"), a certificate
    the client rejects, a host that does not resolve, a connection that
    cannot be made.
    """
    status = status_of(error)
    if status in (401, 403) and not isinstance(error, Error403Active):
        return f"HTTP {status}"
    cause = error.__cause__
    if isinstance(error, TransportError) and isinstance(
        cause, aiohttp.ClientConnectorCertificateError
    ):
        return "TLS certificate rejected"
    if isinstance(error, ConnectError) and error.before_send:
        if isinstance(cause, aiohttp.ClientConnectorDNSError):
            return "DNS lookup failed"
        return "cannot connect"
    return None


class Streak:
    """Systemic failures in a row, of any kinds; ``limit`` of them stop the run."""

    __slots__ = ("count", "kinds", "limit")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.count = 0
        self.kinds: list[str] = []

    def add(self, kind: str) -> str | None:
        """Count a systemic failure; at the limit, why the run stops."""
        self.count += 1
        if kind not in self.kinds:
            self.kinds.append(kind)
        if self.limit is None or self.count < self.limit:
            return None
        return f"stopped after {self.count} consecutive failures ({', '.join(self.kinds)})"

    def end(self) -> None:
        """A success, or an answer about one id: the client itself works."""
        if self.count:
            self.count, self.kinds = 0, []

    @staticmethod
    def ends_it(failure: Failure) -> bool:
        """A 4xx about one id (404, 409, 403 resource active...): the client itself works."""
        status = failure.status
        return status is not None and 400 <= status < 500 and status not in NOT_PROCESSED_STATUSES
