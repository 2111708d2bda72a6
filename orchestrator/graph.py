"""The LangGraph state machine, uncompiled: wiring only.

```
parse ─┬─> plan ─> check_policy ─┬─> confirm ─┬─> approve ─┬─> apply ─> report
       │                         │            │            └─> report (rejected)
       ├─> answer ─> report      │            └─> apply / report (cancelled)
       └─> report (clarify, refuse, secret typed in)
                                 ├─> approve / apply
                                 └─> report (deny, dry run)
```
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph

from orchestrator.deps import Deps
from orchestrator.nodes.answer import answer
from orchestrator.nodes.apply import apply
from orchestrator.nodes.approve import approve
from orchestrator.nodes.check_policy import check_policy
from orchestrator.nodes.confirm import confirm
from orchestrator.nodes.parse import parse
from orchestrator.nodes.plan import plan
from orchestrator.nodes.report import report
from orchestrator.state import GraphState

__all__ = ["build_graph"]

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


def build_graph() -> StateGraph[GraphState, Deps]:
    """The pipeline as an uncompiled StateGraph (the service compiles it with a checkpointer)."""
    graph: StateGraph[GraphState, Deps] = StateGraph(GraphState, context_schema=Deps)
    graph.add_node("parse", parse)
    graph.add_node("plan", plan)
    graph.add_node("check_policy", check_policy)
    graph.add_node("confirm", confirm)
    graph.add_node("approve", approve)
    graph.add_node("apply", apply)
    graph.add_node("answer", answer)
    graph.add_node("report", report)
    graph.add_edge(START, "parse")
    graph.add_conditional_edges("parse", after_parse)
    graph.add_conditional_edges("plan", after_plan)
    graph.add_conditional_edges("check_policy", after_policy)
    graph.add_conditional_edges("confirm", after_confirm)
    graph.add_conditional_edges("approve", after_approve)
    graph.add_edge("apply", "report")
    graph.add_edge("answer", "report")
    graph.add_edge("report", END)
    return graph
