"""The package's public surface: what each module exports, the exception tree, one home per rule."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import uuid
from pathlib import Path
from types import ModuleType

import pytest

import gr4vy_async
from gr4vy_async import Gr4vy, RetryConfig, auth, cli, client, errors
from gr4vy_async._transport import USER_AGENT
from gr4vy_async.checkout_sessions import canonical_session_id
from gr4vy_async.session_ids import listed_session_id
from gr4vy_async.testing import FakeGr4vy, Fault
from gr4vy_async.testing.keys import KeyPair

MODULES = sorted(info.name for info in pkgutil.walk_packages(gr4vy_async.__path__, "gr4vy_async."))
# A module whose own name starts with "_" (``_codec``, ``_transport``, ``_version``) is
# private as a whole (PEP 8): its names are shared inside the package only.
PUBLIC_MODULES = ["gr4vy_async"] + [name for name in MODULES if not re.search(r"\._(?!_)", name)]


def _defined_names(module: ModuleType) -> set[str]:
    """The names a module binds at top level itself (def, class, assignment)."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def test_every_public_module_is_covered() -> None:
    assert "gr4vy_async.testing.fake" in PUBLIC_MODULES
    assert "gr4vy_async.contrib.saq_cleanup" in PUBLIC_MODULES
    assert "gr4vy_async._transport" not in PUBLIC_MODULES


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_exactly_the_public_names(name: str) -> None:
    """``__all__`` lists every public name the module defines, and re-exports only real names."""
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "a name listed twice"
    defined = {n for n in _defined_names(module) if not n.startswith("_")}
    assert sorted(defined - set(exported)) == [], "public names missing from __all__"
    for exported_name in exported:
        assert exported_name in defined or hasattr(module, exported_name), exported_name
    dunders = {n for n in exported if n.startswith("_")}
    assert dunders <= {"__version__"}


def test_the_package_exports_what_its_readme_uses() -> None:
    assert set(gr4vy_async.__all__) == {
        "Gr4vy",
        "RetryConfig",
        "__version__",
        "auth",
        "errors",
        "models",
    }
    assert "ERRORS_BY_STATUS" in errors.__all__
    assert "strict_enums" not in vars(gr4vy_async.models)


# ---------------------------------------------------------------- exceptions


def _drawn_tree() -> dict[str, str | None]:
    """Class -> parent, as drawn in ``errors``' docstring."""
    assert errors.__doc__ is not None
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in errors.__doc__.splitlines():
        match = re.match(r"^ {4}((?:[│ ] {3})*(?:[├└]── )?)([A-Z]\w+)", line)
        if match is None:
            continue
        depth = len(match.group(1)) // 4
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group(2)] = stack[-1][1] if stack else None
        stack.append((depth, match.group(2)))
    return parents


def test_the_exception_tree_is_drawn_as_the_classes_are() -> None:
    exported = {
        name: getattr(errors, name)
        for name in errors.__all__
        if isinstance(getattr(errors, name), type)
        and issubclass(getattr(errors, name), BaseException)
    }
    classes = {name: cls for name, cls in exported.items() if cls.__name__ == name}
    # An SDK name for one of the classes is said on that class's line of the tree.
    aliases = {name: cls for name, cls in exported.items() if cls.__name__ != name}
    assert aliases == {"NoResponseError": errors.TransportError}
    assert errors.__doc__ is not None
    for alias, cls in aliases.items():
        assert re.search(rf"── {cls.__name__} .*\b{alias}\b", errors.__doc__), alias
    drawn = _drawn_tree()
    assert set(drawn) == set(classes)
    for name, cls in classes.items():
        bases = [b.__name__ for b in cls.__mro__[1:] if issubclass(b, errors.Gr4vyError)]
        public = [b for b in bases if not b.startswith("_")]
        assert drawn[name] == (public[0] if public else None), name


def test_one_base_for_every_error_that_carries_a_status() -> None:
    with_status = [
        *errors.ERRORS_BY_STATUS.values(),
        errors.Error403Forbidden,
        errors.Error403Active,
        errors.APIError,
        errors.ResponseValidationError,
        errors.ResponseTooLargeError,
    ]
    for cls in with_status:
        assert issubclass(cls, errors.ResponseError), cls
    before_a_response = [
        errors.InvalidRequestError,
        errors.ClientClosedError,
        errors.EventLoopError,
        errors.TokenProviderError,
        errors.TransportError,
        errors.ConnectError,
        errors.RequestTimeoutError,
    ]
    for cls in before_a_response:
        assert not issubclass(cls, errors.ResponseError), cls


@pytest.mark.parametrize("status", [*sorted(errors.ERRORS_BY_STATUS), 418, 503, 599])
async def test_one_except_catches_any_error_status(status: int) -> None:
    async with FakeGr4vy() as fake:
        fake.faults.enqueue("GET", Fault.status(status, retry_after=0), times=1)
        async with Gr4vy(server_url=fake.url, bearer_auth="token") as client_:
            try:
                await client_.checkout_sessions.get(session_id=ID, retries=RetryConfig.none())
            except errors.ResponseError as error:
                caught: errors.ResponseError = error
            else:
                pytest.fail("no error")
    assert caught.status_code == status
    expected = errors.ERRORS_BY_STATUS.get(status, errors.APIError)
    assert isinstance(caught, expected)


# ---------------------------------------------------------------- one home per rule

ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
ID_FORMS: list[object] = [
    ID,
    ID.upper(),
    "{" + ID + "}",
    ID.replace("-", ""),
    "urn:uuid:" + ID,
    uuid.UUID(ID),
    "../x",
    "",
    "4137b1cf",
    ID + "/../x",
    5,
    None,
    b"x",
]


@pytest.mark.parametrize("raw", ID_FORMS, ids=repr)
def test_one_session_id_check_for_calls_bulk_and_cli(raw: object) -> None:
    try:
        expected: str | None = canonical_session_id(raw)  # type: ignore[arg-type]
    except errors.InvalidRequestError as error:
        field: str | None = error.field
        expected = None
    else:
        field = "session_id"
    assert field == "session_id"
    assert expected in (ID, None)
    try:
        from_bulk: str | None = listed_session_id(raw)
    except errors.InvalidRequestError:
        from_bulk = None
    assert from_bulk == expected
    if isinstance(raw, str):
        try:
            from_cli: str | None = cli.options.session_id_argument(raw)
        except Exception:
            from_cli = None
        assert from_cli == expected


def test_one_version_string_one_default_timeout() -> None:
    assert USER_AGENT == auth.ISSUER == f"gr4vy-async/{gr4vy_async.__version__}"
    (timeout,) = (option for option in cli.GLOBAL_OPTIONS if option.flags == ("--timeout",))
    assert timeout.default == client.DEFAULT_TIMEOUT


def test_fault_has_one_public_home() -> None:
    homes = [
        name
        for name in PUBLIC_MODULES
        if "Fault" in getattr(importlib.import_module(name), "__all__", ())
    ]
    # testing re-exports it from the module that defines it, as its docstring says.
    assert homes == ["gr4vy_async.testing", "gr4vy_async.testing.faults"]
    assert "faults" in (importlib.import_module("gr4vy_async.testing").__doc__ or "")


def test_only_the_testing_package_imports_the_test_server_at_import_time() -> None:
    """The shipped library and CLI do not need FakeGr4vy to import; ``demo`` lives in testing."""
    root = Path(gr4vy_async.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if "testing" in path.relative_to(root).parts:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and "testing" in (node.module or ""):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


# ---------------------------------------------------------------- README


async def test_the_readme_first_call_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's first example, pointed at FakeGr4vy checking its ES512 token."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## A first call\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    pair = KeyPair.generate()
    (tmp_path / "private_key.pem").write_text(pair.private_key)
    monkeypatch.chdir(tmp_path)
    async with FakeGr4vy(public_key=pair.public_key) as fake:
        target = 'id="acme", server="sandbox"'
        assert code.count(target) == 1
        assert code.count("asyncio.run(main())") == 1
        code = code.replace(target, f"server_url={fake.url!r}").replace("asyncio.run(main())", "")
        namespace: dict[str, object] = {}
        exec(compile(code, "<README: A first call>", "exec"), namespace)  # noqa: S102
        main = namespace["main"]
        assert callable(main)
        await main()
    assert [(r.method, r.status) for r in fake.requests] == [
        ("POST", 201),
        ("GET", 200),
        ("PUT", 200),
        ("DELETE", 204),
    ]
