"""The package's shape, checked statically (``ast``): one home per rule stays true.

- No private name crosses a module boundary inside the package: ``from .x import _y``
  and ``from . import x as _x`` are refused. A private *module* may be imported
  under its own name (``from . import _checks``, ``from ._checks import invalid``):
  its public names are what the package shares inside itself.
- No import cycle among ``gr4vy_async`` modules. Every import counts, including
  those inside functions (lazy, e.g. bulk on first use) and under
  ``TYPE_CHECKING``: a cycle that only a lazy import closes is still a cycle
  in the design. Importing ``a.b`` is an edge to ``a.b`` only (the implicit
  import of the parent package is not an edge).
- No module over 500 lines but ``models.py`` (the spec's models, one file).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gr4vy_async"
MAX_LINES = 500

#: Modules over MAX_LINES by design.
LONG_BY_DESIGN = {"gr4vy_async.models"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """``(module imported, [(name, as-name), ...])`` for each import in ``name``'s source."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if _is_package(name) else name.rpartition(".")[0]
    found: list[tuple[str, list[tuple[str, str]]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, [(alias.name, alias.asname or alias.name)]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.append((source, [(a.name, a.asname or a.name) for a in node.names]))
    return found


def _edges(name: str) -> set[str]:
    """The package's modules ``name`` imports (``from . import x`` names module ``x``)."""
    edges: set[str] = set()
    for source, names in _imports(name):
        if not source.startswith("gr4vy_async"):
            continue
        for imported, _ in names:
            submodule = f"{source}.{imported}"
            edges.add(submodule if submodule in MODULES else source)
    edges.discard(name)
    return {edge for edge in edges if edge in MODULES}


def graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    return {name: _edges(name) for name in MODULES}


def test_the_checks_see_the_package() -> None:
    assert "gr4vy_async._transport" in MODULES
    assert "gr4vy_async.checkout_sessions" in graph()["gr4vy_async.client"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_name_is_imported_across_modules(name: str) -> None:
    private = [
        f"{source}: {imported} as {bound}"
        for source, names in _imports(name)
        if source.startswith("gr4vy_async")
        for imported, bound in names
        if (bound != imported and _private(bound))
        or (_private(imported) and f"{source}.{imported}" not in MODULES)
    ]
    assert private == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_import_cycle() -> None:
    edges = graph()
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        path.append(name)
        for edge in sorted(edges[name]):
            visit(edge)
        path.pop()
        done.add(name)

    for name in sorted(edges):
        visit(name)


@pytest.mark.parametrize("name", sorted(set(MODULES) - LONG_BY_DESIGN))
def test_no_module_is_over_500_lines(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name}: {lines} lines"
