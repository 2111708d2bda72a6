"""Gong test set-up: the hand-written contract served by Prism, and a small state model.

``fixtures/gong/openapi.yaml`` is written by hand from Gong's API reference (it cites the pages;
Gong's own document may not be copied here, and ``test_gong_crosscheck`` compares the two where
it is beside the checkout). :func:`shared_server` runs one Prism on it for a session.

:class:`GongTwin` stands in for the platform (no Gong can run here): Prism judges every request
and answers with the contract's examples; the twin keeps the company's calls, users and
individual call access, picks the declared status (404 for an unknown call or an empty range),
applies what PUT/DELETE ``/v2/calls/users-access`` ask for (a grant to a user who already has
access by sharing or permission profile has no effect, as Gong documents), pages listings by
cursor (:attr:`GongTwin.page` records a page; tests set it to 2 to exercise paging), and fills its records into Prism's
answers. Prism ignores query parameters a document does not declare, so the twin checks every
query string against the contract itself (:attr:`GongTwin.query_problems`, asserted empty).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from .handwritten import FaultInjection
from .prism import PrismServer
from .provision import ensure_prism
from .twins import _Twin

__all__ = ["CALL", "FIXTURE", "USER", "GongTwin", "shared_server"]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "gong" / "openapi.yaml"
ACCESS = "/v2/calls/users-access"
#: Seeded ids.
CALL = {"intro": "7782342274025937895", "demo": "1283746501928374650", "old": "5550001112223334445"}
USER = {
    "jane": "234599484848423",
    "bob": "234599484848424",
    "ana": "234599484848425",
    "cy": "234599484848426",
}

_SHARED: dict[str, PrismServer] = {}


def shared_server(config: pytest.Config) -> PrismServer:
    """One Prism on the contract for the whole session (stopped at its end); skips without Prism."""
    server = _SHARED.get("gong")
    if server is None:
        server = PrismServer(FIXTURE, binary=ensure_prism())
        server.launch()
        server.wait_ready()
        _SHARED["gong"] = server
        config.add_cleanup(lambda: _SHARED.pop("gong").stop())
    return server


@cache
def _queries() -> tuple[tuple[str, re.Pattern[str], dict[str, tuple[bool, Any]]], ...]:
    doc = yaml.safe_load(FIXTURE.read_text())
    schemas = doc["components"]["schemas"]
    found = []
    for template, item in doc["paths"].items():
        regex = re.compile(re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(template)))
        for method, op in item.items():
            query = {}
            for p in op.get("parameters", []):
                if p["in"] == "query":
                    schema = p["schema"]
                    schema = schemas[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema
                    query[p["name"]] = (bool(p.get("required")), schema)
            found.append((method.upper(), regex, query))
    return tuple(found)


def query_problems(method: str, path: str, params: httpx.QueryParams) -> list[str]:
    """Every undeclared, missing, repeated or invalid query parameter, by the contract."""
    for op_method, regex, declared in _queries():
        if op_method != method or not regex.fullmatch(path):
            continue
        where = f"{method} {path}"
        problems = [f"{where}: {name} is not declared" for name in params if name not in declared]
        for name, (required, schema) in declared.items():
            values = params.get_list(name)
            if not values:
                problems += [f"{where}: {name} is required"] if required else []
            elif len(values) > 1:
                problems.append(f"{where}: {name} is given {len(values)} times")
            else:
                validator = jsonschema.Draft202012Validator(schema)
                problems += [f"{where}: {name}: {e.message}" for e in validator.iter_errors(values[0])]
        return problems
    return []


class GongTwin(FaultInjection, _Twin):
    """Calls, users and individual call access of a Gong company, and queued faults.

    Seeded: calls ``intro`` (2026-12-01), ``demo`` (2026-12-03) and ``old`` (2026-10-01); users
    jane, bob, ana (with the alias ana.s@initech.com) and cy (inactive). Bob holds individual
    access to ``demo``; ana can see ``intro`` through her permission profile (not individual
    access: Gong's grant has no effect for her there).
    """

    document = FIXTURE
    #: Records per page of a listing.
    page = 100

    def __init__(self) -> None:
        super().__init__()
        self.faults: list[list[Any]] = []
        self.query_problems: list[str] = []
        self.calls: dict[str, dict[str, Any]] = {
            CALL["intro"]: {"title": "Intro call", "started": "2026-12-01T15:00:00Z", "duration": 1800},
            CALL["demo"]: {"title": "Demo", "started": "2026-12-03T10:30:00Z", "duration": 2700},
            CALL["old"]: {"title": "Kick-off", "started": "2026-10-01T09:00:00Z", "duration": 900},
        }
        self.users: dict[str, dict[str, Any]] = {
            USER["jane"]: {"emailAddress": "jane.doe@acme.com", "active": True, "emailAliases": []},
            USER["bob"]: {"emailAddress": "bob@globex.io", "active": True, "emailAliases": []},
            USER["ana"]: {
                "emailAddress": "ana@initech.com",
                "active": True,
                "emailAliases": ["ana.s@initech.com"],
            },
            USER["cy"]: {"emailAddress": "cy@acme.com", "active": False, "emailAliases": []},
        }
        self.access: dict[str, set[str]] = {CALL["demo"]: {USER["bob"]}}
        self.profile_access: dict[str, set[str]] = {CALL["intro"]: {USER["ana"]}}
        self.workspaces = [
            {"id": "623457276584334", "name": "Sales"},
            {"id": "623457276584335", "name": "CS"},
        ]

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        query = request.url.params
        self.query_problems += query_problems(method, path, query)
        code = self._fault(method, path)
        if code is not None:
            return self.forced(method, path, code)
        if path == "/v2/calls":
            start, end = (datetime.fromisoformat(query.get(k, "")) for k in ("fromDateTime", "toDateTime"))
            found = [
                {"id": i, **c}
                for i, c in self.calls.items()
                if start <= datetime.fromisoformat(c["started"]) < end
            ]
            return ("404", None) if not found else (None, ("page", "calls", found, query.get("cursor")))
        if m := re.fullmatch(r"/v2/calls/([0-9]+)", path):
            call = self.calls.get(m.group(1))
            return ("404", None) if call is None else (None, ("raw", {"call": {"id": m.group(1), **call}}))
        if path == "/v2/users":
            users = [{"id": i, **u} for i, u in self.users.items()]
            return None, ("page", "users", users, query.get("cursor"))
        if path == "/v2/workspaces":
            return None, ("raw", {"workspaces": copy.deepcopy(self.workspaces)})
        if path == ACCESS and method == "POST" and isinstance(body, dict):
            ids = body.get("filter", {}).get("callIds", [])
            listed = [
                {"callId": c, "users": [{"userId": u} for u in sorted(self.access.get(c, set()))]}
                for c in ids
                if c in self.calls
            ]
            return None, ("raw", {"callAccessList": listed})
        if path == ACCESS and method in ("PUT", "DELETE") and isinstance(body, dict):
            for item in body.get("callAccessList", []):
                if item.get("callId") not in self.calls or not set(item.get("userIds", [])) <= set(
                    self.users
                ):
                    return "400", None
            for item in body["callAccessList"]:
                held = self.access.setdefault(item["callId"], set())
                for user in item["userIds"]:
                    if method == "DELETE":
                        held.discard(user)
                    elif user not in self.profile_access.get(item["callId"], set()):
                        held.add(user)  # "If a user already has access … the request will have no effect."
            return None, ("raw", {})
        return None, None

    def fill(self, note: Any, body: Any) -> Any:
        if note[0] == "raw":
            return {"requestId": "twin", **copy.deepcopy(note[1])}
        if note[0] == "page":
            _, key, records, cursor = note
            start = int(cursor.removeprefix("p")) if cursor else 0
            size = self.page
            page = {"totalRecords": len(records), "currentPageSize": 0, "currentPageNumber": start // size}
            chunk = copy.deepcopy(records[start : start + size])
            page["currentPageSize"] = len(chunk)
            if start + size < len(records):
                page["cursor"] = f"p{start + size}"
            return {"requestId": "twin", "records": page, key: chunk}
        return body

    def injected_body(self, code: int) -> Any:
        return {"requestId": "twin", "errors": [f"HTTP {code}"]}
