"""Gr4vy webhooks: verify a delivery, read its event, serve an aiohttp endpoint.

- :func:`verify` / :func:`parse`: check a delivery's signatures (one or
  several secrets) and timestamp (default tolerance 300 s, either way) over
  the raw body, then decode its :class:`WebhookEvent`; failures raise
  :class:`~gr4vy_async.errors.WebhookVerificationError` naming the check.
- :func:`verify_webhook`: the official SDK's function, a drop-in.
- :class:`WebhookReceiver`: the aiohttp handler (bounded body, 401/400 with
  a reason, acknowledged within Gr4vy's 5 s, each event handled once).
- :func:`sign`: for tests, the headers Gr4vy would send.

The SAQ recipe (:mod:`gr4vy_async.contrib.saq_webhooks`) enqueues each event
as a job keyed by its webhook id; :mod:`gr4vy_async.testing` delivers signed
events from :class:`~gr4vy_async.testing.FakeGr4vy`. See ``docs/webhooks.md``.
"""

from .receiver import (
    DEFAULT_ACK_WITHIN,
    DEFAULT_MAX_BODY_BYTES,
    OnEvent,
    SeenIds,
    SeenStore,
    WebhookReceiver,
)
from .signatures import (
    CHECKS,
    DEFAULT_TOLERANCE,
    ID_HEADER,
    MAX_SIGNATURE_HEADER_LENGTH,
    MAX_SIGNATURES,
    SIGNATURES_HEADER,
    TIMESTAMP_HEADER,
    Secrets,
    WebhookEvent,
    parse,
    secret_keys,
    sign,
    verify,
    verify_webhook,
)

__all__ = [
    "CHECKS",
    "DEFAULT_ACK_WITHIN",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TOLERANCE",
    "ID_HEADER",
    "MAX_SIGNATURES",
    "MAX_SIGNATURE_HEADER_LENGTH",
    "SIGNATURES_HEADER",
    "TIMESTAMP_HEADER",
    "OnEvent",
    "Secrets",
    "SeenIds",
    "SeenStore",
    "WebhookEvent",
    "WebhookReceiver",
    "parse",
    "secret_keys",
    "sign",
    "verify",
    "verify_webhook",
]
