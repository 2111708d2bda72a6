"""parse: text → ParsedCommand (or a pre-parsed command from a surface such as ``undo``)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from orchestrator.deps import Deps
from orchestrator.state import GraphState, ParsedCommand, Request

__all__ = ["parse"]


async def parse(state: GraphState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Parse the request; surfaces that already know the intent pass ``parsed`` in directly."""
    if state.get("parsed"):
        parsed = ParsedCommand.model_validate(state["parsed"])
        return {"parsed": parsed.model_dump(mode="json"), "status": "planned"}
    request = Request.model_validate(state["request"])
    deps = runtime.context
    parser = deps.parser(request.parser)
    parsed = parser.parse(request.text, deps.store.inventory())
    return {"parsed": parsed.model_dump(mode="json"), "status": "planned"}
