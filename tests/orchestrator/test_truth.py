"""The ledger tells the truth when a call's answer is lost, an undo fails, or a chain is undone.

Against real PostgreSQL (pgvector) through the whole service. Where a platform failure is
needed, it is injected at the adapter's ``do_…`` handler (the statements run for real, then the
error a broken connection gives is raised; or the error is raised before anything is sent):
each test says which.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from adapters.ai.pgvector import PgVectorAdapter
from orchestrator.service import OrchestratorService
from state.models import ChangeStatus
from tests.orchestrator.conftest import arun, req

Factory = Callable[[], OrchestratorService]


async def _create(svc: OrchestratorService, name: str, dims: int = 3) -> dict[str, Any]:
    view = await svc.submit(req(f"create a vector index called {name} with {dims} dimensions"))
    assert view["status"] == "applied", view.get("error")
    return dict(view["changes"][0])


def _pg(svc: OrchestratorService) -> PgVectorAdapter:
    adapter = svc.deps.adapters.get("pgvector")
    assert isinstance(adapter, PgVectorAdapter)
    return adapter


def _fail_once(adapter: PgVectorAdapter, handler: str, *, apply_first: bool) -> None:
    """The next call of ``handler`` raises psycopg's broken-connection error (after running, or before)."""
    real = getattr(adapter, handler)

    async def faulty(call: Any, before: Any) -> Any:
        setattr(adapter, handler, real)
        if apply_first:
            await real(call, before)
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    setattr(adapter, handler, faulty)


def test_a_lost_answer_after_the_change_landed_is_applied_not_failed(service_factory: Factory) -> None:
    # Injected: the CREATE commits, then the connection breaks before the answer is read.
    async def flow() -> None:
        async with service_factory() as svc:
            _fail_once(_pg(svc), "do_index_create", apply_first=True)
            view = await svc.submit(req("create a vector index called lost with 3 dimensions"))
            assert view["status"] == "applied", view.get("error")
            (change,) = view["changes"]
            assert change["status"] == ChangeStatus.APPLIED
            assert "answer was lost" in change["error"]
            assert change["inverse"]["action"] == "pgvector.index.delete", "it can be undone"
            undo = await svc.undo(actor="cli:alice")
            assert undo["status"] == "applied", undo.get("error")
            assert svc.change(change["id"])["status"] == ChangeStatus.ROLLED_BACK

    arun(flow())


def test_an_unknown_outcome_is_needs_reconcile_until_read_back_settles_it(service_factory: Factory) -> None:
    # Injected: the connection breaks before the CREATE is sent — but the client can't know that.
    async def flow() -> None:
        async with service_factory() as svc:
            _fail_once(_pg(svc), "do_index_create", apply_first=False)
            view = await svc.submit(req("create a vector index called maybe with 3 dimensions"))
            assert view["status"] == "failed"
            (change,) = view["changes"]
            assert change["status"] == ChangeStatus.NEEDS_RECONCILE, change
            assert "sophia-iac reconcile" in view["error"]["hint"]
            settled = await svc.reconcile()
            assert settled == [{"change_id": change["id"], "was": "needs_reconcile", "status": "failed"}]
            after = svc.change(change["id"])
            assert after["status"] == ChangeStatus.FAILED and "platform is as before" in after["error"]
            kinds = [e.kind for e in _entries(svc, change["id"])]
            assert kinds == ["open", "needs_reconcile", "reconcile"], "the settlement is its own ledger entry"
            assert svc.verify_ledger().ok

    arun(flow())


def test_needs_reconcile_is_settled_when_a_service_starts(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            real = _pg(svc).do_index_create
            _fail_once(_pg(svc), "do_index_create", apply_first=False)
            view = await svc.submit(req("create a vector index called late with 3 dimensions"))
            (change,) = view["changes"]
            assert change["status"] == ChangeStatus.NEEDS_RECONCILE
            # The statement lands after all (a queued transaction the server finishes later).
            await real(svc.deps.adapters.get("pgvector").spec("pgvector.index.create").call("late", {"dimension": 3}),
                       None)
        async with service_factory() as again:
            assert [r["status"] for r in again.reconciled] == ["applied"]
            assert again.change(change["id"])["status"] == ChangeStatus.APPLIED
            assert again.change(change["id"])["inverse"] is not None

    arun(flow())


def test_a_failed_undo_leaves_the_original_applied_and_can_be_retried(service_factory: Factory) -> None:
    # Injected: the undo's DROP fails before anything is sent (a definite refusal is not needed:
    # read-back shows the index still there, so the undo is not applied either way).
    async def flow() -> None:
        async with service_factory() as svc:
            created = await _create(svc, "keep")
            _fail_once(_pg(svc), "do_index_delete", apply_first=False)
            undo = await svc.undo(actor="cli:alice")
            assert undo["status"] == "failed"
            original = svc.change(created["id"])
            assert original["status"] == ChangeStatus.APPLIED, "a failed undo must not mark it rolled back"
            assert original["rolled_back_by"] is None
            (attempt,) = undo["changes"]
            assert attempt["undo_of"] == created["id"] and attempt["status"] != ChangeStatus.APPLIED
            await svc.reconcile()
            retry = await svc.undo(change_id=created["id"], actor="cli:alice")
            assert retry["status"] == "applied", retry.get("error")
            done = svc.change(created["id"])
            assert done["status"] == ChangeStatus.ROLLED_BACK
            verdict = svc.change(done["rolled_back_by"])
            assert verdict["verified"] is True, "the read-back verdict is in the ledger"
            assert svc.verify_ledger().ok

    arun(flow())


def test_undo_since_unwinds_a_resource_changed_twice(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            created = await _create(svc, "tuned")
            tune = await svc.submit(req("tune vector index tuned: m 32, ef_construction 128"))
            assert tune["status"] == "applied", tune.get("error")
            undo = await svc.undo(platform="pgvector", since="1h", actor="cli:alice")
            assert undo["status"] == "applied", undo.get("error")
            assert [c["undo_of"] for c in undo["changes"]] == [tune["changes"][0]["id"], created["id"]]
            assert all(undo["result"]["verified"].values())
            assert svc.change(created["id"])["status"] == ChangeStatus.ROLLED_BACK
            assert svc.change(tune["changes"][0]["id"])["status"] == ChangeStatus.ROLLED_BACK
            assert (await svc.status("pgvector"))[0]["inventory"]["index"] == []

    arun(flow())


def test_undo_since_still_refuses_when_someone_else_changed_the_resource(service_factory: Factory) -> None:
    async def flow() -> None:
        async with service_factory() as svc:
            await _create(svc, "shared")
            tune = await svc.submit(req("tune vector index shared: m 32, ef_construction 128"))
            assert tune["status"] == "applied"
            other = PgVectorAdapter(svc.settings)  # someone else retunes it outside sophia
            await other.configure(other.spec("pgvector.index.configure").call("shared", {"m": 8, "ef_construction": 40}))
            await other.aclose()
            undo = await svc.undo(platform="pgvector", since="1h", actor="cli:alice")
            assert undo["status"] == "failed" and "has changed since" in undo["error"]["message"]
            assert undo["changes"] == []

    arun(flow())


def _entries(svc: OrchestratorService, change_id: str) -> list[Any]:
    from sqlmodel import col, select

    from state.models import LedgerEntry

    with svc.store.session() as s:
        return list(s.exec(select(LedgerEntry).where(LedgerEntry.change_id == change_id)
                           .order_by(col(LedgerEntry.seq))).all())


def test_the_webhook_worker_reconciles_on_its_schedule(service_factory: Factory) -> None:
    import asyncio

    from orchestrator.inbox import InboxWorker, WorkerConfig

    async def flow() -> None:
        async with service_factory() as svc:
            _fail_once(_pg(svc), "do_index_create", apply_first=True)
            adapter = _pg(svc)
            real = adapter.observe

            async def blind(call: Any) -> Any:  # the read-back right after the call fails too
                adapter.observe = real  # type: ignore[method-assign]
                raise psycopg.OperationalError("server closed the connection unexpectedly")

            original_execute = adapter.execute

            async def execute_then_blind(call: Any, before: Any) -> Any:
                adapter.execute = original_execute  # type: ignore[method-assign]
                adapter.observe = blind  # type: ignore[method-assign]
                return await original_execute(call, before)

            adapter.execute = execute_then_blind  # type: ignore[method-assign]
            view = await svc.submit(req("create a vector index called sched with 3 dimensions"))
            (change,) = view["changes"]
            assert change["status"] == ChangeStatus.NEEDS_RECONCILE, change
            worker = InboxWorker(svc.store, svc.deps.adapters, config=WorkerConfig(poll_seconds=0.05))
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            for _ in range(100):
                await asyncio.sleep(0.05)
                if svc.change(change["id"])["status"] != ChangeStatus.NEEDS_RECONCILE:
                    break
            stop.set()
            await task
            assert svc.change(change["id"])["status"] == ChangeStatus.APPLIED

    arun(flow())


def test_a_row_waiting_for_a_person_is_not_read_back_by_every_command(service_factory: Factory) -> None:
    # The platform shows neither state (someone else changed the index mid-call): the reconciler
    # leaves it needs_reconcile; starting a service (every CLI command) doesn't read it again,
    # `sophia-iac reconcile` (and the worker) do.
    async def flow() -> None:
        async with service_factory() as svc:
            adapter = _pg(svc)
            real = adapter.do_index_create

            async def raced(call: Any, before: Any) -> Any:
                adapter.do_index_create = real  # type: ignore[method-assign]
                other = call.model_copy(update={"params": {**call.params, "dimension": 5}})
                await real(other, before)  # someone else's create lands instead of ours
                raise psycopg.OperationalError("server closed the connection unexpectedly")

            adapter.do_index_create = raced  # type: ignore[method-assign]
            view = await svc.submit(req("create a vector index called raced with 3 dimensions"))
            (change,) = view["changes"]
            assert change["status"] == ChangeStatus.NEEDS_RECONCILE
            assert [r["status"] for r in await svc.reconcile()] == ["needs_reconcile"]
        async with service_factory() as again:
            assert again.reconciled == [], "already read back once: left to the schedule and `reconcile`"
            assert [r["change_id"] for r in await again.reconcile()] == [change["id"]]
            assert again.change(change["id"])["status"] == ChangeStatus.NEEDS_RECONCILE

    arun(flow())
