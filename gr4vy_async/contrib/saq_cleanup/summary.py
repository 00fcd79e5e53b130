"""The summary: a run's stored reports added up, one outcome per id."""

from __future__ import annotations

import msgspec
from saq.queue.redis import RedisQueue

from ...bulk import Outcome
from .records import QUEUE_NAME, as_queue, check_run, lost_chunks, record_key, stored_reports
from .reports import BadReport, CleanupSummary, SkippedId, StoppedChunk

__all__ = ["summarize"]


async def summarize(
    queue: RedisQueue | str, run: str, *, queue_name: str = QUEUE_NAME
) -> CleanupSummary:
    """Add up the stored reports of ``run``: one outcome per id; list the chunks not finished.

    A stored report that does not read raises :class:`BadReport`, naming the chunk.
    """
    check_run(run)
    owned = not isinstance(queue, RedisQueue)
    saq_queue = as_queue(queue, queue_name)
    try:
        chunk_ids = record_key(saq_queue, run, "chunk-ids")
        keys = [k.decode() for k in await saq_queue.redis.hkeys(chunk_ids)]  # type: ignore[misc]
        reports = await stored_reports(saq_queue, run)
        lost = await lost_chunks(saq_queue, [key for key in keys if key not in reports])
        malformed = await saq_queue.redis.hvals(record_key(saq_queue, run, "skipped"))  # type: ignore[misc]
    finally:
        if owned:
            await saq_queue.disconnect()
    skipped = sorted(
        (_decode_skipped(raw) for raw in malformed), key=lambda s: (s.line or 0, s.reason)
    )
    counts = dict.fromkeys((outcome.value for outcome in Outcome), 0)
    counts[Outcome.SKIPPED.value] = len(skipped)
    for report in reports.values():
        for name, count in report.counts.items():
            counts[name] = counts.get(name, 0) + count
    stopped = [
        StoppedChunk(report.chunk, report.stopped, report.stop_cause)
        for report in reports.values()
        if report.stopped is not None
    ]
    return CleanupSummary(
        run=run,
        chunks=len(keys),
        finished=len(reports) - len(stopped),
        pending=sorted(key for key in keys if key not in reports and key not in lost),
        counts=counts,
        failed=[f for report in reports.values() for f in report.failed],
        skipped=skipped + [s for report in reports.values() for s in report.skipped],
        cancelled=[c for report in reports.values() for c in report.cancelled],
        stopped=sorted(stopped, key=lambda s: s.chunk),
        not_attempted=[i for report in reports.values() for i in report.not_attempted],
        rate_limited=sum(report.rate_limited for report in reports.values()),
        lost=sorted(lost),
    )


def _decode_skipped(raw: bytes) -> SkippedId:
    try:
        return msgspec.json.decode(raw, type=SkippedId)
    except msgspec.DecodeError:
        raise BadReport(
            "a skipped-id record of the run does not read (changed by hand, or written by "
            "another version of gr4vy-async)"
        ) from None
