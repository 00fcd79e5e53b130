"""``python -m gr4vy_async.testing``: FakeGr4vy as its own process, as the benchmarks run it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from support.fake_process import Server, start
from support.helpers import p521_key, public_pem

AUTH = {"Authorization": "Bearer token"}


@pytest.fixture
async def fake_process() -> AsyncIterator[Server]:
    async with start() as running:
        yield running


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_serves_until_signalled_then_exits_cleanly(fake_process: Server, signum: int) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.post(
            fake_process.url + "/checkout/sessions", json={"metadata": {"a": "b"}}
        ) as r:
            assert r.status == 201
            created = await r.json()
        async with http.get(f"{fake_process.url}/checkout/sessions/{created['id']}") as r:
            assert r.status == 200
            assert await r.json() == created
    status, out, err = await fake_process.stop(signum)
    assert (status, out, err) == (0, b"", b"")


async def test_checks_tokens_against_a_public_key_file(tmp_path: Path) -> None:
    key = p521_key()
    pem = public_pem(key)
    (tmp_path / "key.pem").write_bytes(pem)
    async with start("--public-key", str(tmp_path / "key.pem")) as server:
        async with (
            aiohttp.ClientSession(headers=AUTH) as http,
            http.post(server.url + "/checkout/sessions") as r,
        ):
            assert r.status == 401  # "token" is not a JWT signed by the key
        assert (await server.stop())[0] == 0


async def test_a_port_in_use_fails_with_an_error(fake_process: Server) -> None:
    port = fake_process.url.rsplit(":", 1)[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gr4vy_async.testing",
        "--port",
        port,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 1
    assert out == b""
    [line] = err.decode().splitlines()
    assert line.startswith("python -m gr4vy_async.testing: ")
    assert "address already in use" in line.lower()


def test_the_fake_imports_neither_pytest_nor_jwt() -> None:
    code = (
        "import sys\n"
        "from gr4vy_async.testing.fake import FakeGr4vy\n"
        "FakeGr4vy()\n"
        "assert 'pytest' not in sys.modules, 'pytest'\n"
        "assert 'jwt' not in sys.modules, 'jwt'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)  # noqa: S603


async def test_a_rate_limit_answers_429_with_retry_after() -> None:
    async with start("--rate-limit", "2") as server, aiohttp.ClientSession(headers=AUTH) as http:
        statuses, retry_after = [], []
        for _ in range(6):  # well over 2 per second, with a burst of 1
            async with http.get(
                server.url + "/checkout/sessions/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12
            ) as r:
                statuses.append(r.status)
                retry_after.append(r.headers.get("Retry-After"))
        assert statuses[0] == 404  # passed the limit, then not found
        assert statuses.count(429) >= 3
        assert {retry_after[n] for n, s in enumerate(statuses) if s == 429} == {"1"}
        assert (await server.stop())[0] == 0


@pytest.mark.parametrize("options", [{"rate_limit": 0}, {"rate_limit": 5, "rate_limit_burst": 0.5}])
def test_a_bad_rate_limit_is_refused(options: dict[str, float]) -> None:
    from gr4vy_async.testing.fake import FakeGr4vy

    with pytest.raises(ValueError, match="rate_limit"):
        FakeGr4vy(**options)  # type: ignore[arg-type]
