"""Shared parts of the contracts written by hand (Pinecone, Asana, HubSpot): serving and faults.

Those vendors publish no licensed contract, so each has an OpenAPI file in ``fixtures/`` written
from its API reference; :func:`serve_fixture` runs Prism on one, and :class:`FaultInjection`
lets a state model answer the next matching requests with a status the contract declares.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .prism import PrismServer
from .provision import ensure_prism

__all__ = ["FaultInjection", "serve_fixture"]


@contextmanager
def serve_fixture(fixture: Path) -> Iterator[PrismServer]:
    """Prism serving a hand-written contract (skips, saying why, when Prism can't be had)."""
    server = PrismServer(fixture, binary=ensure_prism())
    server.launch()
    try:
        server.wait_ready(60)
        yield server
    finally:
        server.stop()


class FaultInjection:
    """For a state model: the next requests matching a method and a path answer a declared error."""

    faults: list[list[Any]]

    def fault(self, method: str, path: str, code: int, times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path`` (a regex) with ``code``."""
        self.faults.append([method, re.compile(path), str(code), times])

    def _fault(self, method: str, path: str) -> str | None:
        for fault in self.faults:
            if fault[0] == method and fault[1].fullmatch(path) and fault[3] > 0:
                fault[3] -= 1
                return str(fault[2])
        return None
