"""gr4vy_async: an async, minimal, fast client for Gr4vy checkout sessions."""

from . import errors, models
from ._version import __version__

__all__ = ["__version__", "errors", "models"]
