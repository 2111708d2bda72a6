"""Revert drift through the normal pipeline: a structured command, never parsed text.

The revert call was derived from the catalog when the drift was recorded
(:func:`orchestrator.drift.revert_call`); here it becomes a pre-parsed command, so the run
is planned, policy-checked, approved if due, applied and recorded like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.catalog import ActionCall
from orchestrator.drift import revert_note
from orchestrator.errors import ApprovalError, IrreversibleError
from orchestrator.state import Intent, ParsedCommand, Request
from state.inbox import Inbox
from state.models import Drift

if TYPE_CHECKING:
    from orchestrator.service import OrchestratorService
    from state.store import Store

__all__ = ["drift_view", "revert_drift", "settle_drift"]

_RUN_TO_DRIFT = {"applied": "reverted", "awaiting_approval": "reverting", "awaiting_confirmation": "reverting",
                 "deciding": "reverting", "applying": "reverting"}


async def revert_drift(service: OrchestratorService, drift_id: str, *, actor: str, surface: str) -> dict[str, Any]:
    """Submit the drift's revert call as a run (once: a second revert while one is open is refused)."""
    inbox = Inbox(service.store)
    drift = inbox.drift(drift_id)
    if drift.revert is None:
        raise IrreversibleError(
            f"drift {drift_id} ({drift.platform} {drift.resource_type} {drift.name}) has no automatic revert",
            hint=revert_note(drift),
        )
    if not inbox.update_drift(drift_id, expect_status="open", status="reverting"):
        raise ApprovalError(f"drift {drift_id} is {drift.status}, not open",
                            hint=f"see run {drift.revert_run_id}" if drift.revert_run_id else "nothing to do")
    call = ActionCall.model_validate(drift.revert)
    parsed = ParsedCommand(intent=Intent.ACTION, actions=[call], parser="structured")
    request = Request(text=f"revert drift {drift_id}: {call.action} on {call.target}", actor=actor, surface=surface,
                      confirmed=True)
    try:
        view = await service.submit(request, parsed)
    except BaseException:
        inbox.update_drift(drift_id, status="open")
        raise
    inbox.update_drift(drift_id, status=_RUN_TO_DRIFT.get(view["status"], "open"), revert_run_id=view["run_id"])
    return view


def settle_drift(store: Store, drift: Drift) -> Drift:
    """Bring a ``reverting`` drift's status up to date with its revert run."""
    if drift.status != "reverting" or not drift.revert_run_id:
        return drift
    run = store.get_run(drift.revert_run_id)
    status = _RUN_TO_DRIFT.get(run.status, "open")
    if status != drift.status:
        Inbox(store).update_drift(drift.id, status=status)
        drift.status = status
    return drift


def drift_view(drift: Drift) -> dict[str, Any]:
    """A drift record as JSON."""
    data = drift.model_dump(mode="json")
    data["revertible"] = drift.revert is not None
    data["revert_note"] = revert_note(drift)
    return data
