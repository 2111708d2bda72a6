"""SnowflakeAdapter passes the shared adapter conformance suite.

Stand-in, said plainly: no Snowflake can run here, so the platform is Snowflake's published
contracts served by Prism (every request checked, zero request-side violations asserted at
teardown) with a small state model (:class:`~tests.contract.snowflake_twin.SnowflakeDeepTwin`) choosing
the declared answers and the values in them, so apply → read back → undo can be observed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from adapters.catalog import ActionCall
from adapters.data.snowflake import SnowflakeAdapter
from adapters.testing import AdapterConformanceTests, run

from .common import checked, closed_after
from .prism import PrismPool, RecordingTransport, assert_no_request_violations
from .snowflake_twin import SnowflakeDeepTwin, SnowflakeRouting
from .steered import Sleeps

PRISM_SPECS = [
    ("snowflake", "sqlapi.yaml"),
    ("snowflake", "warehouse.yaml"),
    ("snowflake", "database.yaml"),
    ("snowflake", "schema.yaml"),
]


class TestSnowflakeConformance(AdapterConformanceTests):
    """The suite, plus: the whole scenario speaks the contract."""

    @pytest.fixture
    def twin(self) -> SnowflakeDeepTwin:
        return SnowflakeDeepTwin()

    @pytest.fixture
    def transport(
        self, prism: PrismPool, monkeypatch: pytest.MonkeyPatch, twin: SnowflakeDeepTwin
    ) -> Iterator[RecordingTransport]:
        sql, wh, db, sch = prism.serve("snowflake", "sqlapi.yaml", "warehouse.yaml", "database.yaml", "schema.yaml")
        routing = SnowflakeRouting(routes={"/api/v2/warehouses": wh.base_url, "/api/v2/databases": db.base_url})
        routing.schema_base = sch.base_url
        recording = twin.attach(routing)
        with checked(monkeypatch, "snowflake", sql.base_url, "sf-conformance-token-123", recording) as transport:
            yield transport

    @pytest.fixture
    def adapter(self, transport: RecordingTransport) -> Iterator[SnowflakeAdapter]:
        with closed_after(SnowflakeAdapter(transport=transport, sleep=Sleeps())) as adapter:
            yield adapter

    @pytest.fixture
    def scenario(self) -> list[ActionCall]:
        def call(action: str, target: str, **params: object) -> ActionCall:
            return ActionCall(action=f"snowflake.{action}", target=target, params=params)

        return [
            call("warehouse.create", "REPORTING_WH", size="small", auto_suspend_seconds=300),
            call("warehouse.scale", "REPORTING_WH", size="large"),
            call("warehouse.set_auto_suspend", "REPORTING_WH", seconds=120),
            call("warehouse.suspend", "REPORTING_WH"),
            call("warehouse.resume", "REPORTING_WH"),
            call("role.grant", "jsmith", role="analyst"),
            call("role.revoke", "jsmith", role="analyst"),
            call("database.create", "MARKETING"),
            call("schema.create", "MARKETING.STAGING"),
            call("schema.drop", "MARKETING.STAGING"),
            call("schema.undrop", "MARKETING.STAGING"),
            call("user.create", "jdoe", email="jdoe@example.com", default_role="analyst"),
            call("user.disable", "jdoe"),
            call("user.enable", "jdoe"),
            call("user.drop", "jdoe"),
            call("resource_monitor.create", "REPORTING_WH_MONITOR", credit_quota=200, warehouse="reporting_wh"),
            call("resource_monitor.set_quota", "REPORTING_WH_MONITOR", credit_quota="300 credits"),
            call("resource_monitor.drop", "REPORTING_WH_MONITOR"),
            call("database.drop", "MARKETING"),
            call("warehouse.drop", "REPORTING_WH"),
        ]

    def test_scenario_exchanges_were_checked(
        self, adapter: SnowflakeAdapter, transport: RecordingTransport, scenario: list[ActionCall]
    ) -> None:
        for step in scenario:
            run(adapter.configure(step))
        assert assert_no_request_violations(transport.exchanges) >= 3 * len(scenario)

    @pytest.mark.parametrize(
        ("action", "params", "field", "value"),
        [
            ("warehouse.scale", {"size": "large"}, "warehouse_size", "LARGE"),
            ("warehouse.set_auto_suspend", {"seconds": 120}, "auto_suspend", 120),
        ],
    )
    def test_alter_keeps_and_undo_restores_the_whole_warehouse(
        self, adapter: SnowflakeAdapter, twin: SnowflakeDeepTwin, action: str, params: dict[str, object],
        field: str, value: object,
    ) -> None:
        """createOrAlter replaces every property: all but the changed one survive, undo restores all."""
        original = copy.deepcopy(twin.warehouses["ETL_WH"])
        result = run(adapter.configure(ActionCall(action=f"snowflake.{action}", target="ETL_WH", params=params)))
        assert twin.warehouses["ETL_WH"] == {**original, field: value}
        assert result.inverse is not None
        run(adapter.configure(result.inverse))
        assert twin.warehouses["ETL_WH"] == original
