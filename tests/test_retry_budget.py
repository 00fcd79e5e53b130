"""The retry budget: one per client, so an outage does not multiply the load (issue 23)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.aioresponses_compat import TOKEN
from support.helpers import FAST, client_for
from support.sessions import SESSION_ID

from gr4vy_async import Gr4vy, errors
from gr4vy_async.retries import RETRY_BUDGET, RetryBudget
from gr4vy_async.testing import FakeGr4vy, Fault

CALLERS = 200


async def _gets(client: Gr4vy, n: int) -> list[BaseException | None]:
    async def one() -> BaseException | None:
        try:
            await client.checkout_sessions.get(session_id=SESSION_ID)
        except errors.Gr4vyError as error:
            return error
        return None

    return await asyncio.gather(*(one() for _ in range(n)))


async def test_an_outage_does_not_multiply_the_calls(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=100_000)
    async with client_for(gr4vy_fake, retries=FAST) as client:  # max_attempts=4
        outcomes = await _gets(client, CALLERS)
    assert all(isinstance(o, errors.ResponseError) for o in outcomes)
    # Without a budget: 4 x 200 = 800. The budget pays RETRY_BUDGET / 5 retries.
    assert len(gr4vy_fake.requests) <= CALLERS + RETRY_BUDGET // 5
    refused = [o for o in outcomes if "retry budget" in str(o)]
    assert refused, "a call refused a retry by the budget says so"
    attempts = [o.attempts for o in outcomes if isinstance(o, errors.Gr4vyError)]
    assert sum(a or 0 for a in attempts) == len(gr4vy_fake.requests)


async def test_retrying_comes_back_once_calls_succeed(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.create_session(session_id=SESSION_ID)
    gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=CALLERS * 4)
    async with client_for(gr4vy_fake, retries=FAST) as client:
        await _gets(client, CALLERS)  # spends the budget
        gr4vy_fake.faults.clear()
        assert await _gets(client, 10) == [None] * 10  # each success refunds a token
        gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=2)
        before = len(gr4vy_fake.requests)
        assert await _gets(client, 1) == [None]
    assert len(gr4vy_fake.requests) - before == 3  # two retries paid again


async def test_the_budget_can_be_turned_off(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("GET", Fault.status(503), times=100_000)
    async with client_for(gr4vy_fake, retries=FAST, retry_budget=None) as client:
        await _gets(client, 20)
    assert len(gr4vy_fake.requests) == 20 * 4


async def test_rate_limits_do_not_spend_the_budget(gr4vy_fake: FakeGr4vy) -> None:
    gr4vy_fake.faults.enqueue("GET", Fault.status(429, retry_after=0), times=3)
    async with client_for(gr4vy_fake, retries=FAST, retry_budget=1) as client:
        outcome = await _gets(client, 1)
    assert len(gr4vy_fake.requests) == 4
    assert not isinstance(outcome[0], errors.Error429)


def test_a_timeout_costs_twice_a_retry() -> None:
    budget = RetryBudget(20)
    timeout = errors.RequestTimeoutError("no response within 1 s")
    assert budget.spend(timeout) == 10
    assert budget.spend(errors.ConnectError("dropped")) == 5
    assert budget.spend(timeout) is None  # 5 left: a timeout's retry is refused
    budget.refund(5)
    assert budget.level == 10
    budget.refund(0)  # a first-attempt success
    assert budget.level == 11


@pytest.mark.parametrize("value", [0, -1, 1.5, "500", True])
def test_a_bad_budget_is_refused(value: Any) -> None:
    with pytest.raises(errors.InvalidRequestError, match="retry_budget"):
        Gr4vy(bearer_auth=TOKEN, retry_budget=value)
