"""report: the last node; settles the run's status and a one-line message."""

from __future__ import annotations

from typing import Any

from orchestrator.state import GraphState, ParsedCommand

__all__ = ["report"]


def report(state: GraphState) -> dict[str, Any]:
    """Summarise the run for the surfaces."""
    parsed = ParsedCommand.model_validate(state["parsed"]) if state.get("parsed") else None
    status = state.get("status", "answered")
    if parsed is not None and parsed.intent.value in ("clarify", "refuse") and not state.get("plan"):
        status = parsed.intent.value
    elif state.get("request", {}).get("dry_run") and state.get("plan") and status == "planned":
        status = "dry_run"
    elif state.get("decision", {}).get("effect") == "deny" and status == "planned":
        status = "denied"
    return {"status": status}
