"""apply: run the plan through the write-ahead executor."""

from __future__ import annotations

from asyncio import to_thread
from typing import Any

from langgraph.runtime import Runtime

from orchestrator.deps import Deps
from orchestrator.errors import SophiaError
from orchestrator.executor import Executor
from orchestrator.state import GraphState, Plan, Request

__all__ = ["apply"]


async def apply(state: GraphState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Apply every step; a busy lock or platform error ends the run with its message."""
    request = Request.model_validate(state["request"])
    plan = Plan.model_validate(state["plan"])
    await to_thread(runtime.context.store.update_run, state["run_id"], status="applying")
    try:
        outcome = await Executor(runtime.context).apply(state["run_id"], plan, request.actor)
    except SophiaError as exc:
        return {"error": exc.to_dict(), "status": "failed"}
    result = {"changes": outcome.changes, "compensations": outcome.compensations, "verified": outcome.verified}
    if outcome.error:
        return {"result": result, "error": outcome.error, "status": "failed"}
    return {"result": result, "status": "applied"}
