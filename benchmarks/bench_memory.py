"""Memory benchmark: 10,000 gets in flight through one client, in 10 repeated batches.

FakeGr4vy runs in a process of its own; each client runs in a child process
that starts ``--in-flight`` gets at once (``asyncio.gather``, the client's
default pool of 100 connections), keeps the results until all are done,
drops them, collects garbage, and does it again ``--batches`` times (the
fake is reset between batches, so its growing request log cannot slow it). It
reports the child's peak RSS (``VmHWM``) and, after every batch, its RSS with
the results still held and after they are dropped, plus the interpreter's
allocated blocks (a leak shows as a steady climb in both). Run from the
repository root::

    .venv-bench/bin/python benchmarks/bench_memory.py            # ~70 s

``--clients ours,floor`` (default) picks the clients of ``_clients.py``:
``ours`` is gr4vy_async (cached ``with_token`` provider), ``floor`` raw
aiohttp keeping the response bytes, for reference (``typed-floor`` works too).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from _clients import KINDS, Setup, make_client, make_setup, new_p521_key
from _common import FakeProcess, LineProcess, print_header, print_table

POOL = 100  # sessions the gets go round


def memory_kib() -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of this process, in KiB, from ``/proc/self/status``."""
    values: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


async def child(kind: str) -> None:
    """The client process: a setup line, then one line per batch (its ids) -> its report."""
    message = json.loads(sys.stdin.readline())
    setup: Setup = message["setup"]
    in_flight: int = message["in_flight"]
    client = make_client(kind, setup)
    gc.collect()
    print(json.dumps({"auth": client.auth, "start_kib": memory_kib()["VmRSS"]}), flush=True)
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            ids: list[str] = json.loads(line)
            began = time.perf_counter()
            results = await asyncio.gather(*(client.get(ids[i % POOL]) for i in range(in_flight)))
            seconds = time.perf_counter() - began
            held = memory_kib()["VmRSS"]
            assert len(results) == in_flight
            del results
            # Let this step end: the loop's handle that woke us still holds the gather
            # (and through it every result) until then.
            await asyncio.sleep(0)
            gc.collect()
            batch = {
                "seconds": seconds,
                "held_kib": held,
                "after_kib": memory_kib()["VmRSS"],
                "blocks": sys.getallocatedblocks(),
                "peak_kib": memory_kib()["VmHWM"],
            }
            print(json.dumps(batch), flush=True)
    finally:
        await client.aclose()


def run_child(
    kind: str, fake: FakeProcess, message: dict[str, Any], batches: int
) -> dict[str, Any]:
    """Run one client's batches in a fresh interpreter, resetting the fake between them."""
    with LineProcess([str(Path(__file__).resolve()), "--child", kind]) as process:
        result: dict[str, Any] = process.ask_json(message)
        result["batches"] = []
        for _ in range(batches):
            fake.reset()  # an empty request log: the fake's speed stays the same
            result["batches"].append(process.ask_json(fake.seed(POOL)))
    result["peak_kib"] = result["batches"][-1]["peak_kib"]
    return result


def mib(kib: float) -> str:
    """KiB as MiB, one decimal."""
    return f"{kib / 1024:.1f}"


def report(kind: str, result: dict[str, Any], in_flight: int) -> None:
    """One client's table and its summary lines."""
    batches = result["batches"]
    print(f"\n### {KINDS[kind]} ({result['auth']})\n")
    print_table(
        ["batch", "seconds", "gets/s", "RSS MiB, results held", "RSS MiB, dropped", "blocks"],
        (
            [
                number,
                f"{batch['seconds']:.2f}",
                f"{in_flight / batch['seconds']:,.0f}",
                mib(batch["held_kib"]),
                mib(batch["after_kib"]),
                f"{batch['blocks']:,}",
            ]
            for number, batch in enumerate(batches, 1)
        ),
        align="rrrrrr",
    )
    # From the second batch: the first one also fills caches and pools.
    first = min(1, len(batches) - 1)
    second, last = batches[first], batches[-1]
    held = last["held_kib"] - second["held_kib"]
    dropped = last["after_kib"] - second["after_kib"]
    blocks = last["blocks"] - second["blocks"]
    print(
        f"\nPeak RSS {mib(result['peak_kib'])} MiB (before the first batch: "
        f"{mib(result['start_kib'])} MiB, so {mib(result['peak_kib'] - result['start_kib'])} MiB "
        f"for {in_flight:,} gets in flight). From batch {first + 1} to batch {len(batches)}: "
        f"RSS with the results held {held / 1024:+.1f} MiB, after the drop "
        f"{dropped / 1024:+.1f} MiB (how much the allocator hands back varies), "
        f"allocated blocks {blocks:+,} ({blocks / second['blocks']:+.2%})."
    )


def main(argv: list[str] | None = None) -> None:
    """Start the fake, run each client's batches in its own process, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-flight", type=int, default=10_000, help="gets per batch")
    parser.add_argument("--batches", type=int, default=10, help="repeated batches")
    parser.add_argument("--clients", default="ours,floor", help="comma-separated: ours, floor")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        asyncio.run(child(args.child))
        return

    pem, _ = new_p521_key()
    results = {}
    with FakeProcess() as fake:
        message = {"setup": make_setup(fake.url, pem), "in_flight": args.in_flight}
        for kind in args.clients.split(","):
            results[kind] = run_child(kind, fake, message, args.batches)
    print_header(
        ["gr4vy-async", "aiohttp", "msgspec", "tenacity"],
        f"{args.batches} batches of {args.in_flight:,} gets started at once through one client "
        f"(pool of 100 connections) against FakeGr4vy in its own process; each client in a "
        f"fresh process; results dropped and garbage collected after each batch; the fake "
        f"reset (empty request log, new sessions) between batches.",
    )
    for kind, result in results.items():
        report(kind, result, args.in_flight)


if __name__ == "__main__":
    main()
