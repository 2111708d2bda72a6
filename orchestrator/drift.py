"""Drift: a change a platform reports that our ledger does not explain.

When a webhook reports that a resource changed, we compare it with our own recent change
records for that resource. A report that matches one of them is the echo of our own change;
anything else is drift: it is recorded (once per delivery and resource), the inventory is
updated to what the platform says, and — when we can derive one — a *revert* call is stored
so a person can undo it through the normal pipeline (plan, policy, approval, ledger).

The revert is derived from the catalog, never from text in the payload:

1. an adapter may define ``revert_call(change, before) -> ActionCall | None``;
2. otherwise, for an update, find the adapter's reversible action whose prediction from the
   before-state reproduces the reported state, and take that action's inverse;
3. a resource deleted out of band is re-created from its before-state (``<resource>.create``)
   only when that restores it: the create's prediction agrees with the before-state on the
   comparable fields, and the adapter says the resource held nothing else
   (:meth:`~adapters.base.PlatformAdapter.recreate_loses`: a repo's contents, an index's
   vectors). Otherwise no revert is offered and :func:`revert_note` says what re-creating
   would do; one created out of band is deleted (``<resource>.delete``, destructive: needs
   approval).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from adapters.base import ObservedChange, PlatformAdapter, State
from adapters.catalog import ActionCall, ActionSpec
from orchestrator.errors import SophiaError
from state.models import ChangeStatus, Drift, utcnow

if TYPE_CHECKING:
    from state.inbox import Inbox
    from state.store import Store

__all__ = ["ECHO_WINDOW_SECONDS", "DriftDetector", "agrees", "revert_call", "revert_note"]

log = logging.getLogger(__name__)

#: How long after our own change a matching report counts as its echo.
ECHO_WINDOW_SECONDS = 900

_VOLATILE = frozenset({"rows", "updated_at", "created_at", "id", "refreshed_at"})


def agrees(a: State, b: State) -> bool:
    """Whether two states agree on every key they share (both absent also agrees)."""
    if a is None or b is None:
        return a is None and b is None
    shared = (set(a) & set(b)) - _VOLATILE
    return bool(shared) and all(a[k] == b[k] for k in shared)


def _changed(before: State, now: State) -> bool:
    if before is None or now is None:
        return before is not now
    return any(before.get(k) != v for k, v in now.items() if k not in _VOLATILE)


def revert_call(adapter: PlatformAdapter, change: ObservedChange, before: State) -> ActionCall | None:
    """The call that puts the resource back to ``before`` (None if the catalog can't say)."""
    hook = getattr(adapter, "revert_call", None)
    if callable(hook):
        result: ActionCall | None = hook(change, before)
        return result
    specs = [s for s in type(adapter).actions if s.resource == change.resource_type and s.mutating]
    by_verb = {s.verb: s for s in specs}
    try:
        if before is None and change.state is not None:
            spec = by_verb.get("delete")
            return spec.call(change.name, {}) if spec else None
        if change.state is None and before is not None:
            return _recreate(adapter, by_verb.get("create"), change.name, before)
    except ValidationError:
        return None
    if before is None or change.state is None:
        return None
    for spec in specs:
        if not spec.reversible or spec.verb == "create":
            continue
        params = {k: change.state[k] for k in spec.params.model_fields if k in change.state}
        try:
            forward = spec.call(change.name, params)
            expected = adapter.predict(forward, before)
        except (ValidationError, SophiaError, KeyError, TypeError, ValueError):
            continue
        if expected is None or not agrees(expected, change.state):
            continue
        inverse = spec.derive_inverse(forward, before, change.state)
        if inverse is not None and inverse != forward:
            return inverse
    return None


def _recreate(adapter: PlatformAdapter, spec: ActionSpec | None, name: str, before: dict[str, Any]
              ) -> ActionCall | None:
    """The create call that brings a deleted resource back as it was, or None if none does."""
    if spec is None or adapter.recreate_loses(spec.resource, before):
        return None
    fields = spec.params.model_fields
    call = spec.call(name, {k: v for k, v in before.items() if k in fields and v is not None})
    try:
        expected = adapter.predict(call, None)
    except (SophiaError, KeyError, TypeError, ValueError):
        return None
    return call if agrees(expected, before) else None


def revert_note(drift: Drift) -> str:
    """In words: what the revert would run, or why none is offered and what re-creating would do."""
    from adapters.registry import adapter_class

    if drift.revert:
        call = drift.revert
        return f"Revert would run {call.get('action')} on {call.get('target')} through plan, policy and approval."
    try:
        cls = adapter_class(drift.platform)
    except SophiaError:
        return "No automatic revert: change it back on the platform."
    create = next((s for s in cls.actions if s.resource == drift.resource_type and s.verb == "create"), None)
    if drift.observed is None and drift.before is not None and create is not None:
        lost = cls.recreate_loses(drift.resource_type, drift.before)
        if lost:
            return (f"No automatic revert: {create.id} would recreate, empty: {lost}. "
                    "Recreate it by hand if that is what you want.")
        return (f"No automatic revert: {create.id} can't reproduce the before-state. "
                "Change it back on the platform.")
    return "No automatic revert: the catalog has no action that restores the earlier state; change it back on the platform."


class DriftDetector:
    """Applies reported changes to the inventory and records the ones we did not make."""

    def __init__(self, store: Store, inbox: Inbox, *, echo_window: float = ECHO_WINDOW_SECONDS) -> None:
        self.store = store
        self.inbox = inbox
        self.echo_window = echo_window

    def explained(self, platform: str, change: ObservedChange, since: datetime | None = None) -> bool:
        """Whether one of our change records (recent, or made after ``since``) produced this state."""
        recent = utcnow() - timedelta(seconds=self.echo_window)
        since = min(since, recent) if since is not None else recent
        for record in self.store.ledger.list(platform=platform, since=since, limit=200):
            if (record.target or "").lower() != change.name.lower():
                continue
            if record.status not in (ChangeStatus.APPLIED, ChangeStatus.PENDING):
                continue
            ours = record.after if record.status == ChangeStatus.APPLIED else record.expected
            if agrees(ours, change.state) or agrees(record.expected, change.state):
                return True
        return False

    def before(self, platform: str, change: ObservedChange) -> State:
        """What we knew of the resource before this report (from the inventory)."""
        from sqlmodel import select

        from state.models import InventoryItem

        with self.store.session() as s:
            rows = s.exec(select(InventoryItem).where(
                InventoryItem.platform == platform, InventoryItem.resource_type == change.resource_type,
                InventoryItem.name.in_([change.name, change.name.lower()]),  # type: ignore[attr-defined]
            )).all()
        return dict(rows[0].attributes or {"name": rows[0].name}) if rows else None

    def already_open(self, platform: str, change: ObservedChange) -> bool:
        """Whether an open (or reverting) drift on this resource already records this state."""
        from sqlmodel import col, select

        with self.store.session() as s:
            rows = s.exec(select(Drift).where(
                Drift.platform == platform, Drift.resource_type == change.resource_type,
                col(Drift.name).in_([change.name, change.name.lower()]),
                col(Drift.status).in_(["open", "reverting"]),
            ).order_by(col(Drift.detected_at).desc()).limit(20)).all()
        return any(r.observed == change.state or (r.observed is not None and change.state is not None
                                                  and not _changed(r.observed, change.state)) for r in rows)

    def apply(self, adapter: PlatformAdapter, changes: list[ObservedChange], *, inbox_id: int | None,
              since: dict[str, datetime] | None = None) -> list[Drift]:
        """Record the drift in ``changes``, then update the inventory; return the drift newly recorded.

        The inventory (the baseline) moves only after the drift is on record: if recording
        fails, the next report or scan sees the same difference again. A change our ledger
        explains (a record within the echo window, or after ``since[name]``: when the
        baseline was last refreshed) only refreshes it; so does a state an open drift on the
        resource already records (no duplicate per scan).
        """
        platform = adapter.name
        found: list[Drift] = []
        for change in changes:
            before = self.before(platform, change)
            ours = self.explained(platform, change, (since or {}).get(change.name))
            if not ours and _changed(before, change.state) and not self.already_open(platform, change):
                revert = revert_call(adapter, change, before)
                drift = Drift(
                    id=self.inbox.new_drift_id(), platform=platform, resource_type=change.resource_type,
                    name=change.name, verb=change.verb, reported_actor=change.actor, observed=change.state,
                    before=before, revert=revert.model_dump(mode="json") if revert else None, inbox_id=inbox_id,
                )
                row, new = self.inbox.record_drift(drift)
                if new:
                    log.info("drift on %s %s %s (%s)", platform, change.resource_type, change.name, change.verb)
                    found.append(row)
            self.store.upsert_inventory_item(platform, change.resource_type, change.name, change.state)
        return found

