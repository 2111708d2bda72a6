"""The graph's wiring, pinned: a change in routing shows up in review."""

from __future__ import annotations

from orchestrator.graph import build_graph

EXPECTED_EDGES = {
    ("__start__", "parse"), ("parse", "plan"), ("parse", "answer"), ("parse", "report"),
    ("plan", "check_policy"), ("plan", "report"),
    ("check_policy", "confirm"), ("check_policy", "approve"), ("check_policy", "apply"), ("check_policy", "report"),
    ("confirm", "approve"), ("confirm", "apply"), ("confirm", "report"),
    ("approve", "apply"), ("approve", "report"),
    ("apply", "report"), ("answer", "report"), ("report", "__end__"),
}


def test_build_graph_is_uncompiled_and_wired_as_designed() -> None:
    graph = build_graph()
    assert not hasattr(graph, "invoke"), "build_graph returns the uncompiled StateGraph"
    drawn = graph.compile().get_graph()
    edges = {(e.source, e.target) for e in drawn.edges}
    assert edges == EXPECTED_EDGES
    mermaid = drawn.draw_mermaid()
    for node in ("parse", "plan", "check_policy", "confirm", "approve", "apply", "answer", "report"):
        assert node in mermaid
