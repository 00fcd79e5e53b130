"""FakeGr4vy in its own process for the queue tests and benchmark, with a DELETE log.

    python tests/support/fake_server.py --ids ids.txt --log log.json
        [--rate-limit 300] [--rate-limit-burst 30] [--fault 'DELETE=503,probability=0.02']...

The library's fake with its own options, as ``python -m gr4vy_async.testing``
takes them: ``--rate-limit`` is FakeGr4vy's token bucket over all clients
(429 + ``Retry-After`` past it) and each ``--fault`` is a fault in that
command's syntax. Stores a session for every id in ``--ids``, prints
``listening on URL`` and serves until SIGTERM or SIGINT. Then it writes
``--log`` (what ``python -m gr4vy_async.testing`` cannot tell a test): every
DELETE as ``[id, status]`` in arrival order (``null``: connection dropped),
and the ids still stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.testing.preload import parse_fault, preload

PREFIX = "/checkout/sessions/"


async def serve(args: argparse.Namespace) -> None:
    fake = FakeGr4vy(
        port=args.port, rate_limit=args.rate_limit, rate_limit_burst=args.rate_limit_burst
    )
    ids = Path(args.ids).read_text().split()  # noqa: ASYNC240 - before serving
    preload(fake, session_ids=ids, faults=args.fault)
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
    parser.add_argument("--rate-limit", type=float, help="requests/s over all clients")
    parser.add_argument("--rate-limit-burst", type=float, help="token-bucket size")
    parser.add_argument(
        "--fault", action="append", default=[], type=parse_fault, help="ROUTE=KIND[,OPTION=V...]"
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
