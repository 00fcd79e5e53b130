"""What the bulk tests read off a report."""

from __future__ import annotations

import collections

from gr4vy_async.bulk import BulkReport

__all__ = ["outcomes"]


def outcomes(report: BulkReport) -> collections.Counter[str]:
    """How many outcomes each id has (every id the run read should have exactly one)."""
    return collections.Counter(
        report.done
        + report.missing
        + [failure.id for failure in report.failed]
        + [sid for sid, _ in report.skipped]
        + report.cancelled
        + report.not_attempted
    )
