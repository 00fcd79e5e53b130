"""What happened to each id: the outcomes, a failure's record and the report that holds them."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from ..errors import Gr4vyError

__all__ = [
    "DUPLICATE",
    "FAILURES_KEPT_WITHOUT_IDS",
    "JOURNALED",
    "MESSAGE_LIMIT",
    "BulkProgress",
    "BulkReport",
    "Failure",
    "Outcome",
]

#: The reason given for an id skipped because it came earlier in the same batch.
DUPLICATE = "duplicate id"
#: The reason given for an id skipped because the journal records it as done or missing.
JOURNALED = "done in an earlier run (journal)"
#: Failures kept in a report with ``keep_ids=False`` (the rest are counted only).
FAILURES_KEPT_WITHOUT_IDS = 1000
#: The longest message (or malformed id) a report keeps.
MESSAGE_LIMIT = 300


class Outcome(str, enum.Enum):
    """What happened to one id."""

    DONE = "done"  # deleted, or found
    MISSING = "missing"  # 404: already gone (delete with missing_ok) or not found (get)
    FAILED = "failed"  # an error, kept in BulkReport.failed as a Failure
    SKIPPED = "skipped"  # never sent: malformed, duplicate, or done per the journal
    CANCELLED = "cancelled"  # sent but not finished when the batch was cancelled or timed out
    NOT_ATTEMPTED = "not_attempted"  # never sent: the batch stopped early or ran out of time


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """A failed id, kept small: no exception object, no traceback.

    ``status`` is the HTTP status (``None`` when no response came), ``code``
    the API's error code when the body had one, ``error`` the exception's
    class name and ``message`` its message (status, code and the API's
    message; never a token or a request body; truncated).
    """

    id: str
    status: int | None
    code: str | None
    error: str
    message: str

    @classmethod
    def of(cls, session_id: str, error: BaseException) -> Failure:
        """The record of ``error`` for ``session_id``."""
        if isinstance(error, Gr4vyError):
            code = getattr(error.data, "code", None)
            return cls(
                session_id,
                error.status_code,
                code if isinstance(code, str) else None,
                type(error).__name__,
                error.summary[:MESSAGE_LIMIT],
            )
        # Not ours: its text could hold anything (a header value, a secret), so only its type.
        return cls(
            session_id, None, None, type(error).__name__, f"unexpected {type(error).__name__}"
        )

    def __str__(self) -> str:
        return self.message


@dataclasses.dataclass(frozen=True)
class BulkProgress:
    """Passed to ``on_progress`` after each id finishes."""

    done: int
    total: int | None
    failures: int


@dataclasses.dataclass
class BulkReport:
    """Where every id went.

    Counts are always kept. With ``keep_ids`` (the default) the ids of every
    outcome are kept too; without it only ``cancelled`` (at most one per
    worker) and the first :data:`FAILURES_KEPT_WITHOUT_IDS` failures are, so
    memory stays flat however many ids pass.
    """

    counts: dict[Outcome, int] = dataclasses.field(
        default_factory=lambda: dict.fromkeys(Outcome, 0)
    )
    done: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    failed: list[Failure] = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    cancelled: list[str] = dataclasses.field(default_factory=list)
    not_attempted: list[str] = dataclasses.field(default_factory=list)
    results: dict[str, Any] = dataclasses.field(default_factory=dict)
    keep_ids: bool = True
    rate_limited: int = 0
    """How many 425/429 responses the batch got (each was waited out and retried)."""
    malformed: int = 0
    """How many skipped ids were not UUIDs."""
    stopped: str | None = None
    """Why the batch stopped before its last id (stop early, deadline, a hook, the journal,
    a closed client, ``"cancelled"``), else ``None``."""
    stop_cause: Failure | None = None
    """The failure that made the batch stop early, if it did."""
    unread: int | None = 0
    """Ids of the source never read, so in no outcome: 0 unless the batch was cancelled
    (or ended by a callback's error); then how many a sized source had left, or ``None``
    (some, how many unknown) for an iterator."""

    @property
    def total(self) -> int:
        """How many ids have an outcome."""
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """True when every id was done, missing or skipped as a duplicate / journaled.

        Anything failed, cancelled, not attempted, malformed or never read makes it false.
        """
        counts = self.counts
        return not (
            counts[Outcome.FAILED]
            or counts[Outcome.CANCELLED]
            or counts[Outcome.NOT_ATTEMPTED]
            or self.malformed
            or self.unread != 0
        )

    def record(self, session_id: str, outcome: Outcome, detail: Any = None) -> None:
        """Give ``session_id`` its one outcome.

        ``detail`` is the :class:`Failure` of a failed id, the reason a
        skipped id was skipped, or the result of a done one.
        """
        self.counts[outcome] += 1
        if outcome is Outcome.FAILED:
            if self.keep_ids or len(self.failed) < FAILURES_KEPT_WITHOUT_IDS:
                self.failed.append(detail)
        elif outcome is Outcome.CANCELLED:
            self.cancelled.append(session_id)
        elif outcome is Outcome.SKIPPED:
            if detail not in (DUPLICATE, JOURNALED):
                self.malformed += 1
            if self.keep_ids:
                self.skipped.append((session_id, detail))
        elif self.keep_ids:
            if outcome is Outcome.NOT_ATTEMPTED:
                self.not_attempted.append(session_id)
            else:
                (self.done if outcome is Outcome.DONE else self.missing).append(session_id)
                if detail is not None:
                    self.results[session_id] = detail

    def summary(self) -> dict[str, int]:
        """Counts per outcome, by name."""
        return {outcome.value: count for outcome, count in self.counts.items()}
