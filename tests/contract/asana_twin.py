"""Asana test set-up: the hand-written contract served by Prism, and a small state model.

Asana's API reference is the source of ``fixtures/asana/openapi.yaml``, written by hand (it cites
the pages). :func:`served` runs Prism on it; the file lives in the repository, so these tests
need Prism but not ``SOPHIA_SPECS_DIR``.

:class:`AsanaTwin` stands in for the platform (no Asana can run here): Prism judges every
request and answers with the contract's examples; the twin keeps one workspace's teams,
projects and open tasks, picks the declared status (404 for an unknown gid), applies what
mutating requests ask for, paginates lists by the request's ``limit``, and replaces Prism's
example bodies with its own records. :meth:`AsanaTwin.fault` makes the next matching requests
answer a declared error instead, changing nothing.
"""

from __future__ import annotations

import copy
import itertools
import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx

from .handwritten import FaultInjection, serve_fixture
from .prism import PrismServer
from .twins import _Twin

__all__ = ["FIXTURE", "WORKSPACE", "AsanaTwin", "served"]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "asana" / "openapi.yaml"
WORKSPACE = "1200000000000001"
ME = "ops-bot@example.com"


def served() -> AbstractContextManager[PrismServer]:
    """Prism serving the hand-written Asana contract (skips when Prism is not installed)."""
    return serve_fixture(FIXTURE)


class AsanaTwin(FaultInjection, _Twin):
    """Teams, projects and open tasks of workspace :data:`WORKSPACE`, and queued faults.

    Seeded teams Marketing and Engineering; projects Website Relaunch (Marketing), Q3 Planning
    (Engineering, archived), Vendor Review (no team) and two called Roadmap (one per team);
    one open task "Draft launch email" in Website Relaunch.
    """

    def __init__(self) -> None:
        super().__init__()
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
        return None, None

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
