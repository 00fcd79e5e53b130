"""How a run goes: the one value ``delete_many``, ``get_many`` and ``run_bulk`` share."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable

from .._checks import finite_number
from .._redact import hint
from ..errors import InvalidRequestError
from ..retries import RetryConfig
from ._report import BulkProgress

__all__ = ["BulkOptions"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BulkOptions:
    """A bulk run's options: made once per run, every value checked when made.

    A bad value raises :class:`~gr4vy_async.errors.InvalidRequestError`
    before anything is read or sent. The rules the options set are told
    once, in :mod:`gr4vy_async.bulk`.
    """

    concurrency: int = 16
    """Ids in flight at once (a whole number, at least 1)."""
    missing_ok: bool = True
    """A 404 is ``missing``, not ``failed``."""
    keep_ids: bool = True
    """Keep the ids of every outcome in a new report (else counts and the first failures)."""
    dedupe: bool = True
    """Skip an id seen earlier in the run (keeps a set of the ids seen)."""
    on_progress: Callable[[BulkProgress], object] | None = None
    """Called after each id finishes."""
    journal: str | os.PathLike[str] | None = None
    """A file: finished ids are recorded there, and a rerun skips those done."""
    deadline: float | None = None
    """Seconds for sending (``None`` or infinity: no deadline)."""
    stop_after: int | None = 20
    """Systemic failures in a row that stop the run (``None`` or 0: never)."""
    retries: RetryConfig = dataclasses.field(default_factory=RetryConfig)
    """The policy: per request, and for how long a rate-limited id is sent again."""
    default_rate_limit_wait: float = 1.0
    """The wait after a 425/429 without a readable ``Retry-After``, in seconds."""
    operation: str | None = None
    """What the journal's lines are written by (``"delete_many"``, ``"get_many"``)."""

    def __post_init__(self) -> None:
        """Every check of a bulk option; ``deadline`` infinity and ``stop_after`` 0 become None."""
        concurrency = self.concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise _bad("concurrency", "a whole number, at least 1")
        deadline = self.deadline
        if deadline == math.inf:
            object.__setattr__(self, "deadline", None)
        elif deadline is not None and not (finite_number(deadline) and deadline > 0):
            raise _bad("deadline", "a positive number of seconds")
        stop_after = self.stop_after
        if stop_after is not None and (
            isinstance(stop_after, bool) or not isinstance(stop_after, int) or stop_after < 0
        ):
            raise _bad("stop_after", "a whole number, 0 or more")
        if stop_after == 0:
            object.__setattr__(self, "stop_after", None)
        if not (finite_number(self.default_rate_limit_wait) and self.default_rate_limit_wait >= 0):
            raise _bad("default_rate_limit_wait", "a finite number of seconds, at least 0")
        if self.on_progress is not None and not callable(self.on_progress):
            raise _bad("on_progress", f"a function or None, got {hint(self.on_progress)}")
        if not isinstance(self.retries, RetryConfig):
            kind = type(self.retries)
            raise _bad(
                "retries", f"a gr4vy_async.RetryConfig, got {kind.__module__}.{kind.__name__}"
            )


def _bad(name: str, expected: str) -> InvalidRequestError:
    return InvalidRequestError(f"{name}: expected {expected}", field=name, reason="range")
