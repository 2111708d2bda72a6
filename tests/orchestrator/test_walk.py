"""A dry run walked without LangGraph ends exactly where the compiled graph ends."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.service import OrchestratorService
from orchestrator.state import Request
from orchestrator.walk import walk_dry_run
from tests.orchestrator.conftest import arun

COMMANDS = [
    "create a vector index called docs with 3 dimensions",  # parse → plan → check_policy → report
    "tune vector index kb: m 32, ef_construction 128",  # plan reads the index back
    "delete the vector index kb",  # destructive: the verdict asks for approval, the dry run stops
    "create a vector index called bad with 100000 dimensions",  # invalid: parse → report
    "reticulate the splines",  # not understood
    "history",  # parse → answer → report
    "help",
]


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    """The final state without what depends on the moment (when an approval request was made, and expires)."""
    out = {k: v for k, v in state.items() if k != "__interrupt__"}
    if "approval_request" in out:
        out["approval_request"] = {k: v for k, v in out["approval_request"].items()
                                   if k not in ("requested_at", "expires_at")}
    return out


@pytest.mark.parametrize("text", COMMANDS)
def test_walk_matches_the_graph(service_factory: Any, text: str) -> None:
    async def flow() -> tuple[dict[str, Any], dict[str, Any]]:
        async with service_factory() as svc:
            await svc.submit(Request(text="create a vector index called kb with 3 dimensions", actor="cli:alice",
                                     confirmed=True))
            request = Request(text=text, actor="cli:alice", dry_run=True, confirmed=True)
            parsed = svc.deps.parser(None).parse(text, svc.store.inventory())
            state = {"run_id": "run_walked", "request": request.model_dump(mode="json"),
                     "parsed": parsed.model_dump(mode="json")}
            walked = await walk_dry_run(state, svc.deps)
            graph = await svc.pipeline()
            graphed = await graph.ainvoke(state, {"configurable": {"thread_id": "run_walked"}}, context=svc.deps,
                                          durability="sync")
            return walked, graphed

    walked, graphed = arun(flow())
    assert _comparable(walked) == _comparable(graphed)
    assert walked["status"] != "applying" and "approval" not in walked  # nothing paused, nothing applied


def test_only_a_dry_run_is_walked(service_factory: Any) -> None:
    async def flow() -> None:
        async with OrchestratorService(service_factory().settings, lazy=True) as svc:
            state = {"run_id": "run_x", "request": Request(text="help", actor="cli:alice").model_dump(mode="json")}
            with pytest.raises(ValueError, match="only a dry run"):
                await walk_dry_run(state, svc.deps)
            assert svc.graph is None  # lazy: nothing built yet

    arun(flow())
