"""A recording transport for contracts that declare few responses (Portkey, OpenRouter, Weaviate).

Prism can only force a status the operation declares (``Prefer: code=…``). Portkey's admin
operations declare only 200, so a refusal has to come another way. :class:`SteeredTransport`
adds, per request:

* ``"strip-auth"`` — the credential headers are removed, and Prism itself answers 401 for the
  unmet security requirement (a real contract-server refusal);
* ``"prefer:<code>"`` — ``Prefer: code=<code>``, as :class:`RecordingTransport` does;
* ``Canned(status, json, headers)`` — the test answers this one request itself and Prism never
  sees it (for statuses the contract doesn't declare; every use says why);

and ``edit``: rewrite a JSON answer before the adapter sees it (the recorded exchange keeps
Prism's original), for states Prism's single canned example can't express. Every use says why.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .prism import Exchange, RecordingTransport

__all__ = ["AUTH_HEADERS", "Canned", "FreshConnections", "Sleeps", "SteeredTransport"]

AUTH_HEADERS = ("authorization", "x-portkey-api-key")


@dataclass(frozen=True)
class Canned:
    """An answer the test gives itself (never sent to Prism); ``bytes`` bodies are sent as they are."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Steer = str | Canned | None


class FreshConnections(httpx.AsyncBaseTransport):
    """One connection per request: safe when each step runs in its own event loop."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = httpx.AsyncHTTPTransport()
        try:
            response = await transport.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content,
                                  request=request)
        finally:
            await transport.aclose()


@dataclass
class SteeredTransport(RecordingTransport):
    """:class:`RecordingTransport` with per-request steering and JSON edits (see the module doc)."""

    steer: Callable[[httpx.Request], Steer] | None = None
    edit: Callable[[httpx.Request, Any], Any] | None = None
    canned: list[Exchange] = field(default_factory=list)

    def steered(self, *steps: Steer) -> None:
        """Steer the next requests, one step per request (None: as served), then pass through."""
        queue = deque(steps)
        self.steer = lambda request: queue.popleft() if queue else None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        step = self.steer(request) if self.steer is not None else None
        if isinstance(step, Canned):
            headers = {"content-type": "application/json", **step.headers}
            if isinstance(step.body, bytes):
                content = step.body
            else:
                content = b"" if step.body is None else json.dumps(step.body).encode()
            response = httpx.Response(step.status, headers=headers, content=content, request=request)
            self.canned.append(Exchange(request, response))
            return response
        if step == "strip-auth":
            for name in AUTH_HEADERS:
                request.headers.pop(name, None)
        elif isinstance(step, str) and step.startswith("prefer:"):
            request.headers["Prefer"] = f"code={step.removeprefix('prefer:')}"
        response = await super().handle_async_request(request)
        if self.edit is not None and "json" in response.headers.get("content-type", "") and response.content:
            edited = self.edit(request, json.loads(response.content))
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
            response = httpx.Response(response.status_code, headers=headers, json=edited, request=request)
        return response


class Sleeps:
    """Records retry waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
