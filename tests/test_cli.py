"""The command line, end to end against FakeGr4vy.

Most tests run it in-process (``support.cli_runner``); those that need a real
process (the ``python -m`` entry point, a closed pipe, a terminal, a kill) spawn one.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from support.cli_runner import CliResult
from support.cli_runner import run_cli as run_in_process
from support.servers import RawServer, json_response

from gr4vy_async.cli.files import MAX_JSON_DEPTH
from gr4vy_async.testing import FakeGr4vy, Fault
from gr4vy_async.testing.keys import KeyPair

TOKEN = "cli-secret-token-123"
SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
NOWHERE = "http://127.0.0.1:9"  # nothing listens: any test that reached it would fail
OTHER_ID = "5b9e1d0a-7c43-4f0e-9a51-2f6f7c1d8e90"


async def run_cli(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, url: str | None = None
) -> CliResult:
    """Run the command line in-process; with ``url``, against that server with :data:`TOKEN`.

    The environment holds none of the test run's ``GR4VY_`` variables, only ``env``.
    """
    base = [] if url is None else ["--server-url", url, "--token", TOKEN]
    return await run_in_process(*base, *args, stdin=stdin, env=env)


def cli_process_env() -> dict[str, str]:
    """The environment of a ``python -m gr4vy_async`` subprocess: no ``GR4VY_`` variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GR4VY_")}


def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key.pem"
    if not path.exists():
        path.write_text(KeyPair.generate().private_key)
    return path


def public_key(path: Path) -> Any:
    return serialization.load_pem_private_key(path.read_bytes(), None).public_key()


# --------------------------------------------------------------------------- the process


async def test_python_dash_m_runs_the_command_line_with_its_exit_status() -> None:
    """The one entry point the in-process tests skip: ``python -m gr4vy_async``."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "gr4vy_async", "--server-url", NOWHERE, "--token", TOKEN),
        *("checkout-sessions", "get", "../x"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_process_env(),
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert (process.returncode, out) == (2, b"")  # main's status, not 0 or 1
    assert err == (  # the argument as the person typed it, not a Python parameter
        b"gr4vy-async: error: argument SESSION_ID: expected a checkout session id (a UUID), "
        b"not a 4-character value (see 'gr4vy-async checkout-sessions get --help')\n"
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def test_ctrl_c_exits_130_with_one_line() -> None:
    """SIGINT while a request is in flight: "interrupted", status 130, no traceback."""
    arrived, released = asyncio.Event(), asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        arrived.set()
        await released.wait()  # until the CLI has gone
        return json_response(200, b"{}")

    async with RawServer(hang) as server:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "gr4vy_async", "--server-url", server.url, "--token", TOKEN),
            *("checkout-sessions", "get", SESSION_ID),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=cli_process_env(),
            # As from a terminal: a pytest started in the background (or by nohup)
            # ignores SIGINT, and a child would inherit that and never see Ctrl-C.
            preexec_fn=_default_sigint,
        )
        await asyncio.wait_for(arrived.wait(), 60)
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        released.set()
    assert (process.returncode, out, err) == (130, b"", b"gr4vy-async: interrupted\n")


@pytest.mark.parametrize("command", [["version"], ["demo"]])
async def test_a_closed_pipe_ends_the_command_quietly(command: list[str]) -> None:
    """``gr4vy-async demo | head -3``: no "error: Broken pipe", no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gr4vy_async",
        *command,
        stdout=write_end,
        stderr=asyncio.subprocess.PIPE,
        env=cli_process_env(),
    )
    os.close(write_end)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert err == b""


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
            *(sys.executable, "-m", "gr4vy_async", "--server-url", gr4vy_fake.url),
            *("--token", TOKEN, "checkout-sessions", "delete", *ids, "-o", "table"),
            stdout=asyncio.subprocess.PIPE,
            stderr=secondary,
        )
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


async def test_importing_the_library_imports_no_cli_dependency() -> None:
    code = (
        "import sys, gr4vy_async; "
        "print(sorted(m for m in ('gr4vy_async.cli', 'yaml', 'tqdm', 'argparse') "
        "if m in sys.modules))"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert (process.returncode, out) == (0, b"[]\n")


# --------------------------------------------------------------------------- commands


async def test_version_flag_and_command() -> None:
    from gr4vy_async import __version__

    for args in (["--version"], ["version"], ["version", "--id", "acme"]):
        code, out, err = await run_cli(*args)
        assert (code, out, err) == (0, f"gr4vy-async {__version__}\n", ""), args
    code, out, _ = await run_cli("version", "-o", "json")
    assert (code, json.loads(out)) == (0, {"version": __version__})


async def test_version_ignores_settings_it_does_not_use() -> None:
    code, out, err = await run_cli("version", env={"GR4VY_TIMEOUT": "sk_live_0123456789abcdef"})
    assert (code, err) == (0, "")
    assert out.startswith("gr4vy-async ")


async def test_demo_runs_end_to_end() -> None:
    code, out, err = await run_cli("demo")
    assert code == 0, err
    assert "get after delete raised Error404" in out
    assert any(line.startswith("created ") for line in out.splitlines())
    assert 'metadata {"cohort": "cohort-a"' in out  # JSON, not a Python repr
    assert "{'" not in out


async def test_demo_in_json() -> None:
    code, out, err = await run_cli("demo", "-o", "json")
    assert (code, err) == (0, "")
    steps = json.loads(out)["steps"]
    assert [step["step"] for step in steps] == [
        *("listening", "created", "got", "updated", "deleted", "get_after_delete", "done")
    ]
    assert steps[2]["metadata"]["cohort"] == "cohort-a"
    assert steps[5]["raised"] == "Error404"


async def test_token_prints_a_signed_token(tmp_path: Path) -> None:
    pem = KeyPair.generate().private_key
    (tmp_path / "key.pem").write_text(pem)
    session_id = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
    code, out, err = await run_cli(
        *("--private-key", str(tmp_path / "key.pem"), "token"),
        *("--scope", "checkout-sessions.read", "--checkout-session-id", session_id),
    )
    assert code == 0, err
    public = serialization.load_pem_private_key(pem.encode(), None).public_key()
    claims = jwt.decode(out.strip(), public, algorithms=["ES512"])  # type: ignore[arg-type]
    assert claims["scopes"] == ["checkout-sessions.read"]
    assert claims["checkout_session_id"] == session_id


async def test_list_scopes_in_json() -> None:
    code, out, err = await run_cli("token", "--list-scopes", "-o", "json")
    assert (code, err) == (0, "")
    scopes = json.loads(out)["scopes"]
    assert "embed" in scopes
    assert "*.read" in scopes


async def test_embed_creates_a_session_and_pins_it(gr4vy_fake: FakeGr4vy, tmp_path: Path) -> None:
    path = key_file(tmp_path)
    code, out, err = await run_cli(
        *("--server-url", gr4vy_fake.url, "--private-key", str(path)),
        *("embed", "1299", "usd", "buyer_external_identifier=user-1"),
        *("--param", "locale=en", "-o", "json"),
        *("--data", '{"metadata": {"order_id": "o-1"}}'),
    )
    assert code == 0, err
    printed = json.loads(out)
    claims = jwt.decode(printed["token"], public_key(path), algorithms=["ES512"])
    assert claims["scopes"] == ["embed"]
    assert claims["checkout_session_id"] == printed["checkout_session_id"]
    assert ("default", printed["checkout_session_id"]) in gr4vy_fake.sessions
    stored = gr4vy_fake.sessions["default", printed["checkout_session_id"]]
    assert stored.metadata == {"order_id": "o-1"}
    assert claims["embed"] == {
        "amount": 1299,
        "currency": "USD",
        "buyer_external_identifier": "user-1",
        "locale": "en",
    }


async def test_embed_pins_an_existing_session_without_a_request(tmp_path: Path) -> None:
    path = key_file(tmp_path)
    code, out, err = await run_cli(
        *("--server-url", NOWHERE, "--private-key", str(path)),
        *("embed", "500", "EUR", "--checkout-session", SESSION_ID),
    )
    assert code == 0, err
    claims = jwt.decode(out.strip(), public_key(path), algorithms=["ES512"])
    assert claims["checkout_session_id"] == SESSION_ID
    assert claims["embed"] == {"amount": 500, "currency": "EUR"}


async def test_create_get_update_delete_one_session(gr4vy_fake: FakeGr4vy) -> None:
    body = json.dumps({"cart_items": [{"name": "x", "quantity": 1, "unit_amount": 5}]})
    code, out, _ = await run_cli(
        "--output", "json", "checkout-sessions", "create", "--body", body, url=gr4vy_fake.url
    )
    assert code == 0
    session = json.loads(out)
    assert session["cart_items"][0]["name"] == "x"
    code, out, _ = await run_cli(
        *("checkout-sessions", "update", session["id"], "--body", '{"metadata": {"k": "v"}}'),
        url=gr4vy_fake.url,
    )
    assert code == 0
    assert 'metadata            {"k": "v"}\n' in out  # nested values as JSON, not a repr
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


@pytest.mark.parametrize("how", ["-", "@-", "@file", "inline"])
async def test_bodies_inline_from_a_file_or_stdin(
    gr4vy_fake: FakeGr4vy, tmp_path: Path, how: str
) -> None:
    body = '{"metadata": {"order_id": "o-1"}}'
    (tmp_path / "body.json").write_text(body)
    value = {"@file": f"@{tmp_path / 'body.json'}", "inline": body}.get(how, how)
    code, out, err = await run_cli(
        *("-o", "json", "checkout-sessions", "create", "--data", value),
        stdin=body.encode(),
        url=gr4vy_fake.url,
    )
    assert code == 0, err
    assert json.loads(out)["metadata"] == {"order_id": "o-1"}


async def test_a_body_nested_too_deeply_is_a_usage_error_and_nothing_is_sent(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    # The same message on every interpreter, just past the limit and far past it (3.13
    # parses 1,500 levels where 3.11 hits its recursion limit); brackets in strings don't count.
    for levels in (MAX_JSON_DEPTH + 1, 1_500):
        deep = tmp_path / "deep.json"
        deep.write_text('{"metadata":' * (levels - 1) + '{"a": "[[{{"}' + "}" * (levels - 1))
        code, out, err = await run_cli(
            "checkout-sessions", "create", "--data", f"@{deep}", url=gr4vy_fake.url
        )
        assert (code, out) == (2, "")
        assert err.strip() == (  # the flag typed
            f"gr4vy-async: error: --data is nested too deeply (more than {MAX_JSON_DEPTH} levels)"
        )
    assert gr4vy_fake.requests == []


async def test_a_body_at_the_depth_limit_is_parsed(gr4vy_fake: FakeGr4vy, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    code, _, err = await run_cli(
        "checkout-sessions", "create", "--data", f"@{body}", url=gr4vy_fake.url
    )
    assert code == 2  # not a body the API takes: refused by the model, not by depth
    assert "nested too deeply" not in err


# --------------------------------------------------------------------------- global options


@pytest.mark.parametrize(
    "args",
    [
        ["checkout-sessions", "get", "{id}", "--output", "json"],
        ["checkout-sessions", "get", "{id}", "-o", "json"],
        ["checkout-sessions", "-o", "json", "get", "{id}"],
        ["-o", "json", "checkout-sessions", "get", "{id}"],
        ["-o", "table", "checkout-sessions", "get", "{id}", "-o", "json"],  # the last one wins
    ],
)
async def test_global_options_before_or_after_the_command(
    gr4vy_fake: FakeGr4vy, args: list[str]
) -> None:
    session = gr4vy_fake.create_session()
    args = [arg.format(id=session.id) for arg in args]
    code, out, err = await run_cli(*args, url=gr4vy_fake.url)
    assert code == 0, err
    assert json.loads(out)["id"] == session.id


async def test_global_options_after_the_command_reach_the_client(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session(merchant_account_id="acme-eu")
    code, _, err = await run_cli(
        *("checkout-sessions", "get", session.id, "--server-url", gr4vy_fake.url),
        *("--token", TOKEN, "--merchant-account-id", "acme-eu", "--timeout", "5s"),
    )
    assert code == 0, err
    assert gr4vy_fake.requests[-1].headers["x-gr4vy-merchant-account-id"] == "acme-eu"
    assert gr4vy_fake.requests[-1].sent_token(TOKEN)


async def test_settings_from_the_environment(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session(merchant_account_id="acme-eu")
    env = {
        "GR4VY_SERVER_URL": gr4vy_fake.url,
        "GR4VY_TOKEN": TOKEN,
        "GR4VY_MERCHANT_ACCOUNT_ID": "acme-eu",
    }
    code, _, err = await run_cli("checkout-sessions", "get", session.id, env=env)
    assert code == 0, err
    assert gr4vy_fake.requests[-1].headers["x-gr4vy-merchant-account-id"] == "acme-eu"


async def test_the_official_cli_environment_alias_for_the_server() -> None:
    code, _, err = await run_cli(
        *("--id", "acme", "checkout-sessions", "get", SESSION_ID),
        env={"GR4VY_ENVIRONMENT": "staging", "GR4VY_TOKEN": TOKEN},
    )
    assert code == 2
    assert err == (
        "gr4vy-async: error: GR4VY_ENVIRONMENT: invalid choice 'staging' "
        "(choose from production, sandbox)\n"
    )


@pytest.mark.parametrize(
    ("env", "flags", "expected"),
    [
        ({}, [], "table"),  # the default
        ({"GR4VY_OUTPUT": "json"}, [], "json"),  # the environment over the default
        ({"GR4VY_OUTPUT": "json"}, ["-o", "table"], "table"),  # the flag over the environment
        ({"GR4VY_OUTPUT": "table"}, ["--output", "json"], "json"),
    ],
)
async def test_output_precedence(
    gr4vy_fake: FakeGr4vy, env: dict[str, str], flags: list[str], expected: str
) -> None:
    session = gr4vy_fake.create_session()
    code, out, err = await run_cli(
        "checkout-sessions", "get", session.id, *flags, env=env, url=gr4vy_fake.url
    )
    assert code == 0, err
    assert out.startswith("{" if expected == "json" else "id ")


@pytest.mark.parametrize(
    ("env_timeout", "flags", "expected"),
    [("0.05", [], 1), ("0.05", ["--timeout", "30s"], 0), ("", ["--timeout", "50ms"], 1)],
)
async def test_timeout_precedence(
    gr4vy_fake: FakeGr4vy, env_timeout: str, flags: list[str], expected: int
) -> None:
    # Six times the short timeout: only the 30 s one waits for the answer.
    gr4vy_fake.faults.enqueue("POST", Fault.latency(0.3))  # a create is never retried
    code, _, err = await run_cli(
        "checkout-sessions",
        "create",
        *flags,
        env={"GR4VY_TIMEOUT": env_timeout},
        url=gr4vy_fake.url,
    )
    assert code == expected, err
    if expected:
        assert err.startswith("gr4vy-async: RequestTimeoutError: ")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--server", "production"], "no instance: pass --id (GR4VY_ID) or --server-url"),
        (["--id", "not_an_id!"], "--id: not a Gr4vy instance id (str of length 10)"),
    ],
    ids=["server", "id"],
)
async def test_an_instance_flag_beats_the_server_url_from_the_environment(
    gr4vy_fake: FakeGr4vy, flags: list[str], message: str
) -> None:
    """The token must not go to GR4VY_SERVER_URL when the flags name another host."""
    code, out, err = await run_cli(
        *(*flags, "--token", TOKEN, "checkout-sessions", "get", SESSION_ID),
        env={"GR4VY_SERVER_URL": gr4vy_fake.url},
    )
    assert gr4vy_fake.requests == []
    assert (code, out) == (2, "")
    assert message in err


async def test_server_url_and_id_flags_together_are_refused(gr4vy_fake: FakeGr4vy) -> None:
    code, out, err = await run_cli(
        "--id", "acme", "checkout-sessions", "get", SESSION_ID, url=gr4vy_fake.url
    )
    assert gr4vy_fake.requests == []
    assert (code, out) == (2, "")
    assert err == "gr4vy-async: error: --server-url and --id both name the host: pass one\n"


async def test_the_server_url_from_the_environment_still_beats_instance_variables(
    gr4vy_fake: FakeGr4vy,
) -> None:
    session = gr4vy_fake.create_session()
    code, _, err = await run_cli(
        *("--token", TOKEN, "checkout-sessions", "get", session.id, "-o", "json"),
        env={"GR4VY_SERVER_URL": gr4vy_fake.url, "GR4VY_ID": "acme"},
    )
    assert (code, err) == (0, "")
    assert len(gr4vy_fake.requests) == 1


async def test_allow_insecure_http_lifts_the_loopback_rule() -> None:
    code, _, err = await run_cli(
        *("--server-url", "http://10.1.2.3", "--token", TOKEN, "--allow-insecure-http"),
        # Checked by the client it made, before any connection is tried.
        *("checkout-sessions", "create", "--body", '{"cart_items": 5}'),
    )
    assert code == 2
    assert err == "gr4vy-async: error: cart_items: Expected `array | null`, got `int`\n"


# --------------------------------------------------------------------------- credentials


async def test_no_credentials_is_a_usage_error() -> None:
    code, _, err = await run_cli("--id", "acme", "checkout-sessions", "get", SESSION_ID)
    assert code == 2
    assert "no credentials" in err


async def test_a_token_flag_wins_over_a_private_key_from_the_environment(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    session = gr4vy_fake.create_session()
    for key in (str(key_file(tmp_path)), "not a key at all"):
        code, _, err = await run_cli(
            "checkout-sessions",
            "get",
            session.id,
            env={"GR4VY_PRIVATE_KEY": key},
            url=gr4vy_fake.url,
        )
        assert code == 0, err
        assert gr4vy_fake.requests[-1].sent_token(TOKEN)


@pytest.mark.parametrize(
    ("flags", "env", "signed"),
    [
        (["--private-key", "{key}"], {"GR4VY_TOKEN": TOKEN}, True),  # flag over environment
        ([], {"GR4VY_TOKEN": TOKEN, "GR4VY_PRIVATE_KEY": "{key}"}, False),  # token skips signing
        ([], {"GR4VY_PRIVATE_KEY_FILE": "{key}"}, True),
        ([], {"GR4VY_PRIVATE_KEY": "{base64}"}, True),  # the PEM in base64, as for CI
    ],
)
async def test_credential_precedence(
    gr4vy_fake: FakeGr4vy, tmp_path: Path, flags: list[str], env: dict[str, str], signed: bool
) -> None:
    import base64

    path = key_file(tmp_path)
    values = {"key": str(path), "base64": base64.b64encode(path.read_bytes()).decode()}
    session = gr4vy_fake.create_session()
    code, _, err = await run_cli(
        *("--server-url", gr4vy_fake.url, *[f.format(**values) for f in flags]),
        *("checkout-sessions", "get", session.id),
        env={name: value.format(**values) for name, value in env.items()},
    )
    assert code == 0, err
    request = gr4vy_fake.requests[-1]
    assert request.token_digest is not None
    assert request.sent_token(TOKEN) is not signed


@pytest.mark.parametrize("content", [None, "not a key", "rsa"])
async def test_a_bad_key_file_is_one_readable_line(tmp_path: Path, content: str | None) -> None:
    key_file = tmp_path / "key.pem"
    if content == "rsa":
        from cryptography.hazmat.primitives.asymmetric import rsa

        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        content = rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
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


async def test_a_bad_key_names_its_source(tmp_path: Path) -> None:
    (tmp_path / "public.pem").write_text(
        serialization.load_pem_private_key(key_file(tmp_path).read_bytes(), None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    code, _, err = await run_cli("token", env={"GR4VY_PRIVATE_KEY": str(tmp_path / "public.pem")})
    assert code == 2
    assert err == (
        "gr4vy-async: error: bad private key (GR4VY_PRIVATE_KEY): "
        "private_key is a public key; pass the private key\n"
    )


async def test_a_token_with_a_line_break_is_one_line_without_the_token() -> None:
    code, _, err = await run_cli(
        *("--server-url", "http://127.0.0.1:9", "--token", "abc\ndef"),
        *("checkout-sessions", "get", "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"),
    )
    assert code == 2
    assert err == (
        "gr4vy-async: error: --token: expected no control character"
        " (only tab is allowed in a header value)\n"
    )


# --------------------------------------------------------------------------- output formats


async def test_table_output_is_for_people(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session(
        {
            "amount": 1299,
            "currency": "USD",
            "metadata": {"order_id": "o-1"},
            "cart_items": [{"name": "GoPro", "quantity": 2, "unit_amount": 1299}],
        }
    )
    code, out, err = await run_cli("checkout-sessions", "get", session.id, url=gr4vy_fake.url)
    assert code == 0, err
    lines = out.splitlines()
    rows = dict(line.split(None, 1) for line in lines)
    assert rows["id"] == session.id
    assert rows["amount"] == "1299 USD"  # money as amount and currency, in one cell
    assert "currency" not in rows
    assert rows["metadata"] == '{"order_id": "o-1"}'  # nested values as JSON
    assert json.loads(rows["cart_items"])[0]["name"] == "GoPro"
    assert rows["buyer"] == "-"
    starts = {len(line) - len(line.split(None, 1)[1]) for line in lines}
    assert len(starts) == 1  # values aligned in one column


async def test_yaml_output_matches_json(gr4vy_fake: FakeGr4vy) -> None:
    import yaml

    session = gr4vy_fake.create_session({"metadata": {"k": "v"}})
    _, as_json, _ = await run_cli(
        "-o", "json", "checkout-sessions", "get", session.id, url=gr4vy_fake.url
    )
    code, as_yaml, err = await run_cli(
        "-o", "yaml", "checkout-sessions", "get", session.id, url=gr4vy_fake.url
    )
    assert code == 0, err
    assert yaml.safe_load(as_yaml) == json.loads(as_json)


async def test_yaml_without_pyyaml_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # as if PyYAML were not installed
    code, _, err = await run_cli("-o", "yaml", "version")
    assert code == 2
    assert err == "gr4vy-async: error: -o yaml needs PyYAML: pip install 'gr4vy-async[cli]'\n"


async def test_compact_json(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session()
    code, out, _ = await run_cli(
        "checkout-sessions", "get", session.id, "-o", "json", "--compact", url=gr4vy_fake.url
    )
    assert code == 0
    assert out.count("\n") == 1
    assert json.loads(out)["id"] == session.id


# --------------------------------------------------------------------------- help


def _all_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_every_option_of_every_command_has_help_and_the_global_options() -> None:
    from gr4vy_async.cli import GLOBAL_OPTIONS, build_parser

    parsers = list(_all_parsers(build_parser()))
    assert len(parsers) == 10  # the root, 5 commands, the 4 checkout-sessions actions
    for parser in parsers:
        flags = {flag for action in parser._actions for flag in action.option_strings}
        assert {flag for option in GLOBAL_OPTIONS for flag in option.flags} <= flags, parser.prog
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, (parser.prog, action.dest)
        assert "exit status:" in parser.format_help()
        assert "130  interrupted" in parser.format_help()


async def test_help_shows_the_environment_variables_and_exit_statuses() -> None:
    code, out, _ = await run_cli("checkout-sessions", "delete", "--help")
    assert code == 0
    assert out.startswith("usage: gr4vy-async checkout-sessions delete [-h] [global options]")
    text = " ".join(out.split())
    for phrase in [
        "env: GR4VY_OUTPUT",
        "env: GR4VY_TIMEOUT",
        "env: GR4VY_TOKEN",
        "--concurrency N at most N requests",
        "2 bad arguments",
    ]:
        assert phrase in text


def test_the_readme_documents_every_variable_and_exit_status() -> None:
    from gr4vy_async.cli import EXIT_STATUS_HELP, GLOBAL_OPTIONS

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for option in GLOBAL_OPTIONS:
        assert f"`{option.name}" in readme
        for env in option.env:
            assert env in readme
    for line in EXIT_STATUS_HELP.splitlines()[1:-1]:
        assert line.strip() in readme


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["checkout-sessions", "get"], "the following arguments are required"),
        (["--server", "staging", "checkout-sessions", "get", "x"], "invalid choice"),
        (["checkout-sessions", "get", "../x"], "argument SESSION_ID: expected a checkout session"),
        (
            ["checkout-sessions", "update", SESSION_ID, "--body", '{"colour": "red"}'],
            "colour: unknown field",
        ),
        (["checkout-sessions", "create", "--body", "{not json"], "--body is not valid JSON"),
        (["checkout-sessions", "delete"], "give session ids or --from-file"),
    ],
)
async def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    code, _, err = await run_cli(*args, url="http://127.0.0.1:9")
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert TOKEN not in err


#: A command line, as a shell reads it (leading ``NAME=value`` words set the environment,
#: ``{id}`` is SESSION_ID), and what its one error line says; each exits 2.
ONE_LINE_ERRORS = [
    (
        "token --expires-in 0",
        "error: argument -e/--expires-in: must be a whole number of seconds, at least 1, not '0'",
    ),
    ("token --scope bogus.scope", "error: argument -s/--scope: unknown scope 'bogus.scope'"),
    ("token", "error: token needs a private key: pass --private-key"),
    (
        "--server-url http://10.1.2.3 checkout-sessions get {id}",
        "error: --server-url: expected https (plain http is only allowed to loopback hosts; "
        "pass --allow-insecure-http to override)",
    ),
    (
        "GR4VY_SERVER_URL=http://10.1.2.3 checkout-sessions get {id}",
        "error: GR4VY_SERVER_URL: expected https (plain http is only allowed",
    ),
    (
        "checkout-sessions delete {id} --concurrency -5",
        "error: argument --concurrency: must be a whole number, at least 1, not '-5'",
    ),
    (
        "checkout-sessions delete --from-file - --concurrency -5",
        "error: argument --concurrency: must be a whole number, at least 1, not '-5'",
    ),
    (
        "checkout-sessions get {id} --timeout 0",
        "error: argument --timeout: must be more than 0 seconds",
    ),
    (
        "GR4VY_TIMEOUT=soon checkout-sessions get {id}",
        "error: GR4VY_TIMEOUT: expected seconds or a duration",
    ),
    (
        "GR4VY_OUTPUT=xml checkout-sessions get {id}",
        "error: GR4VY_OUTPUT: invalid choice 'xml' (choose from table, json, yaml)",
    ),
    (
        "checkout-sessions create --body @/nonexistent/body.json",
        "error: --body: cannot read '/nonexistent/body.json': No such file or directory",
    ),
    (
        "checkout-sessions delete --from-file /nonexistent/ids.txt",
        "error: --from-file: cannot read '/nonexistent/ids.txt': No such file or directory",
    ),
    (
        "embed 12.99 USD",
        "error: argument AMOUNT: must be a whole number in the currency's smallest unit",
    ),
    ("embed 1299 dollars", "error: argument CURRENCY: expected a 3-letter"),
    ("embed 1299 USD amount=5", "amount is given as the AMOUNT argument"),
    ("embed 1299 USD", "error: embed needs a private key"),
    ("", "error: the following arguments are required: COMMAND"),
    (
        "checkout-sessions get {id} --output xml",
        "error: argument -o/--output: invalid choice 'xml'",
    ),
]


def command_line(line: str) -> tuple[list[str], dict[str, str]]:
    """The arguments and environment of a line of :data:`ONE_LINE_ERRORS`."""
    words = shlex.split(line.format(id=SESSION_ID))
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return words, env


@pytest.mark.parametrize(("line", "message"), ONE_LINE_ERRORS)
async def test_each_error_is_one_line_naming_the_right_thing(line: str, message: str) -> None:
    args, env = command_line(line)
    status, out, err = await run_cli(*args, env={"GR4VY_TOKEN": TOKEN, **env})
    assert status == 2
    assert err.startswith("gr4vy-async: ")
    assert message in err
    assert err.count("\n") == 1
    assert "private key" not in err or "private key" in message
    assert TOKEN not in out + err


@pytest.mark.parametrize("flag", ["--body", "--from-file"])
async def test_input_that_is_not_utf8_is_one_line(tmp_path: Path, flag: str) -> None:
    """A body is refused; an id file's line is a malformed id (see the test further down)."""
    binary = tmp_path / "input.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    args = (
        ["checkout-sessions", "create", "--body", f"@{binary}"]
        if flag == "--body"
        else ["checkout-sessions", "delete", "--from-file", str(binary)]
    )
    code, _, err = await run_cli(*args, url="http://127.0.0.1:9")
    if flag == "--body":
        assert code == 2
        assert err == "gr4vy-async: error: an input file is not UTF-8 text\n"
    else:
        assert code == 1
        assert err.startswith("gr4vy-async: 1 id was malformed: first ")
        assert err.endswith(" on line 1\n")
        assert err.count("\n") == 1


#: Values a person pastes into the wrong place: a JWT, an API key, an email address.
PASTED = [
    "eyJhbGciOiJFUzUxMiIsImtpZCI6IkpvRlR2MGtBIn0.e30.c2ln",
    "sk_live_0123456789abcdef",
    "jane.doe@example.com",
]


@pytest.mark.parametrize("secret", PASTED, ids=["jwt", "key", "email"])
@pytest.mark.parametrize(
    "where",
    [
        "--checkout-session-id",
        "--expires-in",
        "--scope",
        "GR4VY_TIMEOUT",
        "GR4VY_OUTPUT",
        "--concurrency",
        "--stop-after",
    ],
)
async def test_messages_about_a_bad_value_do_not_repeat_it(where: str, secret: str) -> None:
    if where.startswith("GR4VY_"):
        args, env = ["checkout-sessions", "get", SESSION_ID], {where: secret, "GR4VY_TOKEN": "t"}
    elif where in ("--concurrency", "--stop-after"):
        args, env = ["checkout-sessions", "delete", SESSION_ID, where, secret], {}
    else:
        args, env = ["token", where, secret], {}
    code, out, err = await run_cli("--id", "acme", *args, env=env)
    assert (code, out) == (2, "")
    assert where.lstrip("-").split("_")[-1].lower() in err.lower()  # the message names it ...
    assert f"a {len(secret)}-character value" in err  # ... and says what it was like
    for part in (secret[:8], secret[-8:]):
        assert part not in err


async def test_a_short_plain_bad_value_is_still_shown() -> None:
    code, _, err = await run_cli("--id", "acme", "-o", "xml", "version")
    assert code == 2
    assert "invalid choice 'xml'" in err


#: A server message that retitles the terminal, recolours it and reverses the text after it.
HOSTILE = "\x1b]0;pwned\x07\x1b[31mRED\x1b[0m secret-\u202eevil\x9b2J"
_UNSAFE_CHARS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


async def _hostile_400(request: web.Request) -> web.Response:
    body = json.dumps({"type": "error", "code": "bad_request", "status": 400, "message": HOSTILE})
    return json_response(400, body.encode())


@pytest.mark.parametrize(
    "command",
    [
        ["get", SESSION_ID],
        ["delete", SESSION_ID],
        ["delete", SESSION_ID, OTHER_ID],
        ["delete", SESSION_ID, OTHER_ID, "-o", "json"],
        ["delete", SESSION_ID, "-o", "yaml"],
    ],
    ids=["get", "delete-one", "delete-two", "delete-json", "delete-yaml"],
)
async def test_server_text_reaches_the_terminal_escaped(command: list[str]) -> None:
    async with RawServer(_hostile_400) as server:
        code, out, err = await run_cli("checkout-sessions", *command, url=server.url)
    assert code == 1
    assert "RED" in out + err  # the message is shown ...
    assert not _UNSAFE_CHARS.search(out + err)  # ... with nothing a terminal would act on
    if "json" in command:
        assert HOSTILE in json.loads(out)["failed"][0]["message"]  # JSON keeps the value


@pytest.mark.parametrize("output", ["table", "json", "yaml"])
async def test_session_values_in_output_are_escaped(gr4vy_fake: FakeGr4vy, output: str) -> None:
    session = gr4vy_fake.create_session({"metadata": {"note": HOSTILE}})
    code, out, err = await run_cli(
        "checkout-sessions", "get", session.id, "-o", output, url=gr4vy_fake.url
    )
    assert (code, err) == (0, "")
    assert "RED" in out
    assert not _UNSAFE_CHARS.search(out)
    if output == "json":
        assert json.loads(out)["metadata"]["note"] == HOSTILE


# --------------------------------------------------------------------------- debug


async def test_debug_is_accepted_and_prints_no_token(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session()
    code, out, err = await run_cli(
        "checkout-sessions", "get", session.id, "--debug", url=gr4vy_fake.url
    )
    assert code == 0, err
    assert out.startswith("id ")
    assert TOKEN not in out + err
    assert f"debug: GET /checkout/sessions/{session.id} -> 200 in " in err
    assert "(attempt 1 of 4, request id " in err


DEBUG_EMAIL = "jane.buyer@example.com"


async def test_debug_prints_one_line_per_attempt_without_token_or_body(
    gr4vy_fake: FakeGr4vy,
) -> None:
    body = json.dumps({"buyer": {"billing_details": {"email_address": DEBUG_EMAIL}}})
    code, out, err = await run_cli(
        *("--debug", "-o", "json", "checkout-sessions", "create", "--data", body),
        url=gr4vy_fake.url,
    )
    assert code == 0, err
    session_id = json.loads(out)["id"]
    (line,) = [line for line in err.splitlines() if "attempt" in line]
    assert re.search(
        r"POST /checkout/sessions -> 201 in \d+\.\d ms \(attempt 1 of 4, request id \S+\)", line
    ), line

    # Retried (Retry-After: 0, no backoff wait): two attempts.
    gr4vy_fake.faults.enqueue("GET", Fault.status(503, retry_after=0))
    code, _, err = await run_cli(
        "checkout-sessions", "get", session_id, "--debug", url=gr4vy_fake.url
    )
    assert code == 0, err
    attempts = [line for line in err.splitlines() if "attempt" in line]
    path = f"/checkout/sessions/{session_id}"
    assert any(f"GET {path} -> 503" in a and "(attempt 1 of 4," in a for a in attempts), attempts
    assert any(f"GET {path} -> 200" in a and "(attempt 2 of 4," in a for a in attempts), attempts
    assert TOKEN not in err
    assert DEBUG_EMAIL not in err


async def test_without_debug_nothing_is_logged(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session()
    code, _, err = await run_cli("checkout-sessions", "get", session.id, url=gr4vy_fake.url)
    assert (code, err) == (0, "")


# --------------------------------------------------------------------------- delete, one id or many


async def test_one_delete_in_json(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session()
    code, out, _ = await run_cli(
        "checkout-sessions", "delete", session.id, "-o", "json", url=gr4vy_fake.url
    )
    assert code == 0
    printed = json.loads(out)
    assert (printed["deleted"], printed["already_gone"]) == ([session.id], [])


@pytest.mark.parametrize("output", ["json", "yaml"])
async def test_one_failed_delete_still_prints_its_report(
    gr4vy_fake: FakeGr4vy, output: str
) -> None:
    session = gr4vy_fake.create_session()
    gr4vy_fake.faults.enqueue("DELETE", Fault.status(403))
    code, out, err = await run_cli(
        "checkout-sessions", "delete", session.id, "-o", output, url=gr4vy_fake.url
    )
    assert code == 1
    assert err.startswith("gr4vy-async: Error403: ")
    import yaml

    printed = json.loads(out) if output == "json" else yaml.safe_load(out)
    assert printed["summary"]["failed"] == 1
    assert [(f["id"], f["status"]) for f in printed["failed"]] == [(session.id, 403)]


async def test_options_between_positional_ids(gr4vy_fake: FakeGr4vy) -> None:
    first, second, third = (gr4vy_fake.create_session().id for _ in range(3))
    code, out, err = await run_cli(
        *("checkout-sessions", "delete", first, "-o", "json", second, "--concurrency", "2", third),
        url=gr4vy_fake.url,
    )
    assert (code, err) == (0, "")
    assert sorted(json.loads(out)["deleted"]) == sorted([first, second, third])


async def test_bulk_delete_from_a_file_with_a_json_report(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(200)]
    gone = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
    (tmp_path / "ids.txt").write_text("\n".join([*ids, gone, "junk", ""]) + "\n")
    code, out, err = await run_cli(
        *("checkout-sessions", "delete", "--from-file", str(tmp_path / "ids.txt")),
        *("--report", str(tmp_path / "report.json"), "--concurrency", "8"),
        url=gr4vy_fake.url,
    )
    assert code == 1, err  # the malformed id is a problem worth a non-zero exit
    assert out.splitlines()[0] == "deleted 200, already gone 1, failed 0, skipped 1"
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(report["deleted"]) == sorted(ids)
    assert report["already_gone"] == [gone]
    assert report["skipped"] == [{"line": 202, "reason": "has bad characters"}]  # never its text
    assert not gr4vy_fake.sessions
    assert gr4vy_fake.max_in_flight <= 8


async def test_failures_give_exit_status_1_and_are_listed(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(3)]
    gr4vy_fake.faults.enqueue("DELETE", Fault.status(403, message="Invalid credentials"))
    code, out, err = await run_cli(
        *("--output", "json", "checkout-sessions", "delete", "--from-file", "-"),
        *("--concurrency", "1", "--report", str(tmp_path / "r.json")),
        stdin="\n".join(ids).encode(),
        url=gr4vy_fake.url,
    )
    assert code == 1
    printed = json.loads(out)
    assert printed == json.loads((tmp_path / "r.json").read_text())  # complete, as the report
    assert printed["summary"] == {
        "done": 2,
        "missing": 0,
        "failed": 1,
        "skipped": 0,
        "cancelled": 0,
        "not_attempted": 0,
    }
    (failed,) = printed["failed"]
    assert failed["id"] in ids
    assert failed["id"] not in printed["deleted"]
    assert sorted([*printed["deleted"], failed["id"]]) == sorted(ids)
    assert (failed["status"], failed["exception"]) == (403, "Error403Forbidden")
    assert failed["message"] == "403 forbidden: Invalid credentials"
    assert "error" not in failed  # the message once
    assert err == (
        f"gr4vy-async: 1 id failed: first {failed['id']}: Error403Forbidden: {failed['message']}\n"
    )
    assert TOKEN not in out + err


async def test_only_malformed_ids_exit_1(gr4vy_fake: FakeGr4vy) -> None:
    code, out, _ = await run_cli(
        *("checkout-sessions", "delete", "--from-file", "-"),
        stdin=b"nope\n../x\n",
        url=gr4vy_fake.url,
    )
    assert code == 1
    assert out.startswith("deleted 0, already gone 0, failed 0, skipped 2")
    assert gr4vy_fake.requests == []


async def test_malformed_ids_are_named_with_their_line(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(10)]
    lines = [*ids[:5], "", "garbage", *ids[5:], "../x", ids[0]]  # a duplicate is fine
    (tmp_path / "ids.txt").write_text("\n".join(lines) + "\n")
    code, out, err = await run_cli(
        "checkout-sessions",
        "delete",
        "--from-file",
        str(tmp_path / "ids.txt"),
        url=gr4vy_fake.url,
    )
    assert code == 1
    assert out.splitlines()[0] == "deleted 10, already gone 0, failed 0, skipped 3"
    assert err == "gr4vy-async: 2 ids were malformed: first has bad characters on line 7\n"


#: What an id file may hold by mistake, and what the message says about it instead.
PASTED_LINES = {
    "jwt": (
        "eyJhbGciOiJFUzUxMiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLWJ5dGVz",
        "is too long (61 characters)",
    ),
    "email": ("jane.doe@example.com", "has bad characters"),
    "card": ("4111 1111 1111 1111", "has bad characters"),
    "short hex": ("4137b1cf39ac42a8", "is too short (16 characters)"),
    "long hex": ("4137b1cf39ac42a8bad61c680d5dab6b4137b1cf", "is too long (40 characters)"),
    "bad uuid": ("4137b1cf-39ac-42a8-bad6-1c680d5dab6z", "has bad characters"),
}


@pytest.mark.parametrize(("line", "why"), PASTED_LINES.values(), ids=PASTED_LINES)
async def test_a_malformed_line_is_named_by_number_and_reason_never_by_content(
    gr4vy_fake: FakeGr4vy, line: str, why: str
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(2)]
    code, out, err = await run_cli(
        *("checkout-sessions", "delete", "--from-file", "-"),
        stdin=f"{ids[0]}\n\n{line}\n{ids[1]}\n".encode(),
        url=gr4vy_fake.url,
    )
    assert code == 1
    assert out.splitlines()[0] == "deleted 2, already gone 0, failed 0, skipped 1"
    assert err == f"gr4vy-async: 1 id was malformed: first {why} on line 3\n"
    for word in line.replace("@", " ").replace(".", " ").split():
        assert word not in out + err


async def test_a_malformed_id_argument_that_is_no_plain_word_is_not_repeated(
    gr4vy_fake: FakeGr4vy,
) -> None:
    session = gr4vy_fake.create_session()
    token, why = PASTED_LINES["jwt"]
    code, _, err = await run_cli(
        "checkout-sessions", "delete", session.id, token, url=gr4vy_fake.url
    )
    assert code == 1
    assert err == f"gr4vy-async: 1 id was malformed: first {why} on argument 2\n"


async def test_malformed_id_arguments_are_named_with_their_place(gr4vy_fake: FakeGr4vy) -> None:
    session = gr4vy_fake.create_session()
    code, out, err = await run_cli(
        "checkout-sessions", "delete", session.id, "nope", "-o", "json", url=gr4vy_fake.url
    )
    assert code == 1
    printed = json.loads(out)
    assert printed["deleted"] == [session.id]
    assert printed["skipped"] == [{"argument": 2, "reason": "has bad characters"}]
    assert err == "gr4vy-async: 1 id was malformed: first 'nope' on argument 2\n"


@pytest.mark.parametrize("via", ["file", "stdin"])
async def test_a_line_that_is_not_utf8_is_one_malformed_id_not_a_usage_error(
    gr4vy_fake: FakeGr4vy, tmp_path: Path, via: str
) -> None:
    """Exit 2 says nothing was sent; here deletes were sent before (and after) the bad line."""
    before = [gr4vy_fake.create_session().id for _ in range(300)]
    after = [gr4vy_fake.create_session().id for _ in range(5)]
    data = ("\n".join(before) + "\n").encode() + b"\xff\xfe-not-utf8\n" + "\n".join(after).encode()
    (tmp_path / "ids.txt").write_bytes(data)
    source = str(tmp_path / "ids.txt") if via == "file" else "-"
    code, out, err = await run_cli(
        *("checkout-sessions", "delete", "--from-file", source, "-o", "json"),
        stdin=data if via == "stdin" else b"",
        url=gr4vy_fake.url,
    )
    assert code == 1
    report = json.loads(out)
    assert sorted(report["deleted"]) == sorted(before + after)
    assert len(report["skipped"]) == 1
    assert "1 id was malformed" in err
    assert "line 301" in err


@pytest.mark.parametrize("via", ["file", "stdin"])
async def test_an_ids_file_saved_with_a_byte_order_mark_loses_no_id(
    gr4vy_fake: FakeGr4vy, tmp_path: Path, via: str
) -> None:
    """Windows editors start UTF-8 files with U+FEFF: it is not part of the first id."""
    ids = [gr4vy_fake.create_session().id for _ in range(3)]
    data = b"\xef\xbb\xbf" + "\r\n".join(ids).encode() + b"\r\n"
    (tmp_path / "ids.txt").write_bytes(data)
    source = str(tmp_path / "ids.txt") if via == "file" else "-"
    code, out, err = await run_cli(
        *("checkout-sessions", "delete", "--from-file", source, "-o", "json"),
        stdin=data if via == "stdin" else b"",
        url=gr4vy_fake.url,
    )
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert sorted(report["deleted"]) == sorted(ids)
    assert report["skipped"] == []
    assert not gr4vy_fake.sessions


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
        *("checkout-sessions", "delete", "--from-file", "-", *args),
        stdin="\n".join(ids).encode(),
        url=gr4vy_fake.url,
    )
    assert code == 2
    assert message in err
    assert gr4vy_fake.requests == []
    assert len(gr4vy_fake.sessions) == 5


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (["--server-url", "{url}", "--private-key", "not a key"], "--private-key"),
        (["--server-url", "{url}", "--token", "two\nlines"], "--token"),
        (["--server-url", "ftp://127.0.0.1:1", "--token", TOKEN], "--server-url"),
        (["--server-url", "http//127.0.0.1", "--token", TOKEN], "--server-url"),
    ],
)
async def test_bulk_delete_refuses_a_bad_key_or_url_before_any_request(
    gr4vy_fake: FakeGr4vy, setup: list[str], message: str
) -> None:
    session_id = gr4vy_fake.create_session().id
    code, _, err = await run_cli(
        *[arg.format(url=gr4vy_fake.url) for arg in setup],
        *("checkout-sessions", "delete", "--from-file", "-"),
        stdin=session_id.encode(),
    )
    assert code == 2
    assert message in err
    assert gr4vy_fake.requests == []


async def test_bulk_delete_stops_early_with_one_line_naming_the_cause(
    gr4vy_fake: FakeGr4vy,
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(100)]
    gr4vy_fake.faults.rate("DELETE", Fault.status(401), probability=1.0)
    code, out, err = await run_cli(
        *("checkout-sessions", "delete", "--from-file", "-", "--stop-after", "5"),
        *("--concurrency", "1"),
        stdin="\n".join(ids).encode(),
        url=gr4vy_fake.url,
    )
    assert code == 1
    assert out.splitlines()[0] == (
        "deleted 0, already gone 0, failed 5, skipped 0, not attempted 95"
    )
    (line,) = err.splitlines()
    assert "stopped after 5 consecutive failures (HTTP 401)" in line
    assert "95 ids not attempted" in line
    assert len(gr4vy_fake.requests) == 5
    assert TOKEN not in out + err


@pytest.mark.e2e
async def test_a_killed_bulk_delete_resumes_from_its_journal(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(300)]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    journal = tmp_path / "journal.jsonl"
    gr4vy_fake.faults.rate("DELETE", Fault.latency(0.01, after=True), probability=1.0)
    command = [
        *(sys.executable, "-m", "gr4vy_async", "--server-url", gr4vy_fake.url),
        *("--token", TOKEN, "checkout-sessions", "delete"),
        *("--from-file", str(tmp_path / "ids.txt"), "--journal", str(journal)),
        *("--concurrency", "4"),
    ]
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
        *("checkout-sessions", "delete", "--from-file", str(tmp_path / "ids.txt")),
        *("--journal", str(journal), "--concurrency", "4"),
        url=gr4vy_fake.url,
    )
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
