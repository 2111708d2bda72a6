"""Stateful twins for Portkey, OpenRouter and Weaviate (see :mod:`tests.contract.twins`).

Prism serves each vendor's contract and judges every request; the twin keeps a minimal model
of the platform, applies the changes mutating requests ask for, picks which *declared* answer
Prism gives (404 for a missing OpenRouter key or Weaviate collection, 422 for a duplicate
collection), and fills the model's values into Prism's vendor-shaped answers. Portkey declares
only 200, so its twin never steers a status: a missing key is simply absent from the lists.
This is a stand-in for the live platforms, and the conformance tests that use it say so.
"""

from __future__ import annotations

import copy
import hashlib
import re
import uuid
from typing import Any

import httpx

from .twins import _template, _Twin

__all__ = ["OpenRouterTwin", "PortkeyTwin", "WeaviateTwin"]


def _first(body: Any, key: str = "data") -> dict[str, Any]:
    items = body.get(key) if isinstance(body, dict) else None
    return _template(items)


class PortkeyTwin(_Twin):
    """API keys (with minted values the gateway accepts), configs and workspaces."""

    def __init__(self) -> None:
        super().__init__()
        self._n = 0
        self.keys: dict[str, dict[str, Any]] = {}
        self.values: dict[str, str] = {}
        self.ranking = self._add_key(
            "ranking-service", usage_limits={"type": "cost", "credit_limit": 10, "periodic_reset": "monthly"}
        )
        self.configs: dict[str, dict[str, Any]] = {
            "pc-prod-r-1a2b3c": {
                "name": "prod-routing",
                "config": {
                    "retry": {"attempts": 2, "on_status_codes": [429]},
                    "cache": {"mode": "simple"},
                    "strategy": {"mode": "fallback"},
                    "targets": [
                        {"provider": "openai", "virtual_key": "openai-prod"},
                        {"virtual_key": "anthropic-prod"},
                    ],
                },
            }
        }
        self.workspaces: dict[str, dict[str, Any]] = {
            "ws-research-01": {
                "name": "research",
                "usage_limits": [
                    {"type": "cost", "credit_limit": 100, "alert_threshold": 80, "periodic_reset": "monthly"}
                ],
            }
        }

    def _add_key(self, name: str, **fields: Any) -> str:
        self._n += 1
        key_id = str(uuid.UUID(int=0xA000_0000 + self._n))
        self.keys[key_id] = {
            "name": name,
            "description": "",
            "type": "organisation-service",
            "scopes": ["completions.write"],
            "usage_limits": None,
            "expires_at": None,
            "status": "active",
            "workspace_id": "ws-research-01",
            "rate_limits": [],
            "alert_emails": [],
            "defaults": {},
            "created_at": f"2026-01-01T00:00:{self._n:02d}Z",
            **fields,
        }
        return key_id

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        if path == "/api-keys":
            return None, ("keys",)
        if m := re.fullmatch(r"/api-keys/(organisation|workspace)/(service|user)", path):
            fields = {
                k: body[k]
                for k in (
                    "description",
                    "scopes",
                    "usage_limits",
                    "expires_at",
                    "rate_limits",
                    "alert_emails",
                    "defaults",
                    "workspace_id",
                )
                if k in body
            }
            key_id = self._add_key(body["name"], type=f"{m.group(1)}-{m.group(2)}", **fields)
            value = f"pk-twin-minted-{key_id[-8:]}"
            self.values[value] = key_id
            return None, ("minted", key_id, value)
        if m := re.fullmatch(r"/api-keys/([0-9a-f-]{36})", path):
            record = self.keys.get(m.group(1))
            if record is not None and method == "PUT":
                record.update({k: v for k, v in body.items() if k in ("expires_at", "usage_limits", "name")})
            return None, ("key", m.group(1)) if method == "GET" and record is not None else None
        if path == "/configs":
            return None, ("configs",)
        if m := re.fullmatch(r"/configs/([^/]+)", path):
            if m.group(1) in self.configs and method == "PUT":
                self.configs[m.group(1)]["config"] = copy.deepcopy(body["config"])
            return None, ("config", m.group(1)) if method == "GET" and m.group(1) in self.configs else None
        if path == "/admin/workspaces":
            return None, ("workspaces",)
        if m := re.fullmatch(r"/admin/workspaces/([^/]+)", path):
            if m.group(1) in self.workspaces and method == "PUT":
                self.workspaces[m.group(1)]["usage_limits"] = copy.deepcopy(body["usage_limits"])
            return None, ("workspace", m.group(1)) if method == "GET" and m.group(
                1
            ) in self.workspaces else None
        return None, None

    def fill(self, note: Any, body: Any) -> Any:
        kind = note[0]
        if kind == "keys":
            template = _first(body)
            data = [{**template, "id": key_id, **record} for key_id, record in self.keys.items()]
            return {**body, "total": len(data), "data": data}
        if kind == "key":
            return {**body, "id": note[1], **self.keys[note[1]]}
        if kind == "minted":
            return {**body, "id": note[1], "key": note[2]}
        if kind == "configs":
            template = _first(body)
            return {
                **body,
                "data": [{**template, "slug": slug, "name": c["name"]} for slug, c in self.configs.items()],
            }
        if kind == "config":
            return {**body, "data": {"config": copy.deepcopy(self.configs[note[1]]["config"])}}
        if kind == "workspaces":
            template = _first(body)
            data = [{**template, "id": ws_id, "name": ws["name"]} for ws_id, ws in self.workspaces.items()]
            return {**body, "total": len(data), "data": data}
        if kind == "workspace":
            ws = self.workspaces[note[1]]
            return {
                **body,
                "id": note[1],
                "slug": note[1],
                "name": ws["name"],
                "usage_limits": copy.deepcopy(ws["usage_limits"]),
            }
        return body


class OpenRouterTwin(_Twin):
    """Provisioned keys: created, limited, disabled and enabled by hash."""

    def __init__(self) -> None:
        super().__init__()
        self._n = 0
        self.keys: dict[str, dict[str, Any]] = {}
        self._add("batch-jobs", limit=100.0)
        self._add("old-prototype", disabled=True)

    def _add(self, name: str, **fields: Any) -> str:
        self._n += 1
        key_hash = hashlib.sha256(f"{name}/{self._n}".encode()).hexdigest()
        self.keys[key_hash] = {
            "name": name,
            "label": name,
            "hash": key_hash,
            "disabled": False,
            "limit": None,
            **fields,
        }
        return key_hash

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        if path == "/keys" and method == "GET":
            params = request.url.params
            return None, (
                "list",
                int(params.get("offset", "0") or 0),
                params.get("include_disabled") == "true",
            )
        if path == "/keys" and method == "POST":
            key_hash = self._add(body["name"], limit=body.get("limit"))
            return None, ("created", key_hash, "sk-or-v1-" + hashlib.sha256(key_hash.encode()).hexdigest())
        if m := re.fullmatch(r"/keys/([0-9a-f]{64})", path):
            record = self.keys.get(m.group(1))
            if record is None:
                return "404", None
            if method == "PATCH":
                record.update({k: v for k, v in body.items() if k in ("disabled", "limit", "name")})
            return None, ("one", m.group(1))
        return None, None

    def fill(self, note: Any, body: Any) -> Any:
        kind = note[0]
        if kind == "list":
            template = _first(body)
            keys = [k for k in self.keys.values() if note[2] or not k["disabled"]]
            return {**body, "data": [{**template, **k} for k in keys[note[1] :]]}
        if kind == "one":
            return {**body, "data": {**body["data"], **self.keys[note[1]]}}
        if kind == "created":
            return {**body, "data": {**body["data"], **self.keys[note[1]]}, "key": note[2]}
        return body


class WeaviateTwin(_Twin):
    """Collections and their object counts."""

    def __init__(self) -> None:
        super().__init__()
        self.classes: dict[str, dict[str, Any]] = {
            "Tickets": {
                "class": "Tickets",
                "description": "support tickets",
                "vectorizer": "none",
                "vectorIndexType": "hnsw",
                "vectorIndexConfig": {"distance": "cosine"},
            },
        }
        self.objects: dict[str, int] = {"Tickets": 42}

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        if path == "/schema" and method == "GET":
            return None, ("schema",)
        if path == "/schema" and method == "POST":
            if body["class"] in self.classes:
                return "422", None
            self.classes[body["class"]] = copy.deepcopy(body)
            self.objects[body["class"]] = 0
            return None, ("class", body["class"])
        if m := re.fullmatch(r"/schema/([A-Za-z0-9_]+)", path):
            name = m.group(1)
            if method == "DELETE":
                self.classes.pop(name, None)
                self.objects.pop(name, None)
                return None, None
            return ("404", None) if name not in self.classes else (None, ("class", name))
        if m := re.fullmatch(r"/nodes(?:/([A-Za-z0-9_]+))?", path):
            return None, ("nodes", m.group(1))
        return None, None

    def _class(self, template: dict[str, Any], name: str) -> dict[str, Any]:
        return {**template, "vectorConfig": {}, **self.classes[name]}

    def fill(self, note: Any, body: Any) -> Any:
        kind = note[0]
        if kind == "class":
            return self._class(body, note[1])
        if kind == "schema":
            template = _first(body, "classes")
            return {**body, "classes": [self._class(template, name) for name in self.classes]}
        if kind == "nodes":
            node = _first(body, "nodes")
            shard = _template(node.get("shards"))
            names = [note[1]] if note[1] else list(self.classes)
            shards = [
                {**shard, "class": n, "objectCount": self.objects.get(n, 0)}
                for n in names
                if n in self.classes
            ]
            return {**body, "nodes": [{**node, "shards": shards}]}
        return body
