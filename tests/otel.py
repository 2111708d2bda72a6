"""Spans recorded with the OpenTelemetry SDK's own in-memory exporter, and helpers to read them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def spans() -> Iterator[Any]:
    """Record every span of the test in an ``InMemorySpanExporter`` (tracing off again after)."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from orchestrator import tracing

    exporter = InMemorySpanExporter()
    tracing.use_exporter(exporter)
    try:
        yield exporter
    finally:
        tracing.reset()


def children(finished: list[Any], parent: Any) -> list[Any]:
    """The direct children of ``parent``, in the order they started."""
    return sorted((s for s in finished if s.parent is not None and s.parent.span_id == parent.context.span_id),
                  key=lambda s: s.start_time)


def named(finished: list[Any], name: str) -> list[Any]:
    """Spans called ``name``, in the order they started."""
    return sorted((s for s in finished if s.name == name), key=lambda s: s.start_time)


def everything_said(finished: list[Any]) -> str:
    """Every attribute, event and status text of every span, as one string (to look for secrets in)."""
    parts = []
    for s in finished:
        parts.append(json.dumps(dict(s.attributes or {}), default=str))
        parts.append(s.status.description or "")
        parts.extend(json.dumps(dict(e.attributes or {}), default=str) for e in s.events)
    return "\n".join(parts)
