"""The pipeline end to end in-process: ledger, undo, compensation, approvals, restart."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.ai.pgvector import PgVectorAdapter
from adapters.registry import spec_for
from adapters.testing import run
from orchestrator.errors import ApprovalError, IrreversibleError
from orchestrator.service import OrchestratorService
from orchestrator.state import Intent, ParsedCommand
from tests.orchestrator.conftest import arun, req

Factory = Callable[[], OrchestratorService]


async def _create(svc: OrchestratorService, name: str, dims: int = 3) -> dict:
    return await svc.submit(req(f"create a vector index called {name} with {dims} dimensions"))


def test_do_history_undo_verify(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            view = await _create(svc, "docs")
            assert view["status"] == "applied"
            (change,) = view["changes"]
            assert change["status"] == "applied" and change["before"] is None
            assert change["inverse"]["action"] == "pgvector.index.delete"
            assert [c["id"] for c in svc.history()] == [change["id"]]
            undo = await svc.undo(actor="cli:alice")
            assert undo["status"] == "applied", undo.get("error")
            assert undo["result"]["verified"] == {change["id"]: True}
            assert svc.change(change["id"])["status"] == "rolled_back"
            assert svc.change(change["id"])["rolled_back_by"] == undo["changes"][0]["id"]
            status = await svc.status("pgvector")
            assert status[0]["inventory"]["index"] == []
            assert svc.verify_ledger().ok
            again = await svc.undo(change_id=change["id"], actor="cli:alice")
            assert again["status"] == "failed" and again["error"]["code"] == IrreversibleError.code
            assert "already undone" in again["error"]["message"] and again["changes"] == []

    arun(flow())


def test_dry_run_changes_nothing_and_records_no_change(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            view = await svc.submit(req("create a vector index called dry with 8 dims", dry_run=True))
            assert view["status"] == "dry_run"
            assert view["plan"]["steps"][0]["expected"]["dimension"] == 8
            assert view["changes"] == [] and svc.history() == []
            assert (await svc.status("pgvector"))[0]["inventory"]["index"] == []

    arun(flow())


def test_undo_everything_since_goes_in_reverse_order(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            first = (await _create(svc, "a"))["changes"][0]["id"]
            second = (await _create(svc, "b"))["changes"][0]["id"]
            undo = await svc.undo(platform="pgvector", since="1h", actor="cli:alice")
            assert undo["status"] == "applied", undo.get("error")
            assert [c["undo_of"] for c in undo["changes"]] == [second, first]
            assert all(undo["result"]["verified"].values())

    arun(flow())


def test_failed_step_compensates_the_applied_ones(service_factory: Factory, settings: object) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            parsed = ParsedCommand(intent=Intent.ACTION, actions=[
                spec_for("pgvector.index.create").call("one", {"dimension": 3}),
                spec_for("pgvector.index.create").call("two", {"dimension": 3}),
            ])
            view = await svc.submit(req("two indexes", confirmed=False), parsed)
            assert view["status"] == "awaiting_confirmation"
            # Someone else creates "two" between plan and apply: step 2 must fail, step 1 be undone.
            await PgVectorAdapter(svc.settings).configure(spec_for("pgvector.index.create").call("two", {"dimension": 5}))
            done = await svc.confirm(view["run_id"], True)
            assert done["status"] == "failed"
            assert "changed since the plan" in done["error"]["message"]
            statuses = [(c["action"], c["target"], c["status"]) for c in done["changes"]]
            assert ("pgvector.index.create", "one", "rolled_back") in statuses
            assert ("pgvector.index.delete", "one", "applied") in statuses
            assert done["result"]["compensations"][0]["status"] == "compensated"
            inventory = (await svc.status("pgvector"))[0]["inventory"]["index"]
            assert [i["name"] for i in inventory] == ["two"]
            assert svc.verify_ledger().ok

    arun(flow())


def test_destructive_change_needs_someone_else_and_applies_once(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            await _create(svc, "victim")
            view = await svc.submit(req("delete the vector index victim"))
            assert view["status"] == "awaiting_approval"
            assert view["awaiting"]["four_eyes"] and view["awaiting"]["digest"] == view["plan"]["digest"]
            with pytest.raises(ApprovalError, match="someone else"):
                await svc.approve(view["run_id"], actor="cli:alice")
            assert svc.view(view["run_id"])["status"] == "awaiting_approval"
            done = await svc.approve(view["run_id"], actor="cli:bob")
            assert done["status"] == "applied"
            with pytest.raises(ApprovalError, match="applied"):
                await svc.approve(view["run_id"], actor="cli:bob")
            assert len([c for c in svc.history() if c["action"] == "pgvector.index.delete"]) == 1
            delete_id = done["changes"][0]["id"]
            refused = await svc.undo(change_id=delete_id, actor="cli:bob")
            assert refused["error"]["code"] == IrreversibleError.code
            assert "can't be undone" in refused["error"]["message"]

    arun(flow())


def test_paused_run_survives_a_restart(service_factory: Factory) -> None:
    async def pause() -> str:
        async with service_factory() as svc:
            await _create(svc, "keep")
            view = await svc.submit(req("drop pgvector index keep"))
            return str(view["run_id"])

    async def resume(run_id: str) -> dict:
        async with service_factory() as svc:
            return await svc.reject(run_id, actor="cli:bob", comment="not today")

    run_id = arun(pause())
    done = arun(resume(run_id))
    assert done["status"] == "rejected"
    assert done["changes"] == []


def test_unknown_command_records_no_change(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            view = await svc.submit(req("please make coffee"))
            assert view["status"] == "clarify"
            assert view["parsed"]["candidates"]
            assert svc.history() == []

    arun(flow())


def test_status_lists_index_details(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            await svc.submit(req("create a vector index called st with 4 dims using l2"))
            (pg,) = await svc.status("pgvector")
            assert pg["healthy"]
            assert pg["inventory"]["index"][0] | {} == {"name": "st", "dimension": 4, "metric": "l2", "m": 16,
                                                         "ef_construction": 64, "rows": 0}
            assert svc.store.inventory() == {"pgvector.index": ["st"]}

    arun(flow())


del run


def test_postgres_state_and_checkpointer_survive_a_restart(pg_server: object, settings: object) -> None:
    """The production layout: ledger, runs and LangGraph checkpoints in PostgreSQL."""
    from orchestrator.config import Settings

    state_url = pg_server.fresh_database().replace("postgresql://", "postgresql+psycopg://", 1)  # type: ignore[attr-defined]
    pg_settings = Settings(database_url=state_url, pgvector_url=settings.pgvector_url)  # type: ignore[attr-defined]

    async def pause() -> str:
        async with OrchestratorService(pg_settings) as svc:
            assert (await _create(svc, "pgstate"))["status"] == "applied"
            return str((await svc.submit(req("delete the vector index pgstate")))["run_id"])

    async def approve(run_id: str) -> dict:
        async with OrchestratorService(pg_settings) as svc:
            done = await svc.approve(run_id, actor="cli:bob")
            assert svc.verify_ledger().ok
            return done

    run_id = arun(pause())
    done = arun(approve(run_id))
    assert done["status"] == "applied"
    assert [c["action"] for c in done["changes"]] == ["pgvector.index.delete"]
