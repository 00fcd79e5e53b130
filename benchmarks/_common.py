"""What every benchmark shares: timing, alternating rounds, paired ratios, tables, processes.

- timing: a :data:`Timer` (``sync_timer``, ``async_timer``) calibrated to a
  time per sample (:func:`calibrate`); :class:`Case` and :func:`run_cases`
  for in-process microbenchmarks with several sides;
- alternation: :func:`rotated`, the run order of each round, and
  :func:`paired_ratio`, the median of per-round ratios;
- report: :func:`print_header` (machine, versions, date, command) and
  :func:`print_table` (Markdown);
- processes: :class:`LineProcess` (a child driven one line at a time) and
  :class:`FakeProcess`, FakeGr4vy in a process of its own (run this file as
  ``python benchmarks/_common.py --serve-fake`` to get one by hand).

The targets the numbers are judged against are in ``benchmarks/README.md``,
not in the scripts: they print measurements only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from gr4vy_async.testing.fake import FakeGr4vy

__all__ = [
    "Case",
    "FakeProcess",
    "LineProcess",
    "Timer",
    "async_timer",
    "calibrate",
    "environment",
    "paired_ratio",
    "print_header",
    "print_table",
    "process_cpu_seconds",
    "rotated",
    "run_cases",
    "sync_timer",
    "version_of",
]

T = TypeVar("T")
P = TypeVar("P", bound="LineProcess")

#: Times ``iterations`` back-to-back calls of something; microseconds per call.
Timer = Callable[[int], float]


def sync_timer(fn: Callable[[], object]) -> Timer:
    """A :data:`Timer` of ``fn()``."""

    def timer(iterations: int) -> float:
        start = time.perf_counter_ns()
        for _ in range(iterations):
            fn()
        return (time.perf_counter_ns() - start) / iterations / 1000

    return timer


def async_timer(loop: asyncio.AbstractEventLoop, fn: Callable[[], Awaitable[object]]) -> Timer:
    """A :data:`Timer` of ``await fn()``, the loop started once per batch, not per call."""

    async def batch(iterations: int) -> float:
        start = time.perf_counter_ns()
        for _ in range(iterations):
            await fn()
        return (time.perf_counter_ns() - start) / iterations / 1000

    return lambda iterations: loop.run_until_complete(batch(iterations))


def calibrate(timer: Timer, target_s: float = 0.2) -> int:
    """How many calls take about ``target_s`` seconds (found with growing batches)."""
    iterations = 1
    while True:
        elapsed_us = timer(iterations) * iterations
        if elapsed_us >= target_s * 1e6 / 10:
            return max(1, round(iterations * target_s * 1e6 / elapsed_us))
        iterations *= 10


def rotated(items: Sequence[T], round_: int) -> list[T]:
    """``items`` rotated by ``round_``: the run order of one round.

    Every benchmark alternates this way, so drift in machine speed (turbo,
    thermal, noisy neighbours) does not favour whatever runs first.
    """
    shift = round_ % len(items) if items else 0
    return [*items[shift:], *items[:shift]]


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Median over rounds of ``numerator / denominator``, each round's pair measured together.

    Pairing cancels slow drift in machine speed that a ratio of two medians
    would pick up.
    """
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


@dataclass
class Case:
    """One operation done several ways ("sides"), timed in alternating rounds."""

    name: str
    sides: dict[str, Timer]
    samples: dict[str, list[float]] = field(default_factory=dict)
    """Microseconds per call, one sample per round, by side."""

    def median(self, side: str) -> float:
        """Median microseconds per call of ``side``."""
        return statistics.median(self.samples[side])

    def ratio(self, numerator: str, denominator: str) -> float:
        """The paired ratio of two sides' samples (see :func:`paired_ratio`)."""
        return paired_ratio(self.samples[numerator], self.samples[denominator])


def run_cases(cases: Sequence[Case], rounds: int, target_s: float = 0.2) -> None:
    """Time every side of every case in ``rounds`` rounds.

    Iteration counts are calibrated once per side so a sample takes about
    ``target_s``; within a case the order of the sides rotates every round.
    """
    plan = [
        (case, {side: calibrate(timer, target_s) for side, timer in case.sides.items()})
        for case in cases
    ]
    for round_ in range(rounds):
        for case, iterations in plan:
            for side in rotated(list(case.sides), round_):
                sample = case.sides[side](iterations[side])
                case.samples.setdefault(side, []).append(sample)


def print_table(head: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> None:
    """Print a Markdown table; ``align`` has one letter per column (l, r, c; default l then r)."""
    align = align or "l" + "r" * (len(head) - 1)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(marks[letter] for letter in align) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


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


def print_header(distributions: Sequence[str], *notes: str) -> None:
    """What every benchmark prints above its tables: machine, versions, date, command, notes."""
    for line in environment(distributions):
        print(line)
    print(f"{dt.date.today().isoformat()}; command: {' '.join(sys.argv)}")
    for note in notes:
        print(note)


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


# --------------------------------------------------------------------------- processes


class LineProcess:
    """A child process driven over its stdin: one line in, one line back.

    Every benchmark that runs something in a process of its own (a client,
    the fake) talks to it this way; closing its stdin tells it to exit.
    """

    def __init__(self, command: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.name = " ".join([Path(command[0]).name, *command[1:2]])
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and files
            [sys.executable, *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
        )
        self.pid = self._process.pid

    def read(self) -> str:
        """The next line it prints (fails if it exited: see its traceback)."""
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the process {self.name!r} exited (see its traceback)")
        return line.strip()

    def ask(self, line: str) -> str:
        """Send one line, read one back."""
        assert self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()
        return self.read()

    def ask_json(self, message: object) -> Any:
        """Send one JSON line, read one back."""
        return json.loads(self.ask(json.dumps(message)))

    def close(self, timeout: float = 30) -> None:
        """Close its stdin (it exits) and wait for it; kill it after ``timeout`` seconds."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self: P) -> P:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class FakeProcess(LineProcess):
    """FakeGr4vy on 127.0.0.1 in a process of its own, driven over its stdin.

    The process serves with the package's own launcher
    (``gr4vy_async.testing.__main__.serve``) and adds two commands on its
    stdin: :meth:`reset` (every run then starts on an empty server, so the
    server's cost per request stays the same across a long benchmark) and
    :meth:`seed` (sessions stored in-process: no HTTP, nothing timed). Its
    CPU time is :func:`process_cpu_seconds` of :attr:`pid`, to tell a
    server-bound run from a client-bound one. It exits when its stdin closes.
    """

    def __init__(self, public_key: bytes | None = None) -> None:
        command = [str(Path(__file__).resolve()), "--serve-fake"]
        if public_key is not None:
            command += ["--public-key", public_key.decode()]
        super().__init__(command)
        first = self.read()
        if not first.startswith("listening on http://127.0.0.1:"):
            self.close()
            raise RuntimeError(f"FakeGr4vy did not start: {first!r}")
        self.url = first.removeprefix("listening on ")

    def reset(self) -> None:
        """Forget every session and recorded request (and collect the garbage)."""
        self.ask("reset")

    def seed(self, count: int) -> list[str]:
        """Store ``count`` sessions made from the seed payload; their ids."""
        ids: list[str] = json.loads(self.ask(f"seed {count}"))
        return ids


async def _control(fake: FakeGr4vy) -> None:
    """Answer FakeProcess's commands on stdin; on end of input, stop ``serve`` as SIGTERM does."""
    from gr4vy_async.testing.payloads import seed_create_body

    # Read stdin on the loop (no thread), so a failed start exits instead of hanging.
    stdin = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin
    )
    body = seed_create_body()
    while line := (await stdin.readline()).decode():
        command, _, argument = line.strip().partition(" ")
        if command == "reset":
            fake.reset()
            gc.collect()
            reply = "ok"
        elif command == "seed":
            reply = json.dumps([fake.create_session(body).id for _ in range(int(argument))])
        else:
            reply = f"unknown command {command!r}"
        print(reply, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)


async def _serve_fake(public_key: str | None) -> None:
    from gr4vy_async.testing.__main__ import serve
    from gr4vy_async.testing.fake import FakeGr4vy

    fake = FakeGr4vy(public_key=public_key)
    control = asyncio.ensure_future(_control(fake))
    await serve(fake)
    await control


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve FakeGr4vy on 127.0.0.1 (stdin: commands)")
    parser.add_argument("--serve-fake", action="store_true", required=True)
    parser.add_argument("--public-key", help="PEM text: verify ES512 bearer tokens")
    args = parser.parse_args(argv)
    asyncio.run(_serve_fake(args.public_key))


if __name__ == "__main__":
    _main()
