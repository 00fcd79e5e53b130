"""pytest fixtures for testing code that uses gr4vy_async.

Registered as a ``pytest11`` entry point, so installing the package makes
them available: ``gr4vy_fake`` (a running :class:`FakeGr4vy`) and
``gr4vy_client`` (a ``Gr4vy`` client pointed at it). Override
``gr4vy_fake_options`` to configure the fake (a ``public_key``, a ``clock``);
``gr4vy_key_pair`` is a P-521 key pair for a fake that checks signatures,
and ``gr4vy_bearer_auth`` what ``gr4vy_client`` authenticates with.
``gr4vy_webhook_secret`` is a webhook secret made for the test, and
``gr4vy_send_webhook(url)`` delivers a signed transaction event with it from
``gr4vy_fake`` (:meth:`FakeGr4vy.send_webhook`).

``pytest --gr4vy-evolve`` (``--gr4vy-evolve-seed N``) makes every
``gr4vy_fake`` answer as a later API release might (``FakeGr4vy(evolve=True)``);
the ``@pytest.mark.gr4vy_evolve(seed=0)`` marker does it for one test or
module. ``gr4vy_fake_options`` given explicitly win over both.

The fixtures are async: with pytest-asyncio installed they work in its
``strict`` mode (mark the tests ``@pytest.mark.asyncio``) and its ``auto``
mode; otherwise they are plain async fixtures for whichever async plugin
(anyio, ...) runs the tests.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from .._transport import BearerAuth
from ..client import Gr4vy
from .fake import FakeGr4vy
from .webhooks import Delivery

if TYPE_CHECKING:
    from .keys import KeyPair

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - pytest-asyncio is not a dependency
    _async_fixture = pytest.fixture  # type: ignore[assignment]

__all__ = [
    "gr4vy_bearer_auth",
    "gr4vy_client",
    "gr4vy_fake",
    "gr4vy_fake_options",
    "gr4vy_key_pair",
    "gr4vy_send_webhook",
    "gr4vy_webhook_secret",
    "pytest_addoption",
    "pytest_configure",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--gr4vy-evolve`` and ``--gr4vy-evolve-seed``."""
    group = parser.getgroup("gr4vy", "gr4vy_async fixtures")
    group.addoption(
        "--gr4vy-evolve",
        action="store_true",
        help="gr4vy_fake answers as a later API release might: an unknown field in every "
        "object, an unknown value in every enum field",
    )
    group.addoption(
        "--gr4vy-evolve-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of what --gr4vy-evolve adds (default 0)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``gr4vy_evolve`` marker."""
    config.addinivalue_line(
        "markers",
        "gr4vy_evolve(seed=0): gr4vy_fake answers as a later API release might "
        "(FakeGr4vy(evolve=True))",
    )


def _evolve_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """``evolve``/``evolve_seed`` from the test's ``gr4vy_evolve`` marker or the command line."""
    marker = request.node.get_closest_marker("gr4vy_evolve")
    if marker is not None:
        return {"evolve": True, "evolve_seed": marker.kwargs.get("seed", 0)}
    if request.config.getoption("gr4vy_evolve"):
        return {"evolve": True, "evolve_seed": request.config.getoption("gr4vy_evolve_seed")}
    return {}


@pytest.fixture(scope="session")
def gr4vy_key_pair() -> KeyPair:
    """A P-521 key pair made for this test run.

    To have the fake check signatures, give it the public key; ``gr4vy_client``
    then signs with the private key::

        @pytest.fixture
        def gr4vy_fake_options(gr4vy_key_pair):
            return {"public_key": gr4vy_key_pair.public_key}
    """
    from .keys import KeyPair  # cryptography: only when a test asks for keys

    return KeyPair.generate()


@pytest.fixture
def gr4vy_fake_options() -> dict[str, Any]:
    """Keyword arguments for the ``gr4vy_fake`` FakeGr4vy; override to configure it."""
    return {}


@pytest.fixture
def gr4vy_bearer_auth(
    gr4vy_fake_options: dict[str, Any], request: pytest.FixtureRequest
) -> BearerAuth:
    """What ``gr4vy_client`` authenticates with.

    The plain token ``"token"`` when the fake checks no signatures; signed
    tokens from ``gr4vy_key_pair`` when its public key is the fake's. For a
    fake with a public key of your own, override this fixture (for example
    with ``auth.with_token(your_private_key)``).
    """
    public_key = gr4vy_fake_options.get("public_key")
    if public_key is None:
        return "token"
    gr4vy_key_pair: KeyPair = request.getfixturevalue("gr4vy_key_pair")
    if not gr4vy_key_pair.matches(public_key):
        pytest.fail(
            "gr4vy_fake_options['public_key'] is not gr4vy_key_pair's public key: use "
            "gr4vy_key_pair.public_key, or override gr4vy_bearer_auth to sign with your "
            "private key (auth.with_token(private_key))",
            pytrace=False,
        )
    from .. import auth  # PyJWT and cryptography: only for a fake that checks signatures

    return auth.with_token(gr4vy_key_pair.private_key)


@_async_fixture
async def gr4vy_fake(
    gr4vy_fake_options: dict[str, Any], request: pytest.FixtureRequest
) -> AsyncIterator[FakeGr4vy]:
    """A FakeGr4vy serving on 127.0.0.1 for the duration of the test.

    It evolves (``FakeGr4vy(evolve=True)``) under ``--gr4vy-evolve`` or the
    ``gr4vy_evolve`` marker, unless ``gr4vy_fake_options`` says otherwise.
    """
    async with FakeGr4vy(**{**_evolve_options(request), **gr4vy_fake_options}) as fake:
        yield fake


@_async_fixture
async def gr4vy_client(
    gr4vy_fake: FakeGr4vy, gr4vy_bearer_auth: BearerAuth
) -> AsyncIterator[Gr4vy]:
    """A ``Gr4vy`` client pointed at ``gr4vy_fake`` (merchant account ``default``)."""
    async with Gr4vy(
        server_url=gr4vy_fake.url, bearer_auth=gr4vy_bearer_auth, merchant_account_id="default"
    ) as client:
        yield client


@pytest.fixture
def gr4vy_webhook_secret() -> str:
    """A webhook secret made for this test: configure the endpoint under test with it."""
    return secrets.token_urlsafe(64)


@pytest.fixture
def gr4vy_send_webhook(
    gr4vy_fake: FakeGr4vy, gr4vy_webhook_secret: str
) -> Callable[..., Awaitable[Delivery]]:
    """``await gr4vy_send_webhook(url, **options)``: ``gr4vy_fake.send_webhook`` with the secret.

    Delivers a transaction event for a session on ``gr4vy_fake`` (a new one
    unless ``session_id=`` names one), signed with ``gr4vy_webhook_secret``,
    retried after a non-2xx with scaled-down delays; returns the ``Delivery``.
    """

    async def send(url: str, **options: Any) -> Delivery:
        return await gr4vy_fake.send_webhook(url, gr4vy_webhook_secret, **options)

    return send
