"""The HTTP client span: one per attempt the shared client sends (OTel HTTP semantic conventions).

``HTTP <METHOD>``, kind client, with ``http.request.method``, ``server.address``,
``server.port``, ``http.request.resend_count`` (on a retry), ``http.response.status_code`` and,
for a 4xx/5xx or a transport failure, ``error.type`` and error status. The path and query are
left out (``url.full`` would carry the target's name in the path, and a query may carry an
idempotency key); ``sophia.platform`` and ``sophia.action`` say what the request was for.
A no-op when tracing is off (:mod:`orchestrator.tracing`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from orchestrator.tracing import enabled, span

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["answered", "http_span"]

_PORTS = {"http": 80, "https": 443}


def http_span(method: str, base_url: str, attempt: int, platform: str, action: str) -> AbstractContextManager[Span | None]:
    """The span around one attempt of ``method`` to ``base_url``'s host."""
    if not enabled():
        return span("")  # the shared no-op
    parts = urlsplit(base_url)
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "server.address": parts.hostname or "",
        "server.port": parts.port or _PORTS.get(parts.scheme, 0),
        "sophia.platform": platform,
        "sophia.action": action,
    }
    if attempt > 1:
        attributes["http.request.resend_count"] = attempt - 1
    return span(f"HTTP {method}", attributes, kind="client")


def answered(current: Span | None, status: int) -> None:
    """Put the response status on the span; 4xx and 5xx are errors for a client span."""
    if current is None:
        return
    current.set_attribute("http.response.status_code", status)
    if status >= 400:
        from opentelemetry.trace import Status, StatusCode

        current.set_attribute("error.type", str(status))
        current.set_status(Status(StatusCode.ERROR))
