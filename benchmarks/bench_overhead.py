"""Client-side CPU per call: gr4vy_async over a stub aiohttp session (no I/O, no aiohttp).

What is left is our own code plus msgspec and yarl: validation, encoding,
headers, the attempt loop, decoding. ``--baseline DIR`` measures a second
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


def session_json() -> bytes:
    """A CheckoutSession as the server echoes the seed's create body."""
    import msgspec

    from gr4vy_async.testing.payloads import seed_create_body

    echoed = msgspec.to_builtins(seed_create_body())
    echoed.pop("expires_in", None)
    echoed.update(type="checkout-session", id=SESSION_ID, expires_at="2030-01-01T00:00:00Z")
    return json.dumps(echoed).encode()


async def child(calls: int) -> dict[str, float]:
    """µs per call of each operation, after a warm-up."""
    import gr4vy_async
    from gr4vy_async.testing.payloads import seed_create_body

    raw = session_json()
    answers = {"GET": (200, raw), "POST": (201, raw), "PUT": (200, raw), "DELETE": (204, b"")}
    client = gr4vy_async.Gr4vy(
        server_url="https://api.sandbox.acme.gr4vy.app",
        bearer_auth="token",
        session=StubSession(answers),  # type: ignore[arg-type]
    )
    sessions = client.checkout_sessions
    body = seed_create_body()

    def call(op: str) -> Any:
        if op == "get":
            return sessions.get(session_id=SESSION_ID)
        if op == "delete":
            return sessions.delete(session_id=SESSION_ID)
        if op == "create":
            return sessions.create(request_body=body)
        return sessions.update(
            session_id=SESSION_ID,
            cart_items=body.cart_items,
            metadata=body.metadata,
            buyer=body.buyer,
            airline=body.airline,
            expires_in=body.expires_in,
        )

    results = {}
    for op in OPS:
        for _ in range(calls // 5):
            await call(op)
        started = time.perf_counter()
        for _ in range(calls):
            await call(op)
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


def main() -> None:
    """Alternate the trees for ``--rounds`` rounds and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a directory holding another gr4vy_async")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.calls))))
        return
    trees: dict[str, str | None] = {"current": None}
    if args.baseline:
        trees["baseline"] = args.baseline
    samples: dict[str, dict[str, list[float]]] = {name: {op: [] for op in OPS} for name in trees}
    for round_number in range(args.rounds):
        order = list(trees) if round_number % 2 == 0 else list(reversed(trees))
        for name in order:
            for op, value in run_tree(trees[name], args.calls).items():
                samples[name][op].append(value)
    print(f"command: {' '.join(sys.argv)}; {args.rounds} rounds of {args.calls} calls per op")
    print("| operation | " + " | ".join(f"{name} µs/call" for name in trees) + " |")
    print("|---|" + "---:|" * len(trees))
    for op in OPS:
        cells = " | ".join(f"{statistics.median(samples[name][op]):.1f}" for name in trees)
        print(f"| {op} | {cells} |")


if __name__ == "__main__":
    main()
