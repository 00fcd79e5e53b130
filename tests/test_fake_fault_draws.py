"""FakeGr4vy's seeded fault rates: every request draws afresh, retries included.

A retry of a request that got a fault is just the next matching request: it
must not land on the same outcome (no draw keyed on the path or replayed per
request), so runs of faults for one id occur as often as independent draws
predict: a share ``p**k`` of ids fail their first ``k`` tries. And a seed
still gives one reproducible sequence for a single client sending in turn.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from collections.abc import Callable

from gr4vy_async import Gr4vy, RetryConfig
from gr4vy_async.testing import FakeGr4vy, Fault, FaultScript

ROUTE = "DELETE /checkout/sessions/{session_id}"
MAX_TRIES = 8


def leading_faults(outcomes: list[bool]) -> int:
    """How many of an id's tries in a row, from its first, got a fault."""
    return next((n for n, faulted in enumerate(outcomes) if not faulted), len(outcomes))


def assert_runs_independent(runs: list[int], p: float, longest: int) -> None:
    """The ids whose first ``k`` tries all faulted are ``p**k`` of them, within 4 sd."""
    for k in range(1, longest + 1):
        share = p**k
        expected = len(runs) * share
        spread = 4 * math.sqrt(expected * (1 - share)) + 1
        seen = sum(run >= k for run in runs)
        assert abs(seen - expected) <= spread, (k, seen, round(expected, 1))


async def test_a_sequential_clients_retries_draw_afresh_and_reproducibly(
    gr4vy_fake: FakeGr4vy,
) -> None:
    """One client deleting in turn, retrying each 503: what the docs promise for a seed."""
    p, seed, count = 0.4, 11, 200
    ids = [gr4vy_fake.create_session().id for _ in range(count)]
    gr4vy_fake.faults.rate("DELETE", Fault.status(503), probability=p, seed=seed)
    retries = RetryConfig(max_attempts=50, initial_delay=0, max_delay=0)
    async with Gr4vy(server_url=gr4vy_fake.url, bearer_auth="token", retries=retries) as client:
        for session_id in ids:
            await client.checkout_sessions.delete(session_id=session_id)

    # Independent: a retry is no likelier to fault than a first try.
    by_id: dict[str, list[bool]] = {session_id: [] for session_id in ids}
    for request in gr4vy_fake.requests:
        by_id[request.path.rsplit("/", 1)[1]].append(request.status == 503)
    assert_runs_independent([leading_faults(tries) for tries in by_id.values()], p, longest=4)
    # Reproducible: the n-th request gets the n-th draw of random.Random(seed).
    statuses = [request.status for request in gr4vy_fake.requests]
    draws = random.Random(seed)
    assert statuses == [503 if draws.random() < p else 204 for _ in statuses]
    assert not gr4vy_fake.sessions


def interleaved_runs(
    script: FaultScript, ids: int, in_flight: int, replaces: Callable[[Fault | None], bool]
) -> tuple[list[int], Counter[str]]:
    """Send ``ids`` deletes ``in_flight`` at a time in a shuffled order, retrying faults.

    An id gives up after ``MAX_TRIES`` faults. Returns each id's leading run of
    faults and how often each kind fired.
    """
    order = random.Random(5)  # which in-flight id sends next
    waiting = [f"/checkout/sessions/{uuid.UUID(int=n)}" for n in range(ids)]
    sending: list[tuple[str, list[bool]]] = []
    runs: list[int] = []
    kinds: Counter[str] = Counter()
    while waiting or sending:
        while waiting and len(sending) < in_flight:
            sending.append((waiting.pop(), []))
        path, tries = sending[order.randrange(len(sending))]
        fault = script.pick("DELETE", path)
        kinds[repr(fault)] += 1
        tries.append(replaces(fault))
        if not tries[-1] or len(tries) == MAX_TRIES:
            sending.remove((path, tries))
            runs.append(leading_faults(tries))
    return runs, kinds


def test_interleaved_retries_over_several_rates_draw_afresh() -> None:
    """Four rates on one route, many ids in flight: each id's retries fault independently."""
    script = FaultScript()
    rates = [
        (Fault.status(429, retry_after=0), 0.2, 1),
        (Fault.status(503), 0.2, 2),
        (Fault.drop(after=True), 0.1, 3),
        (Fault.latency(0.002), 0.3, 4),  # answers in the end: not a failed try
    ]
    for fault, probability, seed in rates:
        script.rate(ROUTE, fault, probability=probability, seed=seed)
    runs, kinds = interleaved_runs(
        script, ids=3000, in_flight=32, replaces=lambda f: f is not None and f.replaces_response
    )

    failing = 1 - (1 - 0.2) * (1 - 0.2) * (1 - 0.1)
    assert_runs_independent(runs, failing, longest=4)
    # Rates are consulted in order: each fires on its share of what the earlier left.
    left = 1.0
    total = sum(kinds.values())
    for fault, probability, _ in rates:
        share = left * probability
        spread = 4 * math.sqrt(total * share * (1 - share))
        assert abs(kinds[repr(fault)] - total * share) <= spread, (fault, kinds[repr(fault)])
        left -= share
