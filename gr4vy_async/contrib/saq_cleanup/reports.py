"""What a chunk's job stores, and a run's reports added up (:class:`CleanupSummary`)."""

from __future__ import annotations

import dataclasses

import msgspec

from ..._terminal import printable
from ...bulk import DUPLICATE, BulkReport, Outcome
from ...errors import InvalidRequestError

__all__ = [
    "UNFINISHED",
    "BadReport",
    "ChunkReport",
    "ChunkUnfinished",
    "CleanupSummary",
    "FailedId",
    "SkippedId",
    "StoppedChunk",
]

#: Outcomes whose ids a stopped chunk sends again when it runs again.
UNFINISHED = (Outcome.FAILED, Outcome.CANCELLED, Outcome.NOT_ATTEMPTED)


class FailedId(msgspec.Struct, frozen=True):
    """An id whose delete failed: the HTTP status (``None`` before a response) and message."""

    id: str
    status: int | None
    message: str

    def text(self) -> str:
        """Status and message for a terminal, the status once (messages often start with it)."""
        message = printable(self.message)
        if self.status is None or message.startswith(f"{self.status} "):
            return message
        return f"{self.status} {message}"


class SkippedId(msgspec.Struct, frozen=True):
    """An id never sent, and why; ``line``: where the producer read it (1 for the first id).

    A malformed id is recorded by its line only (``id`` empty): it may be
    anything a person pasted, a secret included, so it is never stored.
    """

    id: str
    reason: str
    line: int | None = None

    def text(self) -> str:
        """The summary's line for it, which never shows the id's text."""
        where = "an id" if self.line is None else f"line {self.line}"
        return f"skipped {where}: {printable(self.reason)}"


class ChunkReport(msgspec.Struct):
    """What one job stored: counts per outcome and the ids that need a look.

    ``stopped`` says why the chunk's last run ended before every id was tried
    (``delete_many`` stopped early, or reached its ``deadline``), with the
    failure that made it stop early in ``stop_cause``; then the ids never
    sent are in ``not_attempted`` and the chunk is not finished.
    """

    chunk: str
    counts: dict[str, int]
    failed: list[FailedId] = []
    skipped: list[SkippedId] = []
    cancelled: list[str] = []
    not_attempted: list[str] = []
    stopped: str | None = None
    stop_cause: FailedId | None = None
    rate_limited: int = 0
    """425/429 answers the chunk's requests got (each waited out and sent again)."""

    @classmethod
    def from_bulk(cls, chunk: str, report: BulkReport) -> ChunkReport:
        """The JSON-sized part of ``report`` (no per-id list of what went well)."""
        cause = report.stop_cause
        return cls(
            chunk=chunk,
            counts=report.summary(),
            failed=[FailedId(f.id, f.status, f.message) for f in report.failed],
            skipped=[SkippedId(i, reason) for i, reason in report.skipped],
            cancelled=list(report.cancelled),
            not_attempted=list(report.not_attempted),
            stopped=report.stopped,
            stop_cause=None if cause is None else FailedId(cause.id, cause.status, cause.message),
            rate_limited=report.rate_limited,
        )

    def unfinished(self) -> list[str]:
        """The ids to send when the chunk runs again: failed, cancelled or not attempted."""
        return [f.id for f in self.failed] + self.cancelled + self.not_attempted

    def continued_by(self, later: ChunkReport) -> ChunkReport:
        """This report with its :meth:`unfinished` ids replaced by their outcomes in ``later``."""
        resent = {outcome.value for outcome in UNFINISHED}
        kept = {name: count for name, count in self.counts.items() if name not in resent}
        names = dict.fromkeys([*self.counts, *later.counts])
        return ChunkReport(
            chunk=self.chunk,
            counts={name: kept.get(name, 0) + later.counts.get(name, 0) for name in names},
            failed=later.failed,
            skipped=self.skipped + later.skipped,
            cancelled=later.cancelled,
            not_attempted=later.not_attempted,
            stopped=later.stopped,
            stop_cause=later.stop_cause,
            rate_limited=self.rate_limited + later.rate_limited,
        )


class StoppedChunk(msgspec.Struct, frozen=True):
    """A chunk whose last run stopped before every id was tried: why, and the failure if any."""

    chunk: str
    reason: str
    cause: FailedId | None = None


class ChunkUnfinished(Exception):
    """Raised by the job when ``delete_many`` ran out of time, so SAQ runs the chunk again.

    The chunk's report is stored first (with the ids not attempted); the next
    run sends only the ids not yet done or missing.
    """


class BadReport(InvalidRequestError):
    """A stored report does not read as this version's: changed by hand, or another version's."""


@dataclasses.dataclass
class CleanupSummary:
    """A run's stored reports added up (see :func:`summarize`): one outcome per id."""

    run: str
    chunks: int
    """Chunks the producer enqueued for this run."""
    finished: int
    """Chunks whose stored report is final: every id was tried."""
    pending: list[str]
    """Keys of the chunks with no report yet whose job is queued or running."""
    counts: dict[str, int]
    failed: list[FailedId]
    skipped: list[SkippedId]
    cancelled: list[str]
    stopped: list[StoppedChunk] = dataclasses.field(default_factory=list)
    """Chunks whose last run stopped before every id was tried, and why (see the module doc)."""
    not_attempted: list[str] = dataclasses.field(default_factory=list)
    """Ids never sent, in the stopped chunks."""
    rate_limited: int = 0
    """425/429 answers the stored reports' requests got (each waited out, sent again)."""
    lost: list[str] = dataclasses.field(default_factory=list)
    """Keys of the chunks with no report whose job is gone or will never run: enqueue again."""

    @property
    def complete(self) -> bool:
        """True when every enqueued chunk has its final report (none pending, lost or stopped)."""
        return not self.pending and not self.stopped and not self.lost

    @property
    def known(self) -> bool:
        """False when no chunk was ever enqueued under this run name (a typo, say)."""
        return self.chunks > 0 or bool(self.skipped)

    @property
    def ok(self) -> bool:
        """A known run, complete, and nothing failed, was cancelled, not attempted or malformed."""
        bad = sum(self.counts.get(outcome.value, 0) for outcome in UNFINISHED)
        return (
            self.known
            and self.complete
            and not bad
            and all(s.reason == DUPLICATE for s in self.skipped)
        )

    def lines(self) -> list[str]:
        """The summary as text: counts, then one line per chunk or id that needs a look.

        Server text is escaped for a terminal; a skipped id is named by its
        line, never by its text.
        """
        if not self.known:
            return [f"run {self.run}: unknown (no chunks were enqueued under this name)"]
        counts = ", ".join(f"{name} {count}" for name, count in self.counts.items())
        lines = [
            f"run {self.run}: {self.finished}/{self.chunks} chunks finished; {counts}; "
            f"rate-limited answers {self.rate_limited}"
        ]
        lines += [f"pending chunk {key}" for key in self.pending]
        lines += [f"lost chunk {key}: its job will not run; enqueue again" for key in self.lost]
        lines += [
            f"stopped chunk {s.chunk}: {printable(s.reason)}"
            + ("" if s.cause is None else f": {s.cause.text()}")
            for s in self.stopped
        ]
        lines += [f"failed {f.id}: {f.text()}" for f in self.failed]
        lines += [s.text() for s in self.skipped]
        lines += [f"cancelled {session_id}" for session_id in self.cancelled]
        lines += [f"not attempted {session_id}" for session_id in self.not_attempted]
        return lines
