"""What a message, log line or printed frame may show of a value: the one home of redaction.

Values passed to this library may be personal data or secrets; what is shown
of them is decided here: :data:`REDACTED` for a hidden value, :class:`Secret`
for a credential string, :func:`hint` for a bad value's kind, and
:func:`field_path` for a caller's dict key.
"""

from __future__ import annotations

import re
from typing import Any

from ._defaults import BODY_PREFIX_LIMIT

__all__ = [
    "PLACEHOLDER",
    "REDACTED",
    "Secret",
    "body_prefix",
    "field_path",
    "hint",
    "is_field_name",
]

#: What stands for a hidden value, everywhere.
REDACTED = "[redacted]"

#: How the API's field names look: a dict key shaped otherwise is not repeated in a message.
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


class Secret(str):
    """A credential string (a token, an ``Authorization`` value) whose repr hides it.

    Header dicts and arguments sit in locals of frames a rich traceback with
    ``show_locals`` (or a debugger) prints; ``str()`` still gives the value
    aiohttp sends. rich shortens a long value by slicing it, so a slice keeps
    the class.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(REDACTED)

    def __getitem__(self, key: Any) -> str:
        return Secret(super().__getitem__(key))


class _Placeholder:
    """Stands for a hidden value in a pretty printer (shown as :data:`REDACTED`, unquoted)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return REDACTED


#: The value printers are given in place of a hidden one (rich's ``__rich_repr__``).
PLACEHOLDER = _Placeholder()


def hint(value: Any) -> str:
    """What a bad value is, without the value: ``str of length 37``, ``int``, ``None``.

    Error messages show this instead of the value, which may be personal data
    or a secret pasted into the wrong argument.
    """
    if value is None:
        return "None"
    name = type(value).__name__
    if isinstance(value, (str, bytes)):
        return f"{name} of length {len(value)}"
    return name


def is_field_name(key: str) -> bool:
    """Whether ``key`` is shaped like the API's field names, so a message may name it."""
    return _FIELD_NAME.fullmatch(key) is not None


def field_path(path: str, key: str) -> str:
    """``path.key``; a key that does not look like a field name is ``path[...]``, as msgspec has it.

    A caller's dict key may be personal data or a secret (an email as a key),
    so only keys shaped like the API's own field names are named.
    """
    if not is_field_name(key):
        return f"{path}[...]"
    return f"{path}.{key}" if path else key


def body_prefix(body: bytes) -> str:
    """The start of a response body as text, all an exception keeps of it (``body``)."""
    return body[: BODY_PREFIX_LIMIT * 4].decode("utf-8", "replace")[:BODY_PREFIX_LIMIT]
