"""Bulk runs where two features meet (issue 19): every id read has exactly one outcome.

A deadline with an async source, a caller's cancel, a closed client, a journal
from another operation or one that cannot be written, a hook that raises after
a success, failures no retry can fix of mixed kinds, and rate limits near a
deadline: each leaves a report that says what happened to every id.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import ipaddress
import json
import ssl
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.bulk import outcomes

from gr4vy_async import Gr4vy, RetryConfig, errors
from gr4vy_async.bulk import BulkOptions, BulkReport, Outcome, run_bulk
from gr4vy_async.testing import FakeGr4vy, Fault

FAST = RetryConfig(initial_delay=0, max_delay=0.01, retry_after_cap=0.05)


def client_for(fake: FakeGr4vy) -> Gr4vy:
    return Gr4vy(server_url=fake.url, bearer_auth="t", merchant_account_id="default", retries=FAST)


def ids_for(count: int) -> list[str]:
    return [str(uuid.UUID(int=n + 1)) for n in range(count)]


async def slow_source(ids: list[str], read: list[str], pause: float = 0.005) -> AsyncIterator[str]:
    for session_id in ids:
        await asyncio.sleep(pause)
        read.append(session_id)
        yield session_id


# --------------------------------------------------------------- (1) deadline, cancel, aclose


async def test_a_deadline_with_an_async_source_gives_every_id_an_outcome() -> None:
    ids = ids_for(60)
    read: list[str] = []

    async def call(session_id: str, policy: RetryConfig) -> None:
        await asyncio.sleep(0.01)

    report = await run_bulk(
        slow_source(ids, read),
        call,
        BulkOptions(retries=RetryConfig(), concurrency=4, missing_ok=True, deadline=0.1),
    )
    assert read == ids  # read to its end after the deadline: nothing sent, each id counted
    assert outcomes(report) == collections.Counter(ids)
    assert report.counts[Outcome.NOT_ATTEMPTED] > 0
    assert report.stopped == "deadline of 0.1 s reached"
    assert report.unread == 0
    assert not report.ok


@pytest.mark.parametrize("source_kind", ["list", "async"])
async def test_a_cancel_says_so_and_counts_what_was_never_read(source_kind: str) -> None:
    ids = ids_for(100)
    read: list[str] = []
    sent: list[str] = []
    two_sent = asyncio.Event()

    async def call(session_id: str, policy: RetryConfig) -> None:
        sent.append(session_id)
        if len(sent) >= 2:
            two_sent.set()
        await asyncio.sleep(10)

    source = ids if source_kind == "list" else slow_source(ids, read, pause=0)
    report = BulkReport()
    task = asyncio.ensure_future(
        run_bulk(
            source,
            call,
            BulkOptions(retries=RetryConfig(), concurrency=2, missing_ok=True),
            report=report,
        )
    )
    await two_sent.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert report.stopped == "cancelled"
    assert sorted(report.cancelled) == sorted(sent)
    assert sum(outcomes(report).values()) == report.total
    if source_kind == "list":
        assert report.unread == len(ids) - report.total  # a list says how many were never read
    else:
        assert set(outcomes(report)) == set(read)
        assert report.unread is None  # some, how many unknown
    assert not report.ok


async def test_a_client_closed_mid_run_leaves_a_truthful_report(gr4vy_fake: FakeGr4vy) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(200)]
    gr4vy_fake.faults.rate("DELETE", Fault.latency(0.005), probability=1.0, seed=1)
    report = BulkReport()
    client = client_for(gr4vy_fake)
    twenty_done = asyncio.Event()

    def progress(_: object) -> None:
        if report.counts[Outcome.DONE] >= 20:
            twenty_done.set()

    async with client:
        task = asyncio.ensure_future(
            client.checkout_sessions.delete_many(
                ids, concurrency=4, report=report, on_progress=progress
            )
        )
        await twenty_done.wait()
        await client.aclose()
        await task
    assert outcomes(report) == collections.Counter(ids)
    assert "client closed" in (report.stopped or "")
    assert report.counts[Outcome.NOT_ATTEMPTED] >= 150  # never sent: not failed
    assert report.counts[Outcome.FAILED] + report.counts[Outcome.CANCELLED] <= 4
    assert set(report.done) <= set(ids) - {session_id for _, session_id in gr4vy_fake.sessions}
    assert not report.ok


async def test_a_cancelled_error_the_run_did_not_ask_for_is_an_outcome_not_a_cancel() -> None:
    """What a closing client gave calls waiting for a connection (item 5): a truthful stop."""
    ids = ids_for(50)

    async def call(session_id: str, policy: RetryConfig) -> None:
        await asyncio.sleep(0)
        if session_id == ids[10]:
            raise asyncio.CancelledError

    report = await run_bulk(
        ids, call, BulkOptions(retries=RetryConfig(), concurrency=2, missing_ok=True)
    )
    assert ids[10] in report.cancelled
    assert outcomes(report) == collections.Counter(ids)
    assert "not by this run" in (report.stopped or "")
    assert report.counts[Outcome.NOT_ATTEMPTED] > 0


# --------------------------------------------------------------- (3) a journal knows its operation


async def test_a_get_journal_is_refused_by_delete_many(
    gr4vy_fake: FakeGr4vy, tmp_path: Path
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(20)]
    journal = tmp_path / "j.jsonl"
    async with client_for(gr4vy_fake) as client:
        await client.checkout_sessions.get_many(ids, journal=journal)
        before = len(gr4vy_fake.requests)
        with pytest.raises(errors.InvalidRequestError, match="get_many") as raised:
            await client.checkout_sessions.delete_many(ids, journal=journal)
        assert "delete_many" in str(raised.value)
    assert len(gr4vy_fake.requests) == before  # refused before any request
    assert len(gr4vy_fake.sessions) == 20


# --------------------------------------------------------------- (4) a hook raising after a success


async def test_a_hook_raising_after_a_deletion_reaches_the_caller_and_the_deletion_is_done(
    gr4vy_fake: FakeGr4vy,
) -> None:
    ids = [gr4vy_fake.create_session().id for _ in range(10)]
    boom = ValueError("hook bug")

    def hook(request: object, response: object) -> None:
        raise boom

    report = BulkReport()
    async with client_for(gr4vy_fake) as client:
        client.hooks.register_after_success_hook(hook)
        with pytest.raises(ValueError, match="hook bug") as raised:
            await client.checkout_sessions.delete_many(ids, concurrency=2, report=report)
    assert raised.value is boom
    assert outcomes(report) == collections.Counter(ids)
    deleted = set(ids) - {session_id for _, session_id in gr4vy_fake.sessions}
    assert set(report.done) == deleted  # what the server did
    assert report.counts[Outcome.FAILED] == 0
    assert report.counts[Outcome.NOT_ATTEMPTED] == len(ids) - len(deleted)
    assert "hook" in (report.stopped or "")


# --------------------------------------------------------------- (6) stop early by cause


@pytest.mark.parametrize(
    "statuses", [(401, 403), (401, 500), (403, 401, 502)], ids=["401-403", "401-500", "403-401-502"]
)
async def test_systemic_failures_of_mixed_kinds_stop_the_run(statuses: tuple[int, ...]) -> None:
    ids = ids_for(200)
    calls = 0

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal calls
        calls += 1
        status = statuses[calls % len(statuses)]
        raise errors.APIError(f"{status}", status_code=status)

    report = await run_bulk(
        ids, call, BulkOptions(retries=RetryConfig(), concurrency=1, missing_ok=True, stop_after=6)
    )
    assert "HTTP 401" in (report.stopped or "")
    assert report.counts[Outcome.NOT_ATTEMPTED] > 150
    assert outcomes(report) == collections.Counter(ids)


async def test_a_per_id_answer_breaks_the_streak() -> None:
    ids = ids_for(60)

    async def call(session_id: str, policy: RetryConfig) -> None:
        n = ids.index(session_id)
        status = (401, 409, 403, 404)[n % 4]
        raise errors.error_for_response(status, {}, b"", method="DELETE", url="u")

    report = await run_bulk(
        ids, call, BulkOptions(retries=RetryConfig(), concurrency=1, missing_ok=False, stop_after=3)
    )
    assert report.stopped is None
    assert report.counts[Outcome.FAILED] == 60


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context whose certificate no client trusts (self-signed, for 127.0.0.1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def test_a_rejected_tls_certificate_stops_the_run(tmp_path: Path) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self_signed(tmp_path))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    ids = ids_for(100)
    try:
        async with Gr4vy(server_url=f"https://127.0.0.1:{port}", bearer_auth="t") as client:
            report = await client.checkout_sessions.delete_many(ids, concurrency=2, stop_after=5)
    finally:
        await runner.cleanup()
    assert "TLS certificate" in (report.stopped or "")
    assert report.counts[Outcome.FAILED] <= 5 + 2
    assert outcomes(report) == collections.Counter(ids)


# --------------------------------------------------------------- (9) a journal not writable


async def test_a_directory_as_journal_is_refused_before_any_call(tmp_path: Path) -> None:
    calls = 0

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal calls
        calls += 1

    for bad in (tmp_path, tmp_path / "no" / "such" / "dir.jsonl"):
        with pytest.raises(errors.InvalidRequestError, match="journal"):
            await run_bulk(
                ids_for(3),
                call,
                BulkOptions(retries=RetryConfig(), concurrency=1, missing_ok=True, journal=bad),
            )
    assert calls == 0


_FULL_DISK = textwrap.dedent(
    """
    import asyncio, json, resource, signal, sys, uuid
    from gr4vy_async import RetryConfig, errors
    from gr4vy_async.bulk import BulkOptions, BulkReport, run_bulk

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG, not a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
    ids = [str(uuid.UUID(int=n + 1)) for n in range(200)]

    async def call(session_id, policy):
        await asyncio.sleep(0.005)  # 200 ids over 4 flights: the first batch is written mid-run

    async def main():
        report = BulkReport()
        try:
            options = BulkOptions(retries=RetryConfig(), concurrency=4, missing_ok=True,
                                  journal=sys.argv[1])
            await run_bulk(ids, call, options, report=report)
        except errors.JournalError as error:
            seen = (report.done + report.not_attempted + report.cancelled
                    + [f.id for f in report.failed])
            print(json.dumps({"error": type(error).__name__, "same": error.report is report,
                              "message": str(error), "outcomes": sorted(seen) == sorted(ids),
                              "stopped": report.stopped, "ok": report.ok,
                              "not_attempted": len(report.not_attempted)}))
        else:
            print(json.dumps({"error": None}))

    asyncio.run(main())
    """
)


def test_a_full_disk_stops_the_run_with_a_typed_error_after_every_id_has_an_outcome(
    tmp_path: Path,
) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", _FULL_DISK, str(tmp_path / "j.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["error"] == "JournalError"
    assert result["same"]
    assert result["outcomes"]
    assert "journal" in (result["stopped"] or "")
    assert "File too large" in result["message"]
    assert result["not_attempted"] > 0  # the run stopped sending
    assert not result["ok"]


# --------------------------------------------------------------- (12) rate-limit waits are bounded


async def test_a_rate_limit_wait_past_the_deadline_fails_the_id_at_once() -> None:
    calls = 0

    async def call(session_id: str, policy: RetryConfig) -> None:
        nonlocal calls
        calls += 1
        raise errors.APIError("429", status_code=429, headers={"Retry-After": "30"})

    report = await run_bulk(
        ids_for(1),
        call,
        BulkOptions(retries=RetryConfig(), concurrency=1, missing_ok=True, deadline=5),
    )
    (failure,) = report.failed  # not held until the deadline and then "cancelled"
    assert failure.status == 429
    assert calls == 1
    assert report.stopped is None


def test_the_retry_policy_owns_the_rate_limit_rule() -> None:
    policy = RetryConfig(max_elapsed=10, retry_after_cap=5)
    limited = errors.APIError("429", status_code=429, headers={"Retry-After": "3"})
    assert policy.rate_limit_wait(limited, elapsed=0, default=1) == 3
    assert policy.rate_limit_wait(limited, elapsed=8, default=1) is None  # 8 + 3 > 10
    assert policy.rate_limit_wait(limited, elapsed=0, default=1, remaining=2) is None
    long = errors.APIError("425", status_code=425, headers={"Retry-After": "90"})
    assert policy.rate_limit_wait(long, elapsed=0, default=1) == 5  # the cap
    odd = errors.APIError("429", status_code=429, headers={"Retry-After": "soon"})
    assert policy.rate_limit_wait(odd, elapsed=0, default=1) == 1
    server_error = errors.APIError("500", status_code=500)
    assert policy.rate_limit_wait(server_error, elapsed=0, default=1) is None
    assert RetryConfig.none().rate_limit_wait(limited, elapsed=0, default=1) is None
