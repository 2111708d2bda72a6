"""The shared HTTP client's spans: one per attempt, under the adapter call that sent it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.catalog import ActionCall
from adapters.http import CircuitBreaker, HttpPolicy, PlatformClient, reset_breakers
from orchestrator.errors import AdapterError
from orchestrator.tracing import adapter_span
from tests.adapters.scripted import Answer, Script
from tests.otel import children, everything_said, named

pytestmark = pytest.mark.anyio

TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    reset_breakers()
    yield
    reset_breakers()


def _client(base: str) -> PlatformClient:
    async def no_wait(seconds: float) -> None:
        return None

    return PlatformClient("acme", base_url=base, auth=lambda: {"Authorization": f"Bearer {TOKEN}"},
                          policy=HttpPolicy(max_attempts=2), sleep=no_wait, breaker=CircuitBreaker("acme"))


async def test_each_attempt_is_a_client_span_with_http_semantic_conventions(server: tuple[str, Script],
                                                                            spans: Any) -> None:
    from opentelemetry.trace import SpanKind, StatusCode

    base, script = server
    script.play(Answer(503, {"message": "busy"}), Answer(200, {"name": "secret-named-thing"}))
    call = ActionCall(action="acme.thing.get", target="secret-named-thing")
    async with _client(base) as c:
        with adapter_span("observe", "acme", call):
            await c.request("GET", "/things/secret-named-thing", action=call.action, target=call.target,
                            params={"token": "q-param-value"})
    finished = list(spans.get_finished_spans())
    (outer,) = named(finished, "adapter.observe")
    first, second = children(finished, outer)
    port = int(base.rsplit(":", 1)[1].split("/")[0])
    for attempt in (first, second):
        assert attempt.name == "HTTP GET" and attempt.kind == SpanKind.CLIENT
        assert attempt.attributes["http.request.method"] == "GET"
        assert attempt.attributes["server.address"] == "127.0.0.1" and attempt.attributes["server.port"] == port
        assert attempt.attributes["sophia.action"] == "acme.thing.get"
    assert first.attributes["http.response.status_code"] == 503 and first.attributes["error.type"] == "503"
    assert first.status.status_code == StatusCode.ERROR and "http.request.resend_count" not in first.attributes
    assert second.attributes["http.response.status_code"] == 200 and second.attributes["http.request.resend_count"] == 1
    assert second.status.status_code != StatusCode.ERROR and outer.attributes["sophia.outcome"] == "ok"
    said = everything_said(finished)
    assert TOKEN not in said and "q-param-value" not in said and "/things/" not in said  # no URL, query or header


async def test_a_connection_failure_is_an_error_span_with_the_exception(spans: Any) -> None:
    import socket

    from opentelemetry.trace import StatusCode

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with _client(f"http://127.0.0.1:{port}") as c:
        with pytest.raises(AdapterError):
            await c.request("GET", "/x", action="acme.thing.get")
    attempts = named(list(spans.get_finished_spans()), "HTTP GET")
    assert len(attempts) == 2  # nothing was sent: retried once
    for attempt in attempts:
        assert attempt.status.status_code == StatusCode.ERROR
        assert attempt.attributes["error.type"].endswith("ConnectError")
        assert attempt.events[0].name == "exception"
