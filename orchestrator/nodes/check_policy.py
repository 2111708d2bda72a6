"""check_policy: the plan's verdict from the policy gate. Fail-closed: any error is a deny.

When approval is due, the approval request (digest, who may decide, expiry) is fixed here, in
state, so the approve node shows the same request however often it re-runs.
"""

from __future__ import annotations

from asyncio import to_thread
from typing import TYPE_CHECKING, Any

from orchestrator.deps import Deps
from orchestrator.state import Decision, Effect, GraphState, Plan, Request

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # a hint only: a dry run walks this node without LangGraph

__all__ = ["check_policy"]


async def check_policy(state: GraphState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Evaluate policy for the plan and the requesting actor."""
    from policies.engine import unavailable

    request = Request.model_validate(state["request"])
    plan = Plan.model_validate(state["plan"])
    gate = runtime.context.policy

    def evaluate() -> dict[str, Any]:  # reads freezes, identities and change counts from the store
        decision: Decision = gate.decide(plan, request, state["run_id"])
        out: dict[str, Any] = {"decision": decision.model_dump(mode="json")}
        if decision.effect is Effect.REQUIRE_APPROVAL:
            ask = gate.approval_request(run_id=state["run_id"], plan=plan, request=request, decision=decision)
            out["approval_request"] = ask.model_dump(mode="json")
        return out

    try:
        return await to_thread(evaluate)
    except Exception as exc:  # noqa: BLE001 - fail closed
        return {"decision": unavailable(f"{type(exc).__name__}: {exc}").model_dump(mode="json")}
