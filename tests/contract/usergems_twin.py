"""UserGems test set-up: the hand-written contract served by Prism, and the test's view of the platform.

``fixtures/usergems/openapi.yaml`` is written by hand from UserGems' API reference (it cites the
pages; UserGems publishes no machine-readable contract). :func:`shared_server` runs one Prism on
it for a session.

:class:`UserGemsTwin` stands in for the platform (no UserGems can run here): Prism judges every
request (unknown body fields refused by strict mode) and answers with the contract's examples;
the twin keeps the set of tracked emails and applies what a POST or DELETE asks. UserGems has NO
read operation, so the adapter can never see this set: only the tests read it
(:meth:`UserGemsTwin.state`), to check that what the ledger says is true. Prism ignores query
parameters a document does not declare, so the twin checks the DELETE's query string against
the contract itself (:attr:`UserGemsTwin.query_problems`, asserted empty by the tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .handwritten import FaultInjection
from .prism import PrismServer
from .provision import ensure_prism
from .twins import _Twin

__all__ = ["FIXTURE", "TRACKED", "UserGemsTwin", "shared_server"]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "usergems" / "openapi.yaml"
#: Emails the twin starts out tracking.
TRACKED = ("bob@globex.io",)
#: The DELETE's query parameters the contract declares (email required).
_DELETE_QUERY = frozenset({"email", "relationshipType", "signal"})

_SHARED: dict[str, PrismServer] = {}


def shared_server(config: pytest.Config) -> PrismServer:
    """One Prism on the contract for the whole session (stopped at its end); skips without Prism."""
    server = _SHARED.get("usergems")
    if server is None:
        server = PrismServer(FIXTURE, binary=ensure_prism())
        server.launch()
        server.wait_ready()
        _SHARED["usergems"] = server
        config.add_cleanup(lambda: _SHARED.pop("usergems").stop())
    return server


class UserGemsTwin(FaultInjection, _Twin):
    """The tracked emails; :meth:`fault` makes the next matching requests answer a declared error."""

    def __init__(self, tracked: tuple[str, ...] = TRACKED) -> None:
        super().__init__()
        self.faults = []
        self.tracked: set[str] = set(tracked)
        self.query_problems: list[str] = []
        #: Every change the twin applied, in order: ("add" | "delete", email).
        self.applied: list[tuple[str, str]] = []

    def state(self, email: str) -> dict[str, Any]:
        """What UserGems would show for ``email`` if it could be asked (tests only)."""
        return {"email": email, "tracked": email in self.tracked}

    def _query(self, method: str, request: httpx.Request) -> str | None:
        names = [name for name, _ in request.url.params.multi_items()]
        if method == "POST":
            if names:
                self.query_problems.append(f"POST /contact: undeclared query parameters {names}")
            return None
        unknown = sorted(set(names) - _DELETE_QUERY)
        if unknown:
            self.query_problems.append(f"DELETE /contact: undeclared query parameters {unknown}")
        emails = request.url.params.get_list("email")
        if len(emails) != 1:
            self.query_problems.append(f"DELETE /contact: {len(emails)} email parameters, not one")
            return None
        return emails[0]

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        """Apply a track or untrack unless a fault is due (Prism still judges the request)."""
        code = self._fault(method, path)
        if code is not None:
            return self.forced(method, path, code)
        if path != "/contact":
            return None, None
        if method == "POST":
            self._query(method, request)
            email = body.get("email") if isinstance(body, dict) else None
            if isinstance(email, str):
                self.tracked.add(email)
                self.applied.append(("add", email))
        elif method == "DELETE":
            email = self._query(method, request)
            if email is not None:
                self.tracked.discard(email)
                self.applied.append(("delete", email))
        return None, None

    def fill(self, note: Any, body: Any) -> Any:
        """Prism's example answers are UserGems' whole answers: nothing to fill."""
        return body
