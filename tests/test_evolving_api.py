"""The whole client against an API that has moved on: ``FakeGr4vy(evolve=True)``.

An evolving fake answers as a later release of the API might: every object in
a response carries a field this release does not know, and every enum field a
value it does not know. The four operations, the bulk helpers and the command
line run against it here; a user's tests turn it on the same ways
(``FakeGr4vy(evolve=True)``, ``pytest --gr4vy-evolve``, the ``gr4vy_evolve``
marker, ``python -m gr4vy_async.testing --evolve``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import msgspec
import pytest
from msgspec import inspect as mi
from support.cli_runner import run_cli
from support.fake_process import start
from support.helpers import ManualClock, client_for

from gr4vy_async import errors, models
from gr4vy_async.testing import FakeGr4vy
from gr4vy_async.testing.payloads import seed_create_body

pytest_plugins = ["pytester"]

SESSION_ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"


def _options(info: mi.Type) -> list[mi.Type]:
    if isinstance(info, mi.Metadata):
        return _options(info.type)
    if isinstance(info, mi.UnionType):
        return [option for member in info.types for option in _options(member)]
    return [info]


def evolution_seen(value: Any, type_: Any) -> tuple[list[str], list[str], list[str]]:
    """Walk a JSON document as ``type_``: objects with and without an unknown field, enum values.

    Returns the paths of objects that carry a field ``type_`` does not have,
    of objects that carry none, and of enum fields holding a known value.
    """
    extended: list[str] = []
    plain: list[str] = []
    known_values: list[str] = []

    def walk(value: Any, info: mi.Type, path: str) -> None:
        for option in _options(info):
            if isinstance(option, mi.StructType) and isinstance(value, dict):
                fields = {field.encode_name: field.type for field in option.fields}
                (extended if set(value) - set(fields) else plain).append(path)
                for key, item in value.items():
                    if key in fields:
                        walk(item, fields[key], f"{path}.{key}")
                return
            if isinstance(option, mi.ListType) and isinstance(value, list):
                for index, item in enumerate(value):
                    walk(item, option.item_type, f"{path}[{index}]")
                return
            if isinstance(option, mi.EnumType) and isinstance(value, str):
                if value in {member.value for member in option.cls}:
                    known_values.append(path)
                return

    walk(value, mi.type_info(type_), "$")
    return extended, plain, known_values


async def raw_get(fake: FakeGr4vy | str, path: str) -> tuple[int, bytes]:
    url = fake if isinstance(fake, str) else fake.url
    async with (
        aiohttp.ClientSession() as http,
        http.get(url + path, headers={"Authorization": "Bearer t"}) as response,
    ):
        return response.status, await response.read()


# --------------------------------------------------------------------------- the fake


async def test_every_object_gains_a_field_and_every_enum_an_unknown_value() -> None:
    async with FakeGr4vy(evolve=True) as fake:
        stored = fake.create_session(seed_create_body(), session_id=SESSION_ID)
        status, body = await raw_get(fake, f"/checkout/sessions/{SESSION_ID}")
        assert fake.sessions["default", SESSION_ID] == stored  # only the wire changes
    assert status == 200
    extended, plain, known = evolution_seen(json.loads(body), models.CheckoutSession)
    assert plain == []
    assert known == []
    assert len(extended) == 11  # the session, its cart item, the buyer's 6, the airline's 3
    assert "$.buyer.billing_details.tax_id" in extended
    assert "$.airline.legs[0]" in extended


async def test_error_bodies_evolve_too() -> None:
    async with FakeGr4vy(evolve=True) as fake:
        status, body = await raw_get(fake, f"/checkout/sessions/{SESSION_ID}")
        assert status == 404
        extended, plain, _ = evolution_seen(json.loads(body), models.Error404)
        assert (extended, plain) == (["$"], [])
        status, body = await raw_get(fake, "/checkout/sessions/not-a-uuid")
        assert status == 422
        extended, plain, _ = evolution_seen(json.loads(body), models.HTTPValidationError)
        assert (extended, plain) == (["$", "$.detail[0]"], [])


async def test_the_same_seed_gives_the_same_bytes() -> None:
    bodies = []
    for seed in (7, 7, 8):
        async with FakeGr4vy(evolve=True, evolve_seed=seed, clock=ManualClock()) as fake:
            fake.create_session(seed_create_body(), session_id=SESSION_ID)
            bodies.append(await raw_get(fake, f"/checkout/sessions/{SESSION_ID}"))
    assert bodies[0] == bodies[1]
    assert bodies[0] != bodies[2]


async def test_off_by_default() -> None:
    async with FakeGr4vy() as fake:
        fake.create_session(seed_create_body(), session_id=SESSION_ID)
        _, body = await raw_get(fake, f"/checkout/sessions/{SESSION_ID}")
    extended, _, _ = evolution_seen(json.loads(body), models.CheckoutSession)
    assert extended == []


# --------------------------------------------------------------------------- the client


async def test_the_four_operations_against_an_evolving_api() -> None:
    async with FakeGr4vy(evolve=True) as fake, client_for(fake) as client:
        sessions = client.checkout_sessions
        created = await sessions.create(request_body=seed_create_body())
        got = await sessions.get(session_id=created.id)
        updated = await sessions.update(session_id=created.id, metadata={"k": "v"})
        await sessions.delete(session_id=created.id)
        with pytest.raises(errors.Error404) as info:
            await sessions.get(session_id=created.id)
    assert info.value.data is not None
    assert got == created
    assert updated.metadata == {"k": "v"}
    assert created.cart_items is not None
    product_type = created.cart_items[0].product_type
    assert isinstance(product_type, models.ProductType)
    assert not product_type.is_known
    # What the session holds apart from its enums reads back as it was sent.
    sent = msgspec.to_builtins(seed_create_body())
    assert created.cart_items[0].name == sent["cart_items"][0]["name"]
    assert created.buyer is not None
    assert (
        msgspec.to_builtins(created.buyer)["billing_details"]["address"]
        == (sent["buyer"]["billing_details"]["address"])
    )


async def test_bulk_against_an_evolving_api() -> None:
    async with FakeGr4vy(evolve=True) as fake, client_for(fake) as client:
        ids = [fake.create_session({"cart_items": [_item()]}).id for _ in range(10)]
        missing = str(uuid.uuid4())
        found = await client.checkout_sessions.get_many([*ids, missing], concurrency=4)
        deleted = await client.checkout_sessions.delete_many([*ids, missing], concurrency=4)
    assert sorted(found.results) == sorted(ids)
    assert found.missing == [missing]
    assert all(not s.cart_items[0].product_type.is_known for s in found.results.values())
    assert sorted(deleted.done) == sorted(ids)
    assert deleted.missing == [missing]


def _item() -> dict[str, Any]:
    return {"name": "x", "quantity": 1, "unit_amount": 5, "product_type": "physical"}


async def test_the_command_line_against_an_evolving_api() -> None:
    async with FakeGr4vy(evolve=True) as fake:
        base = ("--server-url", fake.url, "--token", "t")
        body = json.dumps({"cart_items": [_item()]})
        code, out, err = await run_cli(
            *base, "-o", "json", "checkout-sessions", "create", "--body", body
        )
        assert code == 0, err
        session = json.loads(out)
        assert session["cart_items"][0]["product_type"].startswith("evolved-")
        code, out, err = await run_cli(*base, "checkout-sessions", "get", session["id"])
        assert code == 0, err
        assert out.splitlines()[0].split() == ["id", session["id"]]
        code, out, err = await run_cli(
            *base, "checkout-sessions", "update", session["id"], "--body", '{"metadata": {}}'
        )
        assert code == 0, err
        code, out, err = await run_cli(*base, "checkout-sessions", "delete", session["id"])
        assert (code, out) == (0, f"deleted {session['id']}\n"), err
        code, out, err = await run_cli(*base, "checkout-sessions", "get", session["id"])
        assert code == 1
        assert err.startswith("gr4vy-async: Error404: 404 not_found")


# --------------------------------------------------------------------------- turning it on


PLUGIN_TEST = """
import pytest

async def test_evolving(gr4vy_fake, gr4vy_client):
    assert gr4vy_fake.evolve
    item = {"name": "x", "quantity": 1, "unit_amount": 5, "product_type": "physical"}
    session = await gr4vy_client.checkout_sessions.create(request_body={"cart_items": [item]})
    assert not session.cart_items[0].product_type.is_known

@pytest.mark.gr4vy_evolve(seed=3)
async def test_marked(gr4vy_fake):
    assert (gr4vy_fake.evolve, gr4vy_fake.evolve_seed) == (True, 3)
"""


def test_the_pytest_option_and_marker_turn_it_on(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(PLUGIN_TEST)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--gr4vy-evolve")
    result.assert_outcomes(passed=2)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)  # the marked test evolves either way


async def test_the_process_flag_turns_it_on() -> None:
    async with start("--session", SESSION_ID, "--evolve", "--evolve-seed", "5") as server:
        status, body = await raw_get(server.url, f"/checkout/sessions/{SESSION_ID}")
        assert (await server.stop())[0] == 0
    assert status == 200
    assert evolution_seen(json.loads(body), models.CheckoutSession)[:2] == (["$"], [])
