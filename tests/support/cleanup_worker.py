"""SAQ settings for the queue tests' and benchmark's worker processes.

Run as ``python -m saq cleanup_worker.settings`` with this folder on
``PYTHONPATH``, configured from the environment: ``REDIS_URL``,
``GR4VY_SERVER_URL``, ``WORKER_ID``, and for the tests' short timings
``SWEEP_SECONDS``, ``DELETE_CONCURRENCY`` and ``RETRY_AFTER_CAP``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from gr4vy_async import Gr4vy, RetryConfig
from gr4vy_async.contrib.saq_cleanup import worker_settings

if TYPE_CHECKING:
    from saq.types import PartialTimersDict


def settings() -> dict[str, Any]:
    def client() -> Gr4vy:
        return Gr4vy(
            server_url=os.environ["GR4VY_SERVER_URL"],
            bearer_auth="test-token",
            merchant_account_id="default",
            retries=RetryConfig(retry_after_cap=float(os.environ.get("RETRY_AFTER_CAP", "60"))),
        )

    result: dict[str, Any] = dict(
        worker_settings(
            os.environ["REDIS_URL"],
            client,
            delete_options={"concurrency": int(os.environ.get("DELETE_CONCURRENCY", "16"))},
            concurrency=2,
            # saq's PartialTimersDict keeps TimersDict's keys required (its total=False
            # covers only keys it adds), so a partial dict needs the cast.
            timers=cast("PartialTimersDict", {"sweep": int(os.environ.get("SWEEP_SECONDS", "60"))}),
        )
    )
    result["id"] = os.environ["WORKER_ID"]  # saq.Worker takes it; lets a test find its jobs
    return result
