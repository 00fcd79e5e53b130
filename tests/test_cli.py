"""The command line, end to end in a subprocess, against FakeGr4vy."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import sys
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gr4vy_async.testing.fake import FakeGr4vy, Fault

TOKEN = "cli-secret-token-123"


async def run_cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None,
                  url: str | None = None) -> tuple[int, str, str]:  # fmt: skip
    """Run ``python -m gr4vy_async`` without blocking the loop the fake runs on."""
    base = [] if url is None else ["--server-url", url, "--token", TOKEN]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gr4vy_async", *base, *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("GR4VY_")},
             **(env or {})},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def p521_pem() -> str:
    key = ec.generate_private_key(ec.SECP521R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


async def test_bulk_delete_from_a_file_with_a_json_report(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(200)]
    gone = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
    (tmp_path / "ids.txt").write_text("\n".join([*ids, gone, "junk", ""]) + "\n")
    code, out, err = await run_cli(
        "checkout-sessions", "delete", "--from-file", str(tmp_path / "ids.txt"),
        "--report", str(tmp_path / "report.json"), "--concurrency", "8", url=gr4vy_fake.url,
    )  # fmt: skip
    assert code == 1, err  # the malformed id is a problem worth a non-zero exit
    assert out.splitlines()[0] == "deleted 200, already gone 1, failed 0, skipped 1"
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(report["deleted"]) == sorted(ids)
    assert report["already_gone"] == [gone]
    assert report["skipped"] == [{"id": "junk", "reason": "not a UUID: 'junk'"}]
    assert not gr4vy_fake.sessions
    assert gr4vy_fake.max_in_flight <= 8


async def test_failures_give_exit_status_1_and_are_listed(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(3)]
    gr4vy_fake.faults.enqueue("DELETE", Fault.status(403, message="Invalid credentials"))
    code, out, err = await run_cli(
        "--output", "json", "checkout-sessions", "delete", "--from-file", "-",
        "--concurrency", "1", "--report", str(tmp_path / "r.json"),
        stdin="\n".join(ids).encode(), url=gr4vy_fake.url,
    )  # fmt: skip
    assert code == 1
    assert json.loads(out) == {
        "done": 2, "missing": 0, "failed": 1, "skipped": 0, "cancelled": 0, "not_attempted": 0
    }  # fmt: skip
    (failed,) = json.loads((tmp_path / "r.json").read_text())["failed"]
    assert failed["status"] == 403
    assert "Invalid credentials" in failed["error"]
    assert TOKEN not in out + err


async def test_create_get_update_delete_one_session(gr4vy_fake: FakeGr4vy) -> None:
    body = json.dumps({"cart_items": [{"name": "x", "quantity": 1, "unit_amount": 5}]})
    code, out, _ = await run_cli(
        "--output", "json", "checkout-sessions", "create", "--body", body, url=gr4vy_fake.url
    )
    assert code == 0
    session = json.loads(out)
    assert session["cart_items"][0]["name"] == "x"
    code, out, _ = await run_cli(
        "checkout-sessions", "update", session["id"], "--body", '{"metadata": {"k": "v"}}',
        url=gr4vy_fake.url,
    )  # fmt: skip
    assert code == 0
    assert "{'k': 'v'}" in out
    code, out, _ = await run_cli("checkout-sessions", "get", session["id"], url=gr4vy_fake.url)
    assert code == 0
    assert out.splitlines()[0].split() == ["id", session["id"]]
    code, out, _ = await run_cli("checkout-sessions", "delete", session["id"], url=gr4vy_fake.url)
    assert (code, out) == (0, f"deleted {session['id']}\n")
    code, out, _ = await run_cli("checkout-sessions", "delete", session["id"], url=gr4vy_fake.url)
    assert (code, out) == (0, f"already gone {session['id']}\n")  # as in a bulk delete
    code, out, err = await run_cli("checkout-sessions", "get", session["id"], url=gr4vy_fake.url)
    assert code == 1
    assert err.startswith("gr4vy-async: Error404: 404 not_found")
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


async def test_settings_from_the_environment(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session(merchant_account_id="acme-eu")
    env = {"GR4VY_SERVER_URL": gr4vy_fake.url, "GR4VY_TOKEN": TOKEN,
           "GR4VY_MERCHANT_ACCOUNT_ID": "acme-eu"}  # fmt: skip
    code, _, err = await run_cli("checkout-sessions", "get", session.id, env=env)
    assert code == 0, err
    assert gr4vy_fake.requests[-1].headers["x-gr4vy-merchant-account-id"] == "acme-eu"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["checkout-sessions", "get"], "the following arguments are required"),
        (["--server", "staging", "checkout-sessions", "get", "x"], "invalid choice"),
        (["checkout-sessions", "get", "../x"], "session_id: expected a UUID"),
        (["checkout-sessions", "update", "4137b1cf-39ac-42a8-bad6-1c680d5dab6b",
          "--body", '{"colour": "red"}'], "colour: unknown field"),
        (["checkout-sessions", "create", "--body", "{not json"], "--body is not valid JSON"),
        (["checkout-sessions", "delete"], "give session ids or --from-file"),
    ],
)  # fmt: skip
async def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    code, _, err = await run_cli(*args, url="http://127.0.0.1:9")
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert TOKEN not in err


async def test_no_credentials_is_a_usage_error() -> None:
    code, _, err = await run_cli("--id", "acme", "checkout-sessions", "get", "x")
    assert code == 2
    assert "no credentials" in err


@pytest.mark.parametrize("content", [None, "not a key", "rsa"])
async def test_a_bad_key_file_is_one_readable_line(tmp_path: Path, content: str | None) -> None:
    key_file = tmp_path / "key.pem"
    if content == "rsa":
        from cryptography.hazmat.primitives.asymmetric import rsa

        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        content = rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()  # fmt: skip
    if content is not None:
        key_file.write_text(content)
    code, _, err = await run_cli(
        "--id", "acme", "--private-key", str(key_file), "checkout-sessions", "get", "x"
    )
    assert code == 2
    assert err.startswith("gr4vy-async: error: ")
    assert len(err.splitlines()) == 1
    if content:
        assert content[:40] not in err


async def test_token_prints_a_signed_token(tmp_path: Path) -> None:
    pem = p521_pem()
    (tmp_path / "key.pem").write_text(pem)
    session_id = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
    code, out, err = await run_cli(
        "--private-key", str(tmp_path / "key.pem"), "token",
        "--scope", "checkout-sessions.read", "--checkout-session-id", session_id,
    )  # fmt: skip
    assert code == 0, err
    public = serialization.load_pem_private_key(pem.encode(), None).public_key()
    claims = jwt.decode(out.strip(), public, algorithms=["ES512"])  # type: ignore[arg-type]
    assert claims["scopes"] == ["checkout-sessions.read"]
    assert claims["checkout_session_id"] == session_id


async def test_demo_runs_end_to_end() -> None:
    code, out, err = await run_cli("demo")
    assert code == 0, err
    assert "get after delete raised Error404" in out
    assert any(line.startswith("created ") for line in out.splitlines())


async def test_bulk_delete_draws_a_progress_bar_on_a_terminal(gr4vy_fake: FakeGr4vy) -> None:
    import fcntl
    import pty
    import struct
    import termios

    ids = [gr4vy_fake.create_session().id for _ in range(50)]
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gr4vy_async", "--server-url", gr4vy_fake.url,
            "--token", TOKEN, "checkout-sessions", "delete", *ids,
            stdout=asyncio.subprocess.PIPE, stderr=secondary,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        os.close(secondary)
        secondary = -1
        drawn = b""
        with contextlib.suppress(OSError):  # EIO once the terminal is drained
            while chunk := os.read(primary, 65536):
                drawn += chunk
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    assert process.returncode == 0
    assert out.decode().startswith("deleted 50, already gone 0")
    assert b"50/50" in drawn  # tqdm's counter, on the terminal only
    assert b"50/50" not in out


async def test_only_malformed_ids_exit_1(gr4vy_fake: FakeGr4vy) -> None:
    code, out, _ = await run_cli(
        "checkout-sessions", "delete", "--from-file", "-", stdin=b"nope\n../x\n",
        url=gr4vy_fake.url,
    )  # fmt: skip
    assert code == 1
    assert out.startswith("deleted 0, already gone 0, failed 0, skipped 2")
    assert gr4vy_fake.requests == []


@pytest.mark.parametrize("flag", ["--body", "--from-file"])
async def test_input_that_is_not_utf8_is_one_line(tmp_path: Path, flag: str) -> None:
    binary = tmp_path / "input.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    args = (["checkout-sessions", "create", "--body", f"@{binary}"] if flag == "--body"
            else ["checkout-sessions", "delete", "--from-file", str(binary)])  # fmt: skip
    code, _, err = await run_cli(*args, url="http://127.0.0.1:9")
    assert code == 2
    assert err == "gr4vy-async: error: an input file is not UTF-8 text\n"


async def test_a_token_with_a_line_break_is_one_line_without_the_token() -> None:
    code, _, err = await run_cli(
        "--server-url", "http://127.0.0.1:9", "--token", "abc\ndef",
        "checkout-sessions", "get", "4137b1cf-39ac-42a8-bad6-1c680d5dab6b",
    )  # fmt: skip
    assert code == 2
    assert err == "gr4vy-async: error: bearer_auth: contains a line break or NUL character\n"


# --------------------------------------------------------------------------- bulk jobs


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--report", "/nonexistent/r.json"], "--report: cannot write /nonexistent/r.json"),
        (["--journal", "/nonexistent/j.jsonl"], "--journal: cannot write /nonexistent/j.jsonl"),
        (["--stop-after", "-1"], "--stop-after: must be 0 or more"),
        (["--deadline", "0"], "--deadline"),
    ],
)
async def test_bulk_delete_checks_its_outputs_before_any_request(
    gr4vy_fake: FakeGr4vy, tmp_path: Path, args: list[str], message: str
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(5)]
    code, _, err = await run_cli(
        "checkout-sessions", "delete", "--from-file", "-", *args,
        stdin="\n".join(ids).encode(), url=gr4vy_fake.url,
    )  # fmt: skip
    assert code == 2
    assert message in err
    assert gr4vy_fake.requests == []
    assert len(gr4vy_fake.sessions) == 5


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (["--server-url", "{url}", "--private-key", "not a key"], "private key"),
        (["--server-url", "{url}", "--token", "two\nlines"], "bearer_auth"),
        (["--server-url", "ftp://127.0.0.1:1", "--token", TOKEN], "server_url"),
        (["--server-url", "http//127.0.0.1", "--token", TOKEN], "server_url"),
    ],
)
async def test_bulk_delete_refuses_a_bad_key_or_url_before_any_request(
    gr4vy_fake: FakeGr4vy, setup: list[str], message: str
) -> None:
    session_id = gr4vy_fake.create_session().id
    code, _, err = await run_cli(
        *[arg.format(url=gr4vy_fake.url) for arg in setup],
        "checkout-sessions", "delete", "--from-file", "-", stdin=session_id.encode(),
    )  # fmt: skip
    assert code == 2
    assert message in err
    assert gr4vy_fake.requests == []


async def test_bulk_delete_stops_early_with_one_line_naming_the_cause(
    gr4vy_fake: FakeGr4vy,
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(100)]
    gr4vy_fake.faults.rate("DELETE", Fault.status(401), probability=1.0)
    code, out, err = await run_cli(
        "checkout-sessions", "delete", "--from-file", "-", "--stop-after", "5",
        "--concurrency", "1", stdin="\n".join(ids).encode(), url=gr4vy_fake.url,
    )  # fmt: skip
    assert code == 1
    assert out.splitlines()[0] == (
        "deleted 0, already gone 0, failed 5, skipped 0, not attempted 95"
    )
    (line,) = err.splitlines()
    assert "stopped after 5 consecutive failures (HTTP 401)" in line
    assert "95 ids not attempted" in line
    assert len(gr4vy_fake.requests) == 5
    assert TOKEN not in out + err


async def test_a_killed_bulk_delete_resumes_from_its_journal(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(300)]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    journal = tmp_path / "journal.jsonl"
    gr4vy_fake.faults.rate("DELETE", Fault.latency(0.01, after=True), probability=1.0)
    command = [
        sys.executable, "-m", "gr4vy_async", "--server-url", gr4vy_fake.url, "--token", TOKEN,
        "checkout-sessions", "delete", "--from-file", str(tmp_path / "ids.txt"),
        "--journal", str(journal), "--concurrency", "4",
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        while not journal.exists() or journal.read_text().count("\n") < 100:
            assert process.returncode is None, "finished before it could be killed"
            await asyncio.sleep(0.005)
    finally:
        process.kill()  # SIGKILL: no clean-up, no report
        await process.wait()
    first_run = [json.loads(line) for line in journal.read_text().splitlines()]
    done_first = {entry["id"] for entry in first_run}
    assert 100 <= len(done_first) < 300
    requests_first = len(gr4vy_fake.requests)

    code, out, err = await run_cli(
        "checkout-sessions", "delete", "--from-file", str(tmp_path / "ids.txt"),
        "--journal", str(journal), "--concurrency", "4", url=gr4vy_fake.url,
    )  # fmt: skip
    assert code == 0, err
    assert not gr4vy_fake.sessions  # every id gone
    rerun = {r.path.rsplit("/", 1)[1] for r in gr4vy_fake.requests[requests_first:]}
    assert not rerun & done_first  # nothing the journal had was sent again
    # None deleted twice: each id got at most one 204 over both runs.
    deleted = collections.Counter(
        r.path.rsplit("/", 1)[1] for r in gr4vy_fake.requests if r.status == 204
    )
    assert set(deleted) == set(ids)
    assert max(deleted.values()) == 1
    # The journal accounts for every id, as done or (deleted just before the kill) missing.
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert {e["id"] for e in entries} == set(ids)
    assert {e["outcome"] for e in entries} <= {"done", "missing"}
    skipped = len(done_first)
    assert out.splitlines()[0].endswith(f"skipped {skipped}")
