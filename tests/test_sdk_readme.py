"""The official SDK 2.4.27 README's examples run here with only the import changed.

The examples are read from the vendored README (``tests/contract/``). Those
about checkout sessions and ``auth`` are put in async form (``async with``,
``await ..._async(...)``, ``await auth.get_embed_token_with_checkout_session``)
and run against FakeGr4vy checking ES512 signatures; every ``Gr4vy(...)`` the
README configures is built with our ``Gr4vy`` and makes a request.
"""

from __future__ import annotations

import ast
import io
import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from support.contract import sdk_readme_examples
from support.helpers import private_pem

import gr4vy_async
from gr4vy_async import auth, utils
from gr4vy_async.testing.fake import FakeGr4vy

#: Errors in the README's own code, which fail under the SDK too: (wrong, fixed).
README_ERRATA = {
    "Bearer token generation": [
        (
            'auth.get_token(open("./private_key.pem").read()\n',
            'auth.get_token(open("./private_key.pem").read())\n',
        ),
    ],
    "Embed token generation": [("    privatekey,\n", "    private_key,\n")],
}
#: Constructor options of the SDK this library has no equivalent for (httpx
#: clients: refused with advice, see test_sdk_compat).
NOT_HERE = ("client=", "async_client=")


def runnable_examples() -> list[tuple[str, str]]:
    """The examples about checkout sessions or auth that use no other API resource."""
    chosen = []
    for heading, code in sdk_readme_examples():
        resources = set(re.findall(r"g_client\.(\w+)", code))
        if ("auth." in code or "checkout_sessions" in code) and resources <= {"checkout_sessions"}:
            chosen.append((heading, code))
    return chosen


def as_async(source: str) -> str:
    """The async form of a sync example, as SDK 2.4.27 documents it, import renamed."""
    source = re.sub(r"\bfrom gr4vy(\.| )", r"from gr4vy_async\1", source)
    source = source.replace("with Gr4vy(", "async with Gr4vy(")
    source = re.sub(r"(\w+\.checkout_sessions\.\w+)\(", r"await \1_async(", source)
    return source.replace(
        "auth.get_embed_token_with_checkout_session(",
        "await auth.get_embed_token_with_checkout_session(",
    )


def with_errata(heading: str, source: str) -> str:
    for wrong, fixed in README_ERRATA.get(heading, []):
        assert source.count(wrong) == 1, f"erratum no longer in the README: {wrong!r}"
        source = source.replace(wrong, fixed)
    return source


def compiled(heading: str, source: str) -> Any:
    """``source`` as the body of ``async def example()``, returning its locals.

    The value of each top-level expression statement is kept in ``_values``.
    """
    body = ast.parse(source).body
    for index, node in enumerate(body):
        if isinstance(node, ast.Expr):
            append = ast.Attribute(ast.Name("_values", ast.Load()), "append", ast.Load())
            body[index] = ast.Expr(ast.Call(append, [node.value], []))
    function = ast.parse("async def example():\n    _values = []\n    return locals()").body[0]
    assert isinstance(function, ast.AsyncFunctionDef)
    function.body[1:1] = body
    module = ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))
    return compile(module, f"<SDK README: {heading}>", "exec")


@pytest.fixture
def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def key_file(
    key: ec.EllipticCurvePrivateKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """``./private_key.pem`` where the examples open it; returns the PEM."""
    pem = private_pem(key)
    (tmp_path / "private_key.pem").write_text(pem)
    monkeypatch.chdir(tmp_path)
    return pem


@pytest.fixture
async def fake(public_pem: bytes) -> Any:
    async with FakeGr4vy(public_key=public_pem) as fake:
        yield fake


@pytest.fixture
def clients(fake: FakeGr4vy, monkeypatch: pytest.MonkeyPatch) -> list[gr4vy_async.Gr4vy]:
    """``gr4vy_async.Gr4vy`` pointed at the fake; the clients it made."""
    made: list[gr4vy_async.Gr4vy] = []

    class PointedAtFake(gr4vy_async.Gr4vy):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "server_url": fake.url})
            made.append(self)

    monkeypatch.setattr(gr4vy_async, "Gr4vy", PointedAtFake)
    return made


def test_the_examples_chosen_are_the_checkout_session_and_auth_ones() -> None:
    headings = [heading for heading, _ in runnable_examples()]
    assert headings == [
        "Bearer token generation",
        "Embed token generation",
        "Attaching a checkout session automatically",
    ]


def test_only_the_import_and_async_await_change() -> None:
    for _, source in runnable_examples():
        undone = re.sub(r"await (\S+)_async\(", r"\1(", as_async(source))
        undone = undone.replace("await ", "").replace("async with", "with")
        assert undone == source.replace("from gr4vy", "from gr4vy_async")


def read_only_open(path: str, *args: Any, **kwargs: Any) -> io.StringIO:
    """``open`` for the examples, which never close what they open (a ResourceWarning)."""
    return io.StringIO(Path(path).read_text())


def claims_of(token: str, public_pem: bytes) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, public_pem, algorithms=["ES512"])
    return claims


@pytest.mark.parametrize(
    ("heading", "source"), runnable_examples(), ids=[h for h, _ in runnable_examples()]
)
async def test_readme_example_runs(
    heading: str,
    source: str,
    key_file: str,
    public_pem: bytes,
    fake: FakeGr4vy,
    clients: list[gr4vy_async.Gr4vy],
) -> None:
    namespace: dict[str, Any] = {"open": read_only_open}
    code = compiled(heading, with_errata(heading, as_async(source)))
    exec(code, namespace)  # noqa: S102
    try:
        scope = await namespace["example"]()
    finally:
        for client in clients:
            await client.aclose()

    tokens = [value for value in [*scope["_values"], scope.get("token")] if value is not None]
    (token,) = tokens
    assert isinstance(token, str)
    claims = claims_of(token, public_pem)
    if heading == "Bearer token generation":
        assert claims["scopes"] == ["*.read", "*.write"]
        assert not fake.requests
        return
    # Both Embed examples create a session through the client (a signed token,
    # merchant account "default") and pin it in an Embed token.
    (request,) = fake.requests
    assert (request.method, request.status, request.merchant_account_id) == ("POST", 201, "default")
    ((merchant, session_id),) = fake.sessions
    assert merchant == "default"
    assert claims["scopes"] == ["embed"]
    assert claims["checkout_session_id"] == session_id
    assert claims["embed"] == {
        "amount": 1299,
        "currency": "USD",
        "buyer_external_identifier": "user-1234",
    }


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
