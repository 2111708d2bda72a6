"""Settle ``pending`` and ``needs_reconcile`` change records by reading the platform back.

A ``pending`` record whose lock is still held by a live process is in progress and left alone;
every other ``pending`` row (a crash between the record and the answer) and every
``needs_reconcile`` row (an answer that was lost or unclear) is read back
(:func:`orchestrator.settle.reconcile_change`): the platform shows the expected after-state →
``applied``; it shows the before-state → ``failed``; anything else stays ``needs_reconcile``.
Each settlement is its own ledger entry. It runs when a service starts, on a schedule in the
webhook worker, and on ``sophia-iac reconcile``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.errors import NotFoundError, SophiaError
from orchestrator.logs import bind
from orchestrator.settle import finish_undo, reconcile_change
from orchestrator.tracing import span
from state.locks import lock_key
from state.models import ChangeStatus

if TYPE_CHECKING:
    from orchestrator.deps import AdapterPool
    from state.models import Run
    from state.store import Store

__all__ = ["reconcile", "reconcile_store"]

_OPEN_RUNS = ("applying", "received", "planned")


def _run_or_none(store: Store, run_id: str | None) -> Run | None:
    try:
        return store.get_run(run_id) if run_id else None
    except NotFoundError:  # a change applied outside a run (the conformance suite's fault matrix)
        return None


async def reconcile(deps: Any, *, revisit: bool = True) -> list[dict[str, Any]]:
    """Settle every unsettled change (``deps`` has ``store`` and ``adapters``); returns each decision."""
    return await reconcile_store(deps.store, deps.adapters, revisit=revisit)


async def reconcile_store(store: Store, adapters: AdapterPool, *, limit: int = 1000,
                          revisit: bool = True) -> list[dict[str, Any]]:
    """Settle every orphaned ``pending`` and every ``needs_reconcile`` change; returns each decision.

    With ``revisit`` False (a service starting: every CLI command), a ``needs_reconcile`` row the
    reconciler has already read back and left unsettled (the platform shows neither state) is
    left to the worker's schedule and ``sophia-iac reconcile``, so a row waiting for a person
    doesn't cost every command a call to the platform.
    """
    from asyncio import to_thread

    rows = [*await to_thread(store.ledger.list, status=ChangeStatus.PENDING, limit=limit),
            *await to_thread(store.ledger.list, status=ChangeStatus.NEEDS_RECONCILE, limit=limit)]
    kinds = await to_thread(store.ledger.last_kinds,
                            [c.id for c in rows if c.status == ChangeStatus.NEEDS_RECONCILE])
    if not revisit:
        rows = [c for c in rows if kinds.get(c.id) != "reconcile"]
    settled: list[dict[str, Any]] = []
    for change in reversed(rows):  # oldest first: a later change on a target builds on an earlier one
        if change.status == ChangeStatus.PENDING and await to_thread(
                store.locks.holder_alive, lock_key(change.platform, change.target)):
            continue
        attributes = {"sophia.change_id": change.id, "sophia.run_id": change.run_id, "sophia.platform": change.platform,
                      "sophia.action": change.action, "sophia.target": change.target, "sophia.was": str(change.status)}
        try:
            with bind(run_id=change.run_id, change_id=change.id), span("reconcile.change", attributes) as current:
                status = await reconcile_change(store, adapters.get(change.platform), change,
                                                examined=kinds.get(change.id) == "reconcile")
                if current is not None:
                    current.set_attribute("sophia.change.status", str(status))
        except SophiaError as exc:
            settled.append({"change_id": change.id, "status": change.status, "error": exc.message})
            continue
        run = await to_thread(_run_or_none, store, change.run_id)
        if run is not None and run.status in _OPEN_RUNS:
            await to_thread(
                store.update_run, run.id, status="applied" if status == ChangeStatus.APPLIED else "failed",
                error={"code": "reconciled", "message": f"settled after a crash: {change.id} {status}"})
        settled.append({"change_id": change.id, "was": change.status, "status": status})
    for undo in await to_thread(store.ledger.unverified_undos, limit):  # a crash between an undo and its verdict
        try:
            verified = await finish_undo(store, adapters.get(undo.platform), undo)
        except SophiaError as exc:
            settled.append({"change_id": undo.id, "status": undo.status, "error": exc.message})
            continue
        settled.append({"change_id": undo.id, "was": "applied, unverified",
                        "status": "verified" if verified else "unverified"})
    return settled
