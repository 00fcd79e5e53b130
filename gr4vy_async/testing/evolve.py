"""What a later release of the API may add to a response, for ``FakeGr4vy(evolve=True)``.

A client must read tomorrow's responses: the API may add fields to any object
and values to any enum without a new version. :class:`Evolution` makes a
response look like that, so a test run shows what breaks before the API does.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from msgspec import inspect as mi

from .._codec import type_options

__all__ = ["Evolution"]


class Evolution:
    """Rewrites JSON responses as a later API release might send them.

    Every object of a model gains a field this release does not know (holding
    nested JSON), and every enum field holds a value it does not know
    (``evolved-<hex>``). Free-form maps (``metadata``) and each object's
    ``type`` are left alone. Names and values are drawn from ``seed`` and the
    field's place in the document, so the same seed gives the same bytes.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._infos: dict[Any, mi.Type] = {}

    def apply(self, body: bytes, type_: Any) -> bytes:
        """``body`` (JSON of a ``type_``) as the evolved API would send it."""
        info = self._infos.get(type_)
        if info is None:
            info = self._infos[type_] = mi.type_info(type_)
        return msgspec.json.encode(self._evolved(msgspec.json.decode(body), info, "$"))

    def _token(self, path: str) -> str:
        return hashlib.blake2s(f"{self.seed}:{path}".encode(), digest_size=4).hexdigest()

    def _evolved(self, value: Any, info: mi.Type, path: str) -> Any:
        for option in type_options(info):
            if isinstance(option, mi.StructType) and isinstance(value, dict):
                fields = {field.encode_name: field.type for field in option.fields}
                evolved = {
                    key: self._evolved(item, fields[key], f"{path}.{key}")
                    if key in fields
                    else item
                    for key, item in value.items()
                }
                token = self._token(path)
                evolved[f"evolved_{token}"] = {"since": token, "items": [{"nested": True}]}
                return evolved
            if isinstance(option, mi.ListType) and isinstance(value, list):
                return [
                    self._evolved(item, option.item_type, f"{path}[{index}]")
                    for index, item in enumerate(value)
                ]
            if isinstance(option, mi.EnumType) and isinstance(value, str):
                return f"evolved-{self._token(path)}"
        return value
