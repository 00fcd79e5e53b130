"""gr4vy_async: an async, minimal, fast client for Gr4vy checkout sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors, models
from ._version import __version__
from .client import Gr4vy
from .retries import RetryConfig

if TYPE_CHECKING:
    from . import auth

__all__ = ["Gr4vy", "RetryConfig", "__version__", "auth", "errors", "models"]


def __getattr__(name: str) -> Any:
    # auth pulls in PyJWT and cryptography: imported on first use, not with the package.
    if name == "auth":
        import importlib

        return importlib.import_module(".auth", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
