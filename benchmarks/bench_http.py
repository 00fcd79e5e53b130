"""HTTP benchmark: gr4vy_async beside the official SDK and the raw-aiohttp floor, on FakeGr4vy.

For create, get, update, delete and a create-get-update-delete cycle, at
concurrency 1 and 64, each client sends a fixed number of requests (after a
warm-up) to FakeGr4vy, which runs in a process of its own. Every client runs
in a child process of its own, so its CPU (``time.process_time`` of that
process, all threads) is its cost alone:

a. ``gr4vy_async`` (``bearer_auth=auth.with_token(pem)``, the cached ES512
   provider, when it exists; a static token otherwise);
b. the official ``gr4vy`` SDK's ``*_async`` methods with a static token, and
   b2. the same with its own ``auth.with_token`` (signs a token per request);
c. the floor: raw aiohttp sending pre-encoded bytes, reading bytes undecoded.

Rounds alternate the order of the clients; medians are printed with the
paired ratios a/b (requests/s) and a/c (CPU per request). Run from the
repository root::

    .venv-bench/bin/python benchmarks/bench_http.py            # ~2.5 minutes
    .venv-bench/bin/python benchmarks/bench_http.py --quick    # ~1 minute

``--candidate DIR`` adds a client "a'": gr4vy_async imported from ``DIR``
(a patched copy), measured side by side with the installed one.
``--typed-floor`` adds "c'": the floor plus a hand-written msgspec request
check, encode and typed response decode, so a/c' is what the library adds
beyond msgspec.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from _common import FakeProcess, environment, new_p521_key, paired_ratio, process_cpu_seconds

OPERATIONS = ("create", "get", "update", "delete", "cycle")
CONCURRENCIES = (1, 64)
#: Requests per measured run, by client speed and concurrency (scaled by --scale).
FAST_REQUESTS = {1: 300, 64: 2000}
SLOW_REQUESTS = {1: 60, 64: 256}
POOL = 64  # sessions that get and update go round
USER_AGENT = "gr4vy-async/bench"  # the floor's, when the driver does not pass ours
LABELS = {
    "ours": "a gr4vy_async",
    "candidate": "a' candidate",
    "official": "b official",
    "official-es512": "b2 official+ES512",
    "floor": "c aiohttp floor",
    "typed-floor": "c' floor+msgspec",
}
SLOW = frozenset({"official", "official-es512"})
RUN_ORDER = ("ours", "candidate", "floor", "typed-floor", "official", "official-es512")


# --------------------------------------------------------------------------- clients (children)


class Client(Protocol):
    """One implementation, doing each operation once."""

    auth: str

    async def create(self) -> str: ...
    async def get(self, session_id: str) -> object: ...
    async def update(self, session_id: str) -> None: ...
    async def delete(self, session_id: str) -> None: ...
    async def aclose(self) -> None: ...


class Ours:
    """gr4vy_async, as a user writes it."""

    def __init__(self, setup: dict[str, Any]) -> None:
        import gr4vy_async
        from gr4vy_async.testing.payloads import seed_create_body

        bearer: Any = setup["token"]
        self.auth = "static token"
        try:
            from gr4vy_async.auth import with_token

            bearer = with_token(setup["pem"])
            self.auth = "auth.with_token(P-521 pem): cached ES512 provider"
        except ImportError:
            pass
        self.client = gr4vy_async.Gr4vy(server_url=setup["url"], bearer_auth=bearer)
        self.sessions = self.client.checkout_sessions
        self.body = seed_create_body()
        self.module = gr4vy_async.__file__

    async def create(self) -> str:
        return (await self.sessions.create(request_body=self.body)).id

    async def get(self, session_id: str) -> object:
        return await self.sessions.get(session_id=session_id)

    async def update(self, session_id: str) -> None:
        body = self.body
        await self.sessions.update(
            session_id=session_id,
            cart_items=body.cart_items,
            metadata=body.metadata,
            buyer=body.buyer,
            airline=body.airline,
            expires_in=body.expires_in,
        )

    async def delete(self, session_id: str) -> None:
        await self.sessions.delete(session_id=session_id)

    async def aclose(self) -> None:
        await self.client.aclose()


class Official:
    """The official SDK's async methods; ``signed``: its per-request ES512 ``with_token``."""

    def __init__(self, setup: dict[str, Any], signed: bool) -> None:
        import gr4vy
        from bench_models import official_create_body
        from gr4vy import auth

        bearer: Any = auth.with_token(setup["pem"]) if signed else setup["token"]
        self.auth = "auth.with_token(pem): signs every request" if signed else "static token"
        self.sdk = gr4vy.Gr4vy(server_url=setup["url"], bearer_auth=bearer)
        self.sessions = self.sdk.checkout_sessions
        self.body = official_create_body()

    async def create(self) -> str:
        return (await self.sessions.create_async(checkout_session_create=self.body)).id

    async def get(self, session_id: str) -> object:
        return await self.sessions.get_async(session_id=session_id)

    async def update(self, session_id: str) -> None:
        body = self.body
        await self.sessions.update_async(
            session_id=session_id,
            cart_items=body.cart_items,
            metadata=body.metadata,
            buyer=body.buyer,
            airline=body.airline,
            expires_in=body.expires_in,
        )

    async def delete(self, session_id: str) -> None:
        await self.sessions.delete_async(session_id=session_id)

    async def aclose(self) -> None:
        await self.sdk.__aexit__(None, None, None)


class Floor:
    """Raw aiohttp: pre-encoded body, the same headers and URLs, bytes read and not decoded."""

    _ID_MARK = b'"checkout-session","id":"'

    def __init__(self, setup: dict[str, Any]) -> None:
        import aiohttp
        from yarl import URL

        self.auth = "static token (one signed JWT)"
        self._url = URL
        self.base = setup["url"] + "/checkout/sessions"
        self.collection = URL(self.base, encoded=True)
        self.body = setup["body"].encode()
        self.headers = {
            "User-Agent": setup.get("user_agent", USER_AGENT),
            "Accept": "application/json",
            "Authorization": f"Bearer {setup['token']}",
        }
        self.body_headers = {**self.headers, "Content-Type": "application/json"}
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))

    async def _send(
        self, method: str, url: Any, headers: dict[str, str], body: bytes | None, expected: int
    ) -> bytes:
        async with self.session.request(method, url, data=body, headers=headers) as response:
            raw = await response.read()
            if response.status != expected:
                raise RuntimeError(f"{method} {url}: {response.status} {raw[:200]!r}")
            return raw

    def _item(self, session_id: str) -> Any:
        return self._url(f"{self.base}/{session_id}", encoded=True)

    async def create(self) -> str:
        raw = await self._send("POST", self.collection, self.body_headers, self.body, 201)
        start = raw.index(self._ID_MARK) + len(self._ID_MARK)
        return raw[start : start + 36].decode()

    async def get(self, session_id: str) -> object:
        return await self._send("GET", self._item(session_id), self.headers, None, 200)

    async def update(self, session_id: str) -> None:
        await self._send("PUT", self._item(session_id), self.body_headers, self.body, 200)

    async def delete(self, session_id: str) -> None:
        await self._send("DELETE", self._item(session_id), self.headers, None, 204)

    async def aclose(self) -> None:
        await self.session.close()


class TypedFloor(Floor):
    """The floor plus the typed work a hand-written msgspec client does (``--typed-floor``).

    Written out here with msgspec alone (no ``gr4vy_async`` code but its
    models): a request body is validated the cheapest way msgspec checks a
    model's constraints, encode then decode with strict enums, and the bytes
    encoded are sent; an update first builds the model from its keyword
    arguments; a 2xx is decoded into a ``CheckoutSession``. a/c' is what
    gr4vy_async adds beyond this.
    """

    def __init__(self, setup: dict[str, Any]) -> None:
        super().__init__(setup)
        import msgspec

        from gr4vy_async import models
        from gr4vy_async.testing.payloads import seed_create_body

        self.seed = seed_create_body()
        self.model = models.CheckoutSessionUpdate
        self.strict = models.strict_enums
        self.encode = msgspec.json.Encoder().encode
        self.check = msgspec.json.Decoder(models.CheckoutSessionUpdate).decode
        self.decode = msgspec.json.Decoder(models.CheckoutSession).decode

    def _validated(self, body: Any) -> bytes:
        raw: bytes = self.encode(body)
        with self.strict():
            self.check(raw)
        return raw

    async def create(self) -> str:
        body = self._validated(self.seed)
        raw = await self._send("POST", self.collection, self.body_headers, body, 201)
        return str(self.decode(raw).id)

    async def get(self, session_id: str) -> object:
        return self.decode(await self._send("GET", self._item(session_id), self.headers, None, 200))

    async def update(self, session_id: str) -> None:
        seed = self.seed
        model = self.model(
            cart_items=seed.cart_items,
            metadata=seed.metadata,
            buyer=seed.buyer,
            airline=seed.airline,
            expires_in=seed.expires_in,
        )
        body = self._validated(model)
        url = self._item(session_id)
        self.decode(await self._send("PUT", url, self.body_headers, body, 200))


def make_client(kind: str, setup: dict[str, Any]) -> Client:
    """The client of ``kind`` (made inside the running loop)."""
    if kind in ("ours", "candidate"):
        return Ours(setup)
    if kind in SLOW:
        return Official(setup, signed=kind == "official-es512")
    if kind == "floor":
        return Floor(setup)
    if kind == "typed-floor":
        return TypedFloor(setup)
    raise ValueError(f"unknown client {kind!r}")


def operation(client: Client, op: str, ids: list[str]) -> Callable[[int], Awaitable[object]]:
    """Call number ``i`` of ``op``: get/update go round ``ids``, delete uses ``ids[i]``."""
    if op == "create":
        return lambda i: client.create()
    if op == "get":
        return lambda i: client.get(ids[i % len(ids)])
    if op == "update":
        return lambda i: client.update(ids[i % len(ids)])
    if op == "delete":
        return lambda i: client.delete(ids[i])

    async def cycle(i: int) -> None:
        session_id = await client.create()
        await client.get(session_id)
        await client.update(session_id)
        await client.delete(session_id)

    return cycle


async def run_calls(
    call: Callable[[int], Awaitable[object]], start: int, count: int, concurrency: int
) -> None:
    """Calls ``start`` .. ``start + count - 1``, at most ``concurrency`` at a time."""
    next_index, end = start, start + count

    async def lane() -> None:
        nonlocal next_index
        while next_index < end:
            index, next_index = next_index, next_index + 1
            await call(index)

    await asyncio.gather(*(lane() for _ in range(min(concurrency, count))))


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
    setup: dict[str, Any] = json.loads(sys.stdin.readline())
    loop = asyncio.new_event_loop()

    async def start() -> Client:
        return make_client(kind, setup)

    client = loop.run_until_complete(start())
    module = getattr(client, "module", "")
    print(json.dumps({"auth": client.auth, "module": module}), flush=True)
    for line in sys.stdin:
        result = loop.run_until_complete(measure(client, json.loads(line), setup["fake_pid"]))
        print(json.dumps(result), flush=True)
    loop.run_until_complete(client.aclose())
    loop.close()


# --------------------------------------------------------------------------- driver


class Child:
    """A client process of one kind, fed commands over stdin."""

    def __init__(self, kind: str, setup: dict[str, Any], pythonpath: str | None = None) -> None:
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
        self.kind = kind
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and file
            [sys.executable, str(Path(__file__).resolve()), "--child", kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
        )
        self.info = self.ask(setup)

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one JSON line, read one back (fails if the child died)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.kind} client process failed (see its traceback)")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        """Close its stdin and wait for it to exit (kill it after 30 s)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


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


def key_and_token() -> tuple[str, str, bytes]:
    """A fresh P-521 private key (PEM), one token signed with it, and the public key PEM."""
    pem, public = new_p521_key()
    try:
        from gr4vy_async.auth import get_token
    except ImportError:
        from gr4vy.auth import get_token
    return pem, get_token(pem), public


def run(args: argparse.Namespace) -> None:
    """Start the fake and the clients, run the alternating rounds, print the tables."""
    import msgspec

    from gr4vy_async._transport import USER_AGENT as OUR_USER_AGENT
    from gr4vy_async.testing.payloads import seed_create_body

    kinds = ["ours", "official", "floor"]
    if args.official_es512:
        kinds.insert(2, "official-es512")
    if args.candidate:
        kinds.insert(1, "candidate")
    if args.typed_floor:
        kinds.append("typed-floor")
    pem, token, public = key_and_token()
    body = msgspec.json.encode(seed_create_body()).decode()
    with tempfile.TemporaryDirectory() as tmp:
        key_file = None
        if args.verify_tokens:
            key_file = Path(tmp, "public.pem")
            key_file.write_bytes(public)
        with FakeProcess(key_file) as fake:
            setup = {"url": fake.url, "fake_pid": fake.pid, "token": token, "pem": pem}
            setup["body"], setup["user_agent"] = body, OUR_USER_AGENT
            children: dict[str, Child] = {}
            try:
                for kind in kinds:
                    pythonpath = args.candidate if kind == "candidate" else None
                    children[kind] = Child(kind, setup, pythonpath)
                cells = rounds(fake, children, kinds, args)
            finally:
                for child in children.values():
                    child.close()
    report(cells, children, kinds, args)


def rounds(
    fake: FakeProcess, children: dict[str, Child], kinds: list[str], args: argparse.Namespace
) -> dict[tuple[str, int, str], Cell]:
    """Every (operation, concurrency, client), ``args.rounds`` times, client order rotating."""
    cells: dict[tuple[str, int, str], Cell] = {}
    started = time.perf_counter()
    fast = [kind for kind in RUN_ORDER if kind in kinds and kind not in SLOW]
    slow = [kind for kind in RUN_ORDER if kind in kinds and kind in SLOW]
    for round_ in range(args.rounds):
        # The fast clients run back to back, --fast-repeats times, so each of
        # their paired ratios compares runs made seconds apart; the slow ones
        # run after them in even rounds and before them in odd ones. Orders rotate.
        shift = round_ % len(fast)
        order = (fast[shift:] + fast[:shift]) * args.fast_repeats
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
                    result = children[kind].ask(
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


def report(
    cells: dict[tuple[str, int, str], Cell],
    children: dict[str, Child],
    kinds: list[str],
    args: argparse.Namespace,
) -> None:
    """Print the environment, both tables and where the targets stand."""
    for line in environment(
        ["gr4vy-async", "aiohttp", "msgspec", "tenacity", "gr4vy", "httpx", "pydantic"]
    ):
        print(line)
    print(f"{dt.date.today().isoformat()}; command: {' '.join(sys.argv)}")
    for kind in kinds:
        where = children[kind].info.get("module")
        print(f"- {LABELS[kind]}: {children[kind].info['auth']}" + (f" ({where})" if where else ""))
    fast = {c: round(n * args.scale) for c, n in FAST_REQUESTS.items()}
    slow = {c: round(n * args.scale) for c, n in SLOW_REQUESTS.items()}
    print(
        f"{args.rounds} rounds (a and c {args.fast_repeats} runs each per round), client order "
        "rotating; medians; ratios are medians of paired runs. Requests per run (c=1/c=64): "
        f"{fast[1]}/{fast[64]} (a, c), {slow[1]}/{slow[64]} (b), at least c calls (a cycle is "
        "4 requests); warm-up max(10, c) calls. "
        f"FakeGr4vy in its own process, reset before every run; tokens "
        f"{'verified' if args.verify_tokens else 'not verified'} by the fake."
    )
    columns = [LABELS[kind] for kind in kinds]
    head = "| operation | c | " + " | ".join(columns)
    print(
        "\nRequests per second (higher is better). c/b: the most a/b can be on this server; "
        "fake busy: the fake's CPU / wall during a's runs (~100%: server-bound)\n"
    )
    print(head + " | a/b | c/b | fake busy |")
    print("|---|---:|" + "---:|" * (len(kinds) + 3))
    for op in OPERATIONS:
        for c in CONCURRENCIES:
            row = [cells[op, c, kind] for kind in kinds]
            values = " | ".join(_fmt(statistics.median(cell.requests_per_s)) for cell in row)
            official = cells[op, c, "official"]
            ratio = pair(cells[op, c, "ours"], official, "requests_per_s")
            ceiling = pair(cells[op, c, "floor"], official, "requests_per_s")
            busy = statistics.median(cells[op, c, "ours"].fake_busy)
            print(f"| {op} | {c} | {values} | {ratio:,.1f}x | {ceiling:,.1f}x | {busy:.0%} |")
    print("\nClient CPU ms per request (lower is better)\n")
    extras = [
        (kind, name)
        for kind, name in (("candidate", "a'/c"), ("typed-floor", "a/c'"))
        if kind in kinds
    ]
    print(head + " | a/c" + "".join(f" | {name}" for _, name in extras) + " |")
    print("|---|---:|" + "---:|" * (len(kinds) + 1 + len(extras)))
    worst: list[tuple[float, str]] = []
    for op in OPERATIONS:
        for c in CONCURRENCIES:
            row = [cells[op, c, kind] for kind in kinds]
            values = " | ".join(f"{statistics.median(cell.cpu_ms):.3f}" for cell in row)
            ratio = pair(cells[op, c, "ours"], cells[op, c, "floor"], "cpu_ms")
            worst.append((ratio, f"{op} c={c}"))
            more = ""
            for kind, _ in extras:
                mine, theirs = (kind, "floor") if kind == "candidate" else ("ours", kind)
                more += f" | {pair(cells[op, c, mine], cells[op, c, theirs], 'cpu_ms'):.2f}x"
            print(f"| {op} | {c} | {values} | {ratio:.2f}x{more} |")
    cycle_ours, cycle_official = cells["cycle", 64, "ours"], cells["cycle", 64, "official"]
    cycle = pair(cycle_ours, cycle_official, "requests_per_s")
    cycle_floor = pair(cells["cycle", 64, "floor"], cycle_official, "requests_per_s")
    cycle_cpu = pair(cycle_official, cycle_ours, "cpu_ms")
    ratio, where = max(worst)
    print("\nTargets (reported, not asserted)")
    print(
        f"- cycle req/s at c=64, a/b: {cycle:.1f}x (target >= 30x): {_verdict(cycle >= 30)}; "
        f"the floor reaches {cycle_floor:.1f}x on this server; CPU per request b/a: "
        f"{cycle_cpu:.1f}x"
    )
    print(
        f"- client CPU per request, a/c: worst {ratio:.2f}x at {where} (target <= 1.25x "
        f"for every operation): {_verdict(ratio <= 1.25)}; "
        f"{sum(r <= 1.25 for r, _ in worst)}/{len(worst)} rows within"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


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
        help="also measure c': the floor plus msgspec's validate, encode and typed decode",
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
