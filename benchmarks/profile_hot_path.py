"""Profile gr4vy_async's hot path: cProfile of N requests per operation against FakeGr4vy.

FakeGr4vy runs in a process of its own, so the profile holds only the client:
gr4vy_async (cached ``with_token`` provider) and what it calls (aiohttp,
yarl, multidict, msgspec, asyncio). For each operation, after a warm-up, it
prints the functions with the most own time, marking ours, then our own
functions alone, then own time summed by package. Run from the repository
root::

    .venv-bench/bin/python benchmarks/profile_hot_path.py             # ~5 s
    .venv-bench/bin/python benchmarks/profile_hot_path.py --ops get -n 5000 --top 40

cProfile adds a fixed cost to every Python call, so it inflates code made of
many small calls: read the shares, and confirm a fix with bench_http.py
(``--candidate DIR`` measures a patched copy side by side). The client is
``_clients.Ours``, the one every benchmark measures.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sysconfig
from collections import defaultdict
from pathlib import Path

from _clients import Ours, Setup, make_setup, new_p521_key, operation, run_calls
from _common import FakeProcess, print_header, print_table

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def package_of(filename: str) -> str:
    """Where a profiled function lives: ``gr4vy_async``, a site package, stdlib, or C."""
    if filename == "~" or filename.startswith("<"):
        return "builtins / C"
    path = Path(filename)
    parts = path.parts
    if "gr4vy_async" in parts:
        return "gr4vy_async"
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if path.is_relative_to(STDLIB):
        relative = path.relative_to(STDLIB).parts
        return f"stdlib {relative[0].removesuffix('.py')}"
    return path.name


def where(func: tuple[str, int, str]) -> str:
    """``package: function (file:line)`` for a pstats key, short."""
    filename, line, name = func
    if filename == "~":
        return name
    short = "/".join(Path(filename).parts[-2:])
    return f"{name} ({short}:{line})"


def print_profile(stats: pstats.Stats, calls: int, top: int, ours_top: int) -> None:
    """The tables for one operation (the event loop's idle wait, ``epoll.poll``, left out)."""
    entries = {
        func: entry
        for func, entry in stats.stats.items()  # type: ignore[attr-defined]
        if not func[2].startswith("<method 'poll' of 'select.")
    }
    idle = sum(entry[2] for entry in stats.stats.values()) - sum(  # type: ignore[attr-defined]
        entry[2] for entry in entries.values()
    )
    total = sum(entry[2] for entry in entries.values())
    rows = sorted(entries.items(), key=lambda item: -item[1][2])
    print(
        f"Profiled busy time {total * 1000:.0f} ms, {total * 1e6 / calls:.0f} µs per call "
        f"(idle in epoll, left out: {idle * 1000:.0f} ms). calls/call counts each resume "
        "of a coroutine.\n"
    )
    print_table(
        ["own µs/call", "share", "calls/call", "ours", "function"],
        (
            [
                f"{own * 1e6 / calls:.1f}",
                f"{own / total:.1%}",
                f"{ncalls / calls:.2g}",
                "**yes**" if package_of(func[0]) == "gr4vy_async" else "",
                f"`{where(func)}`",
            ]
            for func, (_, ncalls, own, _, _) in rows[:top]
        ),
        align="rrrcl",
    )
    print("\nOur own functions (own time, and cumulative time including callees)\n")
    ours = [row for row in rows if package_of(row[0][0]) == "gr4vy_async"]
    print_table(
        ["own µs/call", "cumulative µs/call", "calls/call", "function"],
        (
            [
                f"{own * 1e6 / calls:.1f}",
                f"{cumulative * 1e6 / calls:.1f}",
                f"{ncalls / calls:.2g}",
                f"`{where(func)}`",
            ]
            for func, (_, ncalls, own, cumulative, _) in ours[:ours_top]
        ),
        align="rrrl",
    )
    by_package: dict[str, float] = defaultdict(float)
    for func, entry in entries.items():
        by_package[package_of(func[0])] += entry[2]
    print("\nOwn time by package\n")
    print_table(
        ["package", "µs/call", "share"],
        (
            [package, f"{own * 1e6 / calls:.1f}", f"{own / total:.1%}"]
            for package, own in sorted(by_package.items(), key=lambda item: -item[1])[:12]
        ),
    )


async def profile_op(
    fake: FakeProcess, setup: Setup, op: str, calls: int, concurrency: int
) -> pstats.Stats:
    """Warm up, then profile ``calls`` calls of ``op`` at ``concurrency``."""
    client = Ours(setup)
    warmup = max(50, concurrency)
    fake.reset()
    ids = fake.seed(warmup + calls) if op == "delete" else fake.seed(64)
    call = operation(client, op, [] if op == "create" else ids)
    try:
        await run_calls(call, 0, warmup, concurrency)
        profiler = cProfile.Profile()
        profiler.enable()
        await run_calls(call, warmup, calls, concurrency)
        profiler.disable()
    finally:
        await client.aclose()
    return pstats.Stats(profiler)


def main(argv: list[str] | None = None) -> None:
    """Profile each operation in turn and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default="get,create", help="from create,get,update,delete")
    parser.add_argument("-n", type=int, default=3000, help="profiled calls per operation")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--top", type=int, default=25, help="rows of the all-functions table")
    parser.add_argument("--ours-top", type=int, default=15, help="rows of our-functions table")
    parser.add_argument("--dump", type=Path, help="also write OP.prof files here (snakeviz etc.)")
    args = parser.parse_args(argv)

    pem, _ = new_p521_key()
    results = []
    with FakeProcess() as fake:
        setup = make_setup(fake.url, pem)
        for op in args.ops.split(","):
            stats = asyncio.run(profile_op(fake, setup, op, args.n, args.concurrency))
            results.append((op, stats))
            if args.dump:
                args.dump.mkdir(parents=True, exist_ok=True)
                stats.dump_stats(args.dump / f"{op}.prof")
    print_header(["gr4vy-async", "aiohttp", "yarl", "multidict", "msgspec"])
    for op, stats in results:
        print(f"\n## {op}: {args.n} calls at concurrency {args.concurrency}\n")
        print_profile(stats, args.n, args.top, args.ours_top)


if __name__ == "__main__":
    main()
