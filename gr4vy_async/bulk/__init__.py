"""Many checkout-session calls at once: paced, budgeted, resumable, fully accounted for.

This docstring is the one description of a bulk run in the code
(``docs/bulk.md`` is the user's copy). ``client.checkout_sessions.delete_many``
and ``get_many`` are :func:`run_bulk` over one operation; all three take the
options of :class:`BulkOptions`, checked before anything is read or sent.

One reader takes the ids from a list, an iterator or an async iterable, in
order, and gives each to a flight when one of the ``concurrency`` slots is
free; a flight sends one request at a time until its id has an outcome.

- **Outcomes.** Each id read ends in exactly one outcome of the
  :class:`BulkReport`, however the run ends: ``done`` (deleted, or found: its
  model is in ``report.results``), ``missing`` (a 404, with ``missing_ok``),
  ``failed`` (a small :class:`Failure` record), ``skipped`` (malformed,
  duplicate, or done per the journal), ``cancelled`` (sent but not finished)
  or ``not_attempted`` (never sent). ``ok`` is True only when every id was
  done or missing (or skipped as a duplicate or journaled) and the whole
  source was read. Pass ``report=`` to keep what finished if you cancel;
  ``on_progress`` gets a :class:`BulkProgress` as ids finish.
- **Rate limits, per request.** A 425 or 429 response (matched by status,
  whatever its body: a gateway's ``text/plain`` 429 counts too) makes *that*
  id wait and be tried again; the other flights go on. The retry policy says
  how long (:meth:`RetryConfig.rate_limit_wait`): ``Retry-After`` capped at
  ``retry_after_cap`` (``default_rate_limit_wait`` when absent or unreadable).
  Other failures are retried per request by the same policy.
- **Pacing, per client.** :class:`AdaptiveRate` is the AWS SDKs' "adaptive"
  retry mode: a client-side token bucket whose rate follows CUBIC, one per
  client, shared by every call and every run of that client (a queue
  worker's next chunk starts at the pace the last one found). Off until
  the first 429; then the rate drops to 0.7x the measured rate once per
  rate-limit *episode* (a 429 to a request sent before the last drop is part
  of the same episode) and grows back, cubically in time, while requests
  succeed. Independent processes sharing one server-side limit converge
  without talking to each other.
- **Budget.** A rate-limited id is sent again only if its wait ends within
  ``max_elapsed`` of its first attempt and before the ``deadline``, and no
  attempt of it starts later than ``max_elapsed`` after its first (pacing
  included); else it ends ``failed`` with its last 425/429 at once. 425/429
  do not count against ``max_attempts``, but ``max_attempts=1``
  (``RetryConfig.none()``) means no retry at all. An id still waiting out a
  425/429 when the run ends is ``failed`` with it.
- **Stop early, by cause.** A failure that no retry and no other id can fix
  (401; 403 other than "resource active"; a TLS certificate the client
  rejects; a host that does not resolve; a connection that cannot be made)
  adds one to a streak, whatever its kind; a success, a 404, or any other
  4xx about one id (409, 400, 422, 403 "resource active") ends the streak;
  5xx, timeouts, dropped connections and spent rate limits leave it as it
  is. At ``stop_after`` (``None`` or 0: never) no more ids are sent: the rest
  end ``not_attempted`` and :attr:`BulkReport.stopped` /
  :attr:`BulkReport.stop_cause` say why.
- **Other stops.** At the ``deadline`` (seconds for sending) the ids in
  flight end ``cancelled`` and the rest of the source is still read, nothing
  sent, each id ``not_attempted`` (an async source takes as long as it takes
  to yield them). A closed client (``aclose()``) stops the run the same way.
  An after-success hook that raises leaves its id ``done`` (the request
  succeeded), stops the run, and is raised, unchanged, once every id read
  has its outcome. A caller's cancel reads nothing more: ids in flight end
  ``cancelled``, ``stopped`` is ``"cancelled"`` and :attr:`BulkReport.unread`
  counts what was never read (``None``: unknown, for an iterator).
- **Journal.** ``journal=PATH`` records one JSON line per finished id
  (``id``, ``outcome``, ``status``, ``error`` for a failure, and ``op``, the
  operation). Lines are buffered and written in a thread, one write per
  batch (every 0.1 s or 256 lines, and at the end), never one blocking write
  per id on the event loop; a kill loses at most the last batch, whose ids a
  rerun sends again (a deleted one then ends ``missing``). A rerun with the
  journal skips the ids it records as ``done`` or ``missing``; a journal of
  another operation is refused (:class:`InvalidRequestError`, before any
  request), as is a path that is a directory or cannot be opened. A write
  that fails (a full disk) stops the run; :class:`JournalError` is raised
  once every id read has its outcome, with the report as ``error.report``.
- **Memory.** For millions of ids pass ``keep_ids=False, dedupe=False``: the
  report keeps counts, the first :data:`FAILURES_KEPT_WITHOUT_IDS` failures
  and the ids in flight at a cancel; ``dedupe`` keeps a set of the ids seen.
"""

from __future__ import annotations

from .._pacing import AdaptiveRate
from ..retries import NOT_PROCESSED_STATUSES
from ._options import BulkOptions
from ._report import (
    DUPLICATE,
    FAILURES_KEPT_WITHOUT_IDS,
    JOURNALED,
    BulkProgress,
    BulkReport,
    Failure,
    Outcome,
)
from ._runner import run_bulk
from ._source import as_async_iterator

__all__ = [
    "DUPLICATE",
    "FAILURES_KEPT_WITHOUT_IDS",
    "JOURNALED",
    "RATE_LIMIT_STATUSES",
    "AdaptiveRate",
    "BulkOptions",
    "BulkProgress",
    "BulkReport",
    "Failure",
    "Outcome",
    "as_async_iterator",
    "run_bulk",
]

#: Statuses that mean "not processed, slow down": handled by the batch, not the policy
#: (the retry policy's set, :data:`gr4vy_async.retries.NOT_PROCESSED_STATUSES`).
RATE_LIMIT_STATUSES = NOT_PROCESSED_STATUSES
