"""A stateful stand-in for the Vercel API, in the contract's response shapes.

Prism checks requests against Vercel's published contract but keeps no state; no real Vercel
can run here. :class:`VercelDouble` is a small state model (one project ``web`` with variables,
deployments and domains) that answers like Vercel. Used two ways:

* :meth:`VercelDouble.handle` as an ``httpx.MockTransport`` handler (unit tests, no Prism);
* :meth:`VercelDouble.steer` on a :class:`~tests.contract.prism.RecordingTransport`: every
  request still goes to Prism and is checked; the double applies the change, picks the declared
  status for errors and supplies the values in the answer (the conformance suite).
"""

from __future__ import annotations

import itertools
import json
import re
from typing import TYPE_CHECKING, Any

import httpx

from adapters.catalog import ActionCall
from adapters.registry import spec_for

if TYPE_CHECKING:
    from tests.contract.prism import RecordingTransport

__all__ = ["DB_V1", "DB_V2", "TOKEN", "VercelDouble", "scenario_calls"]

TOKEN = "vercel-test-token-0123456789"
DB_V1 = "postgres://app:v1-pa55word@db.internal/app"
DB_V2 = "postgres://app:v2-pa55word@db.internal/app"


class VercelDouble:
    """In-memory Vercel API (a test double: Prism can't keep state between calls)."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.project = {"id": "prj_web00001", "name": "web", "production": "dpl_current01"}
        self.env: list[dict[str, Any]] = [
            {
                "id": "env_db",
                "key": "DATABASE_URL",
                "value": DB_V1,
                "type": "encrypted",
                "target": ["production"],
                "gitBranch": None,
                "comment": "primary db [sophia-iac value_ref=secret://DB_V1]",
            },
            {
                "id": "env_shared",
                "key": "LOG_LEVEL",
                "value": "info",
                "type": "plain",
                "target": ["production", "preview"],
                "gitBranch": None,
                "comment": "",
            },
            {
                "id": "env_lit",
                "key": "SENTRY_DSN",
                "value": "abc123",
                "type": "encrypted",
                "target": ["production"],
                "gitBranch": None,
            },
        ]
        self.domains = ["web.example.com"]
        self.deployments = [("dpl_newest01", 3), ("dpl_current01", 2), ("dpl_oldest01", 1)]
        self.requests: list[httpx.Request] = []

    def json(self, status: int, body: Any) -> httpx.Response:
        return httpx.Response(status, json=body)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return self.json(401, {"error": {"code": "forbidden", "message": "Not authorized"}})
        method, path = request.method, request.url.path
        body = json.loads(request.content) if request.content else {}
        if (method, path) == ("GET", "/v2/user"):
            return self.json(200, {"user": {"id": "u1", "username": "ops"}})
        if (method, path) == ("GET", "/v10/projects"):
            return self.json(200, {"projects": [self._project()], "pagination": {"count": 1, "next": None}})
        if (method, path) == ("GET", "/v9/projects/web"):
            return self.json(200, self._project())
        if path == "/v10/projects/web/env":
            if method == "GET":
                public = [{k: v for k, v in e.items() if k != "value"} for e in self.env]
                return self.json(200, {"envs": public})
            entry = {"id": f"env_{next(self.ids)}", "gitBranch": None, **body}
            self.env.append(entry)
            return self.json(201, {"created": entry})
        if match := re.fullmatch(r"/v9/projects/web/env/([\w-]+)", path):
            entry = next((e for e in self.env if e["id"] == match.group(1)), None)
            if entry is None:
                return self.json(404, {"error": {"code": "not_found", "message": "env not found"}})
            if method == "DELETE":
                self.env.remove(entry)
            else:
                entry.update(body)
            return self.json(200, {"id": entry["id"]})
        if (method, path) == ("GET", "/v6/deployments"):
            rows = sorted(self.deployments, key=lambda d: -d[1])
            return self.json(
                200,
                {
                    "deployments": [
                        {"uid": u, "created": c, "target": "production", "readyState": "READY"}
                        for u, c in rows
                    ]
                },
            )
        if match := re.fullmatch(r"/v10/projects/prj_web00001/promote/(dpl_\w+)", path):
            self.project["production"] = match.group(1)
            return httpx.Response(202)
        if path == "/v9/projects/web/domains" and method == "GET":
            return self.json(
                200,
                {
                    "domains": [{"name": d, "verified": True} for d in self.domains],
                    "pagination": {"count": len(self.domains), "next": None},
                },
            )
        if path == "/v10/projects/web/domains" and method == "POST":
            self.domains.append(body["name"])
            return self.json(200, {"name": body["name"], "verified": False})
        if match := re.fullmatch(r"/v9/projects/web/domains/([\w.-]+)", path):
            self.domains.remove(match.group(1))
            return self.json(200, {})
        return self.json(404, {"error": {"code": "not_found", "message": f"no route {method} {path}"}})

    def _project(self) -> dict[str, Any]:
        return {
            "id": self.project["id"],
            "name": "web",
            "targets": {"production": {"id": self.project["production"]}},
        }

    def value(self, key: str, environment: str) -> str | None:
        return next((e["value"] for e in self.env if e["key"] == key and environment in e["target"]), None)

    @property
    def mutating(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests if r.method != "GET"]

    def steer(self, transport: RecordingTransport) -> RecordingTransport:
        """Let Prism validate every request while this model decides the answers."""
        answers: dict[int, httpx.Response] = {}

        def prefer(request: httpx.Request) -> str | None:
            answer = answers[id(request)] = self.handle(request)
            return str(answer.status_code) if answer.status_code >= 400 else None

        def edit(request: httpx.Request, body: Any) -> Any:
            answer = answers.pop(id(request), None)
            return json.loads(answer.content) if answer is not None and answer.content else body

        transport.prefer = prefer
        transport.edit_json = edit
        return transport


def scenario_calls() -> list[ActionCall]:
    """Every mutating action, in an order the double's state supports (each undone and redone)."""

    def call(action: str, **params: Any) -> ActionCall:
        return spec_for(f"vercel.{action}").call("web", params)

    return [
        call("env.set", key="API_URL", value="https://api.example.com"),
        call("env.set", key="DATABASE_URL", value="secret://DB_V2"),
        call("env.unset", key="DATABASE_URL"),
        call("deployment.promote", deployment_id="dpl_newest01"),
        call("deployment.rollback"),
        call("domain.add", domain="docs.example.com"),
        call("domain.remove", domain="web.example.com"),
    ]
