"""The harness itself: Prism starts, reports request violations, and forces codes on demand.

If these fail, every contract test's "zero violations" would be meaningless, so they prove the
checker catches a bad request before any adapter is judged by it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .handwritten import serve_fixture
from .prism import (
    PrismPool,
    PrismServer,
    RecordingTransport,
    assert_no_request_violations,
    request_violations,
)

PRISM_SPECS = [("snowflake", "sqlapi.yaml"), ("snowflake", "warehouse.yaml")]

pytestmark = pytest.mark.anyio

GOOD_BODY = {"statement": "SELECT 1", "bindings": {"1": {"type": "TEXT", "value": "x"}}}
HEADERS = {"Authorization": "Bearer test", "User-Agent": "sophia-iac-tests/1"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


#: A small hand-written Pinecone contract, kept for this harness test alone (Pinecone's own
#: tests use its published document): its describe declares no 4xx, so Prism answers
#: problem+json, and it pins the version header and the index name, so three kinds show up.
HANDWRITTEN_PINECONE = Path(__file__).resolve().parent / "fixtures" / "pinecone" / "openapi.yaml"


@pytest.fixture(scope="module")
def pinecone_server() -> Iterator[PrismServer]:
    """Prism serving :data:`HANDWRITTEN_PINECONE`."""
    with serve_fixture(HANDWRITTEN_PINECONE) as server:
        yield server


async def _send_without_user_agent(client: httpx.AsyncClient, method: str, url: str, **kw: object) -> None:
    request = client.build_request(method, url, **kw)  # type: ignore[arg-type]
    del request.headers["user-agent"]  # httpx adds one by default
    await client.send(request)


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


async def test_header_and_path_violations_are_caught(prism: PrismPool) -> None:
    """Reported in the ``sl-violations`` header (the operation declares a 422)."""
    (server,) = prism.serve("snowflake", "sqlapi.yaml")
    transport = RecordingTransport()
    headers = {"Authorization": "Bearer test"}
    async with httpx.AsyncClient(base_url=server.base_url, transport=transport) as client:
        await _send_without_user_agent(client, "POST", "/api/v2/statements", json=GOOD_BODY, headers=headers)
        await client.get("/api/v2/statements/not-a-uuid", headers=HEADERS)
    no_agent, bad_handle = transport.exchanges
    assert [".".join(v["location"]) for v in request_violations(no_agent.response)] == ["request.header"]
    assert "user-agent" in request_violations(no_agent.response)[0]["message"]
    assert [".".join(v["location"]) for v in request_violations(bad_handle.response)] == [
        "request.path.statementhandle"
    ]
    with pytest.raises(AssertionError, match=r"(?s)request\.header: .*request\.path\.statementhandle"):
        assert_no_request_violations(transport.exchanges)


async def test_problem_body_violations_are_caught(pinecone_server: PrismServer) -> None:
    """Reported in Prism's problem+json body, bare (``header``, ``path``): counted as the request's."""
    transport = RecordingTransport()
    async with httpx.AsyncClient(
        base_url=pinecone_server.base_url, transport=transport, headers={"Api-Key": "pcsk_harness"}
    ) as client:
        await client.get("/indexes/kb")  # no X-Pinecone-Api-Version
        await client.get("/indexes/kb", headers={"X-Pinecone-Api-Version": "2024-07"})
        await client.get("/indexes/Not_A_Name", headers={"X-Pinecone-Api-Version": "2026-04"})
        await client.get("/indexes/kb", headers={"X-Pinecone-Api-Version": "2026-04"})
    where = [[".".join(v["location"]) for v in request_violations(ex.response)] for ex in transport.exchanges]
    assert where == [
        ["request.header"],
        ["request.header.x-pinecone-api-version"],
        ["request.path.index_name"],
        [],
    ]
    assert [ex.response.status_code for ex in transport.exchanges] == [422, 422, 422, 200]
    with pytest.raises(AssertionError, match="request.path.index_name"):
        assert_no_request_violations(transport.exchanges)
    assert assert_no_request_violations(transport.exchanges[3:]) == 1
