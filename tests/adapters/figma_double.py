"""A stateful stand-in for the Figma API, in the contract's response shapes.

Prism checks requests against Figma's published contract but keeps no state, and no real Figma
can run here. :class:`FigmaDouble` is a small state model (one team with webhooks, a few files)
that answers like Figma. :meth:`FigmaDouble.steer` puts it on a
:class:`~tests.contract.prism.RecordingTransport`: every request still goes to Prism and is
checked; the model applies the change, picks the declared status for errors (``Prefer:
code=…``) and supplies the values in the answer (the conformance suite).
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

__all__ = ["FILE_KEY", "HOOK_ID", "PASSCODE", "TEAM", "TOKEN", "FigmaDouble", "scenario_calls"]

TOKEN = "figd_double-token-0123456789abcdef"
PASSCODE = "figma-double-passcode-7c1e"
TEAM = "1234567890"
HOOK_ID = "556677"
FILE_KEY = "aBcD1234EfGh"


class FigmaDouble:
    """In-memory Figma webhooks and files (a test double: Prism can't keep state)."""

    def __init__(self) -> None:
        self.ids = itertools.count(900001)
        self.teams = {TEAM}
        self.hooks: dict[str, dict[str, Any]] = {
            HOOK_ID: self._hook(HOOK_ID, "LIBRARY_PUBLISH", "https://hooks.example.com/figma-library"),
        }
        self.files = {FILE_KEY: {"name": "Design System", "version": "4021", "editorType": "figma"}}
        self.requests: list[httpx.Request] = []
        self.passcodes: list[str] = []

    @staticmethod
    def _hook(hook_id: str, event: str, endpoint: str, status: str = "ACTIVE") -> dict[str, Any]:
        return {
            "id": hook_id, "event_type": event, "team_id": "", "context": "TEAM", "context_id": TEAM,
            "plan_api_id": "team:" + TEAM, "status": status, "client_id": None, "passcode": "",
            "endpoint": endpoint, "description": None,
        }

    @staticmethod
    def json(status: int, body: Any) -> httpx.Response:
        return httpx.Response(status, json=body)

    def missing(self, what: str) -> httpx.Response:
        return self.json(404, {"error": True, "status": 404, "message": f"{what} not found"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Figma's answer to ``request`` from the model (applying any change it asks for)."""
        self.requests.append(request)
        if request.headers.get("x-figma-token") != TOKEN:
            return self.json(403, {"status": 403, "err": "Invalid token"})
        method, path = request.method, request.url.path
        if (method, path) == ("GET", "/v1/me"):
            return self.json(200, {"id": "1001", "handle": "ops-bot", "img_url": "", "email": "ops@example.com"})
        if (method, path) == ("GET", "/v2/webhooks"):
            team = request.url.params.get("context_id")
            if request.url.params.get("context") != "team" or team not in self.teams:
                return self.json(400, {"error": True, "status": 400, "message": "invalid context"})
            return self.json(200, {"webhooks": [h for h in self.hooks.values() if h["context_id"] == team]})
        if (method, path) == ("POST", "/v2/webhooks"):
            body = json.loads(request.content)
            self.passcodes.append(body["passcode"])
            hook = self._hook(str(next(self.ids)), body["event_type"], body["endpoint"])
            hook["context_id"], hook["description"] = body["context_id"], body.get("description")
            self.hooks[hook["id"]] = hook
            return self.json(200, {**hook, "passcode": body["passcode"]})  # the create echoes it
        if match := re.fullmatch(r"/v2/webhooks/([\w-]+)", path):
            found = self.hooks.get(match.group(1))
            if found is None:
                return self.missing("webhook")
            if method == "DELETE":
                del self.hooks[found["id"]]
            return self.json(200, found)
        if (match := re.fullmatch(r"/v1/files/(\w+)/meta", path)) and method == "GET":
            if match.group(1) not in self.files:
                return self.json(404, {"status": 404, "err": "Not found"})
            meta = self.files[match.group(1)]
            return self.json(200, {
                **meta, "folder_name": "Platform", "last_touched_at": "2026-11-20T10:00:00Z",
                "creator": {"id": "1001", "handle": "ops-bot", "img_url": ""},
            })
        return self.json(404, {"status": 404, "err": f"no route {method} {path}"})

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
    """Every action, in an order the double's state supports."""
    return [
        spec_for("figma.webhook.create").call(
            TEAM, {"event_type": "file update", "endpoint": "https://hooks.example.com/figma"}
        ),
        spec_for("figma.file.get").call(FILE_KEY, {}),
        spec_for("figma.webhook.delete").call(HOOK_ID, {}),
    ]
