"""``langgraph.json`` loads the graph, resolved by LangGraph's own CLI config code.

``langgraph dev`` / LangGraph Studio run ``langgraph-api``, whose in-memory server is too heavy
for the test extra (grpcio, its own runtime). Its config half, ``langgraph-cli``, is not: the
file is validated with ``langgraph_cli.config.validate_config_file`` and each ``graphs`` entry
resolved with the CLI's own path mapping (``_update_graph_paths``, which checks the file is
inside a dependency), then the file is imported by path and the attribute built and compiled,
as the server does.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_langgraph_json_loads_the_graph() -> None:
    from langgraph_cli.config import _assemble_local_deps, _update_graph_paths, validate_config_file

    path = ROOT / "langgraph.json"
    config = validate_config_file(path)
    assert set(config["graphs"]) == {"sophia"}
    resolved = json.loads(json.dumps(config))
    _update_graph_paths(path, resolved, _assemble_local_deps(path, resolved))  # raises if the file is not found
    file, _, attr = config["graphs"]["sophia"].partition(":")
    spec = importlib.util.spec_from_file_location("sophia_langgraph_entry", ROOT / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph = getattr(module, attr)()  # a factory: the graph is built uncompiled, on demand
    compiled = graph.compile()
    nodes = set(compiled.get_graph().nodes)
    assert {"parse", "plan", "check_policy", "confirm", "approve", "apply", "report"} <= nodes
