"""Test helpers for code that uses gr4vy_async: FakeGr4vy, faults, payloads.

Part of the package (no extra needed): import ``FakeGr4vy``, ``Fault``,
``FaultScript`` and ``RecordedRequest`` from here. The submodules hold the
rest: ``faults`` (where ``Fault`` is defined, with the documented error
bodies), ``keys`` (P-521 key pairs), ``payloads`` (the seed's bodies),
``preload`` (sessions and faults from the command line), ``webhooks``
(signed webhook deliveries), ``demo`` (what
``gr4vy-async demo`` runs) and ``pytest_plugin`` (the fixtures).
"""

from .fake import FakeGr4vy, RecordedRequest
from .faults import Fault, FaultScript

__all__ = ["FakeGr4vy", "Fault", "FaultScript", "RecordedRequest"]
