"""Shared helpers for the benchmarks: calibrated timing, alternating rounds, medians, tables."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata

__all__ = [
    "Case",
    "calibrate",
    "environment",
    "print_table",
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
