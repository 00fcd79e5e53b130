"""Shared helpers for the benchmarks: calibrated timing, alternating rounds, medians, tables.

Also :class:`FakeProcess`, FakeGr4vy served from a process of its own (run this
file as ``python benchmarks/_common.py --serve-fake`` to get one by hand).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import TracebackType

__all__ = [
    "Case",
    "FakeProcess",
    "calibrate",
    "environment",
    "paired_ratio",
    "print_table",
    "process_cpu_seconds",
    "run_cases",
    "time_per_call_us",
    "version_of",
]

Fn = Callable[[], object]


@dataclass
class Case:
    """One operation, done by our library and by the official SDK."""

    name: str
    ours: Fn
    official: Fn
    ours_us: list[float] = field(default_factory=list)
    official_us: list[float] = field(default_factory=list)

    @property
    def ours_median(self) -> float:
        """Median microseconds per call, ours."""
        return statistics.median(self.ours_us)

    @property
    def official_median(self) -> float:
        """Median microseconds per call, official SDK."""
        return statistics.median(self.official_us)

    @property
    def ratio(self) -> float:
        """Median over rounds of official/ours, each round's pair timed back to back.

        Pairing cancels slow drift in machine speed (other load, clocks)
        that a ratio of the two medians would pick up.
        """
        return statistics.median(o / u for o, u in zip(self.official_us, self.ours_us, strict=True))


def time_per_call_us(fn: Fn, iterations: int) -> float:
    """Microseconds per call of ``fn`` over ``iterations`` back-to-back calls."""
    start = time.perf_counter_ns()
    for _ in range(iterations):
        fn()
    return (time.perf_counter_ns() - start) / iterations / 1000


def calibrate(fn: Fn, target_s: float = 0.2) -> int:
    """How many calls of ``fn`` take about ``target_s`` seconds (after a warm-up)."""
    iterations = 1
    while True:
        elapsed_us = time_per_call_us(fn, iterations) * iterations
        if elapsed_us >= target_s * 1e6 / 10:
            return max(1, round(iterations * target_s * 1e6 / elapsed_us))
        iterations *= 10


def run_cases(cases: Sequence[Case], rounds: int, target_s: float = 0.2) -> None:
    """Time every case in ``rounds`` rounds, alternating ours and official.

    Iteration counts are calibrated once per implementation so a round takes
    about ``target_s``; the order within a pair flips every round so drift
    (turbo, thermal, noisy neighbours) does not favour one side.
    """
    plan = [
        (case, calibrate(case.ours, target_s), calibrate(case.official, target_s)) for case in cases
    ]
    for round_ in range(rounds):
        for case, n_ours, n_official in plan:
            sides = [
                (case.ours, n_ours, case.ours_us),
                (case.official, n_official, case.official_us),
            ]
            if round_ % 2:
                sides.reverse()
            for fn, iterations, samples in sides:
                samples.append(time_per_call_us(fn, iterations))


def print_table(cases: Sequence[Case]) -> None:
    """Print a Markdown table: operation, median µs per side, and the paired ratio."""
    print("| operation | gr4vy_async µs | official µs | ratio (official/ours) |")
    print("|---|---:|---:|---:|")
    for case in cases:
        ours, official = case.ours_median, case.official_median
        print(f"| {case.name} | {ours:,.2f} | {official:,.1f} | {case.ratio:,.0f}x |")


def version_of(distribution: str) -> str:
    """The installed version of a distribution, or ``missing``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "missing"


def _cpu_model() -> str:
    """The CPU model name (from /proc/cpuinfo on Linux), or what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def environment(distributions: Sequence[str]) -> list[str]:
    """Lines describing the machine and the versions that matter."""
    versions = ", ".join(f"{name} {version_of(name)}" for name in distributions)
    return [
        f"Python {platform.python_version()} ({sys.implementation.name}), {versions}",
        f"{platform.platform()}, {_cpu_model()}, {os.cpu_count()} CPUs",
    ]


def new_p521_key() -> tuple[str, bytes]:
    """A fresh P-521 private key as PEM text, and its public key as PEM bytes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP521R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, public


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Median over rounds of ``numerator / denominator``, each round's pair measured together."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) process ``pid`` has used so far.

    Read from ``/proc/PID/stat`` (clock ticks, usually 10 ms); NaN where
    there is no ``/proc``. For the current process use ``time.process_time``.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- FakeGr4vy process


class FakeProcess:
    """FakeGr4vy on 127.0.0.1 in a process of its own, driven over its stdin.

    Between measured runs the driver can :meth:`reset` it (every run then
    starts on an empty server, so the server's cost per request stays the
    same across a long benchmark), :meth:`seed` sessions in-process (no HTTP,
    nothing timed) and read the server's CPU time (:meth:`cpu`), to tell a
    server-bound run from a client-bound one. The process exits when its
    stdin closes.
    """

    def __init__(self, public_key_file: Path | None = None) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-fake"]
        if public_key_file is not None:
            command += ["--public-key", str(public_key_file)]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and file
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        first = self._read()
        if not first.startswith("listening on http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"FakeGr4vy did not start: {first!r}")
        self.url = first.removeprefix("listening on ")
        self.pid = self._process.pid

    def _read(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the FakeGr4vy process exited")
        return line.strip()

    def _ask(self, command: str) -> str:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._read()

    def reset(self) -> None:
        """Forget every session and recorded request (and collect the garbage)."""
        self._ask("reset")

    def seed(self, count: int) -> list[str]:
        """Store ``count`` sessions made from the seed payload; their ids."""
        ids: list[str] = json.loads(self._ask(f"seed {count}"))
        return ids

    def cpu(self) -> float:
        """CPU seconds the server process has used so far."""
        return float(self._ask("cpu"))

    def stop(self) -> None:
        """Close its stdin (it exits) and wait for it."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> FakeProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


async def _serve_fake(public_key: bytes | None) -> None:
    """Serve FakeGr4vy until stdin closes, answering one line per command line."""
    from gr4vy_async.testing.fake import FakeGr4vy
    from gr4vy_async.testing.payloads import seed_create_body

    loop = asyncio.get_running_loop()
    body = seed_create_body()
    async with FakeGr4vy(public_key=public_key) as fake:
        print(f"listening on {fake.url}", flush=True)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command, _, argument = line.strip().partition(" ")
            if command == "reset":
                fake.reset()
                gc.collect()
                reply = "ok"
            elif command == "seed":
                ids = [fake.create_session(body).id for _ in range(int(argument))]
                reply = json.dumps(ids)
            elif command == "cpu":
                reply = repr(time.process_time())
            else:
                reply = f"unknown command {command!r}"
            print(reply, flush=True)


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve FakeGr4vy on 127.0.0.1 (stdin: commands)")
    parser.add_argument("--serve-fake", action="store_true", required=True)
    parser.add_argument("--public-key", type=Path, help="PEM file: verify ES512 bearer tokens")
    args = parser.parse_args(argv)
    public_key = args.public_key.read_bytes() if args.public_key else None
    asyncio.run(_serve_fake(public_key))


if __name__ == "__main__":
    _main()
