"""A call's own options as one value: built once per call, here only.

This is also the one place SDK 2.4.27's spellings are converted: ``timeout_ms``
into seconds (the SDK's ``utils.RetryConfig`` already builds a
:class:`~gr4vy_async.RetryConfig`). A call that passes no option shares
:data:`NO_OPTIONS`, so the common call builds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from msgspec import UNSET, UnsetType

from . import _checks
from .retries import RetryConfig

__all__ = ["NO_OPTIONS", "CallOptions", "call_options"]


class CallOptions(msgspec.Struct, frozen=True):
    """What one call sets over the client's settings; ``None``/``UNSET``: the client's.

    ``merchant_account_id`` (``None`` sends none), ``timeout``, ``retries``
    and ``deadline`` (seconds for the whole call) are checked when built;
    ``headers`` and ``base_url`` are checked by the transport against the
    client's (its headers and ``allow_insecure_http``).
    """

    merchant_account_id: str | UnsetType | None = UNSET
    timeout: float | None = None
    retries: RetryConfig | None = None
    headers: Mapping[str, str] | None = None
    base_url: str | None = None
    deadline: float | None = None


#: The options of a call that passes none: shared, never built per call.
NO_OPTIONS = CallOptions()


def call_options(
    merchant_account_id: str | UnsetType | None = UNSET,
    timeout_in_seconds: float | None = None,
    retries: RetryConfig | None = None,
    timeout_ms: float | None = None,
    http_headers: Mapping[str, str] | None = None,
    server_url: str | None = None,
    deadline: float | None = None,
) -> CallOptions:
    """The call's options from the public keyword arguments, checked.

    Arguments in the operations' order, so a caller forwards them by position.
    """
    if (
        merchant_account_id is UNSET
        and timeout_in_seconds is None
        and retries is None
        and timeout_ms is None
        and http_headers is None
        and server_url is None
        and deadline is None
    ):
        return NO_OPTIONS
    if merchant_account_id is not UNSET and merchant_account_id is not None:
        merchant_account_id = _checks.header_value(
            _checks.MERCHANT_HEADER, merchant_account_id, "merchant_account_id"
        )
    timeout = None
    if timeout_in_seconds is not None or timeout_ms is not None:
        timeout = timeout_in(timeout_in_seconds, timeout_ms)
    if retries is not None and type(retries) is not RetryConfig:
        retries = retry_policy(retries)
    if deadline is not None:
        deadline = _checks.timeout(deadline, "deadline")
    return CallOptions(merchant_account_id, timeout, retries, http_headers, server_url, deadline)


def timeout_in(timeout_in_seconds: float | None, timeout_ms: float | None) -> float | None:
    """The timeout in seconds from either spelling, checked (``None``: not given)."""
    if timeout_ms is None:
        return None if timeout_in_seconds is None else _checks.timeout(timeout_in_seconds)
    if timeout_in_seconds is not None:
        raise _checks.invalid(
            "timeout_ms", "timeout_in_seconds or timeout_ms, not both", "both given"
        )
    return _checks.timeout(timeout_ms, "timeout_ms", "milliseconds") / 1000


def retry_policy(value: object) -> RetryConfig | None:
    """``value`` if it is a :class:`~gr4vy_async.RetryConfig` (or ``None``)."""
    if value is None or type(value) is RetryConfig or isinstance(value, RetryConfig):
        return value
    kind = type(value)
    raise _checks.invalid(
        "retries", f"a gr4vy_async.RetryConfig, got {kind.__module__}.{kind.__name__}", "type"
    )
