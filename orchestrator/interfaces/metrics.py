"""Prometheus metrics for the server: requests, webhooks, Slack, runs, inbox depth, process.

Each app gets its own registry (tests build many apps in one process); ``GET /metrics``
renders it in the Prometheus text format.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Metrics", "MetricsMiddleware"]


class _InboxCollector:
    """Inbox rows by status, read at scrape time."""

    def __init__(self, depth: Callable[[], dict[str, int]]) -> None:
        self._depth = depth

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("sophia_webhook_inbox_events", "Webhook inbox rows by status", labels=["status"])
        try:
            for status, count in sorted(self._depth().items()):
                gauge.add_metric([status], count)
        except Exception:  # noqa: BLE001, S110 - a scrape must not fail because the store is down
            pass
        yield gauge


class Metrics:
    """The app's metric families."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("sophia_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("sophia_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.webhooks = Counter("sophia_webhooks_received", "Webhook deliveries by outcome",
                                ["platform", "outcome"], registry=self.registry)
        self.slack = Counter("sophia_slack_requests", "Slack requests by kind and outcome", ["kind", "outcome"],
                             registry=self.registry)
        self.runs = Counter("sophia_runs", "Runs returned to a surface, by status", ["surface", "status"],
                            registry=self.registry)
        ProcessCollector(registry=self.registry)

    def watch_inbox(self, depth: Callable[[], dict[str, int]]) -> None:
        """Report inbox depth at scrape time."""
        self.registry.register(_InboxCollector(depth))  # type: ignore[arg-type]

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status["code"])).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)
