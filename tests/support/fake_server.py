"""FakeGr4vy in its own process for the queue tests and benchmark, built with its Python API.

    python tests/support/fake_server.py --ids ids.txt --log log.json
        [--rate-429 0.02] [--limit 300] [--retry-after 1]

Stores a session for every id in ``--ids``, optionally answers a share of
DELETEs with 429 + ``Retry-After`` (``--rate-429``, seeded) and/or enforces a
token-bucket limit of ``--limit`` requests per second across all clients
(429 + ``Retry-After`` past it), prints ``listening on URL`` and serves until
SIGTERM or SIGINT. Then it writes ``--log``: every DELETE as ``[id, status]``
in arrival order, and the ids still stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from pathlib import Path

from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.testing.faults import Fault, FaultScript

PREFIX = "/checkout/sessions/"


class TokenBucket(FaultScript):
    """A fault script that also answers 429 past ``rate`` requests/s (``burst`` at once)."""

    def __init__(self, rate: float, burst: float, retry_after: int) -> None:
        super().__init__()
        self.per_second = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()
        self.limited = Fault.status(429, retry_after=retry_after)

    def pick(self, method: str, path: str) -> Fault | None:
        fault = super().pick(method, path)
        if fault is not None:
            return fault
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return self.limited


async def serve(args: argparse.Namespace) -> None:
    fake = FakeGr4vy(port=args.port)
    if args.limit:
        fake.faults = TokenBucket(args.limit, max(1.0, args.limit / 10), args.retry_after)
    if args.rate_429:
        fault = Fault.status(429, retry_after=args.retry_after)
        fake.faults.rate("DELETE", fault, probability=args.rate_429, seed=args.seed)
    for line in Path(args.ids).read_text().split():  # noqa: ASYNC240 - before serving
        fake.create_session(session_id=line)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with fake:
        print(f"listening on {fake.url}", flush=True)
        await stop.wait()
    deletes = [
        [r.path.removeprefix(PREFIX), r.status]
        for r in fake.requests
        if r.method == "DELETE" and r.path.startswith(PREFIX)
    ]
    remaining = [session_id for _, session_id in fake.sessions]
    first = fake.requests[0].time if fake.requests else 0.0
    last = fake.requests[-1].time if fake.requests else 0.0
    log = {"deletes": deletes, "remaining": remaining, "seconds": last - first}
    Path(args.log).write_text(json.dumps(log))  # noqa: ASYNC240 - after serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", required=True, help="a file of session ids to store")
    parser.add_argument("--log", required=True, help="where to write the DELETE log on exit")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate-429", type=float, default=0.0, help="share of DELETEs -> 429")
    parser.add_argument("--limit", type=float, default=0.0, help="requests/s (token bucket)")
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--seed", type=int, default=15)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
