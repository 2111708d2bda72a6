"""confirm: the requester sees the plan and says yes (skipped with ``--yes``).

Only an ``interrupt()`` here: this node re-runs from its start on resume.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from orchestrator.state import GraphState

__all__ = ["confirm"]


def confirm(state: GraphState) -> dict[str, Any]:
    """Pause for the requester's confirmation."""
    answer = interrupt({"kind": "confirm", "run_id": state["run_id"], "digest": state["plan"]["digest"]})
    ok = bool(isinstance(answer, dict) and answer.get("confirm"))
    return {"approval": {"confirmed": ok}, **({} if ok else {"status": "cancelled"})}
