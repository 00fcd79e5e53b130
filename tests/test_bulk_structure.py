"""The bulk package's shape: one value of options, one home per rule, short modules."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
from pathlib import Path

import pytest

import gr4vy_async
from gr4vy_async import Gr4vy, RetryConfig, errors, utils
from gr4vy_async.bulk import BulkOptions, BulkReport, run_bulk
from gr4vy_async.checkout_sessions import CheckoutSessions
from gr4vy_async.testing import FakeGr4vy

SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
PACKAGE = Path(gr4vy_async.__file__).parent
BULK = sorted(PACKAGE.glob("bulk/*.py")) or [PACKAGE / "bulk.py"]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", BULK, ids=lambda p: p.name)
def test_every_bulk_module_is_short(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 500


@pytest.mark.parametrize("path", [*BULK, PACKAGE / "checkout_sessions.py"], ids=lambda p: p.name)
def test_no_private_name_is_imported_from_another_module(path: Path) -> None:
    imported = [
        alias.name
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ]
    assert [name for name in imported if name.startswith("_")] == []


def test_bulk_takes_the_session_id_rule_from_its_one_home() -> None:
    """No bulk module imports checkout_sessions (the old cycle); the id rule is session_ids'."""
    imports = {
        (path.name, node.module)
        for path in BULK
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not [name for name, module in imports if module.endswith("checkout_sessions")]
    assert {name for name, module in imports if module.endswith("session_ids")} == {"_runner.py"}


@pytest.mark.parametrize("path", BULK, ids=lambda p: p.name)
def test_bulk_asks_the_retry_policy_for_the_rate_limit_rules(path: Path) -> None:
    """No 425/429 literal, no Retry-After cap or max_elapsed read: ``RetryConfig`` decides."""
    tree = _tree(path)
    literals = {
        node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value
    }
    assert not literals & {425, 429}
    read = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not read & {"max_elapsed", "retry_after_cap"}


def test_run_bulk_takes_the_options_as_one_value() -> None:
    assert list(inspect.signature(run_bulk).parameters) == ["ids", "call", "options", "report"]


@pytest.mark.parametrize("method", [CheckoutSessions.delete_many, CheckoutSessions.get_many])
def test_delete_many_and_get_many_take_every_bulk_option(method: object) -> None:
    """Their keywords are BulkOptions' fields (less those they set) plus the per-request ones."""
    keywords = set(inspect.signature(method).parameters) - {"self", "session_ids"}  # type: ignore[arg-type]
    fields = {field.name for field in dataclasses.fields(BulkOptions)}
    set_by_the_method = {"operation", "default_rate_limit_wait"}
    per_request = {"report", "merchant_account_id", "timeout_in_seconds"}
    assert keywords == fields - set_by_the_method | per_request


def test_options_are_normalized_once() -> None:
    options = BulkOptions(deadline=math.inf, stop_after=0)
    assert (options.deadline, options.stop_after) == (None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.concurrency = 2  # type: ignore[misc]


BAD_OPTIONS = {
    "concurrency-zero": ("concurrency", {"concurrency": 0}),
    "deadline-huge-int": ("deadline", {"deadline": 10**400}),
    "stop-after-negative": ("stop_after", {"stop_after": -1}),
    "progress-not-callable": ("on_progress", {"on_progress": "print"}),
    # SDK 2.4.27's settings build a RetryConfig (accepted, below); anything else is refused.
    "retries-not-a-policy": ("retries", {"retries": utils.BackoffStrategy(1, 2, 1.5, 3)}),
}


@pytest.mark.parametrize("case", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
async def test_a_bad_option_is_refused_with_its_field_before_any_request(
    case: tuple[str, dict[str, object]],
) -> None:
    field, options = case
    async with FakeGr4vy() as fake, Gr4vy(bearer_auth="t", server_url=fake.url) as client:
        with pytest.raises(errors.InvalidRequestError) as info:
            await client.checkout_sessions.delete_many([SESSION_ID], **options)  # type: ignore[arg-type]
        assert fake.requests == []
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: expected ")


@pytest.mark.parametrize("operation", ["delete_many", "get_many"])
async def test_the_sdk_retry_settings_are_accepted_by_bulk_operations(operation: str) -> None:
    """``utils.RetryConfig(...)`` is one way to write the one RetryConfig, bulk included."""
    sdk = utils.RetryConfig("backoff", utils.BackoffStrategy(1, 2, 1.5, 3), False)
    assert isinstance(sdk, RetryConfig)
    async with FakeGr4vy() as fake, Gr4vy(bearer_auth="t", server_url=fake.url) as client:
        fake.create_session(session_id=SESSION_ID)
        report = await getattr(client.checkout_sessions, operation)([SESSION_ID], retries=sdk)
    assert report.failed == []
    assert len(fake.requests) == 1


@pytest.mark.parametrize("wait", [math.nan, -1.0, math.inf])
def test_a_bad_default_rate_limit_wait_is_refused(wait: float) -> None:
    with pytest.raises(errors.InvalidRequestError, match=r"^default_rate_limit_wait: expected"):
        BulkOptions(default_rate_limit_wait=wait)


async def test_run_bulk_without_options_uses_the_defaults() -> None:
    seen: list[RetryConfig] = []

    async def call(session_id: str, policy: RetryConfig) -> None:
        seen.append(policy)

    report = await run_bulk([SESSION_ID], call)
    assert isinstance(report, BulkReport)
    assert report.done == [SESSION_ID]
    assert seen[0].statuses == RetryConfig().statuses - {425, 429}
