"""Every example of the official SDK's documentation runs against this library.

The examples are read from the seed document itself; the only changes are the
import (``gr4vy`` -> ``gr4vy_async``) and ``async``/``await``. They run over
loopback against FakeGr4vy, which validates every body with the spec's models.
"""

from __future__ import annotations

import pytest
from support.contract import (
    NAMES,
    SEED_SESSION_ID,
    as_async,
    point_at,
    run_seed_example,
    seed_examples,
)

from gr4vy_async.testing.fake import FakeGr4vy


def test_only_the_import_and_async_await_change() -> None:
    for source in seed_examples():
        undone = as_async(source).replace("await ", "").replace("async with", "with")
        assert undone == source.replace("from gr4vy", "from gr4vy_async")


@pytest.mark.parametrize("index", range(4), ids=NAMES)
async def test_seed_example_runs(
    index: int,
    gr4vy_fake: FakeGr4vy,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gr4vy_fake.create_session(session_id=SEED_SESSION_ID)
    point_at(gr4vy_fake.url, monkeypatch)
    await run_seed_example(index)

    printed = capsys.readouterr().out
    request = gr4vy_fake.requests[-1]
    assert request.sent_token("seed-token")
    if NAMES[index] == "delete":
        assert request.status == 204
        assert not gr4vy_fake.sessions
        return
    assert request.status == (201 if NAMES[index] == "create" else 200)
    assert printed.startswith("CheckoutSession(")
    if NAMES[index] != "create":
        assert SEED_SESSION_ID in printed
    if NAMES[index] == "update":
        (stored,) = gr4vy_fake.sessions.values()
        assert stored.cart_items is not None
        assert [item.seller_country for item in stored.cart_items] == ["GB", "GB", "US"]
        assert stored.airline is not None
        assert stored.airline.passengers is not None
        assert isinstance(stored.airline.passengers, list)
        assert len(stored.airline.passengers) == 3
