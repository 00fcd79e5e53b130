"""HTTP benchmark: gr4vy_async beside the official SDK and the raw-aiohttp floor, on FakeGr4vy.

For create, get, update, delete and a create-get-update-delete cycle, at
concurrency 1 and 64, each client sends a fixed number of requests (after a
warm-up) to FakeGr4vy, which runs in a process of its own. Every client runs
in a child process of its own, so its CPU (``time.process_time`` of that
process, all threads) is its cost alone:

a. ``gr4vy_async`` (``bearer_auth=auth.with_token(pem)``, the cached ES512
   provider);
b. the official ``gr4vy`` SDK's ``*_async`` methods with a static token, and
   b2. the same with its own ``auth.with_token`` (signs a token per request);
c. the floor: raw aiohttp sending pre-encoded bytes, reading bytes undecoded.

(The clients are in ``_clients.py``.)

Rounds alternate the order of the clients; medians are printed with the
paired ratios a/b (requests/s) and a/c (CPU per request). Run from the
repository root::

    .venv-bench/bin/python benchmarks/bench_http.py            # ~2.5 minutes
    .venv-bench/bin/python benchmarks/bench_http.py --quick    # ~1 minute

``--candidate DIR`` adds a client "a'": gr4vy_async imported from ``DIR``
(a patched copy), measured side by side with the installed one.
``--typed-floor`` adds "c'": the floor plus a hand-written msgspec request
check and typed response decode, so a/c' is what the library adds beyond that.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _clients import (
    KINDS,
    OPERATIONS,
    Client,
    Setup,
    make_client,
    make_setup,
    new_p521_key,
    operation,
    run_calls,
)
from _common import (
    FakeProcess,
    LineProcess,
    paired_ratio,
    print_header,
    print_table,
    process_cpu_seconds,
    rotated,
)

CONCURRENCIES = (1, 64)
#: Requests per measured run, by client speed and concurrency (scaled by --scale).
FAST_REQUESTS = {1: 300, 64: 2000}
SLOW_REQUESTS = {1: 60, 64: 256}
POOL = 64  # sessions that get and update go round
SLOW = frozenset({"official", "official-es512"})
RUN_ORDER = ("ours", "candidate", "floor", "typed-floor", "official", "official-es512")


async def measure(client: Client, command: dict[str, Any], fake_pid: int) -> dict[str, float]:
    """Warm up, then time ``calls`` calls.

    Returns wall seconds, this process's CPU seconds and the fake's CPU
    seconds (from ``/proc``, 10 ms ticks) over the timed calls only.
    """
    call = operation(client, command["op"], command["ids"])
    concurrency, warmup, calls = command["concurrency"], command["warmup"], command["calls"]
    await run_calls(call, 0, warmup, concurrency)
    gc.collect()
    fake, cpu, wall = process_cpu_seconds(fake_pid), time.process_time(), time.perf_counter()
    await run_calls(call, warmup, calls, concurrency)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "fake_cpu": process_cpu_seconds(fake_pid) - fake}


def child_main(kind: str) -> None:
    """A client process: a setup line, then one JSON command per line, one result per line."""
    message = json.loads(sys.stdin.readline())
    setup: Setup = message["setup"]
    loop = asyncio.new_event_loop()

    async def start() -> Client:
        return make_client(kind, setup)

    client = loop.run_until_complete(start())
    print(json.dumps({"auth": client.auth, "module": client.module}), flush=True)
    for line in sys.stdin:
        result = loop.run_until_complete(measure(client, json.loads(line), message["fake_pid"]))
        print(json.dumps(result), flush=True)
    loop.run_until_complete(client.aclose())
    loop.close()


# --------------------------------------------------------------------------- driver


class Child(LineProcess):
    """A client process of one kind (this file with ``--child KIND``), fed commands over stdin."""

    def __init__(self, kind: str, message: dict[str, Any], pythonpath: str | None = None) -> None:
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
        super().__init__([str(Path(__file__).resolve()), "--child", kind], env=env)
        self.kind = kind
        self.info: dict[str, str] = self.ask_json(message)


@dataclass
class Cell:
    """One (operation, concurrency, client): its samples, and the round of each."""

    rounds: list[int] = field(default_factory=list)
    requests_per_s: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    fake_busy: list[float] = field(default_factory=list)

    def by_round(self, samples: list[float]) -> list[float]:
        """The median of each round's samples (a fast client runs more than once a round)."""
        grouped: dict[int, list[float]] = {}
        for round_, value in zip(self.rounds, samples, strict=True):
            grouped.setdefault(round_, []).append(value)
        return [statistics.median(values) for values in grouped.values()]


def pair(mine: Cell, theirs: Cell, samples: str) -> float:
    """Median of the paired ratios of two cells' ``samples`` (per run, else per round)."""
    a, b = getattr(mine, samples), getattr(theirs, samples)
    if len(a) != len(b):
        a, b = mine.by_round(a), theirs.by_round(b)
    return paired_ratio(a, b)


Cells = dict[tuple[str, int, str], Cell]


def run(args: argparse.Namespace) -> None:
    """Start the fake and the clients, run the alternating rounds, print the tables."""
    kinds = ["ours", "official", "floor"]
    if args.official_es512:
        kinds.insert(2, "official-es512")
    if args.candidate:
        kinds.insert(1, "candidate")
    if args.typed_floor:
        kinds.append("typed-floor")
    pem, public = new_p521_key()
    with FakeProcess(public if args.verify_tokens else None) as fake:
        message = {"setup": make_setup(fake.url, pem), "fake_pid": fake.pid}
        children: dict[str, Child] = {}
        try:
            for kind in kinds:
                pythonpath = args.candidate if kind == "candidate" else None
                children[kind] = Child(kind, message, pythonpath)
            cells = rounds(fake, children, kinds, args)
        finally:
            for child in children.values():
                child.close()
    report(cells, children, kinds, args)


def rounds(
    fake: FakeProcess, children: dict[str, Child], kinds: list[str], args: argparse.Namespace
) -> Cells:
    """Every (operation, concurrency, client), ``args.rounds`` times, client order rotating."""
    cells: Cells = {}
    started = time.perf_counter()
    fast = [kind for kind in RUN_ORDER if kind in kinds and kind not in SLOW]
    slow = [kind for kind in RUN_ORDER if kind in kinds and kind in SLOW]
    for round_ in range(args.rounds):
        # The fast clients run back to back, --fast-repeats times, so each of
        # their paired ratios compares runs made seconds apart; the slow ones
        # run after them in even rounds and before them in odd ones.
        order = rotated(fast, round_) * args.fast_repeats
        order = order + slow if round_ % 2 == 0 else slow[::-1] + order
        for op in OPERATIONS:
            for concurrency in CONCURRENCIES:
                for kind in order:
                    table = SLOW_REQUESTS if kind in SLOW else FAST_REQUESTS
                    per_call = 4 if op == "cycle" else 1
                    # At least one call per lane, so the concurrency is real.
                    calls = max(concurrency, round(table[concurrency] * args.scale) // per_call)
                    warmup = max(10, concurrency)
                    fake.reset()
                    if op == "delete":
                        ids = fake.seed(warmup + calls)
                    elif op in ("get", "update"):
                        ids = fake.seed(POOL)
                    else:
                        ids = []
                    result = children[kind].ask_json(
                        {
                            "op": op,
                            "concurrency": concurrency,
                            "warmup": warmup,
                            "calls": calls,
                            "ids": ids,
                        }
                    )
                    requests = calls * per_call
                    cell = cells.setdefault((op, concurrency, kind), Cell())
                    cell.rounds.append(round_)
                    cell.requests_per_s.append(requests / result["wall"])
                    cell.cpu_ms.append(result["cpu"] * 1000 / requests)
                    cell.fake_busy.append(result["fake_cpu"] / result["wall"])
        elapsed = time.perf_counter() - started
        print(f"round {round_ + 1}/{args.rounds} done ({elapsed:.0f} s)", file=sys.stderr)
    return cells


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


def report(cells: Cells, children: dict[str, Child], kinds: list[str], args: Any) -> None:
    """Print the environment and both tables (the targets are in benchmarks/README.md)."""
    fast = {c: round(n * args.scale) for c, n in FAST_REQUESTS.items()}
    slow = {c: round(n * args.scale) for c, n in SLOW_REQUESTS.items()}
    clients = []
    for kind in kinds:
        info = children[kind].info
        where = f" ({info['module']})" if info["module"] else ""
        clients.append(f"- {KINDS[kind]}: {info['auth']}{where}")
    print_header(
        ["gr4vy-async", "aiohttp", "msgspec", "tenacity", "gr4vy", "httpx", "pydantic"],
        *clients,
        f"{args.rounds} rounds (a and c {args.fast_repeats} runs each per round), client order "
        "rotating; medians; ratios are medians of paired runs. Requests per run (c=1/c=64): "
        f"{fast[1]}/{fast[64]} (a, c), {slow[1]}/{slow[64]} (b), at least c calls (a cycle is "
        "4 requests); warm-up max(10, c) calls. "
        "FakeGr4vy in its own process, reset before every run; tokens "
        f"{'verified' if args.verify_tokens else 'not verified'} by the fake.",
    )
    columns = ["operation", "c", *(KINDS[kind] for kind in kinds)]
    print(
        "\nRequests per second (higher is better). c/b: the most a/b can be on this server; "
        "fake busy: the fake's CPU / wall during a's runs (~100%: server-bound)\n"
    )
    rows = []
    for op in OPERATIONS:
        for c in CONCURRENCIES:
            official = cells[op, c, "official"]
            rows.append(
                [
                    op,
                    c,
                    *(_fmt(statistics.median(cells[op, c, kind].requests_per_s)) for kind in kinds),
                    f"{pair(cells[op, c, 'ours'], official, 'requests_per_s'):,.1f}x",
                    f"{pair(cells[op, c, 'floor'], official, 'requests_per_s'):,.1f}x",
                    f"{statistics.median(cells[op, c, 'ours'].fake_busy):.0%}",
                ]
            )
    print_table([*columns, "a/b", "c/b", "fake busy"], rows)

    print("\nClient CPU ms per request (lower is better)\n")
    # (name, numerator, denominator) of each CPU ratio column.
    ratios = [("a/c", "ours", "floor")]
    if "candidate" in kinds:
        ratios.append(("a'/c", "candidate", "floor"))
    if "typed-floor" in kinds:
        ratios.append(("a/c'", "ours", "typed-floor"))
    rows = []
    for op in OPERATIONS:
        for c in CONCURRENCIES:
            rows.append(
                [
                    op,
                    c,
                    *(f"{statistics.median(cells[op, c, kind].cpu_ms):.3f}" for kind in kinds),
                    *(
                        f"{pair(cells[op, c, mine], cells[op, c, theirs], 'cpu_ms'):.2f}x"
                        for _, mine, theirs in ratios
                    ),
                ]
            )
    print_table([*columns, *(name for name, _, _ in ratios)], rows)
    cycle = pair(cells["cycle", 64, "ours"], cells["cycle", 64, "official"], "requests_per_s")
    cycle_cpu = pair(cells["cycle", 64, "official"], cells["cycle", 64, "ours"], "cpu_ms")
    print(f"\nCycle at c=64: a/b {cycle:.1f}x requests/s, b/a {cycle_cpu:.1f}x CPU per request.")
    for name, mine, theirs in ratios:
        worst = max(
            (pair(cells[op, c, mine], cells[op, c, theirs], "cpu_ms"), f"{op} c={c}")
            for op in OPERATIONS
            for c in CONCURRENCIES
        )
        print(f"Worst CPU per request {name}: {worst[0]:.2f}x ({worst[1]}).")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line; run as the driver, or as one client's child process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument(
        "--fast-repeats",
        type=int,
        default=2,
        help="runs of a, c (and a', c') per round (default 2)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the request counts")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: --scale 0.25 --fast-repeats 1"
    )
    parser.add_argument(
        "--no-official-es512",
        dest="official_es512",
        action="store_false",
        help="skip b2, the official SDK signing a token per request",
    )
    parser.add_argument("--candidate", help="also measure gr4vy_async imported from this dir")
    parser.add_argument(
        "--typed-floor",
        action="store_true",
        help="also measure c': the floor plus a msgspec check of the body and typed decode",
    )
    parser.add_argument(
        "--verify-tokens",
        action="store_true",
        help="the fake verifies every ES512 token (costs it ~1 ms of CPU per request)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child)
        return
    if args.quick:
        args.scale, args.rounds, args.fast_repeats = 0.25, 3, 1
    run(args)


if __name__ == "__main__":
    main()
