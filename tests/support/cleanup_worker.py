"""SAQ settings for the queue tests' and benchmark's worker processes.

Run as ``python -m saq cleanup_worker.settings`` with this folder on
``PYTHONPATH``, configured from the environment: ``REDIS_URL``,
``GR4VY_SERVER_URL``, ``WORKER_ID``, and for the tests' short timings
``SWEEP_SECONDS``, ``DELETE_CONCURRENCY`` and ``RETRY_AFTER_CAP``. With
``GR4VY_PRIVATE_KEY`` (or ``GR4VY_PRIVATE_KEY_FILE``) set, the client signs
tokens with that key, loaded as the README's worker template loads it
(:func:`~gr4vy_async.contrib.saq_cleanup.private_key`); else it sends a
fixed token.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import TYPE_CHECKING, Any, cast

from gr4vy_async import Gr4vy, RetryConfig, auth
from gr4vy_async.contrib.saq_cleanup import private_key, worker_settings

if TYPE_CHECKING:
    from saq.types import PartialTimersDict


def settings() -> dict[str, Any]:
    def client() -> Gr4vy:
        signed = os.environ.get("GR4VY_PRIVATE_KEY") or os.environ.get("GR4VY_PRIVATE_KEY_FILE")
        return Gr4vy(
            server_url=os.environ["GR4VY_SERVER_URL"],
            bearer_auth=auth.with_token(private_key()) if signed else "test-token",
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
    # saq.Worker takes it; lets a test find its jobs. A process `saq --workers N` forked
    # gets its pid added: the ids of a queue's workers must differ.
    forked = multiprocessing.parent_process() is not None
    result["id"] = os.environ["WORKER_ID"] + (f"-{os.getpid()}" if forked else "")
    return result
