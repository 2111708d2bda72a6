"""Snowflake's new actions through the whole pipeline: parse → plan → policy → apply → ledger → undo.

The real OrchestratorService (SQLite state, the default policy pack, the offline parser) drives
the real adapter; the platform is Snowflake's published contracts served by Prism with the state
model steering it (:class:`~tests.contract.snowflake_twin.SnowflakeDeepTwin`; no Snowflake can
run here). It shows "cap ETL_WH at 200 credits a month" end to end and undone, a quota change
undone to the quota before it, a schema drop waiting for a second person and then refusing an
automatic undo (pointing at UNDROP instead), and a user disable held for approval.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.data.snowflake import SnowflakeAdapter
from orchestrator.config import Settings
from orchestrator.errors import IrreversibleError
from orchestrator.service import OrchestratorService
from tests.orchestrator.conftest import arun, req

from .common import checked
from .prism import PrismPool, RecordingTransport
from .snowflake_twin import SnowflakeDeepTwin, SnowflakeRouting

PRISM_SPECS = [
    ("snowflake", "sqlapi.yaml"),
    ("snowflake", "warehouse.yaml"),
    ("snowflake", "database.yaml"),
    ("snowflake", "schema.yaml"),
]


@pytest.fixture
def twin() -> SnowflakeDeepTwin:
    twin = SnowflakeDeepTwin()
    twin.warehouses["ETL_WH"].pop("resource_monitor", None)
    twin.monitors["NIGHTLY_MONITOR"] = {"credit_quota": 120, "frequency": "WEEKLY", "suspend_at": 100}
    return twin


@pytest.fixture
def transport(
    prism: PrismPool, monkeypatch: pytest.MonkeyPatch, twin: SnowflakeDeepTwin
) -> Iterator[RecordingTransport]:
    sql, wh, db, sch = prism.serve(
        "snowflake", "sqlapi.yaml", "warehouse.yaml", "database.yaml", "schema.yaml"
    )
    routing = SnowflakeRouting(routes={"/api/v2/warehouses": wh.base_url, "/api/v2/databases": db.base_url})
    routing.schema_base = sch.base_url
    recording = twin.attach(routing)

    def through_twin(self: SnowflakeAdapter) -> httpx.AsyncBaseTransport:
        return recording

    monkeypatch.setattr(SnowflakeAdapter, "client_transport", through_twin)
    monkeypatch.delenv("SOPHIA_SNOWFLAKE_ROLE", raising=False)
    with checked(monkeypatch, "snowflake", sql.base_url, "sf-pipeline-token-0123456789", recording) as t:
        yield t


def test_cap_a_warehouse_and_undo_it(transport: RecordingTransport, twin: SnowflakeDeepTwin) -> None:
    async def flow() -> None:
        async with OrchestratorService(Settings()) as svc:
            done = await svc.submit(req("cap ETL_WH at 200 credits a month"))
            assert done["status"] == "applied", done.get("error")
            (change,) = done["changes"]
            assert (
                change["action"] == "snowflake.resource_monitor.create"
                and change["target"] == "ETL_WH_MONITOR"
            )
            assert change["after"]["warehouses"] == ["ETL_WH"] and change["after"]["credit_quota"] == 200
            assert twin.monitors["ETL_WH_MONITOR"]["frequency"] == "MONTHLY"
            assert twin.warehouses["ETL_WH"]["resource_monitor"] == "ETL_WH_MONITOR"
            assert change["inverse"] == {
                "action": "snowflake.resource_monitor.drop",
                "target": "ETL_WH_MONITOR",
                "params": {},
            }
            undo = await svc.undo(actor="cli:alice")
            assert undo["status"] == "applied", undo.get("error")
            assert (
                "ETL_WH_MONITOR" not in twin.monitors and "resource_monitor" not in twin.warehouses["ETL_WH"]
            )
            assert svc.change(change["id"])["status"] == "rolled_back"

            raised = await svc.submit(req("set the quota of resource monitor NIGHTLY_MONITOR to 300 credits"))
            assert raised["status"] == "applied", raised.get("error")
            assert twin.monitors["NIGHTLY_MONITOR"]["credit_quota"] == 300
            back = await svc.undo(actor="cli:alice")
            assert back["status"] == "applied", back.get("error")
            assert twin.monitors["NIGHTLY_MONITOR"]["credit_quota"] == 120
            assert svc.verify_ledger().ok

    arun(flow())


def test_schema_drop_waits_for_a_second_person_and_undo_points_at_undrop(
    transport: RecordingTransport, twin: SnowflakeDeepTwin
) -> None:
    async def flow() -> None:
        async with OrchestratorService(Settings()) as svc:
            drop = await svc.submit(req("drop schema ANALYTICS.PUBLIC"))
            assert drop["status"] == "awaiting_approval" and drop["decision"]["four_eyes"] is True
            assert ("ANALYTICS", "PUBLIC") in twin.schemas, (
                "nothing is dropped before a second person approves"
            )
            done = await svc.approve(drop["run_id"], actor="cli:bob")
            assert done["status"] == "applied", done.get("error")
            assert ("ANALYTICS", "PUBLIC") not in twin.schemas
            (gone,) = done["changes"]
            again = await svc.undo(change_id=gone["id"], actor="cli:alice")
            assert again["status"] == "failed" and again["error"]["code"] == IrreversibleError.code
            assert (
                "snowflake.schema.undrop" in again["error"]["hint"] and "retention" in again["error"]["hint"]
            )

            back = await svc.submit(req("undrop schema ANALYTICS.PUBLIC"))
            assert back["status"] == "applied", back.get("error")
            assert ("ANALYTICS", "PUBLIC") in twin.schemas

            lock = await svc.submit(req("disable the snowflake user JSMITH"))
            assert lock["status"] == "awaiting_approval"
            assert any(r["rule"] == "snowflake-user-access" for r in lock["decision"]["reasons"]), lock[
                "decision"
            ]
            assert twin.users["JSMITH"]["disabled"] is False

    arun(flow())
