"""The testing helpers work the first time, as docs/testing.md documents them.

The pytest plugin's examples run in a pytest of their own (a
subprocess, in a fresh directory) under pytest-asyncio's strict and auto
modes; ``python -m gr4vy_async.testing`` seeded with the seed's session id
serves every seed example as documented.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from support.contract import NAMES, SEED_SESSION_ID, point_at, run_seed_example
from support.fake_process import start

from gr4vy_async import Gr4vy, RetryConfig, errors
from gr4vy_async.testing.fake import FakeGr4vy
from gr4vy_async.testing.faults import Fault
from gr4vy_async.testing.keys import KeyPair
from gr4vy_async.testing.preload import parse_fault, preload

GUIDE = Path(__file__).parents[1] / "docs" / "testing.md"


def readme_blocks(section: str) -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block in a ``##`` section of docs/testing.md."""
    text = GUIDE.read_text()
    start_at = text.index(f"## {section}\n")
    end = text.find("\n#", start_at + 1)
    return re.findall(r"```(\w+)[^\n]*\n(.*?)```", text[start_at:end], re.S)


def pytest_in(directory: Path, *args: str) -> tuple[str, dict[str, int]]:
    """Run pytest in ``directory`` (its own rootdir and config); output and outcome counts."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1]
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (\w+)", summary)}
    counts.pop("warnings", None)  # a plugin's deprecation notice is not a failure here
    counts.pop("warning", None)
    return result.stdout + result.stderr, counts


@pytest.mark.e2e
def test_plugin_examples_pass_in_strict_and_auto_mode(tmp_path: Path) -> None:
    blocks = readme_blocks("pytest")
    strict, ini, auto, signed = blocks
    assert [language for language, _ in blocks] == ["python", "ini", "python", "python"]
    assert "@pytest.mark.asyncio" in strict[1]
    assert "asyncio_mode = auto" in ini[1]
    assert "mark" not in auto[1]

    strict_dir = tmp_path / "strict"
    (strict_dir / "signed").mkdir(parents=True)
    (strict_dir / "pytest.ini").write_text("[pytest]\n")  # pytest-asyncio's defaults: strict
    (strict_dir / "test_example.py").write_text(strict[1])
    (strict_dir / "signed" / "test_signed.py").write_text(signed[1])
    output, counts = pytest_in(strict_dir)
    assert counts == {"passed": 2}, output

    auto_dir = tmp_path / "auto"
    auto_dir.mkdir()
    (auto_dir / "pytest.ini").write_text(ini[1])
    (auto_dir / "test_example.py").write_text(auto[1])
    (auto_dir / "test_strict_form.py").write_text(strict[1])
    output, counts = pytest_in(auto_dir)
    assert counts == {"passed": 2}, output


@pytest.mark.e2e
def test_a_public_key_of_its_own_fails_setup_with_advice(tmp_path: Path) -> None:
    other = KeyPair.generate()
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (tmp_path / "test_mismatch.py").write_text(
        textwrap.dedent(f"""
            import pytest

            @pytest.fixture
            def gr4vy_fake_options():
                return {{"public_key": {other.public_key!r}}}

            async def test_create(gr4vy_client):
                await gr4vy_client.checkout_sessions.create()
        """)
    )
    output, counts = pytest_in(tmp_path)
    assert counts == {"error": 1}, output
    assert "override gr4vy_bearer_auth" in output


async def test_key_pair_fixture_signs_what_the_fake_checks(
    gr4vy_key_pair: KeyPair,
) -> None:
    from gr4vy_async import auth
    from gr4vy_async.testing.fake import FakeGr4vy

    async with FakeGr4vy(public_key=gr4vy_key_pair.public_key) as fake:
        async with Gr4vy(
            server_url=fake.url, bearer_auth=auth.with_token(gr4vy_key_pair.private_key)
        ) as client:
            await client.checkout_sessions.create()
        async with Gr4vy(server_url=fake.url, bearer_auth="token") as client:
            with pytest.raises(errors.Error401):
                await client.checkout_sessions.create()
    assert gr4vy_key_pair.matches(gr4vy_key_pair.public_key.encode())
    assert not gr4vy_key_pair.matches(KeyPair.generate().public_key)
    assert "PRIVATE" not in repr(gr4vy_key_pair)


# --------------------------------------------------------------------------- the process


async def test_every_seed_example_runs_against_the_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with start("--session", SEED_SESSION_ID) as server:
        point_at(server.url, monkeypatch)
        for index in range(len(NAMES)):  # create, get, update, delete: in the documented order
            await run_seed_example(index)
        printed = capsys.readouterr().out
        async with Gr4vy(server_url=server.url, bearer_auth="t") as client:
            with pytest.raises(errors.Error404):  # the delete example deleted it
                await client.checkout_sessions.get(session_id=SEED_SESSION_ID)
        assert (await server.stop())[0] == 0
    assert printed.count("CheckoutSession(") == 3
    assert printed.count(SEED_SESSION_ID) == 2  # get and update


async def test_sessions_file_and_faults(tmp_path: Path) -> None:
    other = "0f7e4b0e-4a3c-4d55-9d6a-0a1d2b3c4d5e"
    sessions = [
        SEED_SESSION_ID,
        {"id": other, "merchant_account_id": "m-1", "metadata": {"order_id": "o-1"}},
    ]
    (tmp_path / "sessions.json").write_text(json.dumps(sessions))
    args = (
        "--sessions",
        str(tmp_path / "sessions.json"),
        "--fault",
        "GET=503,times=2,retry_after=0",
    )
    async with start(*args) as server:
        async with Gr4vy(server_url=server.url, bearer_auth="t", retries=RetryConfig.none()) as c:
            for _ in range(2):
                with pytest.raises(errors.APIError) as raised:
                    await c.checkout_sessions.get(session_id=SEED_SESSION_ID)
                assert raised.value.status_code == 503
            assert (await c.checkout_sessions.get(session_id=SEED_SESSION_ID)).id == SEED_SESSION_ID
            found = await c.checkout_sessions.get(session_id=other, merchant_account_id="m-1")
            assert found.metadata == {"order_id": "o-1"}
            with pytest.raises(errors.Error404):  # stored for m-1 only
                await c.checkout_sessions.get(session_id=other)
        assert (await server.stop())[0] == 0


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (("--fault", "GET"), 2, "expected ROUTE=KIND"),
        (("--fault", "GET=teapot"), 2, "unknown fault 'teapot'"),
        (("--fault", "GET=503,times=x"), 2, "bad value for times"),
        (("--fault", "GET=503,when=now"), 2, "unknown option 'when=now'"),
        (("--fault", "GET=503,times=2,probability=0.5"), 2, "times or probability"),
        (("--fault", "GET=503,probability=nan,seed=1"), 2, "bad value for probability"),
        (("--fault", "GET=503,probability=1.5"), 2, "bad value for probability"),
        (("--fault", "GET=latency:inf"), 2, "finite number of seconds"),
        (("--fault", "GET=latency:nan"), 2, "finite number of seconds"),
        (("--fault", "GET=503,delay=inf"), 2, "bad value for delay"),
        (("--fault", "FETCH=503"), 2, "route must be a method"),
        (("--fault", "GET checkout/sessions=503"), 2, "route must be a method"),
        (("--fault", '"DELETE /checkout/sessions/{session_id}=404'), 2, "route must be"),
        (("--session", "not-a-uuid"), 2, "session 'not-a-uuid'"),  # bad input: 2, as every CLI
    ],
)
def test_bad_options_say_what_is_wrong(
    args: tuple[str, ...],
    status: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gr4vy_async.testing import __main__ as command

    async def serve(fake: FakeGr4vy) -> None:
        raise AssertionError("served despite a bad option")

    monkeypatch.setattr(command, "serve", serve)
    code: object
    try:
        code = command.main(["--port", "0", *args])
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    assert (code, out) == (status, "")
    assert message in err


@pytest.mark.parametrize(
    ("spec", "route", "fault", "schedule"),
    [
        ("GET=503", "GET", Fault.status(503), {"times": 1}),
        (
            "* = 429,retry_after=1,probability=0.2,seed=1",
            "*",
            Fault.status(429, retry_after=1),
            {"probability": 0.2, "seed": 1},
        ),
        (
            "DELETE /checkout/sessions/{session_id}=drop,after=true",
            "DELETE /checkout/sessions/{session_id}",
            Fault.drop(after=True),
            {"times": 1},
        ),
        ("POST=latency:0.5,times=3", "POST", Fault.latency(0.5), {"times": 3}),
        ("PUT=truncated:500", "PUT", Fault.truncated(500), {"times": 1}),
        ("GET=html,delay=0.1", "GET", Fault.html(502, delay=0.1), {"times": 1}),
        (
            '"DELETE /checkout/sessions/{session_id}"=404',
            "DELETE /checkout/sessions/{session_id}",
            Fault.status(404),
            {"times": 1},
        ),
        (
            "'get /checkout/sessions/*'=503",
            "get /checkout/sessions/*",
            Fault.status(503),
            {"times": 1},
        ),
    ],
)
def test_fault_specs(spec: str, route: str, fault: Fault, schedule: dict[str, Any]) -> None:
    parsed = parse_fault(spec)
    assert (parsed.route, parsed.fault) == (route, fault)
    assert {name: getattr(parsed, name) for name in schedule} == schedule


async def test_a_quoted_route_matches_as_unquoted() -> None:
    """Shell quotes kept by a caller used to make a route that never matched."""
    async with FakeGr4vy() as fake:
        session = fake.create_session()
        preload(fake, faults=[parse_fault('"DELETE /checkout/sessions/{session_id}"=503')])
        async with Gr4vy(bearer_auth="t", server_url=fake.url, retry_config=None) as client:
            with pytest.raises(errors.Gr4vyError) as info:
                await client.checkout_sessions.delete(session_id=session.id)
    assert info.value.status_code == 503


# --------------------------------------------------------------------------- the pytest plugin


async def test_the_pytest_plugin_gives_a_client_pointed_at_the_fake(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy
) -> None:
    session = await gr4vy_client.checkout_sessions.create()
    assert ("default", session.id) in gr4vy_fake.sessions
    assert gr4vy_fake.requests[0].sent_token("token")
