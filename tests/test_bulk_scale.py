"""Independent processes sharing one server-side rate limit: every id deleted, none failed."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from gr4vy_async.testing.fake import FakeGr4vy

# One worker process: its own client, its own ids (from stdin), nothing shared.
WORKER = """
import asyncio, json, sys
from gr4vy_async import Gr4vy

async def main():
    ids = sys.stdin.read().split()
    async with Gr4vy(server_url=sys.argv[1], bearer_auth="t") as client:
        report = await client.checkout_sessions.delete_many(ids, concurrency=16)
    print(json.dumps({"summary": report.summary(), "rate_limited": report.rate_limited}))

asyncio.run(main())
"""


async def run_worker(url: str, ids: list[str]) -> dict[str, object]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WORKER,
        url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate("\n".join(ids).encode()), 120)
    assert process.returncode == 0, err.decode()
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.e2e
async def test_two_processes_share_a_rate_limit_and_delete_everything() -> None:
    async with FakeGr4vy(rate_limit=100, rate_limit_burst=10) as fake:
        ids = [fake.create_session().id for _ in range(240)]
        halves = [ids[:120], ids[120:]]
        results = await asyncio.gather(*(run_worker(fake.url, half) for half in halves))
        statuses = [request.status for request in fake.requests]
    for result in results:
        assert result["summary"] == {
            "done": 120,
            "missing": 0,
            "failed": 0,
            "skipped": 0,
            "cancelled": 0,
            "not_attempted": 0,
        }
    assert not fake.sessions  # every id really deleted
    assert statuses.count(204) == 240  # each exactly once
    # The limit was really hit, and each 429 was waited out, not failed.
    assert statuses.count(429) > 0
    assert sum(result["rate_limited"] for result in results) == statuses.count(429)  # type: ignore[misc]
