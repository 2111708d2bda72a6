"""Tracing overhead: dry runs and applied changes with tracing off, recording in memory, and exporting.

In one process, against the embedded PostgreSQL, rounds alternate three modes so machine load
hits each alike: ``off`` (nothing configured: every span is the shared no-op), ``memory`` (the
SDK's ``InMemorySpanExporter`` behind a synchronous processor: the full cost of making spans),
and ``otlp`` (a ``BatchSpanProcessor`` exporting over OTLP/HTTP to a local endpoint that answers
200, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` sets up). Each round is one dry run of a pgvector create
and one applied create; prints JSON with the medians (ms) per mode. On a shared machine the
mode-to-mode differences in those medians are mostly noise, so it also times, without the
database, exactly the instrumentation one dry run goes through (a run span with its ids bound,
four node spans, one adapter call, the closing log call), tracing off and recording in memory.

    python bench/tracing_overhead.py [N]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import timeit
from functools import partial
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _mode(name: str, endpoint: str) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from orchestrator import tracing

    tracing.reset()
    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    if name == "memory":
        tracing.use_exporter(InMemorySpanExporter())
    elif name == "otlp":
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint


async def measure(n: int, home: Path, endpoint: str) -> dict[str, dict[str, list[float]]]:
    from orchestrator.config import Settings
    from orchestrator.service import OrchestratorService
    from orchestrator.state import Request

    modes = ("off", "memory", "otlp")
    times: dict[str, dict[str, list[float]]] = {m: {"dry_run": [], "apply": []} for m in modes}
    async with OrchestratorService(Settings(home=home)) as svc:
        await svc.submit(Request(text="status pgvector", actor="cli:bench"))  # start the embedded server once
        for i in range(n + 3):
            for mode in modes:
                _mode(mode, endpoint)
                t = time.perf_counter()
                dry = await svc.submit(Request(text=f"create a vector index called b{i}{mode} with 8 dimensions",
                                               actor="cli:bench", dry_run=True))
                t_dry = time.perf_counter() - t
                t = time.perf_counter()
                done = await svc.submit(Request(text=f"create a vector index called b{i}{mode} with 8 dimensions",
                                                actor=f"cli:bench{i}"))  # one actor a round: the rate limit
                t_apply = time.perf_counter() - t
                assert dry["status"] == "dry_run" and done["status"] == "applied", (dry, done)
                if i >= 3:  # warm-up
                    times[mode]["dry_run"].append(t_dry)
                    times[mode]["apply"].append(t_apply)
    _mode("off", endpoint)
    return times


def _dry_run_instrumentation(request: Any, call: Any) -> None:
    """The tracing and log calls one dry run makes, with nothing inside them."""
    from orchestrator.service import _ended, _run_span
    from orchestrator.tracing import adapter_span, span

    with _run_span("run_x", "submit", request) as current:
        for node in ("parse", "plan", "check_policy", "report"):
            with span(f"node.{node}", {"sophia.node": node}):
                pass
        with adapter_span("observe", "pgvector", call):
            pass
        _ended(current, {"run_id": "run_x", "status": "dry_run"})


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    server = HTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["SOPHIA_HOME"] = str(home)
        times = asyncio.run(measure(n, home, endpoint))
        from state.pgserver import EmbeddedPostgres

        EmbeddedPostgres(home / "pg").destroy()
    server.shutdown()
    from orchestrator import tracing

    tracing.reset()
    from adapters.catalog import ActionCall
    from orchestrator.state import Request

    one = partial(_dry_run_instrumentation, Request(text="x", actor="cli:bench", dry_run=True),
                  ActionCall(action="pgvector.index.create", target="docs", params={"dimension": 3}))
    off = timeit.timeit(one, number=20_000) / 20_000
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    tracing.use_exporter(InMemorySpanExporter())
    on = timeit.timeit(one, number=2_000) / 2_000
    tracing.reset()
    out = {"runs": n, "loadavg_1m": os.getloadavg()[0],
           "dry_run_instrumentation_us": {"off": round(off * 1e6, 1), "memory": round(on * 1e6, 1)},
           "median_ms": {mode: {kind: round(statistics.median(v) * 1000, 2) for kind, v in kinds.items()}
                         for mode, kinds in times.items()}}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
