"""Test helpers for code that uses gr4vy_async: FakeGr4vy, faults, payloads."""

from .fake import FakeGr4vy, RecordedRequest
from .faults import Fault, FaultScript

__all__ = ["FakeGr4vy", "Fault", "FaultScript", "RecordedRequest"]
