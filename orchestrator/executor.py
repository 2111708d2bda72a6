"""Write-ahead apply: lock, record ``pending`` with the before-state, call, record the outcome.

A multi-step plan stops at the first failure and compensates the steps already applied, in
reverse, each compensation itself a recorded change. Outcomes are settled by read-back
(:mod:`orchestrator.settle`): a call whose answer was lost is ``applied`` if the platform shows
it, ``needs_reconcile`` while that is unknown, ``failed`` only when the platform reads back as
before. An undo step marks the change it undoes ``rolled_back`` only when read-back shows that
change's before-state again. A platform with no read-back (``adapter.read_back`` False) gets
``applied`` changes marked unverified (``verified`` False), kept out of the inventory of observed
states, and undos that never mark anything ``rolled_back``.

Store and ledger calls are synchronous (SQLAlchemy); they run in a worker thread
(``asyncio.to_thread``) so other runs on the same event loop keep moving. Each is awaited
before the next step, so the write-ahead order holds: the ``pending`` record is committed
before the platform is called, and the outcome after it returns.
"""

from __future__ import annotations

import logging
from asyncio import to_thread
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.base import State
from adapters.catalog import ActionCall, ActionSpec
from orchestrator.errors import AdapterError, SophiaError
from orchestrator.faults import fault_point
from orchestrator.logs import bind
from orchestrator.settle import VOLATILE, comparable, finish_undo, settle_answered, settle_by_read_back
from orchestrator.state import Plan, Step
from orchestrator.tracing import adapter_span, span, traced_observe
from state.locks import lock_key
from state.models import ChangeRecord, ChangeStatus
from state.store import new_id

if TYPE_CHECKING:
    from orchestrator.deps import Deps

__all__ = ["VOLATILE", "ApplyOutcome", "Executor", "comparable", "redact"]

REDACTED = "***redacted***"
_log = logging.getLogger(__name__)


def redact(spec: ActionSpec, params: dict[str, Any]) -> dict[str, Any]:
    """Params with secret values replaced, for the ledger and logs.

    A ``secret://NAME`` reference is a name, not a value: it stays, so the ledger says which
    secret a change used.
    """
    from orchestrator.secret_params import is_reference

    return {k: (REDACTED if k in spec.secret_params and not is_reference(v) else v) for k, v in params.items()}


@dataclass
class ApplyOutcome:
    """What an apply did: change records (as dicts), and the error that stopped it, if any."""

    changes: list[dict[str, Any]] = field(default_factory=list)
    compensations: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    verified: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every step applied."""
        return self.error is None


def _public(change: ChangeRecord) -> dict[str, Any]:
    return change.model_dump(mode="json", exclude={"prev_hash", "hash"})


class Executor:
    """Applies plans for one service."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def apply(self, run_id: str, plan: Plan, actor: str) -> ApplyOutcome:
        """Apply every step under one lease; compensate on failure.

        Raises:
            BusyError: another writer holds a target (nothing was recorded).
        """
        store = self.deps.store
        keys = [lock_key(s.call.platform, s.call.target) for s in plan.steps]
        lease = await to_thread(store.locks.acquire, keys, holder=actor, run_id=run_id,
                                ttl_seconds=self.deps.settings.lock_ttl_seconds)
        outcome = ApplyOutcome()
        done: list[tuple[Step, ChangeRecord]] = []
        try:
            fault_point("after_lock")
            for step in plan.steps:
                try:
                    change = await self._apply_step(run_id, step, actor, outcome)
                except SophiaError as exc:
                    outcome.error = exc.to_dict() | {"step": step.seq, "action": step.call.action}
                    break
                done.append((step, change))
            if outcome.error and done:
                await self._compensate(run_id, done, actor, outcome)
        finally:
            await to_thread(store.locks.release, lease)
        return outcome

    async def _apply_step(
        self, run_id: str, step: Step, actor: str, outcome: ApplyOutcome, *, planned: bool = True
    ) -> ChangeRecord:
        """One step in an ``apply.step`` span that ends with the change's settled ledger status."""
        attributes = {"sophia.step": step.seq, "sophia.platform": step.call.platform,
                      "sophia.action": step.call.action, "sophia.target": step.call.target,
                      "sophia.undo_of": step.undo_of}
        with span("apply.step", attributes, call=step.call) as current:
            holder: list[ChangeRecord] = []  # the step's record as it settles, read even when the step raises
            try:
                change = await self._step(run_id, step, actor, outcome, planned, holder)
            finally:
                if holder:
                    _log.info("change %s (%s on %s): %s", holder[-1].id, step.call.action, step.call.target,
                              holder[-1].status, extra={"change_id": holder[-1].id})
                    if current is not None:
                        current.set_attribute("sophia.change_id", holder[-1].id)
                        current.set_attribute("sophia.change.status", str(holder[-1].status))
            return change

    async def _step(
        self, run_id: str, step: Step, actor: str, outcome: ApplyOutcome, planned: bool, holder: list[ChangeRecord]
    ) -> ChangeRecord:
        from adapters.registry import spec_for

        store = self.deps.store
        call = step.call
        spec = spec_for(call.action)
        adapter = self.deps.adapters.get(call.platform)
        before = await traced_observe(adapter, call)
        if planned and comparable(before) != comparable(step.before):
            raise AdapterError(
                f"{call.action}: {call.target} changed since the plan was made ({comparable(step.before)} → "
                f"{comparable(before)})",
                hint="run the command again to plan against the current state",
            )
        adapter.precheck(call, before)
        expected = adapter.predict(call, before)
        change = await to_thread(store.ledger.open, ChangeRecord(
            id=new_id("chg"), run_id=run_id, seq=step.seq, platform=call.platform, action=call.action,
            target=call.target, environment=step.environment, params=redact(spec, call.params),
            before=before, expected=expected, reversible=spec.reversible, risk=spec.risk.value,
            actor=actor, undo_of=step.undo_of,
        ))
        holder.append(change)
        fault_point("after_pending")
        try:
            with bind(change_id=change.id), adapter_span("execute", call.platform, call,
                                                         **{"sophia.change_id": change.id}):
                after = await adapter.execute(call, before)
        except Exception as exc:
            change = await settle_by_read_back(store, adapter, change, call, exc)
            holder.append(change)
            if change.status == ChangeStatus.FAILED:
                outcome.changes.append(_public(change))
                if isinstance(exc, SophiaError):
                    raise exc from None
                raise AdapterError(
                    f"{call.platform}: {call.action} on {call.target} failed: {exc}",
                    hint="the change is recorded as failed (read back: the platform is as before); "
                         "see `sophia-iac history`",
                ) from exc
        else:
            fault_point("after_call")
            change = await to_thread(settle_answered, store, adapter, change, call, after)
            holder.append(change)
        fault_point("after_outcome")
        if change.status == ChangeStatus.APPLIED and change.verified is not False:  # unverified: not observed
            await to_thread(self._note_inventory, call, spec, change.after)
        if step.undo_of:
            outcome.verified[step.undo_of] = await finish_undo(store, adapter, change)
        outcome.changes.append(_public(change))
        if change.status != ChangeStatus.APPLIED:
            raise AdapterError(
                f"{call.action} on {call.target}: the outcome is not known yet ({change.error})",
                hint=f"recorded as needs_reconcile; `sophia-iac reconcile` reads {call.platform} back and "
                     f"settles it (see `sophia-iac history`)",
                details={"change_id": change.id, "status": change.status},
            )
        if step.undo_of and not outcome.verified[step.undo_of] and not adapter.read_back:
            raise AdapterError(
                f"the undo of {step.undo_of} was acknowledged by {call.platform}, which has no read-back: it "
                f"can't be proved, so {step.undo_of} stays applied and this undo is recorded unverified",
                hint=f"check {call.target} in {call.platform} by hand; `sophia-iac history` shows what sophia sent",
                details={"change_id": change.id, "undo_of": step.undo_of, "verified": False},
            )
        if step.undo_of and not outcome.verified[step.undo_of]:
            raise AdapterError(
                f"the undo of {step.undo_of} applied, but reading {call.target} back does not show its "
                f"before-state: {step.undo_of} stays as it was",
                hint=f"check `sophia-iac status {call.platform}`; the undo can be retried",
                details={"change_id": change.id, "undo_of": step.undo_of},
            )
        return change

    def _note_inventory(self, call: ActionCall, spec: ActionSpec, after: State) -> None:
        if call.target:
            self.deps.store.upsert_inventory_item(call.platform, spec.resource, call.target.lower(), after)

    async def _compensate(
        self, run_id: str, done: list[tuple[Step, ChangeRecord]], actor: str, outcome: ApplyOutcome
    ) -> None:
        for step, change in reversed(done):
            if not change.inverse:
                outcome.compensations.append({"change_id": change.id, "status": "irreversible"})
                continue
            inverse = ActionCall.model_validate(change.inverse)
            comp = Step(seq=step.seq, call=inverse, risk="change", reversible=False,
                        environment=step.environment, undo_of=change.id, note="compensation")
            try:
                record = await self._apply_step(run_id, comp, actor, outcome, planned=False)
                outcome.compensations.append({"change_id": change.id, "status": "compensated", "by": record.id})
            except SophiaError as exc:
                outcome.compensations.append({"change_id": change.id, "status": "failed", "error": exc.message})
