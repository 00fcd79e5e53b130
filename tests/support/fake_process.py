"""``python -m gr4vy_async.testing`` run as its own process, for the tests that need one."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

__all__ = ["Server", "start"]

LISTENING = re.compile(r"^listening on (http://127\.0\.0\.1:(\d+))$")


class Server:
    """A running ``python -m gr4vy_async.testing`` and the URL it printed."""

    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    async def stop(self, signum: int = signal.SIGTERM) -> tuple[int, bytes, bytes]:
        """Signal the process; its exit status and the rest of its output."""
        self.process.send_signal(signum)
        out, err = await asyncio.wait_for(self.process.communicate(), timeout=10)
        assert self.process.returncode is not None
        return self.process.returncode, out, err


@contextlib.asynccontextmanager
async def start(*args: str) -> AsyncIterator[Server]:
    """Run the fake's command line; wait for its ``listening on`` line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gr4vy_async.testing",
        "--port",
        "0",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
        match = LISTENING.match(line.decode().strip())
        assert match, line
        assert int(match[2]) > 0
        yield Server(process, match[1])
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
