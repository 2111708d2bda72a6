"""One step of a fault-schedule property: apply a change under scheduled faults, reconcile, read back.

Shared by the property tests (``test_fault_property.py`` for Pinecone, and each adapter's own):
they differ in the platform and in what a settled step may look like, not in how a step runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.base import PlatformAdapter
from adapters.catalog import ActionCall
from adapters.testing import run
from adapters.testing_faults import FaultTransport, _OnePool, apply_through_ledger
from orchestrator.errors import SophiaError
from orchestrator.reconcile import reconcile_store
from orchestrator.settle import comparable
from state.models import ChangeRecord, ChangeStatus
from state.store import Store

__all__ = ["StepOutcome", "assert_settled_as_observed", "fault_step"]


@dataclass
class StepOutcome:
    """What one step left: its ledger record after reconciling (None: refused before any was written)."""

    where: str
    call: ActionCall
    change: ChangeRecord | None
    observed: dict[str, Any] | None
    tally: Any


def fault_step(store: Store, adapter: PlatformAdapter, faults: FaultTransport, call: ActionCall,
               schedule: list[str | None]) -> StepOutcome:
    """Apply ``call`` through the real write-ahead executor with ``schedule``'s faults, then reconcile.

    Asserts the invariants every platform shares: a step that put a mutating request on the wire
    has exactly one ledger record, and no step has more than one; a refusal happens before
    anything is recorded (``validation_failed`` / ``not_found``).
    """
    records = len(store.ledger.list(limit=1000))
    tally = faults.arm(schedule)
    try:
        run(apply_through_ledger(store, adapter, call))
    except SophiaError as exc:  # refused before anything was recorded (e.g. create over an existing one)
        assert exc.code in ("validation_failed", "not_found"), exc
    finally:
        faults.disarm()
    new = len(store.ledger.list(limit=1000)) - records
    where = f"{call.action} {call.target} under {schedule}"
    if tally.seen:
        assert new == 1, f"{where}: {tally.seen} mutating request(s) on the wire, {new} ledger record(s)"
    assert new <= 1, f"{where}: one step, {new} records"
    run(reconcile_store(store, _OnePool(adapter)))  # type: ignore[arg-type]
    if not new:
        return StepOutcome(where, call, None, None, tally)
    return StepOutcome(where, call, store.ledger.list(limit=1)[0], run(adapter.observe(call)), tally)


def assert_settled_as_observed(step: StepOutcome, adapter: PlatformAdapter, *, settled_only: bool = True) -> None:
    """``applied`` shows the predicted state, ``failed`` the before-state; with ``settled_only``, nothing else."""
    change, observed, where = step.change, step.observed, step.where
    if change is None:
        return
    if settled_only:
        assert change.status in (ChangeStatus.APPLIED, ChangeStatus.FAILED), (
            f"{where}: {change.status} after reconcile ({change.error})")
    if change.status == ChangeStatus.APPLIED:
        assert adapter.reached(step.call, change.expected, observed), (
            f"{where}: applied, platform shows {observed}")
    elif change.status == ChangeStatus.FAILED:
        assert comparable(observed) == comparable(change.before), (
            f"{where}: failed, platform shows {observed}, not {change.before}")

