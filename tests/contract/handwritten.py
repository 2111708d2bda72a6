"""Serving a contract written by hand, and faults for the state models (twins) that steer Prism.

HubSpot publishes no licensed contract (and Asana's tests still use theirs), so each has an
OpenAPI file in ``fixtures/`` written from its API reference; :func:`serve_fixture` runs Prism on
one. :class:`FaultInjection` lets a twin answer the next matching requests with an error status:
one the served document declares for that operation is Prism's own answer (``Prefer: code=…``);
one it does not declare (Pinecone's document lists no 429 or 503, which Pinecone's error guide
documents for every call) is injected in place of Prism's answer, after Prism has judged the
request, and marked with an ``x-sophia-injected`` header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml

from .prism import PrismServer
from .provision import ensure_prism

__all__ = ["FaultInjection", "declared_statuses", "serve_fixture"]

INJECTED = "x-sophia-injected"


@contextmanager
def serve_fixture(fixture: Path) -> Iterator[PrismServer]:
    """Prism serving a hand-written contract (skips, saying why, when Prism can't be had)."""
    server = PrismServer(fixture, binary=ensure_prism())
    server.launch()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@cache
def _operations(document: Path) -> tuple[tuple[str, re.Pattern[str], frozenset[str]], ...]:
    text = document.read_text()
    doc = json.loads(text) if document.suffix == ".json" else yaml.load(text, Loader=yaml.CSafeLoader)
    found = []
    for template, item in (doc.get("paths") or {}).items():
        parts = re.split(r"(\{[^}/]+\})", template)
        regex = re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))
        for method, operation in (item or {}).items():
            if isinstance(operation, dict) and "responses" in operation:
                statuses = frozenset(str(code) for code in operation["responses"])
                found.append((method.upper(), regex, statuses))
    return tuple(found)


def declared_statuses(document: Path, method: str, path: str) -> frozenset[str]:
    """The statuses ``document`` declares for ``method path`` (a concrete path), or none."""
    for op_method, regex, statuses in _operations(document):
        if op_method == method and regex.fullmatch(path):
            return statuses
    return frozenset()


class FaultInjection:
    """For a state model: the next requests matching a method and a path answer an error status.

    Set :attr:`document` to the file Prism serves, and call :meth:`forced` from ``route`` with
    what :meth:`_fault` returned; give undeclared statuses a body with :meth:`injected_body`.
    """

    faults: list[list[Any]]
    #: The served document; None: every fault is Prism's own answer (hand-written contracts).
    document: Path | None = None

    def fault(self, method: str, path: str, code: int, times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path`` (a regex) with ``code``."""
        self.faults.append([method, re.compile(path), str(code), times])

    def _fault(self, method: str, path: str) -> str | None:
        for fault in self.faults:
            if fault[0] == method and fault[1].fullmatch(path) and fault[3] > 0:
                fault[3] -= 1
                return str(fault[2])
        return None

    def forced(self, method: str, path: str, code: str) -> tuple[str | None, Any]:
        """``route``'s answer for a fault: Prism's declared one, or a note to inject it."""
        if self.document is None or code in declared_statuses(self.document, method, path):
            return code, None
        return None, ("inject", code)

    def injected_body(self, code: int) -> Any:
        """The vendor's error body for an injected status (override per platform)."""
        return {"error": {"message": f"HTTP {code}"}}

    def inject(self, code: int) -> httpx.Response:
        """The answer that replaces Prism's for an undeclared status."""
        why = f"status {code} is not in the served document for this operation"
        return httpx.Response(code, headers={INJECTED: why}, json=self.injected_body(code))
