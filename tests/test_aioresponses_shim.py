"""The aioresponses shim: on only for an aiohttp that needs it, and returns what was registered."""

import inspect

import aiohttp
from support.aioresponses_compat import NEEDS_STREAM_WRITER, CompatAioresponses


async def test_shim_returns_status_json_and_headers(mock_http: CompatAioresponses) -> None:
    mock_http.get("https://x.test/a", status=201, payload={"a": 1}, headers={"X-Request-Id": "r"})
    mock_http.post("https://x.test/b", status=422, body=b"not json")
    async with aiohttp.ClientSession() as session:
        async with session.get("https://x.test/a") as response:
            assert response.status == 201
            assert await response.json() == {"a": 1}
            assert response.headers["x-request-id"] == "r"
        async with session.post("https://x.test/b", data=b"{}") as response:
            assert response.status == 422
            assert await response.read() == b"not json"


def test_the_shim_is_on_exactly_when_this_aiohttp_needs_it() -> None:
    stream_writer = inspect.signature(aiohttp.ClientResponse.__init__).parameters["stream_writer"]
    required = stream_writer.default is inspect.Parameter.empty
    assert NEEDS_STREAM_WRITER is required
