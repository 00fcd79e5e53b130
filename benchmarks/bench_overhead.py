"""Client-side CPU per call: gr4vy_async over a stub aiohttp session (no I/O, no aiohttp).

What is left is our own code plus msgspec and yarl: validation, encoding,
headers, the attempt loop, decoding. The client is ``_clients.Ours`` (the
cached ES512 provider) over the stub; the response is
``_clients.session_response()``. ``--baseline DIR`` measures a second
copy of ``gr4vy_async`` (a directory holding the package, e.g. from
``git archive main gr4vy_async | tar -x -C /tmp/base``) side by side: each
round runs every tree in a fresh process, the order flips every round, and
the table shows the medians over rounds. Run from the repository root::

    .venv/bin/python benchmarks/bench_overhead.py --baseline /tmp/base   # ~30 s

The stub answers every request at once with a canned body, so the numbers
are the floor of what a request costs in Python on this side of the socket;
aiohttp's own share (and a middleware's) needs ``bench_http.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _clients import Ours, make_setup, new_p521_key, operation, run_calls, session_response
from _common import print_header, print_table, rotated

OPS = ("get", "delete", "create", "update")
SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"


class _Content:
    def __init__(self, body: bytes) -> None:
        self._parts = [b"", body] if body else [b""]

    async def readany(self) -> bytes:
        return self._parts.pop()

    async def read(self, n: int = -1) -> bytes:
        return b"".join(reversed(self._parts))


class _Response:
    def __init__(self, status: int, body: bytes) -> None:
        from multidict import CIMultiDict, CIMultiDictProxy

        self.status = status
        self._body = body
        self.headers = CIMultiDictProxy(
            CIMultiDict({"Content-Type": "application/json", "Content-Length": str(len(body))})
        )
        self.content_length = len(body)
        self.content = _Content(body)

    async def read(self) -> bytes:
        return self._body

    def close(self) -> None:
        pass

    async def __aenter__(self) -> _Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


class StubSession:
    """Just enough of ``aiohttp.ClientSession`` for the client: every request answers at once."""

    def __init__(self, answers: dict[str, tuple[int, bytes]]) -> None:
        self._answers = answers
        self.closed = False
        self.headers: dict[str, str] = {}
        self.auth = None
        self.trust_env = False
        self._loop = asyncio.get_running_loop()

    def request(self, method: str, url: Any, **kwargs: Any) -> _Response:
        status, body = self._answers[method]
        return _Response(status, body)


async def child(calls: int) -> dict[str, float]:
    """µs per call of each operation, after a warm-up of ``calls // 5``."""
    raw = session_response()
    answers = {"GET": (200, raw), "POST": (201, raw), "PUT": (200, raw), "DELETE": (204, b"")}
    pem, _ = new_p521_key()
    setup = make_setup("https://api.sandbox.acme.gr4vy.app", pem)
    client = Ours(setup, session=StubSession(answers))  # type: ignore[arg-type]
    ids = [SESSION_ID] * (calls + calls // 5)
    results = {}
    for op in OPS:
        call = operation(client, op, ids)
        await run_calls(call, 0, calls // 5, 1)
        started = time.perf_counter()
        await run_calls(call, calls // 5, calls, 1)
        results[op] = (time.perf_counter() - started) / calls * 1e6
    await client.aclose()
    return results


def run_tree(tree: str | None, calls: int) -> dict[str, float]:
    """One fresh process measuring ``gr4vy_async`` from ``tree`` (None: the installed one)."""
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, env.get("PYTHONPATH")]))
    out = subprocess.run(  # noqa: S603 - our own interpreter and file
        [sys.executable, __file__, "--child", "--calls", str(calls)],
        env=env,
        cwd=Path(__file__).parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out))


def main(argv: list[str] | None = None) -> None:
    """Alternate the trees for ``--rounds`` rounds and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a directory holding another gr4vy_async")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(child(args.calls))))
        return
    trees: dict[str, str | None] = {"current": None}
    if args.baseline:
        trees["baseline"] = args.baseline
    samples: dict[str, dict[str, list[float]]] = {name: {op: [] for op in OPS} for name in trees}
    for round_ in range(args.rounds):
        for name in rotated(list(trees), round_):
            for op, value in run_tree(trees[name], args.calls).items():
                samples[name][op].append(value)
    print_header(
        ["gr4vy-async", "aiohttp", "msgspec", "tenacity"],
        f"{args.rounds} rounds of {args.calls} calls per operation, each tree in a fresh "
        "process, order rotating; medians\n",
    )
    print_table(
        ["operation", *(f"{name} µs/call" for name in trees)],
        ([op, *(f"{statistics.median(samples[name][op]):.1f}" for name in trees)] for op in OPS),
    )


if __name__ == "__main__":
    main()
