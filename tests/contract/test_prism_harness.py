"""The harness itself: Prism starts, reports request violations, and forces codes on demand.

If these fail, every contract test's "zero violations" would be meaningless, so they prove the
checker catches a bad request before any adapter is judged by it.
"""

from __future__ import annotations

import httpx
import pytest

from .prism import PrismPool, RecordingTransport, assert_no_request_violations, request_violations

PRISM_SPECS = [("snowflake", "sqlapi.yaml"), ("snowflake", "warehouse.yaml")]

pytestmark = pytest.mark.anyio

GOOD_BODY = {"statement": "SELECT 1", "bindings": {"1": {"type": "TEXT", "value": "x"}}}
HEADERS = {"Authorization": "Bearer test", "User-Agent": "sophia-iac-tests/1"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_valid_request_has_no_violations(prism: PrismPool) -> None:
    (server,) = prism.serve("snowflake", "sqlapi.yaml")
    transport = RecordingTransport()
    async with httpx.AsyncClient(base_url=server.base_url, transport=transport) as client:
        response = await client.post(
            "/api/v2/statements",
            params={"requestId": "6f6b1c2e-9a43-4c4b-9a1a-4f3b2c1d0e9f"},
            json=GOOD_BODY,
            headers=HEADERS,
        )
    assert response.status_code == 200
    assert assert_no_request_violations(transport.exchanges) == 1


async def test_bad_request_is_caught(prism: PrismPool) -> None:
    (server,) = prism.serve("snowflake", "sqlapi.yaml")
    transport = RecordingTransport()
    async with httpx.AsyncClient(base_url=server.base_url, transport=transport) as client:
        await client.post(
            "/api/v2/statements", params={"requestId": "not-a-uuid"}, json={"statement": 5}, headers=HEADERS
        )
        await client.get("/api/v2/no-such-endpoint", headers=HEADERS)
    first, second = transport.exchanges
    where = {".".join(v["location"]) for v in request_violations(first.response)}
    assert where == {"request.body.statement", "request.query.requestid"}
    assert request_violations(second.response), "an unknown path is a request-side violation"
    with pytest.raises(AssertionError, match="request.body.statement"):
        assert_no_request_violations(transport.exchanges)


async def test_forced_codes_then_pass_through_and_routing(prism: PrismPool) -> None:
    sql, wh = prism.serve("snowflake", "sqlapi.yaml", "warehouse.yaml")
    transport = RecordingTransport(routes={"/api/v2/warehouses": wh.base_url})
    transport.forced(429)
    async with httpx.AsyncClient(base_url=sql.base_url, transport=transport) as client:
        limited = await client.post("/api/v2/statements", json=GOOD_BODY, headers=HEADERS)
        ok = await client.post("/api/v2/statements", json=GOOD_BODY, headers=HEADERS)
        listed = await client.get("/api/v2/warehouses", headers=HEADERS)
    assert (limited.status_code, ok.status_code, listed.status_code) == (429, 200, 200)
    assert transport.exchanges[2].request.url.port == wh.port
    assert_no_request_violations(transport.exchanges)
