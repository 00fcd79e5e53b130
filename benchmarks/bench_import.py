"""Import benchmark: what ``import gr4vy_async`` adds over ``import aiohttp, msgspec, tenacity``.

Each sample is a fresh interpreter timing one import statement with
``time.perf_counter`` (interpreter start-up excluded). The cases run in
rounds, their order rotating, so drift hits them alike; medians are reported, and the added cost two
ways: the difference of the medians, and ``import gr4vy_async`` timed in an
interpreter that has already imported the three dependencies. Then
``python -X importtime`` names the slowest of our own modules and the modules
``gr4vy_async`` pulls in that its dependencies do not. Run from the
repository root::

    .venv-bench/bin/python benchmarks/bench_import.py          # ~40 s

``--runs`` (default 25) sets the samples per case; ``--candidate DIR`` adds
``import gr4vy_async`` from ``DIR`` (a patched copy) beside the installed one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field

from _common import paired_ratio, print_header, print_table, rotated

BASELINE = "aiohttp, msgspec, tenacity"
TIMER = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


@dataclass
class ImportCase:
    """One import statement, timed in fresh interpreters."""

    name: str
    module: str
    setup: str = ""
    pythonpath: str | None = None
    samples_ms: list[float] = field(default_factory=list)

    def command(self, code: str) -> list[str]:
        """The interpreter command running ``code`` after ``setup``."""
        return [sys.executable, "-c", f"{self.setup}; {code}" if self.setup else code]

    def env(self) -> dict[str, str]:
        """The environment: ours without ``PYTHONPATH``, a candidate's with it."""
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        return env

    def sample(self) -> float:
        """Milliseconds the import took in a fresh interpreter."""
        out = subprocess.run(  # noqa: S603 - our own interpreter and code
            self.command(TIMER.format(module=self.module)),
            capture_output=True,
            text=True,
            check=True,
            env=self.env(),
        ).stdout
        return float(out) * 1000

    @property
    def median(self) -> float:
        """Median milliseconds."""
        return statistics.median(self.samples_ms)


def importtime(case: ImportCase, runs: int) -> dict[str, tuple[float, float]]:
    """Median (self, cumulative) µs of every module ``-X importtime`` reports for ``case``."""
    self_us: dict[str, list[float]] = defaultdict(list)
    cumulative_us: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        command = case.command(f"import {case.module}")
        command[1:1] = ["-X", "importtime"]
        err = subprocess.run(  # noqa: S603 - our own interpreter and code
            command, capture_output=True, text=True, check=True, env=case.env()
        ).stderr
        for line in err.splitlines():
            if not line.startswith("import time:") or "imported package" in line:
                continue
            own, total, name = line.removeprefix("import time:").split("|")
            self_us[name.strip()].append(float(own))
            cumulative_us[name.strip()].append(float(total))
    return {
        name: (statistics.median(values), statistics.median(cumulative_us[name]))
        for name, values in self_us.items()
    }


def main(argv: list[str] | None = None) -> None:
    """Time the imports in rotating rounds, then list the top offenders."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="samples per case (default 25)")
    parser.add_argument("--importtime-runs", type=int, default=7, help="-X importtime runs")
    parser.add_argument("--top", type=int, default=12, help="rows in the offender tables")
    parser.add_argument("--candidate", help="also import gr4vy_async from this dir")
    args = parser.parse_args(argv)

    baseline = ImportCase(f"import {BASELINE}", BASELINE)
    ours = ImportCase("import gr4vy_async", "gr4vy_async")
    cases = [
        baseline,
        ours,
        ImportCase(
            f"import gr4vy_async, after import {BASELINE}", "gr4vy_async", f"import {BASELINE}"
        ),
        ImportCase("import gr4vy (official SDK 2.4.27)", "gr4vy"),
        ImportCase("import aiohttp", "aiohttp"),
    ]
    if args.candidate:
        candidate = ImportCase(
            "import gr4vy_async (candidate)", "gr4vy_async", pythonpath=args.candidate
        )
        cases.insert(2, candidate)
    for case in cases:  # warm-up: compile and cache the bytecode
        case.sample()
    for round_ in range(args.runs):
        for case in rotated(cases, round_):
            case.samples_ms.append(case.sample())

    print_header(
        ["gr4vy-async", "aiohttp", "msgspec", "tenacity", "gr4vy"],
        f"{args.runs} fresh interpreters per case, order rotating; median ms of the import alone\n",
    )
    print_table(
        ["import", "median ms", "min ms", "max ms"],
        (
            [
                f"`{case.name}`",
                f"{case.median:.1f}",
                f"{min(case.samples_ms):.1f}",
                f"{max(case.samples_ms):.1f}",
            ]
            for case in cases
        ),
    )
    added = ours.median - baseline.median
    after = cases[3 if args.candidate else 2].median
    paired = statistics.median(
        o - b for o, b in zip(ours.samples_ms, baseline.samples_ms, strict=True)
    )
    print(
        f"\nAdded by gr4vy_async: {added:.1f} ms (difference of medians), {paired:.1f} ms "
        f"(median of paired differences), {after:.1f} ms (imported after the three); "
        f"ratio to the baseline {paired_ratio(ours.samples_ms, baseline.samples_ms):.2f}x."
    )

    base_modules = importtime(baseline, args.importtime_runs)
    our_modules = importtime(ours, args.importtime_runs)
    own = sorted(
        ((name, times) for name, times in our_modules.items() if name.startswith("gr4vy_async")),
        key=lambda item: -item[1][0],
    )
    print(
        f"\n`-X importtime`, median of {args.importtime_runs} runs: our own modules by self time\n"
    )
    own_total = sum(self_us for _, (self_us, _) in own) / 1000
    print_table(
        ["module", "self ms", "cumulative ms"],
        [
            *(
                [name, f"{self_us / 1000:.2f}", f"{total_us / 1000:.2f}"]
                for name, (self_us, total_us) in own[: args.top]
            ),
            [f"all {len(own)} gr4vy_async modules", f"{own_total:.2f}", ""],
        ],
    )

    extra = sorted(
        (
            (name, times)
            for name, times in our_modules.items()
            if name not in base_modules and not name.startswith("gr4vy_async")
        ),
        key=lambda item: -item[1][0],
    )
    print(f"\nModules `import gr4vy_async` loads that `import {BASELINE}` does not\n")
    if not extra:
        print("None: every other module it needs is already loaded by the three.")
        return
    extra_total = sum(self_us for _, (self_us, _) in extra) / 1000
    print_table(
        ["module", "self ms"],
        [
            *([name, f"{self_us / 1000:.2f}"] for name, (self_us, _) in extra[: args.top]),
            [f"all {len(extra)}", f"{extra_total:.2f}"],
        ],
    )


if __name__ == "__main__":
    main()
