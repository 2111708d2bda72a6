"""Spans in the server: a webhook delivery (at the door and in the worker), a run a REST call starts."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from opentelemetry.trace import SpanKind, StatusCode

from orchestrator.logs import configure_logging
from tests.interfaces.conftest import Api
from tests.interfaces.test_webhooks import post, signed
from tests.otel import children, everything_said, named


def test_a_delivery_is_traced_at_the_door_and_in_the_worker(spans: Any, api: Api) -> None:
    """(``spans`` before ``api``: the app is built with tracing on, so FastAPI's request span is there.)"""
    payload = {"resource": {"type": "repo", "name": "acme/web", "state": {"name": "acme/web", "archived": False}}}
    body, headers = signed("github", payload, delivery="d-trace-1")
    assert post(api, "github", body, headers).json()["status"] == "accepted"
    assert post(api, "github", body, headers).json()["status"] == "duplicate"
    assert post(api, "github", body.replace(b"acme/web", b"acme/api"), headers).status_code == 401

    finished = list(spans.get_finished_spans())
    first, again, tampered = named(finished, "webhook.receive")
    by_id = {s.context.span_id: s for s in finished}
    chain = [first]
    while chain[-1].parent is not None:
        chain.append(by_id[chain[-1].parent.span_id])
    # the hot path is a plain Starlette route (routes/webhooks.py fast_route): no FastAPI endpoint span
    assert [s.name for s in chain] == ["webhook.receive", "POST /webhooks/{platform}"]
    request = chain[-1]  # FastAPI's own server span, on our provider
    assert request.kind == SpanKind.SERVER and request.attributes["http.request.method"] == "POST"
    assert request.attributes["url.path"] == "/webhooks/github"
    assert {k: first.attributes[k] for k in ("sophia.platform", "sophia.webhook.delivery_id",
                                            "sophia.webhook.verified", "sophia.webhook.outcome",
                                            "http.response.status_code")} == {
        "sophia.platform": "github", "sophia.webhook.delivery_id": "d-trace-1", "sophia.webhook.verified": True,
        "sophia.webhook.outcome": "accepted", "http.response.status_code": 200}
    assert again.attributes["sophia.webhook.outcome"] == "duplicate" and again.attributes["sophia.webhook.duplicate"]
    assert tampered.attributes["sophia.webhook.verified"] is False
    assert tampered.attributes["sophia.webhook.outcome"] == "webhook_rejected"
    assert tampered.status.status_code == StatusCode.ERROR and tampered.events[0].name == "exception"

    root = logging.getLogger()
    saved = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("info", fmt="json", stream=stream)
    try:
        worker = api.work()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    assert (worker.processed, worker.failed) == (1, 0)
    finished = list(spans.get_finished_spans())
    (process,) = named(finished, "webhook.process")
    assert process.attributes["sophia.webhook.delivery_id"] == "d-trace-1"
    assert process.attributes["sophia.webhook.changes"] == 1
    (handled,) = children(finished, process)
    assert handled.name == "adapter.handle_webhook" and handled.attributes["sophia.outcome"] == "ok"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (done,) = [line for line in lines if line["message"].startswith("webhook github/d-trace-1 processed")]
    assert done["delivery_id"] == "d-trace-1" and done["trace_id"] == f"{process.context.trace_id:032x}"
    from tests.interfaces.conftest import WEBHOOK_SECRETS

    assert WEBHOOK_SECRETS["github"] not in everything_said(finished)


def test_a_run_started_over_rest_is_traced_under_its_request(spans: Any, api: Api) -> None:
    response = api.client.post("/v1/commands", json={"text": "create a vector index called dry with 8 dims",
                                                     "dry_run": True}, headers=api.h("operator"))
    assert response.status_code == 200 and response.json()["status"] == "dry_run"
    finished = list(spans.get_finished_spans())
    by_id = {s.context.span_id: s for s in finished}
    (run,) = named(finished, "sophia.run")
    assert run.attributes["sophia.run_id"] == response.json()["run_id"]
    assert run.attributes["sophia.surface"] == "api"
    chain = [run]
    while chain[-1].parent is not None:
        chain.append(by_id[chain[-1].parent.span_id])
    assert chain[-1].name == "POST /v1/commands" and chain[-1].kind == SpanKind.SERVER
    said = everything_said(finished)
    assert not [name for name, key in api.keys.items() if key in said]  # no API key in any span
