"""Where a run goes after each node: the graph's conditional edges, free of LangGraph.

:func:`orchestrator.graph.build_graph` wires these into the StateGraph and
:mod:`orchestrator.walk` follows them for a dry run, so both take the same route.
"""

from __future__ import annotations

from typing import Literal

from orchestrator.state import GraphState

__all__ = ["ANSWERED_INTENTS", "PLANNED_INTENTS", "after_approve", "after_confirm", "after_parse", "after_plan",
           "after_policy"]

PLANNED_INTENTS = {"action", "undo"}
ANSWERED_INTENTS = {"status", "history", "help", "explain", "approve", "reject", "freeze", "unfreeze"}


def after_parse(state: GraphState) -> Literal["plan", "answer", "report"]:
    """Route by intent; a refused command (a secret typed into it) goes straight to report."""
    if state.get("error"):
        return "report"
    intent = state["parsed"]["intent"]
    if intent in PLANNED_INTENTS:
        return "plan"
    if intent in ANSWERED_INTENTS:
        return "answer"
    return "report"


def after_plan(state: GraphState) -> Literal["check_policy", "report"]:
    """A planning error ends the run."""
    return "report" if state.get("error") else "check_policy"


def _gate(state: GraphState) -> Literal["approve", "apply"]:
    return "approve" if state["decision"]["effect"] == "require_approval" else "apply"


def after_policy(state: GraphState) -> Literal["confirm", "approve", "apply", "report"]:
    """Deny and dry runs end here; otherwise confirm (unless pre-confirmed), approve, apply."""
    if state["decision"]["effect"] == "deny" or state["request"].get("dry_run"):
        return "report"
    if not state["request"].get("confirmed", True):
        return "confirm"
    return _gate(state)


def after_confirm(state: GraphState) -> Literal["approve", "apply", "report"]:
    """Cancelled → report."""
    if not state.get("approval", {}).get("confirmed"):
        return "report"
    return _gate(state)


def after_approve(state: GraphState) -> Literal["apply", "report"]:
    """Only an approved, valid answer applies."""
    return "apply" if state.get("approval", {}).get("approved") else "report"
