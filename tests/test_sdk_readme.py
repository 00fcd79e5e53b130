"""The official SDK 2.4.27 README's examples run here with only the import changed.

Every Python example of the vendored README (``tests/contract/``) is listed
below, by section: each runs against FakeGr4vy (checking ES512 signatures) in
async form (``async with``, ``await``), or its migration difference is asserted
(the README's migration table says it), or it is skipped for a reason given
here (other API resources, httpx). An example that calls another resource
(``transactions``, ``account_updater``, ...) runs twice: as written, where the
resource does not exist here (``AttributeError``), and as its checkout-session
twin, which shows the section's own point (errors, retries, servers, ...).
Every ``Gr4vy(...)`` the README configures is also built with our ``Gr4vy``
and makes a request.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import gc
import io
import json
import logging
import os
import re
import sys
import types
import uuid
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from support.contract import sdk_readme_examples, sdk_readme_examples_named
from support.helpers import private_pem

import gr4vy_async
from gr4vy_async import RetryConfig, auth, errors, utils
from gr4vy_async.testing import Fault
from gr4vy_async.testing.fake import FakeGr4vy

EXAMPLES = sdk_readme_examples_named()

#: Errors in the README's own code, which fail under the SDK too: (wrong, fixed, how many).
README_ERRATA = {
    "Bearer token generation": [
        (
            'auth.get_token(open("./private_key.pem").read()\n',
            'auth.get_token(open("./private_key.pem").read())\n',
            1,
        ),
    ],
    "Embed token generation": [("    privatekey,\n", "    private_key,\n", 1)],
    # A positional argument after keywords is a SyntaxError; the SDK names it retries=.
    "Retries #1": [("        RetryConfig(", "        retries=RetryConfig(", 1)],
    # A block holding only a comment is an IndentationError.
    "Resource Management": [
        ("here...\n", "here...\n        pass\n", 2),
    ],
}
#: Constructor options of the SDK this library has no equivalent for (httpx
#: clients: refused with advice, see test_sdk_compat).
NOT_HERE = ("client=", "async_client=")

#: Examples not run, and why (each one is about something other than checkout sessions).
SKIPPED = {
    "Merchant account ID selection #1": "a fragment, not Python (`merchant_account_id: '...'`"
    " is a SyntaxError under the SDK too); the per-call override it shows runs in"
    " 'Global Parameters / Example'",
    "Pagination": "checkout sessions have no list operation, so nothing pages",
    "Custom HTTP Client / httpx2 (Pydantic's httpx fork)": "aliases httpx to httpx2;"
    " gr4vy_async uses aiohttp, not httpx (pass session=aiohttp.ClientSession(...))",
}

#: What the twin of an example calling another resource keeps of that call's arguments.
TWIN_KEYWORDS = {"merchant_account_id", "retries", "server_url", "timeout_ms", "http_headers"}
OTHER_RESOURCE = re.compile(r"has no attribute '(transactions|account_updater|merchant_accounts)'")


@dataclasses.dataclass
class Run:
    """What an example did: its locals, the fake, the clients it made, what it printed."""

    scope: dict[str, Any]
    fake: FakeGr4vy
    clients: list[Any]
    printed: list[str]
    retry_configs: list[str]
    public_pem: bytes


Check = Callable[[Run], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Plan:
    """How an example is run, and what it must have done.

    ``twin``: it calls another resource; ``fault``: answered first to its
    request; ``differs``: with only the import changed it raises this
    (the documented migration difference) instead of being made async.
    """

    check: Check
    twin: bool = False
    fault: Fault | None = None
    differs: tuple[type[BaseException], str] | None = None


def as_async(source: str) -> str:
    """The async form of a sync example, as SDK 2.4.27 documents it, import renamed."""
    source = only_the_import(source)
    source = re.sub(r"(?<!async )with Gr4vy\(", "async with Gr4vy(", source)
    source = re.sub(r"(?<!await )\b(\w+\.checkout_sessions\.\w+)\(", r"await \1_async(", source)
    return source.replace(
        "= auth.get_embed_token_with_checkout_session(",
        "= await auth.get_embed_token_with_checkout_session(",
    )


def only_the_import(source: str) -> str:
    return re.sub(r"\b(from|import) gr4vy\b", r"\1 gr4vy_async", source)


def with_errata(name: str, source: str) -> str:
    for wrong, fixed, count in README_ERRATA.get(name, []):
        assert source.count(wrong) == count, f"erratum no longer in the README: {wrong!r}"
        source = source.replace(wrong, fixed)
    return source


def twin(source: str) -> str:
    """The example with each call on another resource made a checkout-session create."""
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and re.match(r"g_client\.(?!checkout_sessions\.)\w", ast.unparse(node.func))
    ]
    assert calls, "no call on another resource"
    for call in calls:
        kept = [ast.unparse(k) for k in call.keywords if k.arg in TWIN_KEYWORDS]
        original = ast.get_source_segment(source, call)
        assert original is not None
        source = source.replace(original, f"g_client.checkout_sessions.create({', '.join(kept)})")
    return source


def compiled(name: str, source: str) -> Any:
    """``source`` as the body of ``async def example()``, returning its locals.

    The value of each top-level expression statement is kept in ``_values``.
    An example that runs its own loop (``asyncio.run``) is compiled as it is.
    """
    if "asyncio.run(" in source:
        return compile(source, f"<SDK README: {name}>", "exec")
    body = ast.parse(source).body
    for index, node in enumerate(body):
        if isinstance(node, ast.Expr):
            append = ast.Attribute(ast.Name("_values", ast.Load()), "append", ast.Load())
            body[index] = ast.Expr(ast.Call(append, [node.value], []))
    function = ast.parse("async def example():\n    _values = []\n    return locals()").body[0]
    assert isinstance(function, ast.AsyncFunctionDef)
    function.body[1:1] = body
    module = ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))
    return compile(module, f"<SDK README: {name}>", "exec")


def read_only_open(path: str, *args: Any, **kwargs: Any) -> io.StringIO:
    """``open`` for the examples, which never close what they open (a ResourceWarning)."""
    return io.StringIO(Path(path).read_text())


def claims_of(token: str, public_pem: bytes) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, public_pem, algorithms=["ES512"])
    return claims


# --------------------------------------------------------------------------- checks


async def made_a_client(run: Run) -> None:
    """``Gr4vy()`` with the token from ``GR4VY_BEARER_AUTH``, as in the SDK."""
    (client,) = run.clients
    assert client.intended_url == "https://api.sandbox.example.gr4vy.app"
    assert not run.fake.requests


def created_one_session(merchant: str = "default", url: str | None = None) -> Check:
    """One create, as ``merchant``, with a signed token, on a client configured for ``url``."""

    async def check(run: Run) -> None:
        (request,) = run.fake.requests
        assert (request.method, request.status) == ("POST", 201)
        assert request.merchant_account_id == merchant
        if url is not None:
            (client,) = run.clients
            assert client.intended_url == url
        # What the example printed is the session (its repr), or nothing.
        assert all(line.startswith("CheckoutSession(") for line in run.printed)

    return check


async def bearer_token(run: Run) -> None:
    (token,) = [value for value in run.scope["_values"] if value is not None]
    assert isinstance(token, str)
    assert claims_of(token, run.public_pem)["scopes"] == ["*.read", "*.write"]
    assert not run.fake.requests


async def embed_token(run: Run) -> None:
    """Both Embed examples create a session through the client and pin it in an Embed token."""
    tokens = [value for value in [*run.scope["_values"], run.scope.get("token")] if value]
    (token,) = tokens
    assert isinstance(token, str)
    claims = claims_of(token, run.public_pem)
    (request,) = run.fake.requests
    assert (request.method, request.status, request.merchant_account_id) == ("POST", 201, "default")
    ((merchant, session_id),) = run.fake.sessions
    assert merchant == "default"
    assert claims["scopes"] == ["embed"]
    assert claims["checkout_session_id"] == session_id
    assert claims["embed"] == {
        "amount": 1299,
        "currency": "USD",
        "buyer_external_identifier": "user-1234",
    }


#: The retry settings both Retries examples pass.
README_RETRIES = "RetryConfig('backoff', BackoffStrategy(1, 50, 1.1, 100"


async def retried_with_the_readme_settings(run: Run) -> None:
    """The 429 answered first is retried, under the example's own RetryConfig."""
    assert [r.status for r in run.fake.requests] == [429, 201]
    assert run.retry_configs
    assert all(config.startswith(README_RETRIES) for config in run.retry_configs)


async def printed_the_error(run: Run) -> None:
    """The except branch ran: every attribute the README prints, with the SDK's meaning."""
    assert [r.status for r in run.fake.requests] == [400]
    message, status, body, headers, raw, *data = run.printed
    assert message == "amount: too large"  # the API's message, as in the SDK
    assert status == "400"
    assert json.loads(body)["message"] == "amount: too large"
    assert "application/json" in headers
    assert raw == "<Response [400]>"
    assert data == ["error", "bad_request", "400", "amount: too large", "[]"]


async def sync_main_fails_at_once_async_main_runs(run: Run) -> None:
    """``main`` (sync ``with``) raised TypeError before any request; ``amain`` runs."""
    assert not run.fake.requests
    await run.scope["amain"]()
    assert len(run.clients) == 2


async def debug_lines_go_to_the_logger(run: Run) -> None:
    client = run.scope["s"]
    records: list[logging.LogRecord] = []

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Kept(logging.DEBUG)
    gr4vy_logger = logging.getLogger("gr4vy")
    gr4vy_logger.addHandler(handler)
    level = gr4vy_logger.level
    gr4vy_logger.setLevel(logging.DEBUG)
    try:
        async with client:
            await client.checkout_sessions.create()
    finally:
        gr4vy_logger.removeHandler(handler)
        gr4vy_logger.setLevel(level)
    assert any("POST" in record.getMessage() for record in records)


async def the_placeholder_webhook_is_refused(run: Run) -> None:
    # The example's placeholders verify under neither SDK: the same call shape and the
    # ValueError it catches run here unchanged (gr4vy_async.webhooks.verify_webhook).
    assert len(run.printed) == 1
    assert run.printed[0].startswith("Webhook verification failed: ")
    assert "your-webhook-secret" not in run.printed[0]


async def refused_with_advice(run: Run) -> None:
    assert not run.fake.requests


PLANS: dict[str, Plan] = {
    "SDK Installation / Shell and script usage with `uv`": Plan(made_a_client),
    "SDK Example Usage / Example #1": Plan(
        created_one_session(url="https://api.example.gr4vy.app"), twin=True
    ),
    "SDK Example Usage / Example #2": Plan(
        created_one_session(url="https://api.example.gr4vy.app"), twin=True
    ),
    "Bearer token generation": Plan(bearer_token),
    "Embed token generation": Plan(embed_token),
    "Embed token generation / Attaching a checkout session automatically": Plan(embed_token),
    "Merchant account ID selection #2": Plan(
        created_one_session("merchant-12345", "https://api.sandbox.spider.gr4vy.app"), twin=True
    ),
    "Global Parameters / Example": Plan(created_one_session("merchant-12345"), twin=True),
    "Retries #1": Plan(
        retried_with_the_readme_settings, twin=True, fault=Fault.status(429, retry_after=0)
    ),
    "Retries #2": Plan(
        retried_with_the_readme_settings, twin=True, fault=Fault.status(429, retry_after=0)
    ),
    "Error Handling / Example": Plan(
        printed_the_error, twin=True, fault=Fault.status(400, message="amount: too large")
    ),
    "Server Selection / Select Server by Name": Plan(
        created_one_session(url="https://api.sandbox.example.gr4vy.app"), twin=True
    ),
    "Server Selection / Override Server URL Per-Client": Plan(
        created_one_session(url="https://api.sandbox.example.gr4vy.app"), twin=True
    ),
    "Custom HTTP Client #1": Plan(
        refused_with_advice,
        differs=(
            errors.InvalidRequestError,
            r"client: httpx clients are not used here; pass "
            r"session=aiohttp\.ClientSession",
        ),
    ),
    "Custom HTTP Client #2": Plan(
        refused_with_advice,
        differs=(ModuleNotFoundError, "No module named 'gr4vy_async.httpclient'"),
    ),
    "Resource Management": Plan(
        sync_main_fails_at_once_async_main_runs,
        differs=(TypeError, r"Gr4vy is async: use `async with Gr4vy\(\.\.\.\) as client:`"),
    ),
    "Debugging": Plan(debug_lines_go_to_the_logger),
    "Webhooks verification": Plan(the_placeholder_webhook_is_refused),
}


def test_every_example_is_run_or_skipped_for_a_reason() -> None:
    assert len(EXAMPLES) == len(sdk_readme_examples()) == 21
    assert not set(PLANS) & set(SKIPPED)
    assert set(PLANS) | set(SKIPPED) == set(EXAMPLES)
    assert set(README_ERRATA) <= set(PLANS)
    for name in PLANS:
        source = EXAMPLES[name]
        calls_other = re.search(r"g_client\.(?!checkout_sessions\b)\w+\.", source)
        assert PLANS[name].twin == bool(calls_other), name


def test_the_sections_the_issue_names_all_run() -> None:
    """Checkout sessions, auth, errors, retries, timeouts, server selection: none skipped."""
    for section in ("Embed token", "Bearer token", "Error Handling", "Retries", "Server Selection"):
        assert not [name for name in SKIPPED if name.startswith(section)]
        assert [name for name in PLANS if name.startswith(section)]
    # The README shows no timeout (timeout_ms runs in test_sdk_compat).
    assert not [name for name, code in EXAMPLES.items() if "timeout_ms" in code]


def test_the_examples_chosen_are_the_checkout_session_and_auth_ones() -> None:
    """The examples that touch checkout sessions or auth and no other resource run as written."""
    chosen = [
        name
        for name, code in EXAMPLES.items()
        if ("auth." in code or "checkout_sessions" in code)
        and set(re.findall(r"g_client\.(\w+)", code)) <= {"checkout_sessions"}
    ]
    assert chosen == [
        "Bearer token generation",
        "Embed token generation",
        "Embed token generation / Attaching a checkout session automatically",
    ]
    assert not any(PLANS[name].twin or PLANS[name].differs for name in chosen)


def test_only_the_import_and_async_await_change() -> None:
    def without_async(source: str) -> str:
        return re.sub(r"\b(async|await) ", "", source).replace("_async(", "(")

    for name, written in EXAMPLES.items():
        if name in SKIPPED or PLANS[name].differs:
            continue
        source = with_errata(name, written)
        for form in (source, twin(source)) if PLANS[name].twin else (source,):
            assert without_async(as_async(form)) == without_async(only_the_import(form)), name
            assert only_the_import(form).replace("gr4vy_async", "gr4vy") == form


@pytest.fixture
def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def key_file(
    key: ec.EllipticCurvePrivateKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """``./private_key.pem`` where the examples open it, and its token in the environment."""
    pem = private_pem(key)
    (tmp_path / "private_key.pem").write_text(pem)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GR4VY_BEARER_AUTH", auth.get_token(pem))
    monkeypatch.delenv("GR4VY_MERCHANT_ACCOUNT_ID", raising=False)
    return pem


@pytest.fixture
async def fake(public_pem: bytes) -> Any:
    async with FakeGr4vy(public_key=public_pem) as fake:
        yield fake


@pytest.fixture
def clients(fake: FakeGr4vy, monkeypatch: pytest.MonkeyPatch) -> list[gr4vy_async.Gr4vy]:
    """``gr4vy_async.Gr4vy`` pointed at the fake; the clients it made.

    Each keeps the URL its arguments chose (``intended_url``).
    """
    made: list[gr4vy_async.Gr4vy] = []
    real = gr4vy_async.Gr4vy

    class PointedAtFake(real):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.intended_url = real(*args, **kwargs).server_url
            super().__init__(*args, **{**kwargs, "server_url": fake.url})
            made.append(self)

    monkeypatch.setattr(gr4vy_async, "Gr4vy", PointedAtFake)
    return made


@pytest.fixture
def root_logging() -> Any:
    """The root logger as it was, after an example's ``logging.basicConfig``."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.fixture
def retry_configs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SDK-style RetryConfigs built into ours (as the SDK call read), as they are made."""
    used: list[str] = []
    original = utils.RetryConfig

    def spy(*args: Any, **kwargs: Any) -> RetryConfig:
        shown = [*map(repr, args), *(f"{name}={value!r}" for name, value in kwargs.items())]
        used.append(f"RetryConfig({', '.join(shown)})")
        return original(*args, **kwargs)

    monkeypatch.setattr(utils, "RetryConfig", spy)
    return used


@pytest.fixture
def fake_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ``httpx`` to import (it is not installed: gr4vy_async does not use it)."""
    stub = types.ModuleType("httpx")
    stub.Client = stub.AsyncClient = lambda **kwargs: object()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "httpx", stub)


async def run_example(name: str, source: str, private_key: str) -> dict[str, Any]:
    """Run ``source``; the example's locals (for one that runs its own loop, its globals)."""
    namespace: dict[str, Any] = {
        "open": read_only_open,
        # The names the README's earlier examples bound, for those that use them unbound.
        "Gr4vy": gr4vy_async.Gr4vy,
        "auth": auth,
        "private_key": private_key,
    }
    code = compiled(name, source)
    if "asyncio.run(" in source:  # as a script: its own loop, in a thread
        await asyncio.to_thread(exec, code, namespace)
        return namespace
    exec(code, namespace)  # noqa: S102
    scope: dict[str, Any] = await namespace["example"]()
    return scope


async def run_as_written(name: str, source: str, private_key: str, scope: dict[str, Any]) -> None:
    """Run ``source`` with only the import changed, then its ``main()``, locals into ``scope``."""
    scope.update(await run_example(name, only_the_import(source), private_key))
    scope["main"]()


@pytest.mark.parametrize("name", PLANS)
@pytest.mark.usefixtures("fake_httpx", "root_logging")
async def test_readme_example(
    name: str,
    key_file: str,
    public_pem: bytes,
    fake: FakeGr4vy,
    clients: list[gr4vy_async.Gr4vy],
    retry_configs: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = PLANS[name]
    source = with_errata(name, EXAMPLES[name])
    scope: dict[str, Any] = {}
    try:
        if plan.differs is not None:
            # As written, only the import changed: the documented difference, at once.
            error, message = plan.differs
            with pytest.raises(error, match=message):
                await run_as_written(name, source, key_file, scope)
        else:
            if plan.twin:  # as written, the other resource does not exist here
                with pytest.raises(AttributeError, match=OTHER_RESOURCE):
                    await run_example(name, as_async(source), key_file)
                for client in clients:
                    await client.aclose()
                clients.clear()
                source = twin(source)
            if plan.fault is not None:
                fake.faults.enqueue("POST", plan.fault)
            capsys.readouterr()
            scope = await run_example(name, as_async(source), key_file)
        printed = capsys.readouterr().out.splitlines()
        await plan.check(Run(scope, fake, clients, printed, retry_configs, public_pem))
    finally:
        for client in clients:
            await client.aclose()


@pytest.mark.usefixtures("fake_httpx")
async def test_the_embed_examples_copied_without_await_fail_at_once(
    key_file: str, fake: FakeGr4vy, clients: list[gr4vy_async.Gr4vy]
) -> None:
    """The SDK's sync calls, left without ``await``: an error at the first use, no request."""
    embed = only_the_import(
        with_errata("Embed token generation", EXAMPLES["Embed token generation"])
    )
    attaching = only_the_import(
        EXAMPLES["Embed token generation / Attaching a checkout session automatically"]
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(AttributeError, match="'coroutine' object has no attribute 'id'"):
                await run_example("Embed token generation", embed, key_file)
            token = (await run_example("Attaching", attaching, key_file))["token"]
            with pytest.raises(TypeError, match=r"token = await auth\.get_embed_token_with"):
                f"Bearer {token}"
            del token
            gc.collect()
    finally:
        for client in clients:
            await client.aclose()
    assert not fake.requests
    warned = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert "coroutine 'CheckoutSessions.create' was never awaited" in warned
    assert any("get_embed_token_with_checkout_session(...) was never awaited" in t for t in warned)


# --------------------------------------------------------------------------- clients


def constructor_calls() -> list[tuple[str, str]]:
    """Every ``Gr4vy(...)`` call of the README, as source, with its section."""
    calls = []
    for heading, code in sdk_readme_examples():
        for match in re.finditer(r"\bGr4vy\(", code):
            depth, end = 0, match.end()
            for end in range(match.end() - 1, len(code)):
                depth += {"(": 1, ")": -1}.get(code[end], 0)
                if depth == 0:
                    break
            call = code[match.start() : end + 1]
            if not any(option in call for option in NOT_HERE):
                calls.append((heading, call))
    return calls


def test_constructor_calls_found() -> None:
    calls = [call for _, call in constructor_calls()]
    assert len(calls) >= 12
    assert any("retry_config=RetryConfig(" in call for call in calls)
    assert any("server_url=" in call for call in calls)
    assert any('server="sandbox"' in call for call in calls)


@pytest.mark.parametrize(
    ("heading", "call"),
    constructor_calls(),
    ids=[f"{i}-{h}" for i, (h, _) in enumerate(constructor_calls())],
)
async def test_readme_client_configuration_works(
    heading: str,
    call: str,
    key_file: str,
    public_pem: bytes,
    fake: FakeGr4vy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GR4VY_BEARER_AUTH", auth.get_token(key_file))
    names = {
        "Gr4vy": gr4vy_async.Gr4vy,
        "auth": auth,
        "os": os,
        "logging": logging,
        "RetryConfig": utils.RetryConfig,
        "BackoffStrategy": utils.BackoffStrategy,
        "private_key": key_file,
        "open": read_only_open,
    }
    # As written (server, id or server_url resolved and checked) ...
    client = eval(call, dict(names))  # noqa: S307
    assert re.fullmatch(r"https://api\.(sandbox\.)?[a-z]+\.gr4vy\.app", client.server_url)
    await client.aclose()
    # ... and pointed at the fake: a create goes through with its settings.

    class PointedAtFake(gr4vy_async.Gr4vy):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "server_url": fake.url})

    client = eval(call, {**names, "Gr4vy": PointedAtFake})  # noqa: S307
    async with client:
        session = await client.checkout_sessions.create_async()
    (request,) = fake.requests
    expected_merchant = re.search(r'merchant_account_id="([^"]+)"', call)
    assert request.merchant_account_id == (expected_merchant[1] if expected_merchant else "default")
    assert uuid.UUID(session.id)
