"""Schemas, users and resource monitors against Snowflake's published contracts, served by Prism.

Four Prism servers (SQL API, warehouse, database and schema APIs) behind one base URL; the
state model (:class:`~tests.contract.snowflake_twin.SnowflakeDeepTwin`) picks the declared
answers and fills in values Prism's canned examples can't hold (a user's properties, a monitor's
quota, a dropped schema's ``dropped_on``). Every request must have zero request-side
violations. The SQL API's document takes any statement text, so what each statement *says* is
pinned here and by the twin (which refuses any statement it does not know), not by Prism.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.catalog import ActionCall
from adapters.data.snowflake import READ_ONLY_PREFIXES, SnowflakeAdapter
from adapters.specs.snowflake_more import MORE_ACTIONS
from adapters.testing import run
from orchestrator.errors import NotFoundError, ValidationFailedError

from .common import assert_catalog_covered, checked, closed_after
from .prism import PrismPool, RecordingTransport, assert_no_request_violations
from .snowflake_twin import SnowflakeDeepTwin, SnowflakeRouting
from .steered import Sleeps

PRISM_SPECS = [
    ("snowflake", "sqlapi.yaml"),
    ("snowflake", "warehouse.yaml"),
    ("snowflake", "database.yaml"),
    ("snowflake", "schema.yaml"),
]

#: action → (target, params, the twin's state before: a callable that sets it up)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "snowflake.schema.create": ("analytics.staging", {}),
    "snowflake.schema.drop": ("ANALYTICS.PUBLIC", {}),
    "snowflake.schema.undrop": ("ANALYTICS.TMP", {}),
    "snowflake.user.create": ("jdoe", {"email": "JDoe@Example.com", "default_role": "analyst"}),
    "snowflake.user.drop": ("JSMITH", {}),
    "snowflake.user.disable": ("jsmith", {}),
    "snowflake.user.enable": ("OLD_SERVICE", {}),
    "snowflake.resource_monitor.create": (
        "ETL_WH_MONITOR",
        {"credit_quota": "200", "frequency": "a month", "warehouse": "etl_wh"},
    ),
    "snowflake.resource_monitor.set_quota": ("NIGHTLY_MONITOR", {"credit_quota": 300}),
    "snowflake.resource_monitor.drop": ("NIGHTLY_MONITOR", {}),
}

#: action → the mutating request(s): (method, path, statement or None for REST)
MUTATION: dict[str, list[tuple[str, str, str | None]]] = {
    "snowflake.schema.create": [("POST", "/api/v2/databases/ANALYTICS/schemas", None)],
    "snowflake.schema.drop": [("DELETE", "/api/v2/databases/ANALYTICS/schemas/PUBLIC", None)],
    "snowflake.schema.undrop": [("POST", "/api/v2/databases/ANALYTICS/schemas/TMP:undrop", None)],
    "snowflake.user.create": [
        ("POST", "/api/v2/statements", 'CREATE USER IDENTIFIER(?) EMAIL = ? DEFAULT_ROLE = ?')
    ],
    "snowflake.user.drop": [("POST", "/api/v2/statements", 'DROP USER IDENTIFIER(?)')],
    "snowflake.user.disable": [("POST", "/api/v2/statements", 'ALTER USER IDENTIFIER(?) SET DISABLED = TRUE')],
    "snowflake.user.enable": [
        ("POST", "/api/v2/statements", 'ALTER USER IDENTIFIER(?) SET DISABLED = FALSE')
    ],
    "snowflake.resource_monitor.create": [
        (
            "POST",
            "/api/v2/statements",
            (
                'CREATE RESOURCE MONITOR IDENTIFIER(?) WITH CREDIT_QUOTA = ?'
                " FREQUENCY = MONTHLY START_TIMESTAMP = IMMEDIATELY TRIGGERS ON 100 PERCENT DO SUSPEND"
            ),
        ),
        ("POST", "/api/v2/statements", 'ALTER WAREHOUSE IDENTIFIER(?) SET RESOURCE_MONITOR = IDENTIFIER(?)'),
    ],
    "snowflake.resource_monitor.set_quota": [
        ("POST", "/api/v2/statements", 'ALTER RESOURCE MONITOR IDENTIFIER(?) SET CREDIT_QUOTA = ?')
    ],
    "snowflake.resource_monitor.drop": [
        ("POST", "/api/v2/statements", 'DROP RESOURCE MONITOR IDENTIFIER(?)')
    ],
}


@pytest.fixture
def twin() -> SnowflakeDeepTwin:
    """The model with one of each thing the cases change."""
    twin = SnowflakeDeepTwin()
    twin.dropped[("ANALYTICS", "TMP")] = [{"retention": 1, "dropped_on": "2026-12-06T09:00:00Z"}]
    twin.users["OLD_SERVICE"] = {"disabled": True, "email": None, "default_role": None}
    twin.monitors["NIGHTLY_MONITOR"] = {"credit_quota": 120, "frequency": "WEEKLY", "suspend_at": 100}
    twin.warehouses["ETL_WH"].pop("resource_monitor", None)
    return twin


@pytest.fixture
def env(
    prism: PrismPool, monkeypatch: pytest.MonkeyPatch, twin: SnowflakeDeepTwin
) -> Iterator[RecordingTransport]:
    sql, wh, db, sch = prism.serve(
        "snowflake", "sqlapi.yaml", "warehouse.yaml", "database.yaml", "schema.yaml"
    )
    monkeypatch.delenv("SOPHIA_SNOWFLAKE_ROLE", raising=False)
    routing = SnowflakeRouting(routes={"/api/v2/warehouses": wh.base_url, "/api/v2/databases": db.base_url})
    routing.schema_base = sch.base_url
    with checked(
        monkeypatch, "snowflake", sql.base_url, "sf-more-token-0123456789", twin.attach(routing)
    ) as t:
        yield t


@pytest.fixture
def adapter(env: RecordingTransport) -> Iterator[SnowflakeAdapter]:
    with closed_after(SnowflakeAdapter(transport=env, sleep=Sleeps())) as adapter:
        yield adapter


def _mutations(env: RecordingTransport) -> list[tuple[str, str, str | None]]:
    found = []
    for ex in env.exchanges:
        if ex.request.method == "GET":
            continue
        statement = (
            json.loads(ex.request.content)["statement"]
            if ex.request.url.path.endswith("/statements")
            else None
        )
        if statement is None or not statement.startswith(READ_ONLY_PREFIXES):
            found.append((ex.request.method, ex.request.url.path, statement))
    return found


def test_every_new_action_has_a_contract_case() -> None:
    assert_catalog_covered(SnowflakeAdapter, MORE_ACTIONS, CASES, MUTATION)


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_speaks_the_contract(action: str, adapter: SnowflakeAdapter, env: RecordingTransport) -> None:
    target, params = CASES[action]
    result = run(adapter.configure(ActionCall(action=action, target=target, params=params)))
    assert assert_no_request_violations(env.exchanges) >= 3, "observe, change, read back"
    assert _mutations(env) == MUTATION[action]
    assert adapter.reached(result.call, result.expected, result.after), (result.expected, result.after)
    spec = adapter.spec(action)
    assert result.inverse == spec.derive_inverse(result.call, result.before, result.after)
    assert (result.inverse is not None) == spec.reversible


def test_names_and_values_are_bound(adapter: SnowflakeAdapter, env: RecordingTransport) -> None:
    run(
        adapter.configure(
            ActionCall(action="snowflake.user.create", target="jdoe", params={"email": "jdoe@example.com"})
        )
    )
    create = next(
        json.loads(ex.request.content) for ex in env.exchanges if b"CREATE USER" in ex.request.content
    )
    assert create["statement"] == "CREATE USER IDENTIFIER(?) EMAIL = ?"
    assert create["bindings"] == {"1": {"type": "TEXT", "value": '"JDOE"'},
                                  "2": {"type": "TEXT", "value": "jdoe@example.com"}}
    ids = [
        ex.request.url.params["requestId"]
        for ex in env.exchanges
        if ex.request.url.path.endswith("/statements")
    ]
    assert len(set(ids)) == len(ids), "one fresh requestId per logical statement"


@pytest.mark.parametrize("action", sorted(CASES))
def test_dry_run_sends_nothing_mutating(
    action: str, adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    target, params = CASES[action]
    result = run(adapter.configure(ActionCall(action=action, target=target, params=params), dry_run=True))
    assert result.dry_run and result.after is None
    assert _mutations(env) == []


def test_undrop_outside_retention_is_refused_before_sending(
    adapter: SnowflakeAdapter, env: RecordingTransport, twin: SnowflakeDeepTwin
) -> None:
    twin.dropped[("ANALYTICS", "TMP")] = []  # purged: retention ran out (the twin can't let time pass)
    with pytest.raises(NotFoundError) as err:
        run(adapter.configure(ActionCall(action="snowflake.schema.undrop", target="ANALYTICS.TMP")))
    assert "retention" in err.value.hint
    assert _mutations(env) == []


def test_undrop_over_a_reused_name_is_refused(adapter: SnowflakeAdapter, env: RecordingTransport) -> None:
    with pytest.raises(ValidationFailedError) as err:
        run(adapter.configure(ActionCall(action="snowflake.schema.undrop", target="ANALYTICS.PUBLIC")))
    assert "already exists" in err.value.message and "UNDROP needs the name free" in err.value.hint
    assert _mutations(env) == []


def test_monitor_never_replaces_a_warehouses_monitor(
    adapter: SnowflakeAdapter, env: RecordingTransport, twin: SnowflakeDeepTwin
) -> None:
    twin.warehouses["ETL_WH"]["resource_monitor"] = "NIGHTLY_MONITOR"
    target, params = CASES["snowflake.resource_monitor.create"]
    with pytest.raises(ValidationFailedError) as err:
        run(
            adapter.configure(
                ActionCall(action="snowflake.resource_monitor.create", target=target, params=params)
            )
        )
    assert (
        "NIGHTLY_MONITOR" in err.value.message
        and "set the quota of resource monitor NIGHTLY_MONITOR" in err.value.hint
    )
    assert _mutations(env) == [] and "ETL_WH_MONITOR" not in twin.monitors


def test_set_quota_undo_restores_the_before_quota(
    adapter: SnowflakeAdapter, env: RecordingTransport, twin: SnowflakeDeepTwin
) -> None:
    result = run(
        adapter.configure(
            ActionCall(
                action="snowflake.resource_monitor.set_quota",
                target="NIGHTLY_MONITOR",
                params={"credit_quota": 300},
            )
        )
    )
    assert twin.monitors["NIGHTLY_MONITOR"]["credit_quota"] == 300
    assert result.inverse == ActionCall(
        action="snowflake.resource_monitor.set_quota", target="NIGHTLY_MONITOR", params={"credit_quota": 120}
    )
    run(adapter.configure(result.inverse))
    assert twin.monitors["NIGHTLY_MONITOR"]["credit_quota"] == 120


def test_disabling_a_disabled_user_derives_no_inverse(
    adapter: SnowflakeAdapter, env: RecordingTransport
) -> None:
    """Undoing a no-op disable must not enable someone who was locked out before."""
    result = run(adapter.configure(ActionCall(action="snowflake.user.disable", target="OLD_SERVICE")))
    assert result.before is not None and result.before["disabled"] is True and result.inverse is None


def test_missing_user_is_not_found(adapter: SnowflakeAdapter, env: RecordingTransport) -> None:
    with pytest.raises(NotFoundError) as err:
        run(adapter.configure(ActionCall(action="snowflake.user.disable", target="ghost")))
    assert "GHOST" in err.value.message
    assert _mutations(env) == []
