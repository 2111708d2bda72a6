"""check_policy: the plan's verdict. Fail-closed: an engine error is a deny."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from orchestrator.deps import Deps
from orchestrator.state import Decision, Effect, GraphState, Plan, Request

__all__ = ["check_policy"]


async def check_policy(state: GraphState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Evaluate policy for the plan and the requesting actor."""
    request = Request.model_validate(state["request"])
    plan = Plan.model_validate(state["plan"])
    try:
        decision = runtime.context.policy.evaluate(plan, actor=request.actor, surface=request.surface)
    except Exception as exc:  # noqa: BLE001 - fail closed
        decision = Decision(effect=Effect.DENY, reasons=[{"rule": "engine-error", "message": f"policy engine failed: {exc}"}])
    return {"decision": decision.model_dump(mode="json")}
