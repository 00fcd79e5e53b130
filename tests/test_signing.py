"""``with_token`` signs off the event loop, ahead of expiry, one signature at a time (issue 19, 11).

How much the loop lags is measured by ``benchmarks/bench_auth.py --lag``;
these tests pin the behaviour behind it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from support.helpers import client_for

from gr4vy_async import _signing, auth
from gr4vy_async.testing import FakeGr4vy

PATIENCE = 10.0


class Clock:
    """Unix time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of each signature ``auth`` makes."""
    threads: list[int] = []
    sign = _signing.sign

    def counted(*args: Any, **kwargs: Any) -> str:
        threads.append(threading.get_ident())
        return sign(*args, **kwargs)

    monkeypatch.setattr(_signing, "sign", counted)
    return threads


async def test_gets_in_flight_wait_on_one_signature_made_off_the_loop(
    gr4vy_fake: FakeGr4vy, key: ec.EllipticCurvePrivateKey, signatures: list[int]
) -> None:
    session = gr4vy_fake.create_session()
    async with client_for(gr4vy_fake, bearer_auth=auth.with_token(key)) as client:
        await asyncio.gather(
            *(client.checkout_sessions.get(session_id=session.id) for _ in range(300))
        )
    assert len(signatures) == 1
    assert signatures[0] != threading.get_ident()
    tokens = {request.token_digest for request in gr4vy_fake.requests}
    assert len(tokens) == 1


async def _until_new(provider: auth.TokenProvider, old: str) -> str:
    async def poll() -> str:
        while (token := await provider.token_async()) == old:  # noqa: ASYNC110 - a thread signs
            await asyncio.sleep(0.001)
        return token

    return await asyncio.wait_for(poll(), PATIENCE)


async def test_a_token_near_expiry_is_used_while_the_next_is_signed(
    key: ec.EllipticCurvePrivateKey, signatures: list[int]
) -> None:
    clock = Clock()
    provider = auth.with_token(key, expires_in=600, refresh_margin=60, clock=clock)
    first = await provider.token_async()
    clock.now += 541  # within the margin: still valid for 59 s
    assert await provider.token_async() == first  # no wait on the signature
    second = await _until_new(provider, first)
    assert len(signatures) == 2
    assert jwt.decode(second, options={"verify_signature": False})["iat"] == int(clock.now)
    clock.now += 1
    assert await provider.token_async() == second
    assert len(signatures) == 2


async def test_an_expired_token_is_never_returned_and_concurrent_calls_sign_once(
    key: ec.EllipticCurvePrivateKey, signatures: list[int]
) -> None:
    clock = Clock()
    provider = auth.with_token(key, expires_in=600, refresh_margin=60, clock=clock)
    first = await provider.token_async()
    clock.now += 600  # expired: every call waits for the one new signature
    tokens = await asyncio.gather(*(provider.token_async() for _ in range(100)))
    assert len(set(tokens)) == 1
    assert tokens[0] != first
    assert len(signatures) == 2


async def test_a_failed_signature_reaches_the_waiting_calls_and_the_next_call_tries_again(
    key: ec.EllipticCurvePrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("no entropy")

    provider = auth.with_token(key)
    sign = _signing.sign
    monkeypatch.setattr(_signing, "sign", broken)
    results = await asyncio.gather(
        *(provider.token_async() for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, RuntimeError) for result in results)
    monkeypatch.setattr(_signing, "sign", sign)
    assert await provider.token_async()


def _token_in_child(provider: auth.TokenProvider, clock: Clock) -> None:
    clock.now += 3600  # the parent's token has expired: the child must sign
    asyncio.run(asyncio.wait_for(provider.token_async(), PATIENCE))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with a thread running
async def test_a_forked_child_signs_in_a_thread_of_its_own(
    key: ec.EllipticCurvePrivateKey,
) -> None:
    clock = Clock()
    provider = auth.with_token(key, clock=clock)
    await provider.token_async()  # the parent's signing thread exists now
    child = multiprocessing.get_context("fork").Process(
        target=_token_in_child, args=(provider, clock)
    )
    child.start()
    await asyncio.to_thread(child.join, PATIENCE)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0
