"""The command line as an operator meets it under stress (issue 20).

Processes, pipes and signals are real where the behaviour is about them: a
producer that pauses on stdin, Ctrl-C in a long delete, a FIFO or a device
named as a file. Messages are checked in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from support.cli_runner import run_cli as run_in_process
from support.helpers import wait_until
from support.servers import RawServer, json_response
from support.sessions import SESSION

from gr4vy_async.testing import FakeGr4vy, Fault

TOKEN = "cli-operator-token-123"
SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
#: Long enough for a slow machine; polls end as soon as the state is there.
PATIENCE = 60.0


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GR4VY_")}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


#: Every process a test started, killed at its end if still running (a failed test hangs none).
_STARTED: list[asyncio.subprocess.Process] = []


@pytest.fixture(autouse=True)
async def _kill_leftovers() -> AsyncIterator[None]:
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.returncode is None:
            process.kill()
        await process.communicate()


async def _cli_process(
    url: str, *args: str, stderr: int = asyncio.subprocess.PIPE, **kwargs: object
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "gr4vy_async", "--server-url", url, "--token", TOKEN),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=_env(),
        preexec_fn=_default_sigint,
        **kwargs,  # type: ignore[arg-type]
    )
    _STARTED.append(process)
    return process


def _deletes(fake: FakeGr4vy) -> int:
    return sum(request.method == "DELETE" for request in fake.requests)


# --------------------------------------------------------------------------- stdin


async def test_ids_on_stdin_are_sent_while_the_producer_pauses(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    """5 ids written, the pipe left open: those 5 are deleted now, not when stdin closes."""
    ids = [gr4vy_fake.create_session().id for _ in range(5)]
    report = tmp_path / "report.json"
    process = await _cli_process(
        gr4vy_fake.url,
        *("checkout-sessions", "delete", "--from-file", "-", "--no-progress"),
        *("--report", str(report), "-o", "table"),
        stdin=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write("".join(f"{i}\n" for i in ids).encode())
    await process.stdin.drain()
    try:
        await wait_until(
            lambda: _deletes(gr4vy_fake) == 5, "5 deletes with stdin still open", PATIENCE
        )
    finally:
        process.stdin.close()
    out, err = await asyncio.wait_for(process.communicate(), PATIENCE)
    assert process.returncode == 0, err
    assert out.decode().splitlines()[0] == "deleted 5, already gone 0, failed 0, skipped 0"
    written = json.loads(report.read_text())
    assert (written["cancelled"], written["stopped"]) == ([], None)
    assert sorted(written["deleted"]) == sorted(ids)


async def test_the_deadline_fires_while_stdin_stays_open(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    """A producer that pauses for ever: the run ends at its deadline, with a true report."""
    ids = [gr4vy_fake.create_session().id for _ in range(5)]
    report = tmp_path / "report.json"
    process = await _cli_process(
        gr4vy_fake.url,
        *("checkout-sessions", "delete", "--from-file", "-", "--no-progress"),
        *("--deadline", "3", "--report", str(report), "-o", "table"),
        stdin=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write("".join(f"{i}\n" for i in ids).encode())
    await process.stdin.drain()
    # stdin stays open until the process has ended by itself: not communicate(), which
    # closes stdin on Python 3.13 even without input.
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        out, err, _ = await asyncio.wait_for(
            asyncio.gather(process.stdout.read(), process.stderr.read(), process.wait()),
            PATIENCE,
        )
    finally:
        process.stdin.close()
    assert process.returncode == 1
    assert out.decode().splitlines()[0] == "deleted 5, already gone 0, failed 0, skipped 0"
    (line,) = err.decode().splitlines()
    assert "deadline of 3 s reached" in line
    assert "--from-file -: not read to the end (line 5 was the last)" in line
    written = json.loads(report.read_text())
    assert written["stopped"] == "deadline of 3 s reached"
    assert (written["cancelled"], sorted(written["deleted"])) == ([], sorted(ids))
    assert _deletes(gr4vy_fake) == 5


async def test_stdin_redirected_from_a_file_is_read_to_its_end_after_a_stop(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    """``< ids.txt``: a regular file behind stdin, so every id gets its outcome after a stop."""
    ids = [gr4vy_fake.create_session().id for _ in range(30)]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    gr4vy_fake.faults.rate("DELETE", Fault.status(401), probability=1.0)
    with (tmp_path / "ids.txt").open("rb") as stdin:
        process = await _cli_process(
            gr4vy_fake.url,
            *("checkout-sessions", "delete", "--from-file", "-", "--stop-after", "3"),
            *("--concurrency", "1", "-o", "table"),
            stdin=stdin,
        )
        out, err = await asyncio.wait_for(process.communicate(), PATIENCE)
    assert process.returncode == 1
    assert out.decode().splitlines()[0] == (
        "deleted 0, already gone 0, failed 3, skipped 0, not attempted 27"
    )
    assert "not read to the end" not in err.decode()


# --------------------------------------------------------------------------- Ctrl-C


async def test_ctrl_c_in_a_bulk_delete_prints_the_summary_and_a_true_report(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    count = 3000
    ids = [gr4vy_fake.create_session().id for _ in range(count)]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    report = tmp_path / "report.json"
    gr4vy_fake.faults.rate("DELETE", Fault.latency(0.01), probability=1.0)
    process = await _cli_process(
        gr4vy_fake.url,
        *("checkout-sessions", "delete", "--from-file", str(tmp_path / "ids.txt")),
        *("--report", str(report), "--concurrency", "4", "-o", "table"),
    )
    await wait_until(lambda: _deletes(gr4vy_fake) >= 40, "40 deletes", PATIENCE)
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), PATIENCE)
    assert process.returncode == 130
    summary = out.decode().splitlines()[0]
    assert summary.startswith("deleted "), summary
    assert ", not attempted " in summary
    (line,) = err.decode().splitlines()
    assert line.startswith("gr4vy-async: interrupted; "), line
    written = json.loads(report.read_text())
    assert written["stopped"] == "interrupted"
    counts = written["summary"]
    assert counts["not_attempted"] == len(written["not_attempted"]) > 0
    assert sum(counts.values()) == count  # every id has its one outcome
    assert counts["done"] + counts["cancelled"] >= 40


# --------------------------------------------------------------------------- escaping

HOSTILE = "\x1b]0;pwned\x07\x1b[31mRED\x1b[0m secret-\u202eevil\x9b2J"


async def test_debug_lines_escape_server_text() -> None:
    """A 500's message and a request id with a C1 control: escaped on the debug lines."""
    answers = iter(
        [
            json_response(
                500,
                json.dumps(
                    {"type": "error", "code": "server_error", "status": 500, "message": HOSTILE}
                ).encode(),
                **{"Retry-After": "0", "x-request-id": "req-\x9b2J-\u202e1"},
            ),
            json_response(200, SESSION, **{"x-request-id": "ok-\x9b31m"}),
        ]
    )

    async def handler(request: web.Request) -> web.Response:
        return next(answers)

    async with RawServer(handler) as server:
        code, _, err = await run_in_process(
            *("--server-url", server.url, "--token", TOKEN, "--debug"),
            *("checkout-sessions", "get", SESSION_ID),
        )
    assert code == 0, err
    for shown in ("RED", "req-", "ok-"):  # shown ...
        assert shown in err
    for char in ("\x1b", "\x07", "\x9b", "\u202e"):  # ... but nothing a terminal acts on
        assert char not in err
    assert "\\u009b" in err


def test_one_escaping_function_for_the_package() -> None:
    from gr4vy_async import _command_line, _terminal
    from gr4vy_async.cli import output

    assert vars(output)["printable"] is _terminal.printable
    assert (
        vars(_command_line)["printable"] is _terminal.printable
    )  # every command line's one-line errors
    assert _terminal.printable("a\x1b[31m\u202eb\nc") == "a\\u001b[31m\\u202eb c"


# --------------------------------------------------------------------------- files


def _fifo(tmp_path: Path) -> str:
    path = str(tmp_path / "fifo")
    os.mkfifo(path)
    return path


FILE_CASES: dict[str, tuple[list[str], str]] = {
    "body /dev/zero": (
        ["checkout-sessions", "create", "--data", "@/dev/zero"],
        "error: --data: /dev/zero is not a regular file ('-' reads stdin)",
    ),
    "body too large": (
        ["checkout-sessions", "create", "--body", "@{big}"],
        "error: --body: {big} is larger than 1 MiB",
    ),
    "key /dev/zero": (
        ["--private-key", "/dev/zero", "token"],
        "error: --private-key: not a regular file",
    ),
    "key fifo": (["--private-key", "{fifo}", "token"], "error: --private-key: not a regular file"),
    "key too large": (
        ["--private-key", "{big}", "token"],
        "error: --private-key: the key file is larger than 64 KiB",
    ),
    "journal /dev/stdout": (
        ["checkout-sessions", "delete", SESSION_ID, "--journal", "/dev/stdout"],
        "error: --journal: /dev/stdout is not a regular file",
    ),
    "report fifo": (
        ["checkout-sessions", "delete", SESSION_ID, "--report", "{fifo}"],
        "error: --report: {fifo} is not a regular file",
    ),
    "ids fifo": (
        ["checkout-sessions", "delete", "--from-file", "{fifo}"],
        "error: --from-file: {fifo} is not a regular file ('-' reads stdin)",
    ),
}


@pytest.mark.parametrize(("args", "message"), FILE_CASES.values(), ids=FILE_CASES)
async def test_a_named_file_that_is_no_regular_file_or_too_big_is_one_line(
    gr4vy_fake: FakeGr4vy, tmp_path: Path, args: list[str], message: str
) -> None:
    """A real process, its stdout a pipe: nothing hangs or reads without end; exit 2."""
    big = tmp_path / "big"
    big.write_bytes(b"{" + b" " * (1 << 20) + b"}")
    names = {"fifo": _fifo(tmp_path), "big": str(big)}
    process = await _cli_process(
        gr4vy_fake.url, *[arg.format(**names) for arg in args], stdin=asyncio.subprocess.DEVNULL
    )
    out, err = await asyncio.wait_for(process.communicate(), PATIENCE)
    assert (process.returncode, out) == (2, b"")
    assert err.decode() == f"gr4vy-async: {message.format(**names)}\n"
    assert gr4vy_fake.requests == []


async def test_a_body_on_stdin_is_bounded_too(gr4vy_fake: FakeGr4vy) -> None:
    code, _, err = await run_in_process(
        *("--server-url", gr4vy_fake.url, "--token", TOKEN),
        *("checkout-sessions", "create", "--data", "-"),
        stdin=b"{" + b" " * (1 << 20) + b"}",
    )
    assert (code, err) == (2, "gr4vy-async: error: --data: stdin is larger than 1 MiB\n")
    assert gr4vy_fake.requests == []


# --------------------------------------------------------------------------- ids never echoed


async def test_malformed_lines_are_named_by_number_in_the_report(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(2)]
    secret = "sk_live_0123456789abcdef"
    (tmp_path / "ids.txt").write_text(f"{ids[0]}\n{secret}\n\nnope\n{ids[1]}\n")
    code, out, err = await run_in_process(
        *("--server-url", gr4vy_fake.url, "--token", TOKEN),
        *("checkout-sessions", "delete", "--from-file", str(tmp_path / "ids.txt")),
        *("-o", "json", "--report", str(tmp_path / "r.json"), "--journal", str(tmp_path / "j")),
    )
    assert code == 1
    printed = json.loads(out)
    assert printed == json.loads((tmp_path / "r.json").read_text())
    assert printed["skipped"] == [
        {"line": 2, "reason": "has bad characters"},
        {"line": 4, "reason": "has bad characters"},
    ]
    everything = out + err + (tmp_path / "r.json").read_text() + (tmp_path / "j").read_text()
    assert secret not in everything
    assert "nope" not in everything


@pytest.mark.parametrize("action", ["get", "delete", "update"])
async def test_a_malformed_id_argument_is_named_the_same_way_by_every_command(
    action: str,
) -> None:
    extra = ["--body", "{}"] if action == "update" else []
    code, out, err = await run_in_process(
        *("--server-url", "http://127.0.0.1:9", "--token", TOKEN),
        *("checkout-sessions", action, "not-a-uuid", *extra),
    )
    assert (code, out) == (2, "")
    assert err == (
        "gr4vy-async: error: argument SESSION_ID: "
        "expected a checkout session id (a UUID), not 'not-a-uuid' "
        f"(see 'gr4vy-async checkout-sessions {action} --help')\n"
    )


# --------------------------------------------------------------------------- messages


async def test_errors_about_the_body_name_the_flag_typed() -> None:
    for flag in ("--data", "--body"):
        code, _, err = await run_in_process(
            *("--server-url", "http://127.0.0.1:9", "--token", TOKEN),
            *("checkout-sessions", "create", flag, "{not json"),
        )
        assert code == 2
        assert err.startswith(f"gr4vy-async: error: {flag} is not valid JSON"), err


async def test_an_unknown_scope_close_to_a_valid_one_gets_a_suggestion() -> None:
    code, _, err = await run_in_process("token", "--scope", "checkout-sessions.reed")
    assert code == 2
    assert err == (
        "gr4vy-async: error: argument -s/--scope: unknown scope 'checkout-sessions.reed'; "
        "did you mean 'checkout-sessions.read'? 'gr4vy-async token --list-scopes' lists them "
        "(see 'gr4vy-async token --help')\n"
    )


async def test_no_credentials_names_every_variable() -> None:
    code, _, err = await run_in_process("--id", "acme", "checkout-sessions", "get", SESSION_ID)
    assert code == 2
    for name in ("GR4VY_TOKEN", "GR4VY_BEARER_AUTH", "GR4VY_PRIVATE_KEY", "GR4VY_PRIVATE_KEY_FILE"):
        assert name in err


async def test_the_library_token_variable_is_honoured(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session()
    code, _, err = await run_in_process(
        *("--server-url", gr4vy_fake.url, "checkout-sessions", "get", session.id),
        env={"GR4VY_BEARER_AUTH": TOKEN},
    )
    assert code == 0, err
    assert gr4vy_fake.requests[-1].sent_token(TOKEN)


async def test_concurrency_help_describes_the_pacing() -> None:
    code, out, _ = await run_in_process("checkout-sessions", "delete", "--help")
    assert code == 0
    assert "halved" not in out
    assert "paces its sending rate" in " ".join(out.split())


async def test_a_failure_in_the_report_has_its_message_once(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session()
    gr4vy_fake.faults.enqueue("DELETE", Fault.status(403, message="Invalid credentials"))
    code, out, _ = await run_in_process(
        *("--server-url", gr4vy_fake.url, "--token", TOKEN),
        *("checkout-sessions", "delete", session.id, SESSION_ID, "-o", "json"),
    )
    assert code == 1
    (failed,) = json.loads(out)["failed"]
    assert set(failed) == {"id", "status", "code", "exception", "message"}


async def test_the_progress_bar_of_an_ids_file_has_its_total(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    import fcntl
    import pty
    import struct
    import termios

    ids = [gr4vy_fake.create_session().id for _ in range(50)]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n\n")
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    drawn = b""
    try:
        process = await _cli_process(
            gr4vy_fake.url,
            *("checkout-sessions", "delete", "--from-file", str(tmp_path / "ids.txt")),
            stderr=secondary,
        )
        await asyncio.wait_for(process.communicate(), PATIENCE)
        os.close(secondary)
        secondary = -1
        with contextlib.suppress(OSError):  # EIO once the terminal is drained
            while chunk := os.read(primary, 65536):
                drawn += chunk
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    assert process.returncode == 0
    assert b"50/50" in drawn  # a total, so tqdm shows a count of it and an ETA


def test_the_progress_bar_of_a_regular_file_has_its_total(tmp_path: Path) -> None:
    from gr4vy_async.id_files import count_ids

    (tmp_path / "ids.txt").write_bytes(b"a\n\n  \nb\r\nc")
    assert count_ids(str(tmp_path / "ids.txt")) == 3
    assert count_ids("-") is None


# --------------------------------------------------------------------------- JSON when piped


async def _piped(url: str, *args: str) -> tuple[int | None, bytes]:
    process = await _cli_process(url, *args)
    out, _ = await asyncio.wait_for(process.communicate(), PATIENCE)
    return process.returncode, out


async def test_output_piped_to_a_program_is_json(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session()
    code, out = await _piped(gr4vy_fake.url, "checkout-sessions", "get", session.id)
    assert code == 0
    assert json.loads(out)["id"] == session.id
    code, out = await _piped(gr4vy_fake.url, "-o", "table", "checkout-sessions", "get", session.id)
    assert out.decode().startswith("id ")  # -o wins


async def test_a_token_piped_stays_bare_for_command_substitution(tmp_path: Path) -> None:
    from gr4vy_async.testing.keys import KeyPair

    (tmp_path / "key.pem").write_text(KeyPair.generate().private_key)
    code, out = await _piped(
        "http://127.0.0.1:9", "--private-key", str(tmp_path / "key.pem"), "token"
    )
    assert code == 0
    assert out.count(b".") == 2  # header.claims.signature
    assert out.endswith(b"\n")
    assert not out.startswith(b"{")
