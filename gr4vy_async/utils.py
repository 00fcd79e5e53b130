"""Small helpers the official SDK's examples import from ``gr4vy.utils``."""

from __future__ import annotations

from datetime import datetime

import msgspec

from ._codec import hint

__all__ = ["parse_datetime"]


def parse_datetime(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (``2013-07-16T19:23:00.000+00:00``, ``...Z``)."""
    try:
        return msgspec.convert(value, datetime)
    except msgspec.ValidationError as exc:
        raise ValueError(f"not an RFC 3339 datetime ({hint(value)})") from exc
