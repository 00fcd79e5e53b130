"""Every code block of the README and ``docs/`` runs, so a snippet that does not work fails here.

A block's info string says how it runs (an unknown one fails the test):

- ``python``: a program, run as ``__main__`` in a directory holding
  ``private_key.pem``, ``ids.txt`` and ``changes.json``, with every ``Gr4vy`` it
  makes pointed at a FakeGr4vy that checks ES512 signatures against that key;
- ``python module``: a module, imported (its top level runs);
- ``python app``: an aiohttp app module, served on loopback and its ``POST /checkout`` called;
- ``python test`` / ``python test-auto``: a pytest file, run by pytest in
  pytest-asyncio's strict / auto mode;
- ``sh``: every command runs in that directory, the CLI's against the fake (exit 0);
- ``sh parse``: commands of this package are parsed, not run (they serve
  forever or need Redis); other programs are left to the reader;
- ``sh no-run``: installs and the development loop, not run; none of its
  commands may be this package's. The two ``<!-- ci:NAME -->`` blocks are run
  by ``.ci/run``; here their commands of this package are parsed;
- ``text``, ``ini``: output and configuration, not code.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import logging
import re
import shlex
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from support.cli_runner import run_cli

import gr4vy_async
from gr4vy_async.cli import build_parser
from gr4vy_async.contrib.saq_cleanup.command_line import build_parser as queue_parser
from gr4vy_async.testing.__main__ import build_parser as fake_parser
from gr4vy_async.testing.fake import FakeGr4vy
from gr4vy_async.testing.keys import KeyPair

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: The seed's session id, which the examples use; the fake holds it for ``sh`` blocks.
SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
KINDS = {
    ("python", ""),
    ("python", "module"),
    ("python", "app"),
    ("python", "test"),
    ("python", "test-auto"),
    ("sh", ""),
    ("sh", "parse"),
    ("sh", "no-run"),
    ("text", ""),
    ("ini", ""),
}
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.M | re.S)
CI_MARKER = re.compile(r"<!-- ci:(\w+) -->\s*$")
#: How a command of this package starts, and what parses its arguments.
OURS: dict[tuple[str, ...], Callable[[list[str]], object]] = {
    ("gr4vy-async",): build_parser().parse_args,
    ("python", "-m", "gr4vy_async"): build_parser().parse_args,
    ("python", "-m", "gr4vy_async.testing"): fake_parser().parse_args,
    ("python", "-m", "gr4vy_async.contrib.saq_cleanup"): queue_parser().parse_args,
}


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced block: where it is, its info string and its text."""

    where: str
    language: str
    tag: str
    code: str
    ci: str | None

    def __str__(self) -> str:
        return self.where


def doc_blocks() -> list[Block]:
    """Every fenced block of the README and ``docs/*.md``, in order."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            language, _, tag = match[1].strip().partition(" ")
            line = text.count("\n", 0, match.start()) + 1
            ci = CI_MARKER.search(text[: match.start()])
            where = f"{path.relative_to(ROOT)}:{line}"
            found.append(Block(where, language, tag.strip(), match[2], ci and ci[1]))
    return found


BLOCKS = doc_blocks()


def of_kind(language: str, tag: str) -> list[Any]:
    return [pytest.param(b, id=b.where) for b in BLOCKS if (b.language, b.tag) == (language, tag)]


def commands(block: Block, env: dict[str, str]) -> Iterator[tuple[list[str], str | None]]:
    """``(argv, stdin file)`` per command of a shell block: comments, ``&&`` and ``&`` split,
    ``$NAME`` expanded from ``env``, ``export`` applied to it, ``cat FILE |`` as stdin."""
    for line in block.code.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|(?<![|&])&(?!&)", line.split(" #")[0]):
            words = shlex.split(re.sub(r"\$(\w+)", lambda m: env.get(m[1], m[0]), part))
            if not words:
                continue
            if words[0] == "export":
                for word in words[1:]:
                    name, _, value = word.partition("=")
                    env[name] = value
                continue
            stdin = None
            if words[0] == "cat" and "|" in words:
                stdin, words = words[1], words[words.index("|") + 1 :]
            yield words, stdin


def ours(argv: list[str]) -> tuple[tuple[str, ...], list[str]] | None:
    """The longest prefix of :data:`OURS` that ``argv`` starts with, and the rest.

    Any Python (``python3``, ``.venv/bin/python``) counts as ``python``.
    """
    if argv and re.fullmatch(r"python3?", Path(argv[0]).name):
        argv = ["python", *argv[1:]]
    for prefix in sorted(OURS, key=len, reverse=True):
        if tuple(argv[: len(prefix)]) == prefix:
            return prefix, argv[len(prefix) :]
    return None


# --------------------------------------------------------------------------- the blocks


def test_every_block_has_a_known_kind() -> None:
    assert len(BLOCKS) > 20
    unknown = [f"{b}: ```{b.language} {b.tag}" for b in BLOCKS if (b.language, b.tag) not in KINDS]
    assert unknown == []


def test_the_ci_blocks_are_the_two_that_ci_runs() -> None:
    ci = [(b.ci, b.where.split(":")[0], b.language, b.tag) for b in BLOCKS if b.ci]
    assert ci == [("main", "README.md", "sh", ""), ("test", "README.md", "sh", "")]
    assert "for name in main test; do" in (ROOT / ".ci" / "run").read_text()


@pytest.fixture
def key_pair() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_pair: KeyPair) -> Path:
    """The examples' directory: the key, an ids file (one id of each kind), a body."""
    (tmp_path / "private_key.pem").write_text(key_pair.private_key)
    ids = [SESSION_ID, str(uuid.uuid4()), str(uuid.uuid4())]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    (tmp_path / "changes.json").write_text('{"metadata": {"order_id": "o-2"}}')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379")
    for name in ("GR4VY_DEBUG", "GR4VY_BEARER_AUTH", "GR4VY_MERCHANT_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
async def fake(key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeGr4vy]:
    """A FakeGr4vy checking the examples' key, holding the seed's session; every
    ``gr4vy_async.Gr4vy(...)`` made meanwhile is pointed at it."""
    async with FakeGr4vy(public_key=key_pair.public_key) as fake:
        fake.create_session(session_id=SESSION_ID)
        url = fake.url

        class PointedAtFake(gr4vy_async.Gr4vy):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **{**kwargs, "server_url": url})

        monkeypatch.setattr(gr4vy_async, "Gr4vy", PointedAtFake)
        yield fake


def run(block: Block, name: str) -> dict[str, Any]:
    """Execute ``block`` as module ``name``, leaving the library's logging as it found it."""
    logger = logging.getLogger("gr4vy_async")
    handlers, level = list(logger.handlers), logger.level
    namespace: dict[str, Any] = {"__name__": name}
    try:
        exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102
    finally:
        logger.handlers[:], logger.level = handlers, level
    return namespace


@pytest.mark.parametrize("block", of_kind("python", ""))
async def test_python_program(block: Block, workdir: Path, fake: FakeGr4vy) -> None:
    await asyncio.to_thread(run, block, "__main__")
    assert all(request.status not in (401, 403) for request in fake.requests)


@pytest.mark.parametrize("block", of_kind("python", "module"))
async def test_python_module(block: Block, workdir: Path, fake: FakeGr4vy) -> None:
    assert run(block, "docs_example")


@pytest.mark.parametrize("block", of_kind("python", "app"))
async def test_aiohttp_app(block: Block, workdir: Path, fake: FakeGr4vy) -> None:
    app = run(block, "docs_example")["app"]
    assert isinstance(app, web.Application)
    async with TestClient(TestServer(app)) as http:
        response = await http.post("/checkout")
        assert response.status == 200
        session_id = (await response.json())["checkout_session_id"]
    assert [key for key in fake.sessions if key[1] == session_id] == [("default", session_id)]


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_pytest_files(mode: str, pytester: pytest.Pytester) -> None:
    tag = "test" if mode == "strict" else "test-auto"
    tests = [b for b in BLOCKS if (b.language, b.tag) == ("python", tag)]
    assert tests
    pytester.makeini(
        f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n"
    )
    for index, block in enumerate(tests):
        (pytester.path / f"test_block_{index}").mkdir()  # each its own fixtures
        (pytester.path / f"test_block_{index}" / f"test_block_{index}.py").write_text(block.code)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    outcomes.pop("warnings", None)
    outcomes.pop("warning", None)
    expected = sum(len(re.findall(r"^async def test_", b.code, re.M)) for b in tests)
    assert outcomes == {"passed": expected}, result.stdout.str()


@pytest.mark.parametrize("block", [p for p in of_kind("sh", "") if not p.values[0].ci])
async def test_shell_block(block: Block, workdir: Path, fake: FakeGr4vy) -> None:
    env = {"GR4VY_SERVER_URL": fake.url}
    ran = 0
    for argv, stdin in commands(block, env):
        found = ours(argv)
        assert found, f"{block}: {argv[0]} is not this package's: tag the block"
        data = (workdir / stdin).read_bytes() if stdin else b""
        code, _, err = await run_cli(*found[1], env=env, stdin=data)
        assert code == 0, f"{block}: {shlex.join(argv)}: {err}"
        ran += 1
    assert ran


def parse_ours(block: Block) -> int:
    """Parse each command of this package in ``block``; how many there were."""
    parsed = 0
    for argv, _ in commands(block, {}):
        found = ours(argv)
        if found:
            prefix, rest = found
            OURS[prefix](rest)  # argparse exits (a test failure) on a bad argument
            parsed += 1
    return parsed


@pytest.mark.parametrize("block", of_kind("sh", "parse"))
def test_shell_block_parses(block: Block) -> None:
    assert parse_ours(block)


def test_the_ci_blocks_parse() -> None:
    assert [parse_ours(block) for block in BLOCKS if block.ci] == [1, 0]


@pytest.mark.parametrize("block", of_kind("sh", "no-run"))
def test_no_run_blocks_hold_no_command_of_ours(block: Block) -> None:
    argvs = [argv for argv, _ in commands(block, {})]
    assert argvs
    assert [argv for argv in argvs if ours(argv)] == []


# --------------------------------------------------------------------------- links


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    headings = re.findall(r"^#+ (.*)$", path.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(document: Path) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (document.parent / file).resolve() if file else document
        if not path.exists() or (anchor and anchor not in anchors(path)):
            broken.append(target)
    assert broken == []


def test_the_errors_table_names_only_classes_that_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    names = set(re.findall(r"`((?:models\.)?[A-Z]\w+)`", "\n".join(rows)))
    assert {"Error404", "models.Error404", "ClientClosedError"} <= names

    def exists(name: str) -> bool:
        module, _, attribute = name.rpartition(".")
        where = gr4vy_async.models if module else gr4vy_async.errors
        return hasattr(where, attribute) or hasattr(builtins, name)

    assert sorted(name for name in names if not exists(name)) == []
    statuses = {int(s) for s in re.findall(r"\b([1-5]\d\d)\b", rows[2].split("|")[1])}
    assert statuses == set(gr4vy_async.errors.ERRORS_BY_STATUS) - {422}
