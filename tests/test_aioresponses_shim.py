"""The aioresponses shim for aiohttp 3.14 returns what was registered."""

import aiohttp
from conftest import CompatAioresponses


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
