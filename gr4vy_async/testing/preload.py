"""Sessions and faults for a FakeGr4vy given on a command line or in a file.

Used by ``python -m gr4vy_async.testing``:

- ``--session ID`` stores an empty session with that id (merchant account
  ``default``), so documented examples that get, update or delete a known
  id work as written.
- ``--sessions FILE.json`` stores the sessions of a JSON list: each item is
  an id, or an object with ``id``, optional ``merchant_account_id`` and any
  create-body fields (``metadata``, ``cart_items``, ...), checked like a
  create body.
- ``--fault ROUTE=KIND[,OPTION=VALUE...]`` schedules a fault (see
  :func:`parse_fault`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidRequestError
from .fake import DEFAULT_MERCHANT_ACCOUNT_ID, FakeGr4vy
from .faults import Fault

__all__ = ["FaultSpec", "load_sessions", "parse_fault", "preload"]


@dataclasses.dataclass(frozen=True)
class FaultSpec:
    """A parsed ``--fault``: queued ``times`` times, or at ``probability`` with ``seed``."""

    route: str
    fault: Fault
    times: int = 1
    probability: float | None = None
    seed: int | None = None

    def schedule(self, fake: FakeGr4vy) -> None:
        """Add the fault to ``fake``'s fault script."""
        if self.probability is None:
            fake.faults.enqueue(self.route, self.fault, times=self.times)
        else:
            fake.faults.rate(self.route, self.fault, probability=self.probability, seed=self.seed)


def _kind(kind: str, options: dict[str, Any]) -> Fault:
    """The fault ``kind`` names: ``503``, ``drop``, ``truncated[:STATUS]``, ``html[:STATUS]``,
    ``latency:SECONDS``."""
    name, _, argument = kind.partition(":")
    if name.isdigit():
        return Fault.status(int(name), **options)
    makers: dict[str, Callable[[], Fault]] = {
        "drop": lambda: Fault.drop(**options),
        "truncated": lambda: Fault.truncated(int(argument) if argument else None, **options),
        "html": lambda: Fault.html(int(argument) if argument else 502, **options),
        "latency": lambda: Fault.latency(_seconds(argument), **options),
    }
    if name not in makers:
        raise ValueError(
            f"unknown fault {kind!r}; expected a status (503), drop, truncated, html or latency:S"
        )
    return makers[name]()


def _seconds(text: str) -> float:
    """A finite number of seconds, at least 0 (``nan`` and ``inf`` parse as floats)."""
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"expected a finite number of seconds >= 0, not {text!r}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:  # False for nan too
        raise ValueError(f"expected a probability within [0, 1], not {text!r}")
    return value


_METHODS = frozenset({"*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def _route(text: str, spec: str) -> str:
    """``METHOD`` or ``METHOD /path``; one pair of surrounding quotes is shell quoting, dropped."""
    route = text.strip()
    if len(route) > 1 and route[0] == route[-1] and route[0] in "'\"":
        route = route[1:-1].strip()
    method, _, path = route.partition(" ")
    path = path.strip()
    if method.upper() not in _METHODS or (path and not path.startswith("/")):
        raise ValueError(
            f"fault {spec!r}: route must be a method ({', '.join(sorted(_METHODS))}) "
            "optionally followed by a path starting with /"
        )
    return f"{method} {path}" if path else method


#: Option name -> (parser, whether it is passed to the Fault rather than scheduling).
_OPTIONS: dict[str, tuple[Callable[[str], Any], bool]] = {
    "retry_after": (str, True),
    "delay": (_seconds, True),
    "after": (lambda text: {"true": True, "false": False}[text.lower()], True),
    "times": (int, False),
    "probability": (_probability, False),
    "seed": (int, False),
}


def parse_fault(spec: str) -> FaultSpec:
    """Parse ``ROUTE=KIND[,OPTION=VALUE...]``.

    ``ROUTE`` is ``GET``, ``*`` or ``"DELETE /checkout/sessions/{session_id}"``;
    ``KIND`` is a status (``503``, with its documented body), ``drop``,
    ``truncated[:STATUS]``, ``html[:STATUS]`` or ``latency:SECONDS``.
    Options: ``times=N`` (the next N matching requests; default 1), or
    ``probability=P`` with an optional ``seed=S`` (that share of them);
    ``retry_after=S``, ``delay=S``, ``after=true`` (process first). Examples:
    ``GET=503,times=3``, ``*=429,retry_after=1,probability=0.2,seed=1``,
    ``DELETE=drop,after=true``. Raises ``ValueError`` naming the problem.
    """
    route, equals, rest = spec.partition("=")
    if not equals or not route.strip() or not rest:
        raise ValueError(f"fault {spec!r}: expected ROUTE=KIND[,OPTION=VALUE...]")
    route = _route(route, spec)
    kind, *pairs = (part.strip() for part in rest.split(","))
    fault_options: dict[str, Any] = {}
    schedule: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in _OPTIONS or not value:
            raise ValueError(
                f"fault {spec!r}: unknown option {pair!r}; expected {', '.join(_OPTIONS)}"
            )
        parse, for_fault = _OPTIONS[name]
        try:
            (fault_options if for_fault else schedule)[name] = parse(value)
        except (KeyError, ValueError):
            raise ValueError(f"fault {spec!r}: bad value for {name}: {value!r}") from None
    if "times" in schedule and "probability" in schedule:
        raise ValueError(f"fault {spec!r}: give times or probability, not both")
    if "seed" in schedule and "probability" not in schedule:
        raise ValueError(f"fault {spec!r}: seed goes with probability")
    try:
        fault = _kind(kind, fault_options)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"fault {spec!r}: {exc}") from None
    return FaultSpec(route, fault, **schedule)


def load_sessions(path: Path) -> list[dict[str, Any]]:
    """The sessions of a JSON file: a list of ids or ``{"id": ..., ...}`` objects."""
    try:
        items = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a JSON list of session ids or objects")
    return [{"id": item} if isinstance(item, str) else item for item in items]


def preload(
    fake: FakeGr4vy,
    *,
    session_ids: Sequence[str] = (),
    sessions: Sequence[dict[str, Any]] = (),
    faults: Sequence[FaultSpec] = (),
) -> None:
    """Store ``session_ids`` and ``sessions`` in ``fake`` and schedule ``faults``.

    Raises ``ValueError`` naming the first session that is not valid.
    """
    for item in [{"id": session_id} for session_id in session_ids] + list(sessions):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ValueError(f'session {item!r}: expected an object with an "id" string')
        body = dict(item)
        session_id = body.pop("id")
        merchant = body.pop("merchant_account_id", DEFAULT_MERCHANT_ACCOUNT_ID)
        if not isinstance(merchant, str) or not merchant:
            raise ValueError(f"session {session_id[:40]!r}: merchant_account_id must be a string")
        try:
            fake.create_session(body, merchant_account_id=merchant, session_id=session_id)
        except (InvalidRequestError, ValueError) as exc:
            raise ValueError(f"session {session_id[:40]!r}: {exc}") from None
    for spec in faults:
        spec.schedule(fake)
