"""gr4vy_async: an async, minimal, fast client for Gr4vy checkout sessions."""

from . import errors, models
from ._version import __version__
from .client import Gr4vy
from .retries import RetryConfig

__all__ = ["Gr4vy", "RetryConfig", "__version__", "errors", "models"]
