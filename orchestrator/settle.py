"""Settle a change's outcome by reading the platform back: the ledger records what it shows.

* An answered call: the state read back (what ``execute`` returns) reaches the prediction →
  ``applied``; anything else → ``needs_reconcile``.
* A call that failed: the target is read back. It shows the change → ``applied`` (the answer
  was lost, the change was not). It shows the before-state → ``failed`` when the error says the
  request was never sent or was refused, else ``needs_reconcile`` (it may still land). Anything
  else, or a read-back that fails too → ``needs_reconcile``.
* :func:`reconcile_change` settles ``pending`` and ``needs_reconcile`` rows the same way later,
  each settlement its own ledger entry (kind ``reconcile``).
* An undo: the change it undoes becomes ``rolled_back`` only when the undo applied and reading
  that change's target back shows its before-state; the verdict (``verified``) is written to the
  undo's own record. A failed or unverified undo leaves the original as it was.
* A platform with no read-back (``adapter.read_back`` False: UserGems) can't prove anything:
  an acknowledged call is ``applied`` with ``verified`` False ("unverified" in ``history``); a
  refused one ``failed`` on the strength of the refusal; any other failure ``needs_reconcile``,
  which the reconciler notes once and leaves (nothing can settle it); an undo's verdict is
  always False, so what it undoes is never marked ``rolled_back``.
"""

from __future__ import annotations

from asyncio import to_thread
from typing import TYPE_CHECKING, Any

from adapters.base import PlatformAdapter, State
from adapters.catalog import ActionCall
from orchestrator.errors import SophiaError, outcome_unknown
from orchestrator.tracing import traced_observe
from state.models import ChangeRecord, ChangeStatus

if TYPE_CHECKING:
    from state.store import Store

__all__ = ["VOLATILE", "comparable", "finish_undo", "no_read_back", "reconcile_change", "settle_answered",
           "settle_by_read_back"]

VOLATILE = frozenset({"rows", "updated_at", "created_at", "last_modified", "etag"})


def comparable(state: State) -> State:
    """A state without fields that change on their own (row counts, timestamps)."""
    if state is None:
        return None
    return {k: v for k, v in state.items() if k not in VOLATILE}


def _call(change: ChangeRecord) -> ActionCall:
    return ActionCall(action=change.action, target=change.target, params=change.params or {})


def no_read_back(platform: str) -> str:
    """Why a change on ``platform`` (an adapter with ``read_back`` False) is not verified."""
    return (f"unverified: {platform} has no read-back, so this records what sophia sent and {platform}"
            " acknowledged, not a state read back")


def _applied(store: Store, change: ChangeRecord, call: ActionCall, observed: State, *, kind: str | None = None,
             note: str | None = None, verified: bool | None = None) -> ChangeRecord:
    from adapters.registry import spec_for

    inverse = spec_for(change.action).derive_inverse(call, change.before, observed)
    extra = {} if verified is None else {"verified": verified}
    return store.ledger.transition(change.id, ChangeStatus.APPLIED, kind=kind, after=observed,
                                   inverse=inverse.model_dump(mode="json") if inverse else None, error=note,
                                   **extra)


def settle_answered(store: Store, adapter: PlatformAdapter, change: ChangeRecord, call: ActionCall,
                    after: State) -> ChangeRecord:
    """Record the outcome of a call that answered, from the state it read back.

    With no read-back, ``after`` is the platform's acknowledgement: ``applied``, unverified.
    """
    if not adapter.read_back:
        return _applied(store, change, call, after, note=no_read_back(adapter.name), verified=False)
    if adapter.reached(call, change.expected, after):
        return _applied(store, change, call, after)
    return store.ledger.transition(
        change.id, ChangeStatus.NEEDS_RECONCILE, after=after,
        error=f"read-back {comparable(after)} differs from the expected {comparable(change.expected)}",
    )


def _describe(exc: BaseException) -> str:
    from adapters.credentials import scrub

    return scrub(str(exc) if isinstance(exc, SophiaError) else f"{type(exc).__name__}: {exc}")


async def settle_by_read_back(store: Store, adapter: PlatformAdapter, change: ChangeRecord, call: ActionCall,
                              exc: BaseException) -> ChangeRecord:
    """Record the outcome of a call that raised: read the target back and believe it."""
    error = _describe(exc)
    if not adapter.read_back:
        if outcome_unknown(exc):
            return await to_thread(
                store.ledger.transition, change.id, ChangeStatus.NEEDS_RECONCILE,
                error=f"{error}; {adapter.name} has no read-back, so whether it landed can't be known: it stays "
                      f"needs_reconcile (check {adapter.name} by hand, or send the command again)")
        return await to_thread(store.ledger.transition, change.id, ChangeStatus.FAILED,
                               error=f"{error}; {adapter.name} refused it (no read-back: this rests on its answer)")
    try:
        observed = await traced_observe(adapter, call)
    except Exception as read_exc:  # noqa: BLE001 - unknown outcome: recorded, settled later
        return await to_thread(
            store.ledger.transition, change.id, ChangeStatus.NEEDS_RECONCILE,
            error=f"{error}; reading it back failed too ({_describe(read_exc)}): `sophia-iac reconcile` settles it",
        )
    if comparable(observed) == comparable(change.before):
        if outcome_unknown(exc):
            return await to_thread(
                store.ledger.transition, change.id, ChangeStatus.NEEDS_RECONCILE, after=observed,
                error=f"{error}; the platform still shows the before-state, but the request may have reached it"
                      " and may yet land: `sophia-iac reconcile` settles it",
            )
        return await to_thread(store.ledger.transition, change.id, ChangeStatus.FAILED, after=observed,
                               error=f"{error}; read back: the platform is as before")
    if adapter.reached(call, change.expected, observed):
        return await to_thread(_applied, store, change, call, observed,
                               note=f"the platform's answer was lost ({error}); read back: the change is there")
    return await to_thread(
        store.ledger.transition, change.id, ChangeStatus.NEEDS_RECONCILE, after=observed,
        error=f"{error}; read back {comparable(observed)}: neither the before-state nor the expected one",
    )


async def finish_undo(store: Store, adapter: PlatformAdapter, undo: ChangeRecord) -> bool:
    """Mark the undone change ``rolled_back`` if read-back proves it; record the verdict on the undo."""
    if undo.status != ChangeStatus.APPLIED or not undo.undo_of:
        return False
    original = await to_thread(store.ledger.get, undo.undo_of)
    if not adapter.read_back:
        note = (f"{adapter.name} has no read-back: the undo was acknowledged but can't be proved, so "
                f"{original.id} stays {original.status}")
        await to_thread(store.ledger.transitions, (undo.id, undo.status, "verify", {"verified": False, "error": note}))
        undo.verified, undo.error = False, note
        return False
    # Read back the way the original change saw its target (a create's view of a key may differ
    # from a disable's), so "back at the before-state" compares like with like.
    try:
        observed: Any = await traced_observe(adapter, _call(original))
        verified = comparable(observed) == comparable(original.before)
        seen = f"read back {comparable(observed)}"
    except Exception as exc:  # noqa: BLE001 - unverified: the original stays as it was
        verified, seen = False, f"reading it back failed ({_describe(exc)})"
    note = None if verified else (
        f"{seen}, not {original.id}'s before-state {comparable(original.before)}: {original.id} stays"
        f" {original.status}; the undo can be retried")
    steps: list[tuple[str, str, str | None, dict[str, Any]]] = [
        (undo.id, undo.status, "verify", {"verified": verified, "error": note})]
    if verified and original.status != ChangeStatus.ROLLED_BACK:
        steps.append((original.id, ChangeStatus.ROLLED_BACK, None, {"rolled_back_by": undo.id}))
    await to_thread(store.ledger.transitions, *steps)  # the verdict and rolled_back together, or neither
    undo.verified, undo.error = verified, note
    return verified


async def reconcile_change(store: Store, adapter: PlatformAdapter, change: ChangeRecord, *,
                           examined: bool = False) -> str:
    """Settle one ``pending``/``needs_reconcile`` change by read-back; returns its status after.

    A row left unsettled gets a ``reconcile`` entry the first time (``examined`` False) and
    again only when what the platform shows has changed.

    Raises:
        SophiaError: the platform could not be read (the row is left as it was).
    """
    call = _call(change)
    if not adapter.read_back:  # nothing to read: noted once, left for a person
        if not examined:
            await to_thread(store.ledger.transition, change.id, ChangeStatus.NEEDS_RECONCILE, kind="reconcile",
                            error=f"{adapter.name} has no read-back: the reconciler can't settle this; check "
                                  f"{adapter.name} by hand (or send the command again)")
        return ChangeStatus.NEEDS_RECONCILE
    observed = await traced_observe(adapter, call)
    if adapter.reached(call, change.expected, observed):
        settled = await to_thread(_applied, store, change, call, observed, kind="reconcile",
                                  note="settled by the reconciler: read back, the platform shows the change")
        if settled.undo_of:
            await finish_undo(store, adapter, settled)
        return ChangeStatus.APPLIED
    if comparable(observed) == comparable(change.before):
        await to_thread(store.ledger.transition, change.id, ChangeStatus.FAILED, kind="reconcile", after=observed,
                        error="settled by the reconciler: read back, the platform is as before")
        return ChangeStatus.FAILED
    if not examined or change.status != ChangeStatus.NEEDS_RECONCILE or \
            comparable(change.after) != comparable(observed):
        await to_thread(store.ledger.transition, change.id, ChangeStatus.NEEDS_RECONCILE, kind="reconcile",
                        after=observed,
                        error="the platform shows neither the before- nor the expected state; check it by hand")
    return ChangeStatus.NEEDS_RECONCILE
