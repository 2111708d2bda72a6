"""Pipeline overhead: ``do --dry-run`` in-process vs a bare LangGraph graph, same checkpointer.

Runs, in one process, N dry runs of a pgvector create through OrchestratorService (parse →
plan (reads the platform) → check_policy → report, plus recording the run) and N runs of a
bare 4-node graph with trivial nodes on the same kind of checkpointer (AsyncSqliteSaver,
durability="sync"), then prints both medians and their ratio.

    python bench/pipeline_overhead.py [N]
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict


class _S(TypedDict, total=False):
    n: int


def _bare_graph() -> Any:
    from langgraph.graph import END, START, StateGraph

    async def node(state: _S) -> dict[str, Any]:
        return {"n": state.get("n", 0) + 1}

    g: StateGraph[_S] = StateGraph(_S)
    names = ["parse", "plan", "check_policy", "report"]
    for name in names:
        g.add_node(name, node)
    g.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


async def measure(n: int, home: Path) -> tuple[list[float], list[float]]:
    """Alternate one bare run and one pipeline run, so machine load hits both alike."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from orchestrator.config import Settings
    from orchestrator.service import OrchestratorService
    from orchestrator.state import Request

    bare_t: list[float] = []
    pipe_t: list[float] = []
    request = Request(text="create a vector index called bench-docs with 384 dimensions", actor="bench", dry_run=True)
    async with AsyncSqliteSaver.from_conn_string(str(home / "bare.db")) as saver, \
            OrchestratorService(Settings(home=home / "home")) as svc:
        bare = _bare_graph().compile(checkpointer=saver)
        await svc.submit(Request(text="status pgvector", actor="bench"))  # start the embedded server once
        for i in range(n + 5):
            t = time.perf_counter()
            await bare.ainvoke({"n": 0}, {"configurable": {"thread_id": f"t{i}"}}, durability="sync")
            t_bare = time.perf_counter() - t
            t = time.perf_counter()
            view = await svc.submit(request)
            t_pipe = time.perf_counter() - t
            assert view["status"] == "dry_run", view
            if i >= 5:  # warm-up
                bare_t.append(t_bare)
                pipe_t.append(t_pipe)
    return bare_t, pipe_t


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        bare_t, pipe_t = asyncio.run(measure(n, home))
        from state.pgserver import EmbeddedPostgres

        EmbeddedPostgres(home / "home" / "pg").destroy()
    b, p = statistics.median(bare_t) * 1000, statistics.median(pipe_t) * 1000
    print(f"runs: {n}")
    print(f"bare 4-node graph, AsyncSqliteSaver, durability=sync: median {b:.1f} ms")
    print(f"do --dry-run pipeline (parse, plan + platform read, policy, run record, report): median {p:.1f} ms")
    print(f"ratio: {p / b:.2f}x (aim <= 1.5x: {'met' if p / b <= 1.5 else 'NOT met'}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("(a dry run walks the nodes without LangGraph's checkpoints: nothing is left to resume; "
          "an applying run goes through the compiled graph)")


if __name__ == "__main__":
    main()
