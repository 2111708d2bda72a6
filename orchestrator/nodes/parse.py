"""parse: text → ParsedCommand (or a pre-parsed command from a surface such as ``undo``).

:meth:`~orchestrator.service.OrchestratorService.submit` parses before the graph starts (so
the raw text never reaches a checkpoint) and passes ``parsed`` in; this node then only
validates it. Parsing here serves callers that drive the graph directly: the parser runs in a
worker thread (it may call a model for seconds) and secret literals are withheld from the
state it returns (:mod:`orchestrator.secret_params`).
"""

from __future__ import annotations

from asyncio import to_thread
from typing import TYPE_CHECKING, Any

from orchestrator.deps import Deps
from orchestrator.state import GraphState, ParsedCommand, Request

if TYPE_CHECKING:
    from langgraph.runtime import Runtime  # a hint only: a dry run walks this node without LangGraph

__all__ = ["parse"]


async def parse(state: GraphState, runtime: Runtime[Deps]) -> dict[str, Any]:
    """Parse the request; surfaces that already know the intent pass ``parsed`` in directly."""
    from orchestrator.secret_params import withhold_secrets

    request = Request.model_validate(state["request"])
    if state.get("parsed"):
        parsed = ParsedCommand.model_validate(state["parsed"])
    else:
        deps = runtime.context
        parser = deps.parser(request.parser)
        parsed = await to_thread(lambda: parser.parse(request.text, deps.store.inventory()))
    safe = withhold_secrets(request.text, parsed)
    out: dict[str, Any] = {"parsed": safe.parsed.model_dump(mode="json"), "status": "planned"}
    if safe.text != request.text:
        out["request"] = request.model_copy(update={"text": safe.text}).model_dump(mode="json")
    if safe.error is not None:
        out |= {"error": safe.error.to_dict(), "status": "failed"}
    return out
