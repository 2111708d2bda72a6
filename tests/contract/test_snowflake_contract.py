"""The Snowflake adapter against Snowflake's published contracts, served by Prism.

Three Prism servers (SQL API, warehouse API, database API; one spec file each) sit behind one
base URL: the recording transport routes ``/api/v2/warehouses…`` and ``/api/v2/databases…``
to their servers and everything else to the SQL API's. Every action runs through
``configure`` and every request it sent must have zero request-side violations. Error paths
are forced per request with ``Prefer: code=…``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import pytest

from adapters.catalog import ActionCall
from adapters.data.snowflake import READ_ONLY_STATEMENTS, SnowflakeAdapter
from adapters.http import CircuitOpenError, PlatformAuthError
from adapters.specs.snowflake import ACTIONS
from adapters.specs.snowflake_more import MORE_ACTIONS
from orchestrator.errors import AdapterError, NotFoundError

from .common import assert_catalog_covered, pointed_at
from .prism import PrismPool, RecordingTransport, assert_no_request_violations, request_violations
from .steered import Sleeps

PRISM_SPECS = [("snowflake", "sqlapi.yaml"), ("snowflake", "warehouse.yaml"), ("snowflake", "database.yaml")]

pytestmark = pytest.mark.anyio

TOKEN = "sf-test-token-0b1c2d3e4f5a6b7c"

#: action → (target, params, forced codes per request in order; None = as served)
CASES: dict[str, tuple[str, dict[str, Any], list[int | None]]] = {
    "snowflake.warehouse.create": (
        "reporting_wh",
        {"size": "Small", "auto_suspend_seconds": "5 minutes"},
        [404],
    ),
    "snowflake.warehouse.scale": ("ETL_WH", {"size": "x-large"}, []),
    "snowflake.warehouse.suspend": ("ETL_WH", {}, []),
    "snowflake.warehouse.resume": ("ETL_WH", {}, []),
    "snowflake.warehouse.set_auto_suspend": ("ETL_WH", {"seconds": 120}, []),
    "snowflake.warehouse.drop": ("OLD_WH", {}, [None, None, 404]),
    "snowflake.database.create": ("marketing", {}, [404]),
    "snowflake.database.drop": ("SANDBOX", {}, [None, None, 404]),
    "snowflake.role.grant": ("jsmith", {"role": "analyst"}, []),
    "snowflake.role.revoke": ("jsmith", {"role": "ANALYST"}, []),
}

#: action → the mutating request it must send (method, path)
MUTATION: dict[str, tuple[str, str]] = {
    "snowflake.warehouse.create": ("POST", "/api/v2/warehouses"),
    "snowflake.warehouse.scale": ("PUT", "/api/v2/warehouses/ETL_WH"),
    "snowflake.warehouse.suspend": ("POST", "/api/v2/warehouses/ETL_WH:suspend"),
    "snowflake.warehouse.resume": ("POST", "/api/v2/warehouses/ETL_WH:resume"),
    "snowflake.warehouse.set_auto_suspend": ("PUT", "/api/v2/warehouses/ETL_WH"),
    "snowflake.warehouse.drop": ("DELETE", "/api/v2/warehouses/OLD_WH"),
    "snowflake.database.create": ("POST", "/api/v2/databases"),
    "snowflake.database.drop": ("DELETE", "/api/v2/databases/SANDBOX"),
    "snowflake.role.grant": ("POST", "/api/v2/statements"),
    "snowflake.role.revoke": ("POST", "/api/v2/statements"),
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prism: PrismPool) -> Iterator[RecordingTransport]:
    sql, wh, db = prism.serve("snowflake", "sqlapi.yaml", "warehouse.yaml", "database.yaml")
    monkeypatch.delenv("SOPHIA_SNOWFLAKE_ROLE", raising=False)
    with pointed_at(
        monkeypatch, "snowflake", sql.base_url, TOKEN, SOPHIA_SNOWFLAKE_TOKEN_TYPE="PROGRAMMATIC_ACCESS_TOKEN"
    ):
        yield RecordingTransport(
            routes={"/api/v2/warehouses": wh.base_url, "/api/v2/databases": db.base_url},
            edit_json=default_flags,
        )


def default_flags(request: Any, body: Any) -> Any:
    """Prism's one canned warehouse has query acceleration on, a value this contract can't take
    back (see test_non_default_flag_hits_the_contracts_unsatisfiable_enum); the other tests use
    a warehouse with Snowflake's default flags."""
    if request.method == "GET" and isinstance(body, dict) and "enable_query_acceleration" in body:
        return {**body, "enable_query_acceleration": "false"}
    return body


@pytest.fixture
async def adapter(env: RecordingTransport) -> AsyncIterator[SnowflakeAdapter]:
    async with aclosing(SnowflakeAdapter(transport=env, sleep=Sleeps())) as a:
        yield a


def test_every_catalog_action_has_a_contract_case() -> None:
    first = [spec for spec in ACTIONS if spec not in MORE_ACTIONS]  # the rest: test_snowflake_more_contract
    assert_catalog_covered(SnowflakeAdapter, first, CASES, MUTATION)


@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(
    action: str, adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    target, params, forced = CASES[action]
    env.forced(*forced)
    result = await adapter.configure(ActionCall(action=action, target=target, params=params))
    checked = assert_no_request_violations(env.exchanges)
    assert checked >= 2, "observe, then the change (and a read-back)"
    method, path = MUTATION[action]
    sent = [(ex.request.method, ex.request.url.path) for ex in env.exchanges]
    assert (method, path) in sent, sent
    for ex in env.exchanges:
        assert ex.request.headers["authorization"] == f"Bearer {TOKEN}"
        assert ex.request.headers["x-snowflake-authorization-token-type"] == "PROGRAMMATIC_ACCESS_TOKEN"
        assert ex.request.headers["user-agent"].startswith("sophia-iac/")
    spec = adapter.spec(action)
    assert result.inverse == spec.derive_inverse(result.call, result.before, result.after)
    if spec.inverse is not None:
        assert result.inverse is not None and result.inverse.action.startswith("snowflake.")


async def test_create_sends_normalised_params(adapter: SnowflakeAdapter, env: RecordingTransport) -> None:
    env.forced(404)
    result = await adapter.configure(
        ActionCall(
            action="snowflake.warehouse.create",
            target="reporting_wh",
            params={"size": "Small", "auto_suspend_seconds": "5 minutes"},
        )
    )
    post = next(ex for ex in env.exchanges if ex.request.method == "POST")
    assert json.loads(post.request.content) == {
        "name": "REPORTING_WH",
        "warehouse_size": "SMALL",
        "auto_suspend": 300,
    }
    assert post.request.url.params["createMode"] == "errorIfExists"
    assert result.before is None and result.expected == {
        "name": "REPORTING_WH",
        "size": "SMALL",
        "state": "STARTED",
        "auto_suspend_seconds": 300,
    }
    assert result.inverse == ActionCall(action="snowflake.warehouse.drop", target="reporting_wh", params={})


async def test_scale_puts_the_full_property_set_with_one_change(
    adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    result = await adapter.configure(
        ActionCall(action="snowflake.warehouse.scale", target="etl_wh", params={"size": "XL"})
    )
    put = next(ex for ex in env.exchanges if ex.request.method == "PUT")
    body = json.loads(put.request.content)
    assert body["warehouse_size"] == "XLARGE" and body["name"] == "ETL_WH"
    assert not {"state", "created_on", "owner", "running"} & set(body), "read-only fields are not sent back"
    assert result.expected is not None and result.expected["size"] == "XLARGE"
    assert result.inverse is not None and result.inverse.params == {"size": result.before["size"]}


async def test_grants_use_bind_variables_and_a_request_id(
    adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    await adapter.configure(
        ActionCall(action="snowflake.role.grant", target="jsmith", params={"role": "analyst"})
    )
    statements = [ex for ex in env.exchanges if ex.request.url.path == "/api/v2/statements"]
    bodies = [json.loads(ex.request.content) for ex in statements]
    grant = next(b for b in bodies if b["statement"].startswith("GRANT"))
    assert grant["statement"] == "GRANT ROLE IDENTIFIER(?) TO USER IDENTIFIER(?)"
    assert grant["bindings"] == {
        "1": {"type": "TEXT", "value": "ANALYST"},
        "2": {"type": "TEXT", "value": "JSMITH"},
    }
    assert all("JSMITH" not in b["statement"] and "ANALYST" not in b["statement"] for b in bodies)
    ids = [ex.request.url.params["requestId"] for ex in statements]
    assert len(set(ids)) == len(ids) == 3, "one fresh requestId per logical statement"


async def test_sql_429_is_retried_with_the_same_request_id(
    adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    env.forced(None, 429)  # SHOW GRANTS ok, then the GRANT is rate-limited once
    await adapter.configure(
        ActionCall(action="snowflake.role.grant", target="jsmith", params={"role": "analyst"})
    )
    grants = [ex for ex in env.exchanges if b"GRANT ROLE" in ex.request.content]
    assert [ex.response.status_code for ex in grants] == [429, 200]
    first, second = (ex.request.url.params for ex in grants)
    assert first["requestId"] == second["requestId"]
    assert "retry" not in first and second["retry"] == "true"
    assert len(adapter.sleep.waits) == 1  # type: ignore[union-attr]
    assert_no_request_violations(env.exchanges)


async def test_rest_429_is_retried(adapter: SnowflakeAdapter, env: RecordingTransport) -> None:
    env.forced(None, None, 429)  # observe, read for PUT, then the PUT is rate-limited once
    await adapter.configure(
        ActionCall(action="snowflake.warehouse.scale", target="ETL_WH", params={"size": "large"})
    )
    puts = [ex.response.status_code for ex in env.exchanges if ex.request.method == "PUT"]
    assert puts == [429, 200]
    assert_no_request_violations(env.exchanges)


async def test_401_names_the_credential_variable(adapter: SnowflakeAdapter, env: RecordingTransport) -> None:
    env.forced(401)
    with pytest.raises(PlatformAuthError) as err:
        await adapter.configure(ActionCall(action="snowflake.warehouse.suspend", target="ETL_WH"))
    assert "SOPHIA_SNOWFLAKE_TOKEN" in err.value.hint
    assert TOKEN not in json.dumps(err.value.to_dict())
    assert len(env.exchanges) == 1


async def test_404_names_the_target(adapter: SnowflakeAdapter, env: RecordingTransport) -> None:
    env.forced(404)
    with pytest.raises(NotFoundError) as err:
        await adapter.configure(ActionCall(action="snowflake.warehouse.suspend", target="ghost_wh"))
    assert "GHOST_WH" in err.value.message
    assert [ex.request.method for ex in env.exchanges] == ["GET"], "nothing is sent for a missing warehouse"
    env.take()
    env.forced(None, 404)
    with pytest.raises(NotFoundError) as err:
        await adapter.configure(ActionCall(action="snowflake.database.drop", target="ghost_db"))
    assert "GHOST_DB" in err.value.message and "snowflake.database.drop" in err.value.message


@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_nothing_mutating(
    action: str, adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    target, params, forced = CASES[action]
    env.forced(*forced[:1])
    result = await adapter.configure(ActionCall(action=action, target=target, params=params), dry_run=True)
    assert result.dry_run and result.after is None
    for ex in env.exchanges:
        if ex.request.method == "GET":
            continue
        assert (ex.request.method, ex.request.url.path) == ("POST", "/api/v2/statements")
        assert json.loads(ex.request.content)["statement"] in READ_ONLY_STATEMENTS
    assert_no_request_violations(env.exchanges)


async def test_write_ahead_runs_before_the_change(adapter: SnowflakeAdapter, env: RecordingTransport) -> None:
    seen: list[int] = []

    async def write_ahead(before: Any, expected: Any) -> None:
        seen.append(len(env.exchanges))
        raise RuntimeError("ledger down")

    with pytest.raises(RuntimeError):
        await adapter.configure(
            ActionCall(action="snowflake.warehouse.suspend", target="ETL_WH"), write_ahead=write_ahead
        )
    assert seen == [1] and [ex.request.method for ex in env.exchanges] == ["GET"]


async def test_status_reports_health_and_inventory(
    adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    status = await adapter.get_status()
    assert status.healthy and status.configured
    assert status.inventory["warehouse"] and status.inventory["database"]
    assert {"name", "size", "state", "auto_suspend_seconds"} <= set(status.inventory["warehouse"][0])
    assert status.details["circuit"]["state"] == "closed"
    assert_no_request_violations(env.exchanges)


async def test_5xx_storm_fails_clearly_and_opens_the_breaker(
    adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    env.prefer = lambda request: "500"
    with pytest.raises(AdapterError) as err:
        await adapter.configure(ActionCall(action="snowflake.warehouse.suspend", target="ETL_WH"))
    assert "snowflake" in err.value.message and "snowflake.warehouse.suspend" in err.value.message
    with pytest.raises(CircuitOpenError):
        await adapter.configure(ActionCall(action="snowflake.warehouse.resume", target="ETL_WH"))
    status = await adapter.get_status()
    assert not status.healthy and status.details["circuit"]["state"] == "open"
    assert not [ex for ex in env.exchanges if ex.request.method != "GET"], "no change was attempted"


async def test_missing_credential_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, env: RecordingTransport
) -> None:
    monkeypatch.delenv("SOPHIA_SNOWFLAKE_TOKEN")
    adapter = SnowflakeAdapter(transport=env)
    status = await adapter.get_status()
    await adapter.aclose()
    assert not status.configured and "SOPHIA_SNOWFLAKE_TOKEN" in status.message
    assert env.exchanges == []


async def test_non_default_flag_hits_the_contracts_unsatisfiable_enum(
    adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    env.edit_json = None  # Prism's canned warehouse as served: enable_query_acceleration = true
    with pytest.raises(AdapterError):
        await adapter.configure(
            ActionCall(action="snowflake.warehouse.scale", target="ETL_WH", params={"size": "large"})
        )
    put = next(ex for ex in env.exchanges if ex.request.method == "PUT")
    body = json.loads(put.request.content)
    assert body["enable_query_acceleration"] == "true" and "auto_resume" not in body
    complaints = request_violations(put.response)
    assert [(v["location"], v["code"]) for v in complaints] == [
        (["request", "body", "enable_query_acceleration"], "enum")
    ], "the only objection is the enum that holds YAML booleans for a string field"
