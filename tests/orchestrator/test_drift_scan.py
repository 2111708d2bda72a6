"""Drift without webhooks: a scan compares what a platform shows with the inventory baseline.

pgvector takes no webhooks; it runs here against the session's real PostgreSQL, and indexes
are changed out of band with plain SQL, as someone at a ``psql`` prompt would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from orchestrator.drift_scan import ScanSchedule, scan
from orchestrator.service import OrchestratorService
from state.inbox import Inbox
from state.models import Drift
from tests.orchestrator.conftest import arun, req

Factory = Callable[[], OrchestratorService]


def _rebuild(pg_url: str, name: str, m: int, ef: int) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP INDEX sophia_vectors."{name}_hnsw"')
        conn.execute(f'CREATE INDEX "{name}_hnsw" ON sophia_vectors."{name}" USING hnsw '
                     f"(embedding vector_cosine_ops) WITH (m = {m}, ef_construction = {ef})")


def _sql(pg_url: str, *statements: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _drift(svc: OrchestratorService) -> list[Drift]:
    return Inbox(svc.store).list_drift(platform="pgvector")


def _baseline(svc: OrchestratorService, name: str) -> dict[str, Any] | None:
    from adapters.base import ObservedChange
    from orchestrator.drift import DriftDetector

    return DriftDetector(svc.store, Inbox(svc.store)).before("pgvector", ObservedChange("index", name, None))


async def _scan(svc: OrchestratorService) -> list[Drift]:
    (report,) = await scan(svc.store, svc.deps.adapters, ["pgvector"])
    assert report.error is None, report.error
    return report.drift


def test_out_of_band_change_is_recorded_once_and_our_own_change_is_not(service_factory: Factory, pg_url: str) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            assert (await svc.submit(req("create a vector index called kb with 3 dimensions")))["status"] == "applied"
            assert await _scan(svc) == []  # the baseline is taken; our own create is no drift

            _rebuild(pg_url, "kb", 32, 100)
            (found,) = await _scan(svc)
            assert (found.verb, found.inbox_id, found.status) == ("updated", None, "open")
            assert (found.before["m"], found.observed["m"]) == (16, 32)
            assert found.revert == {"action": "pgvector.index.configure", "target": "kb",
                                    "params": {"m": 16, "ef_construction": 64}}
            assert await _scan(svc) == [] and len(_drift(svc)) == 1  # unchanged drift: not recorded again

            # our own change through the pipeline, long after the echo window: not drift
            view = await svc.submit(req("set m to 24 and ef_construction to 80 on the kb index"))
            assert view["status"] == "applied", view.get("error")
            assert await _scan(svc) == [] and len(_drift(svc)) == 1
            assert _baseline(svc, "kb")["m"] == 24

    arun(flow())


def test_baseline_is_not_moved_before_the_drift_is_recorded(service_factory: Factory, pg_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            await svc.submit(req("create a vector index called kb with 3 dimensions"))
            await _scan(svc)
            _rebuild(pg_url, "kb", 40, 90)

            def refuse(self: Inbox, drift: Drift) -> Any:
                raise RuntimeError("drift store down")

            monkeypatch.setattr(Inbox, "record_drift", refuse)
            (report,) = await scan(svc.store, svc.deps.adapters, ["pgvector"])
            assert report.error and "drift store down" in report.error
            assert _baseline(svc, "kb")["m"] == 16  # not silently moved
            monkeypatch.undo()
            (found,) = await _scan(svc)
            assert (found.before["m"], found.observed["m"]) == (16, 40)
            assert _baseline(svc, "kb")["m"] == 40  # moved only once the drift is on record

    arun(flow())


def test_appeared_and_disappeared_resources_are_drift(service_factory: Factory, pg_url: str) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            await svc.submit(req("create a vector index called kb with 3 dimensions"))
            await _scan(svc)
            _sql(pg_url, 'DROP TABLE sophia_vectors."kb"',
                 'CREATE TABLE sophia_vectors."rogue" (id bigserial PRIMARY KEY, embedding vector(4) NOT NULL)')
            found = {d.name: d for d in await _scan(svc)}
            assert set(found) == {"kb", "rogue"}
            assert found["kb"].verb == "deleted" and found["kb"].revert["action"] == "pgvector.index.create"
            assert found["rogue"].verb == "created" and found["rogue"].revert["action"] == "pgvector.index.delete"
            assert await _scan(svc) == []

    arun(flow())


def test_first_listing_is_the_baseline_not_drift(service_factory: Factory, pg_url: str) -> None:
    _sql(pg_url, "CREATE EXTENSION IF NOT EXISTS vector", "CREATE SCHEMA sophia_vectors",
         'CREATE TABLE sophia_vectors."legacy" (id bigserial PRIMARY KEY, embedding vector(4) NOT NULL)')

    async def flow() -> None:
        async with service_factory() as svc:
            await svc.submit(req("create a vector index called kb with 3 dimensions"))
            assert await _scan(svc) == []  # indexes that predate us are not "created out of band"
            assert _baseline(svc, "legacy")["dimension"] == 4
            assert "pgvector.~baseline" not in svc.store.inventory()

    arun(flow())


def test_status_records_drift_instead_of_overwriting_the_baseline(service_factory: Factory, pg_url: str) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            await svc.submit(req("create a vector index called kb with 3 dimensions"))
            await svc.status("pgvector")
            _rebuild(pg_url, "kb", 48, 200)
            (status,) = await svc.status("pgvector")
            (found,) = _drift(svc)
            assert status["drift"] == [found.id]
            assert (found.before["m"], found.observed["m"]) == (16, 48)
            await svc.status("pgvector")
            assert len(_drift(svc)) == 1

    arun(flow())


def test_worker_schedule_scans_every_interval(service_factory: Factory, pg_url: str) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            await svc.submit(req("create a vector index called kb with 3 dimensions"))
            await svc.status("pgvector")
            _rebuild(pg_url, "kb", 20, 70)
            notified: list[Drift] = []

            async def notify(drift: Drift) -> None:
                notified.append(drift)

            clock = [1000.0]
            schedule = ScanSchedule(svc.store, svc.deps.adapters, seconds=900, notify=notify, clock=lambda: clock[0])
            assert ScanSchedule(svc.store, svc.deps.adapters, seconds=0).start() is None  # 0 = off
            task = schedule.start()
            assert task is not None
            await task
            assert [d.name for d in notified] == ["kb"]
            clock[0] += 10
            assert schedule.start() is None  # not due yet
            clock[0] += 900
            task = schedule.start()
            assert task is not None
            await task
            assert len(notified) == 1 and len(_drift(svc)) == 1

    arun(flow())


def test_drift_scan_cli(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from orchestrator.interfaces.cli import app

    monkeypatch.setenv("SOPHIA_PGVECTOR_URL", pg_url)
    from orchestrator.config import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    made = runner.invoke(app, ["do", "create a vector index called kb with 3 dimensions", "--yes", "--json"])
    assert made.exit_code == 0, made.output
    first = runner.invoke(app, ["drift", "scan", "pgvector", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)[0]["drift"] == []
    _rebuild(pg_url, "kb", 30, 99)
    second = runner.invoke(app, ["drift", "scan", "--json"])
    (report,) = json.loads(second.stdout)
    assert report["platform"] == "pgvector" and report["drift"][0]["observed"]["m"] == 30
    listed = runner.invoke(app, ["drift", "list"])
    assert listed.exit_code == 0 and "kb" in listed.stdout and "pgvector.index.configure" in listed.stdout
    asyncio.run(asyncio.sleep(0))
