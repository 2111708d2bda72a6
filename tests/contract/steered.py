"""A recording transport for contracts that declare few responses (Portkey, OpenRouter, Weaviate).

Prism can only force a status the operation declares (``Prefer: code=…``). Portkey's admin
operations declare only 200, so a refusal has to come another way. :class:`SteeredTransport`
adds to :class:`~tests.contract.prism.RecordingTransport`, per request:

* ``"strip-auth"`` — the credential headers are removed, and Prism itself answers 401 for the
  unmet security requirement (a real contract-server refusal);
* ``"prefer:<code>"`` — ``Prefer: code=<code>``;
* ``Canned(status, body, headers)`` — the test answers this one request itself and Prism never
  sees it (for statuses the contract doesn't declare; every use says why). Such exchanges are
  kept in ``canned``, apart from the ones Prism judged;
* ``"timeout"`` — the request is never answered (``httpx.ReadTimeout``), also kept in ``canned``.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .prism import Exchange, RecordingTransport

__all__ = ["AUTH_HEADERS", "Canned", "Sleeps", "SteeredTransport"]

AUTH_HEADERS = ("authorization", "x-portkey-api-key")


@dataclass(frozen=True)
class Canned:
    """An answer the test gives itself (never sent to Prism); ``bytes`` bodies are sent as they are."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self, request: httpx.Request) -> httpx.Response:
        """This answer as an ``httpx.Response`` to ``request``."""
        if isinstance(self.body, bytes):
            content = self.body
        else:
            content = b"" if self.body is None else json.dumps(self.body).encode()
        headers = {"content-type": "application/json", **self.headers}
        return httpx.Response(self.status, headers=headers, content=content, request=request)


Steer = str | Canned | None


@dataclass
class SteeredTransport(RecordingTransport):
    """:class:`RecordingTransport` with per-request steering (see the module doc)."""

    steer: Callable[[httpx.Request], Steer] | None = None
    canned: list[Exchange] = field(default_factory=list)

    def steered(self, *steps: Steer) -> None:
        """Steer the next requests, one step per request (None: as served), then pass through."""
        queue = deque(steps)
        self.steer = lambda request: queue.popleft() if queue else None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        step = self.steer(request) if self.steer is not None else None
        if step == "timeout":
            self.canned.append(Exchange(request, httpx.Response(599, request=request)))
            raise httpx.ReadTimeout("no answer (the test's timeout)", request=request)
        if isinstance(step, Canned):
            response = step.response(request)
            self.canned.append(Exchange(request, response))
            return response
        if step == "strip-auth":
            for name in AUTH_HEADERS:
                request.headers.pop(name, None)
        elif isinstance(step, str) and step.startswith("prefer:"):
            request.headers["Prefer"] = f"code={step.removeprefix('prefer:')}"
        return await super().handle_async_request(request)


class Sleeps:
    """Records retry waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
