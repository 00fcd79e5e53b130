"""Checks of values a caller passes, each rule once, one message shape.

Every refusal is an :class:`~gr4vy_async.errors.InvalidRequestError` reading
``"<field>: expected ..."``, with ``field=`` and ``reason=`` set, raised
before any network call; no message shows the value itself.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping

from yarl import URL

from ._redact import Secret, hint
from .errors import InvalidRequestError

__all__ = [
    "MERCHANT_HEADER",
    "bearer_header",
    "finite_number",
    "header_value",
    "invalid",
    "merge_headers",
    "non_negative",
    "server_url",
    "timeout",
    "whole_number",
]

MERCHANT_HEADER = "x-gr4vy-merchant-account-id"

# RFC 9110 5.1 (field-name = token) and 5.5 (field-value: no CTL but HTAB).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# RFC 6750 2.1: b64token, what a bearer token (a JWT) is made of.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: Headers the client sets itself: passing them in ``headers`` is an error, not an override.
_RESERVED_HEADERS = {
    "authorization": "pass the token as bearer_auth",
    MERCHANT_HEADER: "pass merchant_account_id",
    "content-type": "the client sends JSON",
    "content-length": "set by the client",
    "transfer-encoding": "set by the client",
    "host": "set from the server URL",
}


def invalid(field: str, expected: str, reason: str = "range") -> InvalidRequestError:
    """The one shape of a refused value: ``"<field>: expected <expected>"``."""
    return InvalidRequestError(f"{field}: expected {expected}", field=field, reason=reason)


def finite_number(value: object) -> bool:
    """Whether ``value`` is an int or float (not a bool) with a finite float value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def whole_number(value: object, field: str, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid(field, f"a whole number, at least {minimum}")
    return value


def non_negative(value: object, field: str, unit: str = "seconds") -> float:
    """``value`` if it is a finite number of ``unit``, at least 0."""
    if not (finite_number(value) and value >= 0):  # type: ignore[operator]
        raise invalid(field, f"a finite number of {unit}, at least 0")
    return value  # type: ignore[return-value]


def timeout(value: object, field: str = "timeout_in_seconds", unit: str = "seconds") -> float:
    """A timeout in ``unit``: a real number (not a bool), finite and above zero."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(field, f"a number of {unit}, got {type(value).__name__}", "not a number")
    if not (finite_number(value) and value > 0):
        raise invalid(field, f"a finite number of {unit} above 0")
    return float(value)


def header_value(name: object, value: object, field: str) -> str:
    """``value`` as a plain ``str``; refused: a name that is not an RFC 9110 token, a value
    with a control character.

    The value returned is what was checked, even from a ``str`` subclass whose
    ``__str__`` (what aiohttp writes) says something else.
    """
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise invalid(
            field,
            "a header name: a non-empty string of RFC 9110 token characters",
            "invalid header name",
        )
    where = f"{field}[{name!r}]" if field == "headers" else field
    if not isinstance(value, str):
        raise invalid(where, f"a string, got {type(value).__name__}", "not a string")
    if _CONTROL.search(value):
        raise invalid(
            where,
            "no control character (only tab is allowed in a header value)",
            "control character",
        )
    return str.__str__(value)


def merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base`` updated with checked ``extra`` headers, names compared case-insensitively."""
    if not isinstance(extra, Mapping):
        raise invalid(
            "headers", f"a mapping of names to values, got {type(extra).__name__}", "not a mapping"
        )
    merged = dict(base)
    by_lower = {name.lower(): name for name in merged}
    for name, value in extra.items():
        value = header_value(name, value, "headers")
        name = str.__str__(name)
        why = _RESERVED_HEADERS.get(name.lower())
        if why is not None:
            raise InvalidRequestError(
                f"headers[{name!r}]: expected a header the client does not set ({why})",
                field="headers",
                reason=why,
            )
        previous = by_lower.pop(name.lower(), None)
        if previous is not None:
            del merged[previous]
        merged[name] = value
        by_lower[name.lower()] = name
    return merged


def bearer_header(token: object) -> Secret:
    """The ``Authorization`` value for a bearer token, checked (RFC 6750, no control char)."""
    if isinstance(token, str):
        token = Secret(token)  # this frame's locals may be printed
    if not isinstance(token, str) or not token:
        raise invalid("bearer_auth", "a non-empty token string", "no token")
    header_value("Authorization", token, "bearer_auth")
    if not _BEARER_TOKEN.fullmatch(token):
        raise invalid(
            "bearer_auth",
            "a bearer token (RFC 6750: letters, digits, -._~+/ then =; "
            "no spaces, no 'Bearer ' prefix)",
            "not a bearer token",
        )
    return Secret(f"Bearer {token}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def server_url(value: object, allow_insecure_http: bool, field: str = "server_url") -> str:
    """An absolute http(s) base URL without credentials: https, unless loopback or allowed."""
    if not isinstance(value, str):
        raise invalid(field, f"a string, got {hint(value)}", "not a string")
    try:
        url = URL(value)
    except (ValueError, TypeError):
        url = URL()
    if url.scheme not in ("https", "http") or not url.host:
        raise invalid(field, "an absolute http(s) URL", "not a URL")
    if url.user or url.password or url.query_string or url.fragment:
        raise invalid(field, "no credentials, query or fragment in the URL", "extra parts")
    if url.scheme == "http" and not (_is_loopback(url.host) or allow_insecure_http):
        raise invalid(
            field,
            "https (plain http is only allowed to loopback hosts; "
            "pass allow_insecure_http=True to override)",
            "insecure",
        )
    return str(url).rstrip("/")
