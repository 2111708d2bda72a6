"""Structured logs: JSON lines that carry the run, change and delivery they belong to."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from orchestrator.logs import bind, configure_logging
from orchestrator.service import OrchestratorService
from tests.orchestrator.conftest import arun, req
from tests.otel import named

Factory = Callable[[], OrchestratorService]


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines to a buffer for the test (its handlers restored after)."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("info", fmt="json", stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def _parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]  # every line is one JSON object


def test_a_run_logs_json_lines_with_its_run_change_and_trace_ids(service_factory: Factory, spans: Any,
                                                                 json_lines: io.StringIO) -> None:
    async def flow() -> dict[str, Any]:
        async with service_factory() as svc:
            return await svc.submit(req("create a vector index called docs with 3 dimensions"))

    view = arun(flow())
    assert view["status"] == "applied", view.get("error")
    run_id, change_id = view["run_id"], view["changes"][0]["id"]
    lines = _parsed(json_lines)
    (ended,) = [line for line in lines if line["message"] == f"run {run_id}: applied"]
    (changed,) = [line for line in lines if line["message"].startswith(f"change {change_id} ")]
    assert ended["run_id"] == run_id and ended["level"] == "info" and ended["logger"] == "orchestrator.service"
    assert changed["run_id"] == run_id and changed["change_id"] == change_id
    assert "delivery_id" not in changed
    (run,) = named(list(spans.get_finished_spans()), "sophia.run")
    (step,) = named(list(spans.get_finished_spans()), "apply.step")
    assert ended["trace_id"] == changed["trace_id"] == f"{run.context.trace_id:032x}"
    assert ended["span_id"] == f"{run.context.span_id:016x}" and changed["span_id"] == f"{step.context.span_id:016x}"


def test_ids_come_from_context_and_secrets_are_scrubbed(json_lines: io.StringIO) -> None:
    from adapters.credentials import SecretRef, resolve_secret

    secret = resolve_secret(SecretRef("github"), environ={"SOPHIA_GITHUB_TOKEN": "ghp_contextlogtest0000"}).reveal()
    log = logging.getLogger("sophia.test")
    with bind(delivery_id="d-42"):
        log.warning("delivery failed with %s", secret, extra={"attempt": 2})
    log.info("outside")
    inside, outside = _parsed(json_lines)
    assert inside["delivery_id"] == "d-42" and inside["attempt"] == 2 and inside["level"] == "warning"
    assert secret not in json.dumps(inside) and "[REDACTED]" in inside["message"]
    assert "trace_id" not in inside  # no span is active
    assert "delivery_id" not in outside and outside["message"] == "outside"


@pytest.mark.parametrize("setting", [None, "json"])
def test_sophia_log_format_chooses_text_by_default_or_json(monkeypatch: pytest.MonkeyPatch, setting: str | None) -> None:
    if setting is None:
        monkeypatch.delenv("SOPHIA_LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("SOPHIA_LOG_FORMAT", setting)
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        configure_logging("info", stream=stream)
        with bind(run_id="run_abc"):
            logging.getLogger("sophia.test").info("hello")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    if setting is None:
        assert stream.getvalue().rstrip().endswith("sophia.test: hello [run_id=run_abc]")
    else:
        assert json.loads(stream.getvalue())["run_id"] == "run_abc"
