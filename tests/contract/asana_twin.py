"""Asana test set-up: the hand-written contract served by Prism, and a small state model.

Asana's API reference is the source of ``fixtures/asana/openapi.yaml``, written by hand (it cites
the pages). :func:`served` runs Prism on it; the file lives in the repository, so these tests
need Prism but not ``SOPHIA_SPECS_DIR``.

:class:`AsanaTwin` stands in for the platform (no Asana can run here): Prism judges every
request and answers with the contract's examples; the twin keeps one workspace's teams,
projects, open tasks and webhooks (listed per project, as ``GET /webhooks?resource=`` does), picks the declared status (404 for an unknown gid), applies
what mutating requests ask for, paginates lists by the request's ``limit``, and replaces Prism's
example bodies with its own records. :meth:`AsanaTwin.fault` makes the next matching requests
answer a declared error instead, changing nothing.

Webhooks, as Asana's reference describes them: while ``POST /webhooks`` is open the twin POSTs
the target an ``X-Hook-Secret`` handshake through its :data:`Door` — what reaching that URL
would do — and only when the answer is 200 or 204 echoing the secret does it keep the hook and
answer 201; otherwise the create answers 400 and nothing is kept. Without a door the target is
unreachable, so every create fails, as Asana's would. :func:`sophia_door` is sophia's own
handshake door (:func:`orchestrator.inbox.handshake`, what ``POST /webhooks/asana`` runs) on a
state store, so a test sees the real expectation being consumed and the secret stored.
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .handwritten import FaultInjection, serve_fixture
from .prism import PrismServer
from .twins import _Twin

__all__ = ["FIXTURE", "WORKSPACE", "AsanaTwin", "Door", "served", "sophia_door"]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "asana" / "openapi.yaml"
WORKSPACE = "1200000000000001"
ME = "ops-bot@example.com"


#: What POSTing a handshake to a target URL gets back: ``door(url, headers) -> (status, headers)``.
Door = Callable[[str, Mapping[str, str]], tuple[int, Mapping[str, str]]]


def served() -> AbstractContextManager[PrismServer]:
    """Prism serving the hand-written Asana contract (skips when Prism is not installed)."""
    return serve_fixture(FIXTURE)


def sophia_door(store: Any) -> Door:
    """Sophia's ``/webhooks/asana`` handshake on ``store``, answered as the route answers it.

    200 echoing ``X-Hook-Secret`` when one of our creates is waiting for this URL's token
    (consumed, the secret stored encrypted); 401 when none is; 404 for any other path.
    """
    from adapters.base import WebhookRejectedError, WebhookRequest
    from orchestrator.inbox import handshake

    def door(url: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str]]:
        parts = urlsplit(url)
        if parts.path != "/webhooks/asana":
            return 404, {}
        request = WebhookRequest(headers={k.lower(): v for k, v in headers.items()}, body=b"",
                                 path=parts.path, query=parts.query)
        try:
            secret = handshake(store, "asana", request)
        except WebhookRejectedError:
            return 401, {}
        return 200, {"X-Hook-Secret": secret}

    return door


class AsanaTwin(FaultInjection, _Twin):
    """Teams, projects and open tasks of workspace :data:`WORKSPACE`, and queued faults.

    Seeded teams Marketing and Engineering; projects Website Relaunch (Marketing), Q3 Planning
    (Engineering, archived), Vendor Review (no team) and two called Roadmap (one per team);
    one open task "Draft launch email" in Website Relaunch; no webhooks. ``door`` is how the
    handshake reaches a webhook's target (None: unreachable, so a webhook create fails).
    """

    def __init__(self, door: Door | None = None) -> None:
        super().__init__()
        self.door = door
        #: gid → {"resource": project gid, "target": url, "active": bool}
        self.webhooks: dict[str, dict[str, Any]] = {}
        #: every handshake sent: (target, the secret sent, the door's status, the secret echoed)
        self.handshakes: list[tuple[str, str, int | None, str | None]] = []
        self._gids = itertools.count(1201000000000900)
        self.teams = {"1200000000000011": "Marketing", "1200000000000012": "Engineering"}
        self.projects: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, list[dict[str, Any]]] = {}
        for gid, name, team, archived in (
            ("1201000000000101", "Website Relaunch", "1200000000000011", False),
            ("1201000000000102", "Q3 Planning", "1200000000000012", True),
            ("1201000000000103", "Vendor Review", None, False),
            ("1201000000000104", "Roadmap", "1200000000000011", False),
            ("1201000000000105", "Roadmap", "1200000000000012", False),
        ):
            self.projects[gid] = {"name": name, "team": team, "archived": archived}
            self.tasks[gid] = []
        self.tasks["1201000000000101"].append(
            {"gid": "1202000000000201", "name": "Draft launch email", "assignee": None}
        )
        self.faults: list[list[Any]] = []

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        code = self._fault(method, path)
        if code is not None:
            return code, None
        query = request.url.params
        data = body.get("data") if isinstance(body, dict) else None
        if path == "/projects" and method == "GET":
            if query.get("workspace") != WORKSPACE:
                return None, ("page", [], query)
            return None, ("page", [self.project(g) for g in self.projects], query)
        if path == "/projects" and method == "POST":
            if not isinstance(data, dict) or data.get("workspace") != WORKSPACE:
                return None, None  # Prism refuses a malformed one; an unknown workspace is not modelled
            if data.get("team") is not None and data["team"] not in self.teams:
                return "404", None
            gid = str(next(self._gids))
            self.projects[gid] = {"name": data["name"], "team": data.get("team"), "archived": False}
            self.tasks[gid] = []
            return None, ("one", self.project(gid))
        if m := re.fullmatch(r"/projects/([^/]+)", path):
            gid = m.group(1)
            if gid not in self.projects:
                return "404", None
            if method == "PUT" and isinstance(data, dict) and isinstance(data.get("archived"), bool):
                self.projects[gid]["archived"] = data["archived"]
            return None, ("one", self.project(gid))
        if path == f"/workspaces/{WORKSPACE}/teams":
            teams = [{"gid": g, "resource_type": "team", "name": n} for g, n in self.teams.items()]
            return None, ("page", teams, query)
        if path == "/tasks" and method == "GET":
            gid = query.get("project", "")
            if gid not in self.tasks:
                return "404", None
            return None, ("page", [self.task(t) for t in self.tasks[gid]], query)
        if path == "/tasks" and method == "POST":
            if not isinstance(data, dict) or not data.get("projects"):
                return None, None
            gid = data["projects"][0]
            if gid not in self.tasks:
                return "404", None
            assignee = data.get("assignee")
            task = {
                "gid": str(next(self._gids)),
                "name": data["name"],
                "assignee": ME if assignee == "me" else assignee,
            }
            self.tasks[gid].append(task)
            return None, ("one", self.task(task))
        if path == "/webhooks" and method == "GET":
            if query.get("workspace") != WORKSPACE:
                return None, ("page", [], query)
            hooks = [self.compact_webhook(g) for g, h in self.webhooks.items()
                     if query.get("resource") in (None, h["resource"])]
            return None, ("page", hooks, query)
        if path == "/webhooks" and method == "POST":
            if not isinstance(data, dict) or not isinstance(data.get("target"), str):
                return None, None  # Prism refuses a malformed one
            if data.get("resource") not in self.projects:
                return "404", None  # only project hooks are modelled
            if not self.handshake(data["target"]):
                return "400", None  # Asana: a create whose handshake fails sets nothing up
            gid = str(next(self._gids))
            self.webhooks[gid] = {"resource": data["resource"], "target": data["target"], "active": True}
            return None, ("one", self.webhook(gid))
        if m := re.fullmatch(r"/webhooks/([^/]+)", path):
            gid = m.group(1)
            if gid not in self.webhooks:
                return "404", None
            if method == "DELETE":
                del self.webhooks[gid]
                return None, ("one", {})
            return None, ("one", self.webhook(gid))
        return None, None

    def handshake(self, target: str) -> bool:
        """POST ``target`` a fresh ``X-Hook-Secret``; True when it answers 200/204 echoing it."""
        secret = secrets.token_hex(32)
        if self.door is None:  # unreachable: no answer at all
            self.handshakes.append((target, secret, None, None))
            return False
        status, headers = self.door(target, {"X-Hook-Secret": secret})
        echoed = {k.lower(): v for k, v in headers.items()}.get("x-hook-secret")
        self.handshakes.append((target, secret, status, echoed))
        return status in (200, 204) and echoed == secret

    def webhook(self, gid: str) -> dict[str, Any]:
        """The webhook's full record (Asana's ``WebhookResponse``)."""
        hook = self.webhooks[gid]
        project = self.projects[hook["resource"]]
        return {
            "gid": gid,
            "resource_type": "webhook",
            "active": hook["active"],
            "resource": {"gid": hook["resource"], "resource_type": "project", "name": project["name"]},
            "target": hook["target"],
            "created_at": "2026-12-07T10:00:00.000Z",
            "last_success_at": None,
            "last_failure_at": None,
            "last_failure_content": "",
        }

    def compact_webhook(self, gid: str) -> dict[str, Any]:
        """The webhook's compact record, as ``GET /webhooks`` lists it."""
        full = self.webhook(gid)
        return {k: full[k] for k in ("gid", "resource_type", "active", "resource", "target")}

    def project(self, gid: str) -> dict[str, Any]:
        """The project as Asana's compact record with ``opt_fields=name,archived,team.name``."""
        p = self.projects[gid]
        team = (
            {"gid": p["team"], "resource_type": "team", "name": self.teams[p["team"]]} if p["team"] else None
        )
        return {
            "gid": gid,
            "resource_type": "project",
            "name": p["name"],
            "archived": p["archived"],
            "team": team,
        }

    @staticmethod
    def task(task: dict[str, Any]) -> dict[str, Any]:
        """The task with ``opt_fields=name,assignee.email``."""
        assignee = task.get("assignee")
        return {
            "gid": task["gid"],
            "resource_type": "task",
            "name": task["name"],
            "assignee": {"gid": "1200000000000031", "resource_type": "user", "email": assignee}
            if assignee
            else None,
        }

    def fill(self, note: Any, body: Any) -> Any:
        if note[0] == "one":
            return {"data": copy.deepcopy(note[1])}
        if note[0] == "page":
            records, query = note[1], note[2]
            limit = int(query.get("limit", "100"))
            start = int(query.get("offset", "0"))
            page = records[start : start + limit]
            more = start + limit < len(records)
            next_page = (
                {"offset": str(start + limit), "path": "/projects", "uri": "https://app.asana.com/api/1.0/x"}
                if more
                else None
            )
            return {"data": copy.deepcopy(page), "next_page": next_page}
        return body
