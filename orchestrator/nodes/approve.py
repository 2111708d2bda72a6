"""approve: a typed ``interrupt()`` for an approver's answer, bound to the plan's digest.

Only interrupts and checks of their answers here: this node re-runs from its start on resume
(earlier answers replay in order), so it writes nothing outside graph state. The request was
fixed by check_policy; each answer is judged by the policy gate: a changed plan voids it, an
expired request is refused, someone who may not decide is ignored (the run keeps waiting), and
``min_approvals`` distinct approvers are collected before apply.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import ValidationError

from orchestrator.deps import Deps
from orchestrator.state import GraphState, Plan

__all__ = ["approve"]

STATUS = {"rejected": "rejected", "changes_requested": "changes_requested", "expired": "expired", "void": "rejected"}


async def approve(state: GraphState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Collect approvals; end the run on reject, request_changes, expiry or a changed plan."""
    from policies.approvals import ApprovalAnswer, ApprovalRequest

    gate = runtime.context.policy
    request = ApprovalRequest.model_validate(state["approval_request"])
    plan_digest = Plan.model_validate(state["plan"]).digest
    approvals: list[dict[str, str]] = []
    while True:
        asked = request.model_copy(update={"approvals": list(approvals)})
        raw = interrupt(asked.model_dump(mode="json"))
        try:
            answer = ApprovalAnswer.model_validate(raw)
        except ValidationError:
            continue
        verdict = gate.judge(asked, answer, plan_digest=plan_digest)
        if verdict.outcome == "ignored":
            continue
        entry = {"actor": gate.decider(answer.actor).id, "source": gate.source(answer),
                 "principal": gate.decider(answer.principal or answer.actor).id, "decision": answer.decision.value,
                 "comment": answer.comment or "", "at": answer.answered_at.isoformat()}
        if verdict.outcome == "pending":
            approvals.append(entry)
            continue
        if verdict.outcome == "approved":
            return {"approval": {"approved": True, "outcome": "approved", "approvals": [*approvals, entry]}}
        outcome = {**entry, "outcome": verdict.outcome, "problem": verdict.problem, "approvals": approvals}
        return {"approval": outcome, "result": {"approval": outcome}, "status": STATUS[verdict.outcome]}
