"""What the ledger, ``history``, ``status``, undo, the reconciler and the drift scan say about UserGems.

UserGems can't be read back, so none of its changes is verified: an acknowledged one is
``applied`` with ``verified`` False (``history``: "applied (unverified)"), a lost answer stays
``needs_reconcile`` (the reconciler notes it once and can't settle it), an undo never marks
anything ``rolled_back``, ``status`` lists what sophia itself recorded and says so, and the drift
scan skips it. The platform's truth is the twin in front of Prism (only tests can see it).
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.data.usergems import UserGemsAdapter
from adapters.registry import spec_for
from adapters.testing import run
from adapters.testing_faults import FaultTransport, _OnePool, apply_through_ledger
from orchestrator.errors import AdapterError
from orchestrator.executor import Executor
from orchestrator.interfaces.render import render_changes
from orchestrator.reconcile import reconcile_store
from orchestrator.state import Plan, Step
from state.models import ChangeStatus, LedgerEntry
from state.store import Store, new_id

from .prism import RecordingTransport
from .usergems_fixtures import adapter, env, migrated, store, twin, usergems_server
from .usergems_twin import UserGemsTwin

__all__ = ["adapter", "env", "migrated", "store", "twin", "usergems_server"]  # fixtures, imported for pytest

TRACK = spec_for("usergems.contact.track")
UNTRACK = spec_for("usergems.contact.untrack")
JANE = "jane.doe@acme.com"


def _kinds(store: Store, change_id: str) -> list[str]:
    from sqlmodel import col, select

    with store.session() as s:
        return list(
            s.exec(
                select(LedgerEntry.kind)
                .where(LedgerEntry.change_id == change_id)
                .order_by(col(LedgerEntry.seq))
            ).all()
        )


async def _undo(store: Store, adapter: UserGemsAdapter, change: dict[str, Any]) -> Any:
    """Undo ``change`` through the real executor, as ``sophia-iac undo`` plans it."""
    inverse = UNTRACK.call(change["target"]) if change["action"] == TRACK.id else TRACK.call(change["target"])
    step = Step(
        seq=1,
        call=inverse,
        risk="change",
        reversible=True,
        undo_of=change["id"],
        before=await adapter.observe(inverse),
    )
    deps = SimpleNamespace(
        store=store, adapters=_OnePool(adapter), settings=SimpleNamespace(lock_ttl_seconds=60)
    )
    return await Executor(deps).apply(new_id("run"), Plan(steps=[step]), "test:undo")  # type: ignore[arg-type]


def test_an_acknowledged_change_is_applied_unverified_and_history_says_so(
    adapter: UserGemsAdapter, store: Store, twin: UserGemsTwin, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = run(apply_through_ledger(store, adapter, TRACK.call("Jane.Doe@acme.com")))
    change = store.ledger.get(recorded["id"])
    assert (change.status, change.verified) == (ChangeStatus.APPLIED, False)
    assert change.before == {"email": JANE, "tracked": None}, "before: not known, never guessed"
    assert change.expected == {"email": JANE, "tracked": True}
    assert change.after == {"email": JANE, "acknowledged": "Contact added to queue"}, (
        "UserGems' answer, not a state"
    )
    assert change.inverse == {"action": UNTRACK.id, "target": "Jane.Doe@acme.com", "params": {}}
    assert _kinds(store, change.id) == ["open", "applied"]
    assert store.inventory("usergems") == {}, "an unverified change is not an observed state"
    assert store.ledger.verify().ok
    render_changes([recorded])
    assert "applied (unverified)" in capsys.readouterr().out
    assert twin.state(JANE)["tracked"] is True


def test_a_lost_answer_is_never_recorded_as_a_success(
    adapter: UserGemsAdapter, env: RecordingTransport, store: Store, twin: UserGemsTwin
) -> None:
    """UserGems queues the contact, the answer is lost: needs_reconcile, and it stays so."""
    adapter.transport = faults = FaultTransport(env, "lost")
    faults.arm()
    recorded = run(apply_through_ledger(store, adapter, TRACK.call(JANE)))
    faults.disarm()
    assert twin.state(JANE)["tracked"] is True, "it did land"
    assert recorded["status"] == ChangeStatus.NEEDS_RECONCILE and recorded["verified"] is not True
    assert "no read-back" in recorded["error"]
    for _ in range(2):  # the reconciler notes it once, can't settle it, and doesn't repeat itself
        run(reconcile_store(store, _OnePool(adapter)))  # type: ignore[arg-type]
    settled = store.ledger.get(recorded["id"])
    assert (settled.status, settled.verified) == (ChangeStatus.NEEDS_RECONCILE, None)
    assert _kinds(store, settled.id) == ["open", "needs_reconcile", "reconcile"]
    assert "can't settle" in (settled.error or "")
    assert [ex.request.method for ex in env.exchanges] == ["POST"], "never sent again by itself"


def test_an_undo_is_sent_but_never_marks_the_change_rolled_back(
    adapter: UserGemsAdapter, store: Store, twin: UserGemsTwin
) -> None:
    tracked = run(apply_through_ledger(store, adapter, TRACK.call(JANE)))
    outcome = run(_undo(store, adapter, tracked))
    assert twin.state(JANE)["tracked"] is False, "the untrack reached UserGems"
    assert outcome.error is not None and "no read-back" in outcome.error["message"]
    assert outcome.verified == {tracked["id"]: False}
    original, undo = store.ledger.get(tracked["id"]), store.ledger.get(outcome.changes[-1]["id"])
    assert original.status == ChangeStatus.APPLIED and original.rolled_back_by is None
    assert (undo.status, undo.verified, undo.undo_of) == (ChangeStatus.APPLIED, False, original.id)
    assert f"{original.id} stays applied" in (undo.error or "")
    assert _kinds(store, undo.id) == ["open", "applied", "verify"]
    assert store.ledger.unverified_undos() == [], "the verdict is recorded: nothing for the reconciler"
    assert store.ledger.verify().ok


def test_status_lists_what_sophia_recorded_and_says_so(
    adapter: UserGemsAdapter, env: RecordingTransport, store: Store, twin: UserGemsTwin
) -> None:
    assert run(adapter.get_status()).inventory == {"contact": []}
    run(apply_through_ledger(store, adapter, TRACK.call(JANE)))
    run(apply_through_ledger(store, adapter, TRACK.call("ana@initech.com")))
    run(apply_through_ledger(store, adapter, UNTRACK.call("ana@initech.com")))
    twin.fault("POST", "/contact", 503)
    run(apply_through_ledger(store, adapter, TRACK.call("max@hooli.com")))  # 503: outcome not known
    twin.fault("POST", "/contact", 400)
    run(apply_through_ledger(store, adapter, TRACK.call("eve@corp.com")))  # refused: failed, not listed
    sent_before = len(env.exchanges)
    status = run(adapter.get_status())
    assert len(env.exchanges) == sent_before, "status sends nothing to UserGems"
    assert (
        status.healthy
        and status.details["source"] == "sophia's ledger"
        and status.details["verified"] is False
    )
    assert re.search(
        r"1 contact\(s\) tracked as sophia itself recorded it, 1 more with an outcome not known",
        status.message,
    )
    assert "not UserGems' list" in status.message and "none of it is verified" in status.message
    listed = {c["email"]: (c["tracked"], c["status"], c["verified"]) for c in status.inventory["contact"]}
    assert listed == {JANE: (True, "applied", False), "max@hooli.com": (None, "needs_reconcile", False)}
    # UserGems itself differs (bob was tracked before sophia; the 503 left max untracked): status
    # shows sophia's record and says so, it does not pretend to know UserGems' list.
    assert twin.tracked == {"bob@globex.io", JANE}


def test_status_without_a_key_is_not_configured(
    adapter: UserGemsAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPHIA_USERGEMS_TOKEN")
    status = run(adapter.get_status())
    assert (status.healthy, status.configured) == (False, False) and "SOPHIA_USERGEMS_TOKEN" in status.message


def test_the_drift_scan_skips_it(adapter: UserGemsAdapter, store: Store) -> None:
    from orchestrator.drift_scan import scan

    (report,) = run(scan(store, _OnePool(adapter), ["usergems"]))  # type: ignore[arg-type]
    assert report.error and "no read-back" in report.error and not report.drift


def test_an_unanswered_undo_leaves_the_change_as_it_was(
    adapter: UserGemsAdapter, store: Store, twin: UserGemsTwin
) -> None:
    tracked = run(apply_through_ledger(store, adapter, TRACK.call(JANE)))
    twin.fault("DELETE", "/contact", 503, times=10)
    outcome = run(_undo(store, adapter, tracked))
    assert isinstance(outcome.error, dict) and outcome.error["code"] == AdapterError.code
    undo = store.ledger.get(outcome.changes[-1]["id"])
    assert undo.status == ChangeStatus.NEEDS_RECONCILE and undo.verified is None
    assert store.ledger.get(tracked["id"]).status == ChangeStatus.APPLIED
