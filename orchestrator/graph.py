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
from orchestrator.routing import after_approve, after_confirm, after_parse, after_plan, after_policy
from orchestrator.state import GraphState
from orchestrator.tracing import traced_node

__all__ = ["build_graph"]


def build_graph() -> StateGraph[GraphState, Deps]:
    """The pipeline as an uncompiled StateGraph (the service compiles it with a checkpointer).

    Each node runs inside a ``node.<name>`` span (:func:`orchestrator.tracing.traced_node`; a
    shared no-op when tracing is off).
    """
    graph: StateGraph[GraphState, Deps] = StateGraph(GraphState, context_schema=Deps)
    graph.add_node("parse", traced_node("parse", parse))
    graph.add_node("plan", traced_node("plan", plan))
    graph.add_node("check_policy", traced_node("check_policy", check_policy))
    graph.add_node("confirm", traced_node("confirm", confirm))
    graph.add_node("approve", traced_node("approve", approve))
    graph.add_node("apply", traced_node("apply", apply))
    graph.add_node("answer", traced_node("answer", answer))
    graph.add_node("report", traced_node("report", report))
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
