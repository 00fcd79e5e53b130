"""A coroutine that fails loudly when used as the value it will give."""

from __future__ import annotations

import warnings
from collections.abc import Coroutine, Generator
from typing import Any, NoReturn, TypeVar

_T = TypeVar("_T")


class MustAwait(Coroutine[Any, Any, _T]):
    """``coroutine``, for a function that is synchronous in SDK 2.4.27 and async here.

    Awaited, passed to ``asyncio.run``, ``create_task`` or ``gather``, it is
    the coroutine. Used as a string the way the SDK's result is (``str``,
    f-strings, ``+``, ``.split`` and the other ``str`` methods), it raises a
    ``TypeError`` saying to ``await`` the call; dropped without being
    awaited, it warns (``RuntimeWarning``), naming the call.
    """

    __slots__ = ("_call", "_coroutine", "_started")

    def __init__(self, coroutine: Coroutine[Any, Any, _T], call: str) -> None:
        self._coroutine = coroutine
        self._call = call
        self._started = False

    def _not_awaited(self, *args: object) -> NoReturn:
        raise TypeError(
            f"{self._call}(...) is a coroutine here (synchronous in the official SDK): "
            f"write `token = await {self._call}(...)`"
        )

    __str__ = __format__ = __add__ = __radd__ = __len__ = __iter__ = __bool__ = _not_awaited

    def __getattr__(self, name: str) -> Any:
        if name.startswith("cr_"):  # asyncio's task repr reads these
            return getattr(self._coroutine, name)
        if not name.startswith("_") and hasattr(str, name):
            self._not_awaited()
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"<coroutine {self._call}(...): await it>"

    def __await__(self) -> Generator[Any, None, _T]:
        self._started = True
        return self._coroutine.__await__()

    def send(self, value: Any) -> Any:
        """As ``coroutine.send``."""
        self._started = True
        return self._coroutine.send(value)

    def throw(self, *args: Any) -> Any:
        """As ``coroutine.throw``."""
        self._started = True
        return self._coroutine.throw(*args)

    def close(self) -> None:
        """As ``coroutine.close``."""
        self._started = True
        self._coroutine.close()

    def __del__(self) -> None:
        if not self._started:
            self._coroutine.close()  # our warning instead of the inner coroutine's
            warnings.warn(
                f"{self._call}(...) was never awaited: it is a coroutine here (synchronous "
                f"in the official SDK); write `token = await {self._call}(...)`",
                RuntimeWarning,
                stacklevel=2,
            )
