"""answer: the read-only intents (status, history, help) and hand-offs (approve / reject, freeze / unfreeze)."""

from __future__ import annotations

from asyncio import to_thread
from typing import TYPE_CHECKING, Any

from orchestrator.deps import Deps
from orchestrator.state import GraphState, Intent, ParsedCommand

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # a hint only: a dry run walks this node without LangGraph

__all__ = ["answer"]


async def answer(state: GraphState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Answer without changing anything."""
    from orchestrator import queries

    deps = runtime.context
    parsed = ParsedCommand.model_validate(state["parsed"])
    if parsed.intent is Intent.STATUS:
        statuses = await queries.platform_status(deps, parsed.platform)
        return {"result": {"status": statuses}, "status": "answered"}
    if parsed.intent is Intent.HISTORY:
        changes = await to_thread(queries.history, deps, platform=parsed.platform, target=parsed.target,
                                  since=parsed.since)
        return {"result": {"changes": changes}, "status": "answered"}
    if parsed.intent in (Intent.APPROVE, Intent.REJECT):
        return {"result": {"delegate": parsed.intent.value, "run_id": parsed.run_id}, "status": "answered"}
    if parsed.intent in (Intent.FREEZE, Intent.UNFREEZE):
        return {"result": {"delegate": parsed.intent.value, "environment": parsed.environment, "until": parsed.until,
                           "reason": parsed.reason}, "status": "answered"}
    return {"result": {"help": queries.help_text(parsed.topic)}, "status": "answered"}
