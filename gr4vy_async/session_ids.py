"""The one session-id rule: what the client, bulk runs and the CLI accept as a session id.

A session id is exactly one of:

- the canonical UUID text, ``8-4-4-4-12`` ASCII hex digits in any case;
- the same 32 ASCII hex digits without hyphens;
- a :class:`uuid.UUID`.

Nothing else: no surrounding or inner whitespace, no signs, underscores,
braces or ``urn:uuid:`` prefix, no non-ASCII digits. ``uuid.UUID(text)``
reads all of those, and a mistyped id (31 digits and a space) as another,
zero-padded one; a delete tool must act only on the id that was typed.
"""

from __future__ import annotations

import re
import uuid

from ._redact import hint
from .errors import InvalidRequestError

__all__ = ["canonical_session_id", "is_session_id", "listed_session_id", "why_not_a_session_id"]

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ANY_CASE = re.compile(_CANONICAL.pattern, re.IGNORECASE | re.ASCII)
_BARE = re.compile(r"[0-9a-f]{32}", re.IGNORECASE | re.ASCII)
_NOT_HEX_OR_HYPHEN = re.compile(r"[^0-9a-fA-F-]")
_CANONICAL_LENGTH = 36


def why_not_a_session_id(value: object) -> str | None:
    """``None`` for a session id, else what is wrong with ``value``, repeating none of it.

    An id can be anything pasted in the wrong place (a token, an email): the
    reason gives a kind, a length or a position, never the text.
    """
    if isinstance(value, uuid.UUID):
        return None
    if not isinstance(value, str):
        return f"not a string or UUID ({hint(value)})"
    if _CANONICAL.fullmatch(value) or _ANY_CASE.fullmatch(value) or _BARE.fullmatch(value):
        return None
    if not value:
        return "is empty"
    if len(value) > _CANONICAL_LENGTH:
        return f"is too long ({len(value)} characters)"
    bad = _NOT_HEX_OR_HYPHEN.search(value)
    if bad is not None:
        what = "whitespace" if bad.group().isspace() else "a character that is not a hex digit"
        return f"has {what} at position {bad.start() + 1}"
    digits = len(value) - value.count("-")
    if digits != 32:
        return f"has {digits} hex digits, not 32"
    return "has its hyphens out of place (expected 8-4-4-4-12)"


def is_session_id(value: object) -> bool:
    """Whether ``value`` is a session id by the rule above."""
    return why_not_a_session_id(value) is None


def canonical_session_id(session_id: str | uuid.UUID) -> str:
    """A session id as Gr4vy writes it (lower case, hyphens), checked before any I/O.

    The one check of a session id: the operations on one session, ``get_many``,
    ``delete_many`` and the CLI all use it. Anything but the forms above raises
    :class:`~gr4vy_async.errors.InvalidRequestError` (``field="session_id"``,
    ``reason`` from :func:`why_not_a_session_id`), which also stops path injection.
    """
    if isinstance(session_id, str) and _CANONICAL.fullmatch(session_id):
        return session_id  # the common case: one regex, no copy
    reason = why_not_a_session_id(session_id)
    if reason is not None:
        raise InvalidRequestError(
            f"session_id: expected a UUID, got {hint(session_id)}",
            field="session_id",
            reason=reason,
        )
    if isinstance(session_id, uuid.UUID):
        return str(session_id)
    # Checked above: ASCII hex digits, with or without the hyphens in place.
    return str(uuid.UUID(hex=session_id.replace("-", "")))


def listed_session_id(raw: object) -> str:
    """The canonical form of one id of many (a bulk source, a line of an ids file).

    The same rule as :func:`canonical_session_id`; the error says what the
    value is (``not a UUID: str of length 23``), never the value (a secret
    pasted into the wrong file). A file reader strips its line first; a value
    handed to ``delete_many`` is taken as it is.
    """
    try:
        return canonical_session_id(raw)  # type: ignore[arg-type]
    except InvalidRequestError:
        raise InvalidRequestError(f"not a UUID: {hint(raw)}", field="session_id") from None
