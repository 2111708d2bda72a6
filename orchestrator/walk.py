"""A dry run without LangGraph: the pipeline's own nodes, along the graph's own routes.

A dry run never pauses and never applies (``after_policy`` sends it to ``report``), so it needs
no checkpoint, and none of LangGraph's machinery, whose import alone costs a CLI command most
of a second. :func:`walk_dry_run` calls the nodes :func:`orchestrator.graph.build_graph` wires,
choosing each next node with the same routing functions (:mod:`orchestrator.routing`). State
channels have no reducers, so a node's update simply replaces those keys, as in the graph. A
route to a node that could pause or change something is a bug, and raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.routing import after_parse, after_plan, after_policy
from orchestrator.tracing import span

if TYPE_CHECKING:
    from orchestrator.deps import Deps

__all__ = ["walk_dry_run"]


@dataclass(frozen=True)
class _Runtime:
    """What the nodes read from LangGraph's ``Runtime``: the run context."""

    context: Deps


async def walk_dry_run(state: dict[str, Any], deps: Deps) -> dict[str, Any]:
    """Run a dry run's nodes (parse → plan → check_policy → report, or parse → answer → report).

    Each node runs inside a ``node.<name>`` span, as in the graph (:mod:`orchestrator.tracing`).

    Returns the final state, as ``graph.ainvoke`` would.
    """
    if not state.get("request", {}).get("dry_run"):
        raise ValueError("only a dry run can be walked without the graph")
    from orchestrator.nodes.answer import answer
    from orchestrator.nodes.check_policy import check_policy
    from orchestrator.nodes.parse import parse
    from orchestrator.nodes.plan import plan
    from orchestrator.nodes.report import report

    nodes = {"parse": parse, "plan": plan, "check_policy": check_policy, "answer": answer}
    routes = {"parse": after_parse, "plan": after_plan, "check_policy": after_policy, "answer": lambda _: "report"}
    runtime = _Runtime(deps)
    state = dict(state)
    node = "parse"
    while node != "report":
        with span(f"node.{node}", {"sophia.node": node}):
            state.update(await nodes[node](state, runtime))  # type: ignore[arg-type, operator]
        following = routes[node](state)  # type: ignore[arg-type]
        if following != "report" and following not in nodes:
            raise RuntimeError(f"a dry run was routed from {node} to {following}")
        node = following
    with span("node.report", {"sophia.node": "report"}):
        state.update(report(state))  # type: ignore[arg-type]
    return state
