"""Settle ``pending`` change records left by a crash, by reading the platform.

A pending record whose lock is still held by a live process is in progress and left alone.
Otherwise: the platform shows the expected after-state → ``applied``; it still shows the
before-state → ``failed`` (the call never happened); anything else → ``needs_reconcile``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.base import matches
from adapters.catalog import ActionCall
from orchestrator.errors import SophiaError
from orchestrator.executor import comparable
from state.locks import lock_key
from state.models import ChangeStatus

if TYPE_CHECKING:
    from orchestrator.deps import Deps

__all__ = ["reconcile"]


async def reconcile(deps: Deps) -> list[dict[str, Any]]:
    """Settle every orphaned pending change; returns what was decided for each."""
    from adapters.registry import spec_for

    store = deps.store
    settled: list[dict[str, Any]] = []
    for change in store.ledger.list(status=ChangeStatus.PENDING, limit=1000):
        if store.locks.holder_alive(lock_key(change.platform, change.target)):
            continue
        call = ActionCall(action=change.action, target=change.target, params=change.params or {})
        try:
            adapter = deps.adapters.get(change.platform)
            observed = await adapter.observe(call)
        except SophiaError as exc:
            settled.append({"change_id": change.id, "status": "pending", "error": exc.message})
            continue
        if matches(change.expected, observed):
            inverse = spec_for(change.action).derive_inverse(call, change.before, observed)
            store.ledger.transition(
                change.id, ChangeStatus.APPLIED, after=observed,
                inverse=inverse.model_dump(mode="json") if inverse else None,
                error="settled by the reconciler: the platform shows the change",
            )
            status = ChangeStatus.APPLIED
        elif comparable(observed) == comparable(change.before):
            store.ledger.transition(
                change.id, ChangeStatus.FAILED, after=observed,
                error="settled by the reconciler: the process stopped before the change reached the platform",
            )
            status = ChangeStatus.FAILED
        else:
            store.ledger.transition(
                change.id, ChangeStatus.NEEDS_RECONCILE, after=observed,
                error="the platform shows neither the before- nor the expected state; check it by hand",
            )
            status = ChangeStatus.NEEDS_RECONCILE
        run = store.get_run(change.run_id) if change.run_id else None
        if run is not None and run.status in ("applying", "received", "planned"):
            store.update_run(run.id, status="failed" if status != ChangeStatus.APPLIED else "applied",
                             error={"code": "reconciled", "message": f"settled after a crash: {change.id} {status}"})
        settled.append({"change_id": change.id, "status": status})
    return settled
