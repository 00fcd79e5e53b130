"""The clients the benchmarks measure, in one place.

Every client does each operation once per call, against a server at
``setup["url"]``:

- ``ours``: ``gr4vy_async``, as a user writes it (the cached ES512
  ``auth.with_token`` provider);
- ``official`` / ``official-es512``: the official ``gr4vy`` SDK's ``*_async``
  methods, with a static token or with its own ``auth.with_token`` (which
  signs a new token for every request);
- ``floor``: raw aiohttp, the same headers and URLs, pre-encoded bytes sent
  and the response bytes read undecoded;
- ``typed-floor``: the floor plus what any hand-written typed msgspec client
  does: check the body against the model (encode, then decode with every
  constraint) and decode the response into a ``CheckoutSession``.

The official SDK is imported only by the clients that use it, so the
benchmarks that do not (memory, profile, overhead) neither pay for nor need it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

import aiohttp
import msgspec
from yarl import URL

import gr4vy_async
from gr4vy_async import auth, models
from gr4vy_async.testing.keys import KeyPair
from gr4vy_async.testing.payloads import seed_create_body

if TYPE_CHECKING:
    from gr4vy import models as sdk_models

__all__ = [
    "KINDS",
    "OPERATIONS",
    "Client",
    "Setup",
    "make_client",
    "make_setup",
    "new_p521_key",
    "official_create_body",
    "operation",
    "run_calls",
    "session_response",
]

#: Client kind -> the label the tables use.
KINDS = {
    "ours": "a gr4vy_async",
    "candidate": "a' candidate",
    "official": "b official",
    "official-es512": "b2 official+ES512",
    "floor": "c aiohttp floor",
    "typed-floor": "c' typed floor",
}
OPERATIONS = ("create", "get", "update", "delete", "cycle")
#: Fields of the seed payload an update sends (everything a create sends).
UPDATE_FIELDS = ("cart_items", "metadata", "buyer", "airline", "expires_in")


class Setup(TypedDict):
    """What a client needs, as JSON (it crosses into a child process)."""

    url: str
    pem: str
    token: str
    body: str
    user_agent: str


def new_p521_key() -> tuple[str, bytes]:
    """A fresh P-521 private key as PEM text, and its public key as PEM bytes."""
    pair = KeyPair.generate()
    return pair.private_key, pair.public_key.encode()


def make_setup(url: str, pem: str) -> Setup:
    """What every client needs to reach the server at ``url`` with the private key ``pem``.

    The floors and the official SDK's static-token client send one token
    signed with that key; ours and the official SDK's ES512 client sign their own.
    """
    from gr4vy_async._transport import USER_AGENT

    body = msgspec.json.encode(seed_create_body()).decode()
    return Setup(url=url, pem=pem, token=auth.get_token(pem), body=body, user_agent=USER_AGENT)


def official_create_body() -> sdk_models.CheckoutSessionCreate:
    """The seed payload of ``seed_create_body()`` as the official SDK's model.

    Converted, not restated: the seed's JSON document validated by the SDK's
    own ``CheckoutSessionCreate``, so both libraries always send the same values.
    """
    from gr4vy import models as sdk

    return sdk.CheckoutSessionCreate.model_validate(msgspec.to_builtins(seed_create_body()))


def session_response() -> bytes:
    """A full CheckoutSession response: the seed payload as the server echoes it back.

    With an id, an expiry and a card ``payment_method``: what a client decodes.
    """
    document = msgspec.to_builtins(seed_create_body())
    del document["expires_in"]  # a request-only field
    document.update(
        type="checkout-session",
        id="4137b1cf-39ac-42a8-bad6-1c680d5dab6b",
        expires_at="2013-07-16T20:23:00.000+00:00",
        payment_method={
            "type": "payment-method",
            "id": "ef9496d8-53a5-4aad-8ca2-00eb68334389",
            "details": {
                "bin": "411111",
                "card_country": "US",
                "card_type": "credit",
                "card_issuer_name": "Bank of America NA",
            },
            "label": "1234",
            "method": "card",
            "scheme": "visa",
            "fingerprint": "a50b85c200ee0795d6fd33a5c66f37a4564f554355c5b46a756aac485dd168a4",
        },
    )
    return msgspec.json.encode(document)


class Client(Protocol):
    """One implementation, doing each operation once."""

    auth: str
    """How it authenticates (printed above the tables)."""
    module: str
    """Where its library was imported from ("" when that says nothing)."""

    async def create(self) -> str: ...
    async def get(self, session_id: str) -> object: ...
    async def update(self, session_id: str) -> None: ...
    async def delete(self, session_id: str) -> None: ...
    async def aclose(self) -> None: ...


class Ours:
    """gr4vy_async, as a user writes it (``session``: an aiohttp session of the caller's)."""

    def __init__(self, setup: Setup, session: aiohttp.ClientSession | None = None) -> None:
        self.auth = "auth.with_token(P-521 pem): cached ES512 provider"
        self.module = gr4vy_async.__file__ or ""
        self.client = gr4vy_async.Gr4vy(
            server_url=setup["url"], bearer_auth=auth.with_token(setup["pem"]), session=session
        )
        self.sessions = self.client.checkout_sessions
        self.body = seed_create_body()
        self.update_fields = {name: getattr(self.body, name) for name in UPDATE_FIELDS}

    async def create(self) -> str:
        return (await self.sessions.create(request_body=self.body)).id

    async def get(self, session_id: str) -> object:
        return await self.sessions.get(session_id=session_id)

    async def update(self, session_id: str) -> None:
        await self.sessions.update(session_id=session_id, **self.update_fields)

    async def delete(self, session_id: str) -> None:
        await self.sessions.delete(session_id=session_id)

    async def aclose(self) -> None:
        await self.client.aclose()


class Official:
    """The official SDK's async methods; ``signed``: its per-request ES512 ``with_token``."""

    def __init__(self, setup: Setup, signed: bool) -> None:
        import gr4vy
        from gr4vy import auth as sdk_auth

        bearer: Any = sdk_auth.with_token(setup["pem"]) if signed else setup["token"]
        self.auth = "auth.with_token(pem): signs every request" if signed else "static token"
        self.module = ""
        self.sdk = gr4vy.Gr4vy(server_url=setup["url"], bearer_auth=bearer)
        self.sessions = self.sdk.checkout_sessions
        body = official_create_body()
        self.body = body
        self.update_fields = {name: getattr(body, name) for name in UPDATE_FIELDS}

    async def create(self) -> str:
        created = await self.sessions.create_async(checkout_session_create=self.body)
        return str(created.id)

    async def get(self, session_id: str) -> object:
        return await self.sessions.get_async(session_id=session_id)

    async def update(self, session_id: str) -> None:
        await self.sessions.update_async(session_id=session_id, **self.update_fields)

    async def delete(self, session_id: str) -> None:
        await self.sessions.delete_async(session_id=session_id)

    async def aclose(self) -> None:
        # Typed as Any: the SDK leaves __aexit__ unannotated (strict mypy would refuse the call).
        close: Any = self.sdk.__aexit__
        await close(None, None, None)


class Floor:
    """Raw aiohttp: pre-encoded body, the same headers and URLs, bytes read and not decoded."""

    _ID_MARK = b'"checkout-session","id":"'

    def __init__(self, setup: Setup) -> None:
        self.auth = "static token (one signed JWT)"
        self.module = ""
        self.base = setup["url"] + "/checkout/sessions"
        self.collection = URL(self.base, encoded=True)
        self.body = setup["body"].encode()
        self.headers = {
            "User-Agent": setup["user_agent"],
            "Accept": "application/json",
            "Authorization": f"Bearer {setup['token']}",
        }
        self.body_headers = {**self.headers, "Content-Type": "application/json"}
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))

    async def _send(
        self, method: str, url: URL, headers: dict[str, str], body: bytes | None, expected: int
    ) -> bytes:
        async with self.session.request(method, url, data=body, headers=headers) as response:
            raw = await response.read()
            if response.status != expected:
                raise RuntimeError(f"{method} {url}: {response.status} {raw[:200]!r}")
            return raw

    def _item(self, session_id: str) -> URL:
        return URL(f"{self.base}/{session_id}", encoded=True)

    def _encode(self) -> bytes:
        """The request body of a create or an update."""
        return self.body

    async def create(self) -> str:
        raw = await self._send("POST", self.collection, self.body_headers, self._encode(), 201)
        start = raw.index(self._ID_MARK) + len(self._ID_MARK)
        return raw[start : start + 36].decode()

    async def get(self, session_id: str) -> object:
        return await self._send("GET", self._item(session_id), self.headers, None, 200)

    async def update(self, session_id: str) -> None:
        await self._send("PUT", self._item(session_id), self.body_headers, self._encode(), 200)

    async def delete(self, session_id: str) -> None:
        await self._send("DELETE", self._item(session_id), self.headers, None, 204)

    async def aclose(self) -> None:
        await self.session.close()


class TypedFloor(Floor):
    """The floor plus the typed work any msgspec client does, written by hand with msgspec.

    Each request body is encoded from the seed model and checked by decoding
    it back into ``CheckoutSessionUpdate`` (every constraint), and each
    response is decoded into a ``CheckoutSession``. It uses only msgspec and
    the model types, none of gr4vy_async's code, so a change to our codec
    does not move this floor.
    """

    def __init__(self, setup: Setup) -> None:
        super().__init__(setup)
        self.auth = "static token (one signed JWT), msgspec check + typed decode"
        self.seed = seed_create_body()
        self.encoder = msgspec.json.Encoder()
        self.check = msgspec.json.Decoder(models.CheckoutSessionUpdate).decode
        self.decode = msgspec.json.Decoder(models.CheckoutSession).decode

    def _encode(self) -> bytes:
        raw = self.encoder.encode(self.seed)
        self.check(raw)
        return raw

    async def create(self) -> str:
        raw = await self._send("POST", self.collection, self.body_headers, self._encode(), 201)
        return self.decode(raw).id

    async def get(self, session_id: str) -> object:
        return self.decode(await self._send("GET", self._item(session_id), self.headers, None, 200))

    async def update(self, session_id: str) -> None:
        url = self._item(session_id)
        self.decode(await self._send("PUT", url, self.body_headers, self._encode(), 200))


def make_client(kind: str, setup: Setup) -> Client:
    """The client of ``kind`` (a key of :data:`KINDS`; made inside the running loop)."""
    if kind in ("ours", "candidate"):
        return Ours(setup)
    if kind in ("official", "official-es512"):
        return Official(setup, signed=kind == "official-es512")
    if kind == "floor":
        return Floor(setup)
    if kind == "typed-floor":
        return TypedFloor(setup)
    raise ValueError(f"unknown client {kind!r}; expected one of {', '.join(KINDS)}")


Call = Callable[[int], Awaitable[object]]


def operation(client: Client, op: str, ids: list[str]) -> Call:
    """Call number ``i`` of ``op``: get/update go round ``ids``, delete uses ``ids[i]``.

    ``cycle`` is a create, get, update and delete of one session (4 requests).
    """
    if op == "create":
        return lambda i: client.create()
    if op == "get":
        return lambda i: client.get(ids[i % len(ids)])
    if op == "update":
        return lambda i: client.update(ids[i % len(ids)])
    if op == "delete":
        return lambda i: client.delete(ids[i])
    if op != "cycle":
        raise ValueError(f"unknown operation {op!r}; expected one of {', '.join(OPERATIONS)}")

    async def cycle(i: int) -> None:
        session_id = await client.create()
        await client.get(session_id)
        await client.update(session_id)
        await client.delete(session_id)

    return cycle


async def run_calls(call: Call, start: int, count: int, concurrency: int) -> None:
    """Calls ``start`` .. ``start + count - 1``, at most ``concurrency`` at a time.

    ``concurrency`` lanes, each sending its next call when its last returns.
    """
    next_index, end = start, start + count

    async def lane() -> None:
        nonlocal next_index
        while next_index < end:
            index, next_index = next_index, next_index + 1
            await call(index)

    await asyncio.gather(*(lane() for _ in range(min(concurrency, count))))
