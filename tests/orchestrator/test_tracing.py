"""Traces of real runs: a dry run, an applied change and a failed one, on the pgvector adapter.

Spans go to the OpenTelemetry SDK's ``InMemorySpanExporter`` (:func:`tests.otel.spans`); the
pipeline, the store and the database are the real ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from orchestrator import tracing
from orchestrator.service import OrchestratorService
from tests.orchestrator.conftest import arun, req
from tests.otel import children, everything_said, named

Factory = Callable[[], OrchestratorService]
ROOT = Path(__file__).resolve().parents[2]


def _run_span(finished: list[Any], run_id: str) -> Any:
    (run,) = [s for s in finished if s.name == "sophia.run" and s.attributes["sophia.run_id"] == run_id]
    return run


def test_a_dry_run_is_a_run_span_over_its_nodes_with_the_read_under_plan(service_factory: Factory,
                                                                       spans: Any) -> None:
    async def flow() -> dict[str, Any]:
        async with service_factory() as svc:
            return await svc.submit(req("create a vector index called docs with 3 dimensions", dry_run=True))

    view = arun(flow())
    assert view["status"] == "dry_run"
    finished = list(spans.get_finished_spans())
    run = _run_span(finished, view["run_id"])
    assert run.parent is None and run.attributes["sophia.run.status"] == "dry_run"
    assert run.attributes["sophia.dry_run"] is True
    nodes = children(finished, run)
    assert [s.name for s in nodes] == ["node.parse", "node.plan", "node.check_policy", "node.report"]
    assert {s.context.trace_id for s in nodes} == {run.context.trace_id}
    (read,) = children(finished, nodes[1])
    assert read.name == "adapter.observe"
    assert dict(read.attributes) == {"sophia.platform": "pgvector", "sophia.operation": "observe",
                                     "sophia.action": "pgvector.index.create", "sophia.target": "docs",
                                     "sophia.outcome": "ok"}
    assert not named(finished, "adapter.execute")  # a dry run calls nothing that changes


def test_an_applied_change_nests_step_and_adapter_calls_under_apply(service_factory: Factory, spans: Any) -> None:
    async def flow() -> dict[str, Any]:
        async with service_factory() as svc:
            return await svc.submit(req("create a vector index called docs with 3 dimensions"))

    view = arun(flow())
    assert view["status"] == "applied", view.get("error")
    (change,) = view["changes"]
    finished = list(spans.get_finished_spans())
    run = _run_span(finished, view["run_id"])
    nodes = children(finished, run)
    assert [s.name for s in nodes] == ["node.parse", "node.plan", "node.check_policy", "node.apply", "node.report"]
    (step,) = children(finished, nodes[3])
    assert step.name == "apply.step"
    assert step.attributes["sophia.change_id"] == change["id"]
    assert step.attributes["sophia.change.status"] == "applied"
    calls = children(finished, step)
    assert [(s.name, s.attributes["sophia.outcome"]) for s in calls] == [("adapter.observe", "ok"),
                                                                          ("adapter.execute", "ok")]
    execute = calls[1].attributes
    assert (execute["sophia.platform"], execute["sophia.action"], execute["sophia.target"]) == (
        "pgvector", "pgvector.index.create", "docs")
    assert execute["sophia.change_id"] == change["id"]
    from opentelemetry.trace import StatusCode

    assert all(s.status.status_code != StatusCode.ERROR for s in finished)


def test_a_pause_is_not_an_error_and_the_resume_is_a_run_span_of_its_own(service_factory: Factory,
                                                                        spans: Any) -> None:
    from opentelemetry.trace import StatusCode

    async def flow() -> tuple[dict[str, Any], dict[str, Any]]:
        async with service_factory() as svc:
            asked = await svc.submit(req("create a vector index called docs with 3 dimensions", confirmed=False))
            return asked, await svc.confirm(asked["run_id"], True)

    asked, done = arun(flow())
    assert (asked["status"], done["status"]) == ("awaiting_confirmation", "applied")
    finished = list(spans.get_finished_spans())
    submitted, resumed = sorted((s for s in finished if s.name == "sophia.run"), key=lambda s: s.start_time)
    assert submitted.attributes["sophia.run_id"] == resumed.attributes["sophia.run_id"] == asked["run_id"]
    assert (submitted.attributes["sophia.run.phase"], resumed.attributes["sophia.run.phase"]) == ("submit", "resume")
    assert submitted.attributes["sophia.run.status"] == "awaiting_confirmation"
    first = children(finished, submitted)
    assert [s.name for s in first] == ["node.parse", "node.plan", "node.check_policy", "node.confirm"]
    assert first[-1].attributes["sophia.interrupted"] is True and first[-1].status.status_code == StatusCode.UNSET
    # LangGraph runs the paused node again on resume, then goes on.
    assert [s.name for s in children(finished, resumed)] == ["node.confirm", "node.apply", "node.report"]


def test_a_failed_call_marks_its_spans_in_error_and_leaks_no_secret(service_factory: Factory, spans: Any) -> None:
    """A fault at the driver boundary (as tests/adapters/test_pgvector.py's ``PgFaults`` injects
    ``timeout_before``), whose message carries a resolved credential."""
    import psycopg

    from adapters.credentials import SecretRef, resolve_secret

    secret = "s3cr3t-pg-password-9f2c"
    resolve_secret(SecretRef("pgvector"), environ={"SOPHIA_PGVECTOR_TOKEN": secret})  # registered: scrubbed

    async def flow() -> dict[str, Any]:
        async with service_factory() as svc:
            adapter = svc.deps.adapters.get("pgvector")

            async def refused(call: Any, before: Any) -> Any:
                raise psycopg.errors.QueryCanceled(f"canceling statement due to statement timeout ({secret})")

            adapter.execute = refused  # type: ignore[method-assign]
            view = await svc.submit(req("create a vector index called docs with 3 dimensions"))
            view["reconciled"] = await svc.reconcile()  # the unknown outcome, settled by read-back
            return view

    view = arun(flow())
    # A driver error may have landed: read back shows the before-state, so the outcome stays unknown.
    assert view["status"] == "failed" and view["changes"][0]["status"] == "needs_reconcile"
    finished = list(spans.get_finished_spans())
    from opentelemetry.trace import StatusCode

    (execute,) = named(finished, "adapter.execute")
    assert execute.status.status_code == StatusCode.ERROR
    assert execute.attributes["sophia.outcome"] == "error"
    assert execute.attributes["error.type"] == "psycopg.errors.QueryCanceled"
    (event,) = execute.events
    assert event.name == "exception" and event.attributes["exception.type"] == "psycopg.errors.QueryCanceled"
    assert "statement timeout ([REDACTED])" in event.attributes["exception.message"]
    (step,) = named(finished, "apply.step")
    assert step.status.status_code == StatusCode.ERROR and step.attributes["error.type"] == "platform_error"
    assert step.attributes["sophia.change.status"] == "needs_reconcile"
    reads = [s for s in children(finished, step) if s.name == "adapter.observe"]
    assert len(reads) == 2  # the before-state, then the read-back after the failure
    (settled,) = view["reconciled"]
    (again,) = named(finished, "reconcile.change")
    assert again.attributes["sophia.change_id"] == settled["change_id"] == view["changes"][0]["id"]
    assert again.attributes["sophia.change.status"] == settled["status"]
    assert [s.name for s in children(finished, again)] == ["adapter.observe"]
    assert secret not in everything_said(finished)


def test_a_secret_param_literal_never_reaches_an_error_event(spans: Any) -> None:
    """An adapter error that echoes a secret param's value: the span names the call, not the value."""
    from adapters.catalog import ActionCall

    literal = "tok-literal-value-0451"  # never registered with the scrubber: only the call says it is secret
    call = ActionCall(action="vercel.env.set", target="web", params={"key": "API_KEY", "value": literal})
    with pytest.raises(RuntimeError), tracing.adapter_span("execute", "vercel", call):
        raise RuntimeError(f"vercel refused value {literal!r} for API_KEY")
    (done,) = spans.get_finished_spans()
    assert done.attributes["sophia.action"] == "vercel.env.set" and done.attributes["sophia.target"] == "web"
    assert done.events[0].attributes["exception.message"] == "vercel refused value '[REDACTED]' for API_KEY"
    assert literal not in everything_said([done]) and "API_KEY" not in json.dumps(dict(done.attributes))


def test_with_nothing_configured_no_span_is_made_and_otel_is_not_imported(service_factory: Factory,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for var in tracing.ENDPOINT_VARS:
        monkeypatch.delenv(var, raising=False)
    tracing.reset()
    assert not tracing.enabled()
    assert tracing.span("x") is tracing.span("y")  # the one shared no-op
    # In a process of its own, a dry run as the CLI runs it (a lazy service: the walk, no LangGraph —
    # which imports opentelemetry's API itself; that API is a no-op without a provider).
    script = ("import asyncio, json, sys\n"
              "from orchestrator.config import Settings\n"
              "from orchestrator.service import OrchestratorService\n"
              "from orchestrator.state import Request\n"
              "async def main():\n"
              "    async with OrchestratorService(Settings(pgvector_url=sys.argv[1]), lazy=True) as svc:\n"
              "        view = await svc.submit(Request(text='create a vector index called docs with 3 dims',"
              " actor='cli:a', dry_run=True))\n"
              "    print(json.dumps([view['status'], sorted({m.split('.')[0] for m in sys.modules})]))\n"
              "asyncio.run(main())\n")
    settings = service_factory().settings
    out = subprocess.run([sys.executable, "-c", script, settings.pgvector_url or ""], capture_output=True,
                         text=True, cwd=ROOT, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    status, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert status == "dry_run"
    assert "opentelemetry" not in loaded  # no tracer, no provider, so no span can have been made

    async def flow() -> dict[str, Any]:  # and in this process, an applied change through the graph
        async with service_factory() as svc:
            return await svc.submit(req("create a vector index called docs with 3 dimensions"))

    assert arun(flow())["status"] == "applied"
    from opentelemetry import trace

    assert not tracing.enabled() and tracing._provider is None
    assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"  # nothing set one globally either


@pytest.mark.parametrize("switch", [("OTEL_SDK_DISABLED", "true"), ("OTEL_TRACES_EXPORTER", "none")])
def test_the_standard_switches_keep_tracing_off_with_an_endpoint_set(monkeypatch: pytest.MonkeyPatch,
                                                                     switch: tuple[str, str]) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv(*switch)
    tracing.reset()
    try:
        assert not tracing.enabled() and tracing.provider() is None
    finally:
        tracing.reset()


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, int]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.received.append((self.path, self.headers.get("content-type", ""), len(body)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    """A local OTLP/HTTP endpoint that keeps what it is sent."""
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_otlp_endpoint_set_exports_spans_over_http(service_factory: Factory, collector: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector)
    tracing.reset()
    try:
        async def flow() -> dict[str, Any]:
            async with service_factory() as svc:
                return await svc.submit(req("create a vector index called docs with 3 dimensions", dry_run=True))

        assert arun(flow())["status"] == "dry_run"
        assert tracing.enabled()
    finally:
        tracing.reset()  # shuts the provider down: the batch is flushed to the endpoint
    assert _Collector.received and _Collector.received[0][:2] == ("/v1/traces", "application/x-protobuf")
