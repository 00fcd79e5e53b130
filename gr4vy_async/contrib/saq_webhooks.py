"""Gr4vy webhooks onto an SAQ queue: each event one job, however often Gr4vy delivers it.

Install with ``pip install 'gr4vy-async[queue]'``. The receiver's ``on_event``
only enqueues (milliseconds, so Gr4vy gets its 2xx in time); SAQ workers do
the work::

    queue = RedisQueue.from_url(redis_url)
    receiver = WebhookReceiver(secret, lambda event: enqueue_event(queue, event))

A job's key is the event's webhook id (its ``X-Gr4vy-Webhook-ID``, else its
event id), so a retry of the same event enqueues nothing: SAQ refuses a key
that is queued or running, and :func:`enqueue_event` skips a key whose job is
still stored (``ttl``, by default Gr4vy's 7-day retry window plus a day).
This dedup lives in Redis: it survives a restart of the web app.

The job's function (``function``, default :data:`FUNCTION`) gets the event
as ``event=`` (a dict); :func:`event_of` makes it a
:class:`~gr4vy_async.webhooks.WebhookEvent` again.
"""

from __future__ import annotations

from typing import Any

import msgspec
from saq import Job, Queue

from ..webhooks import WebhookEvent

__all__ = ["FUNCTION", "JOB_TTL", "KEY_PREFIX", "enqueue_event", "event_of", "job_key"]

#: The default name of the job function a worker registers.
FUNCTION = "handle_gr4vy_webhook"
#: What a job's key starts with.
KEY_PREFIX = "gr4vy-webhook:"
#: Seconds a finished job (so its key) is kept: Gr4vy retries for up to 7 days.
JOB_TTL = 8 * 24 * 3600


def job_key(event: WebhookEvent) -> str:
    """The job key of ``event``: its webhook id, else its event id."""
    return KEY_PREFIX + (event.webhook_id or event.id)


async def enqueue_event(
    queue: Queue,
    event: WebhookEvent,
    *,
    function: str = FUNCTION,
    ttl: int = JOB_TTL,
    **job_options: Any,
) -> Job | None:
    """Enqueue ``event`` as a job keyed by :func:`job_key`; ``None`` when it already was.

    A job of that key still queued, running or kept (``ttl`` seconds after
    it ends) means Gr4vy delivered the event before: nothing is enqueued.
    ``job_options`` are more :class:`saq.Job` fields (``timeout``, ``retries``...).
    """
    key = job_key(event)
    if await queue.job(key) is not None:
        return None
    job = Job(
        function, kwargs={"event": msgspec.to_builtins(event)}, key=key, ttl=ttl, **job_options
    )
    return await queue.enqueue(job)


def event_of(kwargs_event: dict[str, Any]) -> WebhookEvent:
    """The :class:`WebhookEvent` a job got as ``event=``."""
    return msgspec.convert(kwargs_event, WebhookEvent)
