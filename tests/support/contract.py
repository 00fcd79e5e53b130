"""The spec, seed and SDK README the tests check against; helpers to read them and run the seed."""

from __future__ import annotations

import collections
import functools
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import gr4vy_async

CONTRACT = Path(__file__).parents[1] / "contract"
SPEC_PATH = CONTRACT / "checkout-sessions.openapi.json"
SEED_PATH = CONTRACT / "checkout_sessions.md"
SDK_README_PATH = CONTRACT / "gr4vy-2.4.27-README.md"

SEED_SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
NAMES = ["create", "get", "update", "delete"]


@functools.cache
def spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return document


def schemas() -> dict[str, Any]:
    found: dict[str, Any] = spec()["components"]["schemas"]
    return found


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for ``schema`` whose ``$ref``s resolve inside the spec file."""
    root = {**schema, "components": spec()["components"]}
    return jsonschema.Draft202012Validator(root)


def schema_validator(name: str) -> jsonschema.Draft202012Validator:
    return validator({"$ref": f"#/components/schemas/{name}"})


def operation(path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = spec()["paths"][path][method]
    return found


def seed_examples() -> list[str]:
    """The Python examples of the seed document, in order (create, get, update, delete)."""
    return re.findall(r"```python\n(.*?)```", SEED_PATH.read_text(), re.S)


def _sdk_readme_blocks() -> list[tuple[str, str, str]]:
    """``(## section, ## or ### heading, code)`` for every Python example of the SDK README."""
    examples = []
    section = heading = ""
    for block in re.split(r"^(#{2,3} .*)$", SDK_README_PATH.read_text(), flags=re.M):
        if re.match(r"#{2,3} ", block):
            heading = block.lstrip("# ").strip()
            section = heading if block.startswith("## ") else section
            continue
        examples += [
            (section, heading, code)
            for code in re.findall(r"```py(?:thon)?\n(.*?)```", block, re.S)
        ]
    return examples


def sdk_readme_examples() -> list[tuple[str, str]]:
    """``(section heading, code)`` for every Python example of the SDK 2.4.27 README."""
    return [(heading, code) for _, heading, code in _sdk_readme_blocks()]


def sdk_readme_examples_named() -> dict[str, str]:
    """Every Python example of the SDK 2.4.27 README by a unique name, in order.

    The name is the ``##`` section, then `` / `` and the ``###`` heading when
    there is one, then `` #n`` when a heading has more than one example.
    """
    named = [
        (heading if heading == section else f"{section} / {heading}", code)
        for section, heading, code in _sdk_readme_blocks()
    ]
    counts = collections.Counter(name for name, _ in named)
    seen: collections.Counter[str] = collections.Counter()
    examples = {}
    for name, code in named:
        seen[name] += 1
        examples[name if counts[name] == 1 else f"{name} #{seen[name]}"] = code
    return examples


def call_argument_source(example: str, keyword: str) -> str:
    """The source text of ``keyword=...`` in an example's call, brackets balanced."""
    start = example.index(f"{keyword}=") + len(keyword) + 1
    depth = 0
    for index in range(start, len(example)):
        char = example[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return example[start:index]
            depth -= 1
        elif char == "," and depth == 0:
            return example[start:index]
    raise ValueError(f"no balanced {keyword}= argument")


def as_async(source: str) -> str:
    """The example with the import renamed and ``async with`` / ``await`` added."""
    source = re.sub(r"\bfrom gr4vy(\.| )", r"from gr4vy_async\1", source)
    source = source.replace("with Gr4vy(", "async with Gr4vy(")
    source = source.replace("g_client.checkout_sessions.", "await g_client.checkout_sessions.")
    return source


def point_at(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``gr4vy_async.Gr4vy`` as the examples import it, pointed at ``url``."""

    class PointedAtServer(gr4vy_async.Gr4vy):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(server_url=url, **kwargs)

    monkeypatch.setattr(gr4vy_async, "Gr4vy", PointedAtServer)
    monkeypatch.setenv("GR4VY_BEARER_AUTH", "seed-token")


async def run_seed_example(index: int) -> None:
    """Run the seed's example ``index`` (0-3: create, get, update, delete), made async."""
    namespace: dict[str, Any] = {}
    code = "async def example():\n" + textwrap.indent(as_async(seed_examples()[index]), "    ")
    exec(compile(code, f"<seed example {NAMES[index]}>", "exec"), namespace)  # noqa: S102
    await namespace["example"]()
