"""Strict contract mode bites: a misspelt body field fails the contract check.

Prism accepts body properties its contract doesn't declare, so an adapter that sent
``auto_suspnd`` instead of ``auto_suspend`` used to pass every contract test (Snowflake would
answer 400, or worse, ignore it). The harness now also validates each request body against the
operation's request-body schema with unknown properties refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import pytest

from adapters.catalog import ActionCall
from adapters.data.snowflake import SnowflakeAdapter

from .common import pointed_at
from .prism import PrismPool, RecordingTransport, assert_no_request_violations, request_violations
from .steered import Sleeps

PRISM_SPECS = [("snowflake", "sqlapi.yaml"), ("snowflake", "warehouse.yaml")]

pytestmark = pytest.mark.anyio

TOKEN = "sf-strict-token-0b1c2d3e4f5a6b7c"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prism: PrismPool) -> Iterator[RecordingTransport]:
    sql, wh = prism.serve("snowflake", "sqlapi.yaml", "warehouse.yaml")
    monkeypatch.delenv("SOPHIA_SNOWFLAKE_ROLE", raising=False)
    with pointed_at(
        monkeypatch, "snowflake", sql.base_url, TOKEN, SOPHIA_SNOWFLAKE_TOKEN_TYPE="PROGRAMMATIC_ACCESS_TOKEN"
    ):
        yield RecordingTransport(routes={"/api/v2/warehouses": wh.base_url}, edit_json=_default_flags)


def _default_flags(request: Any, body: Any) -> Any:
    """Prism's canned warehouse with Snowflake's default query-acceleration flag (as in the contract test)."""
    if request.method == "GET" and isinstance(body, dict) and "enable_query_acceleration" in body:
        return {**body, "enable_query_acceleration": "false"}
    return body


@pytest.fixture
async def adapter(env: RecordingTransport) -> AsyncIterator[SnowflakeAdapter]:
    async with aclosing(SnowflakeAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


async def test_a_misspelt_body_field_fails_the_contract_check(
    adapter: SnowflakeAdapter, env: RecordingTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def misspelt(self: SnowflakeAdapter, call: ActionCall, before: Any) -> Any:
        return await self._alter_warehouse(call, auto_suspnd=call.params["seconds"])

    monkeypatch.setattr(SnowflakeAdapter, "do_warehouse_set_auto_suspend", misspelt)
    await adapter.configure(
        ActionCall(action="snowflake.warehouse.set_auto_suspend", target="ETL_WH", params={"seconds": 120})
    )
    put = next(ex for ex in env.exchanges if ex.request.method == "PUT")
    assert b'"auto_suspnd"' in put.request.content
    assert request_violations(put.response) == [], "Prism alone lets the misspelt field through"
    with pytest.raises(AssertionError, match=r"request\.body: .*'auto_suspnd' was unexpected"):
        assert_no_request_violations(env.exchanges)
