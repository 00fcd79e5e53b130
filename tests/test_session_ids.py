"""The one session-id rule (issue 19, item 2): only the id that was typed is ever sent."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gr4vy_async import Gr4vy, errors
from gr4vy_async.checkout_sessions import canonical_session_id
from gr4vy_async.testing import FakeGr4vy

ID = "4137b1cf-39ac-42a8-bad6-1c680d5dab6b"
#: The forms uuid.UUID(text) reads that are not the id as typed (issue 19's list).
MISTYPED = [
    ID[:-1] + " ",  # 31 digits and a space: another, zero-padded id on the old code
    " " + ID,
    ID + "\n",
    "\t" + ID,
    ID[:8] + "_" + ID[9:],  # an underscore for a hyphen
    ID.replace("-", "")[:31] + "_",
    ID.replace("-", "")[:16] + "_" + ID.replace("-", "")[16:31],
    "{" + ID + "}",
    "urn:uuid:" + ID,
    "+" + ID.replace("-", "")[1:],
    ID[:-1] + "\u0663",  # ARABIC-INDIC DIGIT THREE
    ID.replace("-", "")[:-1] + "\uff11",  # FULLWIDTH DIGIT ONE
    ID[:9] + "-" + ID[9:],  # a hyphen too many
    ID[:8] + ID[9:13] + "-" + ID[13:],  # a hyphen moved
]
_ACCEPTED = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{32}"
)


@pytest.mark.parametrize("typed", MISTYPED, ids=repr)
async def test_a_mistyped_id_is_refused_before_any_request(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy, typed: str
) -> None:
    sessions = gr4vy_client.checkout_sessions
    for call in (
        sessions.get(session_id=typed),
        sessions.update(session_id=typed, amount=1),
        sessions.delete(session_id=typed),
    ):
        with pytest.raises(errors.InvalidRequestError) as info:
            await call
        assert info.value.field == "session_id"
        assert typed.strip() not in str(info.value)
        assert typed.strip() not in str(info.value.reason)
    assert gr4vy_fake.requests == []


@pytest.mark.parametrize(
    "typed", [ID, ID.upper(), ID.replace("-", ""), ID.replace("-", "").upper(), uuid.UUID(ID)]
)
async def test_the_accepted_forms_send_the_canonical_id(
    gr4vy_client: Gr4vy, gr4vy_fake: FakeGr4vy, typed: str | uuid.UUID
) -> None:
    with pytest.raises(errors.Error404):
        await gr4vy_client.checkout_sessions.delete(session_id=typed)
    assert [request.path for request in gr4vy_fake.requests] == [f"/checkout/sessions/{ID}"]


def test_the_rule_has_one_home_and_says_why_without_the_text() -> None:
    from gr4vy_async import checkout_sessions, session_ids

    assert checkout_sessions.canonical_session_id is session_ids.canonical_session_id
    assert session_ids.is_session_id(ID)
    assert session_ids.is_session_id(uuid.UUID(ID))
    assert session_ids.why_not_a_session_id(ID) is None
    for typed, why in [
        ("", "is empty"),
        (ID + " ", "is too long (37 characters)"),
        (ID[:-1] + " ", "has whitespace at position 36"),
        ("{" + ID[1:-1] + "}", "has a character that is not a hex digit at position 1"),
        (ID[:-1], "has 31 hex digits, not 32"),
        (ID[:8] + ID[9:13] + "-" + ID[13:], "has its hyphens out of place (expected 8-4-4-4-12)"),
        (None, "not a string or UUID (None)"),
    ]:
        assert not session_ids.is_session_id(typed)
        assert session_ids.why_not_a_session_id(typed) == why
        with pytest.raises(errors.InvalidRequestError) as info:
            canonical_session_id(typed)  # type: ignore[arg-type]
        assert info.value.reason == why


_HEXISH = st.text(alphabet="0123456789abcdefABCDEF-", min_size=30, max_size=38)
_ANYTHING = st.text(max_size=40)
_NEAR_MISS = st.builds(
    lambda text, at, char: text[:at] + char + text[at:],
    st.sampled_from([ID, ID.upper(), ID.replace("-", "")]),
    st.integers(0, 36),
    st.characters(),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_HEXISH, _ANYTHING, _NEAR_MISS, st.uuids().map(str)))
def test_property_only_the_typed_id_is_ever_accepted(typed: str) -> None:
    if not _ACCEPTED.fullmatch(typed):
        with pytest.raises(errors.InvalidRequestError) as info:
            canonical_session_id(typed)
        assert info.value.field == "session_id"
        return
    sent = canonical_session_id(typed)
    # The id sent is the one typed: same 32 digits, in order, lower case.
    assert sent == str(uuid.UUID(hex=typed.replace("-", "")))
    assert sent.replace("-", "") == typed.replace("-", "").lower()
