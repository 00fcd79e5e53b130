"""Bulk deletes against a real rate limit: 1, 2 and 4 independent client processes.

The server is an independent token bucket (not FakeGr4vy, not our code) in a
process of its own: ``--limit`` deletes per second over all clients, bursts of
``--burst``; over the limit it answers ``429`` with ``Retry-After: 1`` and a
``text/plain`` body, as a gateway in front of an API does. A session id is
deleted once (204), then gone (404).

Each client process runs ``delete_many(concurrency=...)`` over its own share
of ``--ids`` (6,000: the same work, about 20 s at the limit, for every row),
with nothing shared between clients but the server, the way a queue's workers
run. Reported per number of processes: goodput (204s per second, as a share
of the limit), the share of all requests answered 429, the time from "go" to
the last client done, and ids not done.

Also ``--lag``: the event loop's worst stall while ``run_bulk`` goes through
1,000,000 skipped ids (malformed, duplicate) and 1,000,000 instant successes.

    python benchmarks/bench_bulk.py                 # 1, 2, 4 processes; limit 300/s
    python benchmarks/bench_bulk.py --lag           # loop lag on a million ids
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable

from _common import environment

# --------------------------------------------------------------------------- the server


def serve(limit: float, burst: float) -> None:
    """A token-bucket rate-limited DELETE endpoint; prints ``listening on URL``."""
    from aiohttp import web

    tokens, stamp = burst, time.monotonic()
    deleted: set[str] = set()
    stats = {"ok": 0, "missing": 0, "limited": 0, "first": 0.0, "last_ok": 0.0}

    async def delete(request: web.Request) -> web.Response:
        nonlocal tokens, stamp
        now = time.monotonic()
        stats["first"] = stats["first"] or now
        tokens = min(burst, tokens + (now - stamp) * limit)
        stamp = now
        if tokens < 1:
            stats["limited"] += 1
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
        tokens -= 1
        session_id = request.match_info["session_id"]
        if session_id in deleted:
            stats["missing"] += 1
            return web.json_response({"type": "error", "code": "not_found"}, status=404)
        deleted.add(session_id)
        stats["ok"] += 1
        stats["last_ok"] = now
        return web.Response(status=204)

    async def report(request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def main() -> None:
        app = web.Application()
        app.router.add_delete("/checkout/sessions/{session_id}", delete)
        app.router.add_get("/stats", report)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# --------------------------------------------------------------------------- a client


def client(url: str, offset: int, count: int, concurrency: int) -> None:
    """One worker process: prints ``ready``, waits for a line on stdin, deletes, prints JSON."""
    from gr4vy_async import Gr4vy

    ids = [str(uuid.UUID(int=offset + n)) for n in range(count)]

    async def main() -> None:
        async with Gr4vy(server_url=url, bearer_auth="bench") as gr4vy:
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            started = time.monotonic()
            report = await gr4vy.checkout_sessions.delete_many(
                ids, concurrency=concurrency, keep_ids=False
            )
        print(
            json.dumps(
                {
                    "summary": report.summary(),
                    "rate_limited": report.rate_limited,
                    "elapsed": time.monotonic() - started,
                }
            ),
            flush=True,
        )

    asyncio.run(main())


# --------------------------------------------------------------------------- the run


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def _line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    return (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()


async def scale_out(processes: int, args: argparse.Namespace) -> dict[str, float]:
    """One configuration: a fresh server, ``processes`` clients; the measured row."""
    server = await _start("--serve", str(args.limit), str(args.burst))
    try:
        url = (await _line(server)).removeprefix("listening on ")
        clients = [
            await _start(
                "--client",
                url,
                str(n * 10_000_000),
                str(args.ids // processes),
                str(args.concurrency),
            )
            for n in range(processes)
        ]
        for worker in clients:
            assert await _line(worker) == "ready"
        started = time.monotonic()
        for worker in clients:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            await worker.stdin.drain()
        results = [json.loads(await asyncio.wait_for(_line(w), 3600)) for w in clients]
        elapsed = time.monotonic() - started
        for worker in clients:
            await worker.wait()
        import aiohttp

        async with aiohttp.ClientSession() as http, http.get(url + "/stats") as response:
            stats = await response.json()
    finally:
        server.kill()
        await server.wait()
    requests = stats["ok"] + stats["missing"] + stats["limited"]
    unfinished = ("failed", "cancelled", "not_attempted")
    not_done = sum(r["summary"].get(k, 0) for r in results for k in unfinished)
    return {
        "processes": processes,
        "ids": args.ids // processes * processes,
        "deleted": stats["ok"],
        "goodput": stats["ok"] / elapsed,
        "share": stats["ok"] / elapsed / args.limit,
        "limited_share": stats["limited"] / requests,
        "elapsed": elapsed,
        "not_done": not_done,
        "client_429s": sum(r["rate_limited"] for r in results),
    }


async def run_scale_out(args: argparse.Namespace) -> None:
    rows = [await scale_out(n, args) for n in args.processes]
    print(
        f"limit {args.limit:g}/s (burst {args.burst:g}), {args.ids} ids over all processes, "
        f"concurrency {args.concurrency} per process\n"
    )
    print(
        "| processes | ids | deletes/s | share of limit | requests answered 429 | time s "
        "| failed/not done |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['processes']} | {r['ids']:,} | {r['goodput']:.0f} | {r['share']:.0%} "
            f"| {r['limited_share']:.1%} | {r['elapsed']:.1f} | {r['not_done']} |"
        )


# --------------------------------------------------------------------------- loop lag


async def worst_lag(run: Callable[[], object]) -> tuple[float, float, int]:
    """Run ``run()`` (a coroutine) beside a ticker task.

    Returns the longest gap between two ticks in wall time and in this
    thread's CPU time (on a shared machine the OS may pause the whole process;
    CPU time counts only what the loop itself was busy with), and the ticks.
    """
    worst_wall = worst_cpu = 0.0
    ticks = 0
    finished = False

    async def ticker() -> None:
        nonlocal worst_wall, worst_cpu, ticks
        wall, cpu = time.perf_counter(), time.thread_time()
        while not finished:
            await asyncio.sleep(0)
            now_wall, now_cpu = time.perf_counter(), time.thread_time()
            worst_wall = max(worst_wall, now_wall - wall)
            worst_cpu = max(worst_cpu, now_cpu - cpu)
            wall, cpu, ticks = now_wall, now_cpu, ticks + 1

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    await run()  # type: ignore[misc]
    finished = True
    await task
    return worst_wall, worst_cpu, ticks


async def run_lag(count: int) -> None:
    from gr4vy_async import RetryConfig
    from gr4vy_async.bulk import BulkOptions, BulkReport, run_bulk

    async def instant(session_id: str, policy: RetryConfig) -> None:
        return None

    async def stream(kind: str) -> AsyncIterator[str]:
        same = str(uuid.UUID(int=1))
        for n in range(count):
            yield {"malformed": "x", "duplicate": same, "valid": str(uuid.UUID(int=n))}[kind]

    print(f"| {count:,} ids | worst loop lag ms (wall) | (CPU) | ticker ran | batch s |")
    print("|---|---:|---:|---:|---:|")
    for kind in ("malformed", "duplicate", "valid"):
        for source in ("list", "async iterable"):
            ids = [x async for x in stream(kind)] if source == "list" else stream(kind)
            started = time.perf_counter()
            wall, cpu, ticks = await worst_lag(
                lambda ids=ids: run_bulk(  # type: ignore[misc]
                    ids,
                    instant,
                    BulkOptions(retries=RetryConfig(), concurrency=16, missing_ok=True),
                    report=BulkReport(keep_ids=False),
                )
            )
            print(
                f"| {kind}, {source} | {wall * 1000:.1f} | {cpu * 1000:.1f} | {ticks:,} "
                f"| {time.perf_counter() - started:.1f} |"
            )


# --------------------------------------------------------------------------- main


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(float(sys.argv[2]), float(sys.argv[3]))
        return
    if sys.argv[1:2] == ["--client"]:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=float, default=300.0, help="server limit, requests/s")
    parser.add_argument("--burst", type=float, help="server burst (default: limit / 10)")
    parser.add_argument("--ids", type=int, default=6000, help="ids in all, split over processes")
    parser.add_argument("--concurrency", type=int, default=32, help="per client process")
    parser.add_argument("--processes", default="1,2,4", help="client processes, e.g. 1,2,4")
    parser.add_argument("--lag", action="store_true", help="measure loop lag instead")
    parser.add_argument("--count", type=int, default=1_000_000, help="ids for --lag")
    args = parser.parse_args()
    args.burst = args.burst or max(1.0, math.floor(args.limit / 10))
    args.processes = [int(n) for n in args.processes.split(",")]
    print("\n".join(environment(["gr4vy-async", "aiohttp"])), "\n")
    asyncio.run(run_lag(args.count) if args.lag else run_scale_out(args))


if __name__ == "__main__":
    main()
