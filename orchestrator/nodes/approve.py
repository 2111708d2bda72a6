"""approve: pause for an approver's decision, bound to the plan's digest.

Only an ``interrupt()`` and checks of its answer here: this node re-runs on resume.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from langgraph.types import interrupt

from orchestrator.state import Decision, GraphState, Request

__all__ = ["approve"]


def approve(state: GraphState) -> dict[str, Any]:
    """Ask for approval; a void answer (wrong digest, expired, requester under four-eyes) rejects."""
    decision = Decision.model_validate(state["decision"])
    request = Request.model_validate(state["request"])
    digest = state["plan"]["digest"]
    expires = state.get("approval", {}).get("expires_at") or (
        datetime.now(UTC) + timedelta(seconds=decision.ttl_seconds or 3600)
    ).isoformat()
    answer = interrupt({
        "kind": "approval", "run_id": state["run_id"], "digest": digest, "expires_at": expires,
        "approvers": decision.approvers, "four_eyes": decision.four_eyes, "requester": request.actor,
        "reasons": decision.reasons, "answers": ["approve", "reject"],
    })
    answer = answer if isinstance(answer, dict) else {}
    verdict, actor = answer.get("decision"), answer.get("actor", "")
    problem = None
    if answer.get("digest") != digest:
        problem = "the approval is for another version of the plan"
    elif datetime.now(UTC) > datetime.fromisoformat(expires):
        problem = f"the approval request expired at {expires}"
    elif verdict == "approve" and decision.four_eyes and actor == request.actor:
        problem = "a destructive change needs approval from someone other than the requester"
    approval = {"expires_at": expires, "decision": verdict, "actor": actor, "comment": answer.get("comment")}
    if problem:
        return {"approval": approval | {"void": problem}, "status": "rejected"}
    if verdict != "approve":
        return {"approval": approval, "status": "rejected"}
    return {"approval": approval | {"approved": True}}
