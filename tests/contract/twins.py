"""Stateful twins for the conformance suite: Prism serves, a small state model steers it.

Prism's mock is stateless: it answers every GET with the same canned example, so "apply, read
back, undo, read back" can't be observed through it alone. No real Snowflake or GitHub can run
here, so each twin keeps a minimal model of the platform and, per request,

* picks which *declared* answer Prism gives (``Prefer: code=404`` for a missing resource,
  409 for a duplicate, 422 for an unknown Snowflake user), and applies the change a
  mutating request asks for;
* fills the resource's values into Prism's (vendor-shaped) answer before the adapter sees it.

Every request still goes to Prism and is checked for request-side violations; only the
values in the answers come from the model. This is a stand-in for the live platform, and the
conformance tests that use it say so.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import unquote

import httpx

from .github_protection import protection_from_put, seeded_protection
from .prism import RecordingTransport

__all__ = ["GitHubTwin", "SnowflakeTwin"]


def _body(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


#: Warehouse properties Snowflake resets to these when a createOrAlter PUT leaves them out.
_WAREHOUSE_DEFAULTS: dict[str, Any] = {
    "auto_resume": "true",
    "enable_query_acceleration": "false",
    "comment": None,
    "max_cluster_count": 1,
    "min_cluster_count": 1,
    "scaling_policy": "STANDARD",
    "query_acceleration_max_scale_factor": 8,
    "max_concurrency_level": 8,
    "statement_timeout_in_seconds": 172800,
}


def _warehouse_properties(body: dict[str, Any]) -> dict[str, Any]:
    """The writable properties a warehouse has after a create or createOrAlter ``body``."""
    given = {k: v for k, v in body.items() if k != "name"}
    return {**_WAREHOUSE_DEFAULTS, **given}


def _template(body: Any) -> dict[str, Any]:
    return copy.deepcopy(body[0]) if isinstance(body, list) and body and isinstance(body[0], dict) else {}


class _Twin:
    def __init__(self) -> None:
        self._notes: dict[int, tuple[str, Any]] = {}

    def attach(self, transport: RecordingTransport) -> RecordingTransport:
        transport.prefer = self._prefer
        transport.edit_json = self._edit
        transport.override = self._override
        return transport

    def _prefer(self, request: httpx.Request) -> str | None:
        code, note = self.route(request.method, unquote(request.url.path), _body(request), request)
        self._notes[id(request)] = (request.method, note)
        return code

    def _edit(self, request: httpx.Request, body: Any) -> Any:
        _, note = self._notes.pop(id(request), (None, None))
        return self.fill(note, body) if note is not None else body

    def _override(self, request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
        """An injected fault's answer (see :class:`~tests.contract.handwritten.FaultInjection`)."""
        _, note = self._notes.get(id(request), (None, None))
        if isinstance(note, tuple) and note[:1] == ("inject",):
            del self._notes[id(request)]
            return self.inject(int(note[1]))
        return None

    def inject(self, code: int) -> httpx.Response:
        raise NotImplementedError(f"{type(self).__name__} injects no status {code}")

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        raise NotImplementedError

    def fill(self, note: Any, body: Any) -> Any:
        raise NotImplementedError


class SnowflakeTwin(_Twin):
    """Warehouses, databases and user role grants."""

    def __init__(self) -> None:
        super().__init__()
        #: Whole warehouses: PUT (createOrAlter) replaces every writable property, an omitted
        #: one going back to its default, so a client that drops one shows it on the next GET.
        self.warehouses: dict[str, dict[str, Any]] = {
            "ETL_WH": {
                "state": "SUSPENDED",
                **_warehouse_properties({
                    "warehouse_size": "XSMALL",
                    "auto_suspend": 600,
                    "comment": "nightly ETL",
                    "max_cluster_count": 3,
                    "min_cluster_count": 1,
                    "scaling_policy": "ECONOMY",
                    "query_acceleration_max_scale_factor": 4,
                    "max_concurrency_level": 12,
                    "statement_timeout_in_seconds": 7200,
                    "statement_queued_timeout_in_seconds": 600,
                    "warehouse_type": "STANDARD",
                    "resource_monitor": "ETL_MONITOR",
                    "target_statement_size": "MEDIUM",
                    "warehouse_credit_limit": 500,
                }),
            }
        }
        self.databases: dict[str, dict[str, Any]] = {"ANALYTICS": {"data_retention_time_in_days": 1}}
        self.grants: dict[str, set[str]] = {"JSMITH": {"PUBLIC"}}

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        if m := re.fullmatch(r"/api/v2/(warehouses|databases)/([^:/]+)(?::(suspend|resume))?", path):
            kind, name, op = m.groups()
            store = self.warehouses if kind == "warehouses" else self.databases
            if name not in store:
                return "404", None
            if method == "DELETE":
                del store[name]
            elif method == "PUT":
                store[name] = {"state": store[name].get("state", "STARTED"), **_warehouse_properties(body)}
            elif op:
                store[name]["state"] = "SUSPENDED" if op == "suspend" else "STARTED"
            return None, ("one", kind, name) if method == "GET" else None
        if m := re.fullmatch(r"/api/v2/(warehouses|databases)", path):
            kind = m.group(1)
            store = self.warehouses if kind == "warehouses" else self.databases
            if method == "POST":
                if body["name"] in store:
                    return "409", None
                store[body["name"]] = (
                    {"state": "STARTED", **_warehouse_properties(body)}
                    if kind == "warehouses"
                    else {"data_retention_time_in_days": 1}
                )
                return None, None
            return None, ("list", kind)
        if path == "/api/v2/statements" and method == "POST":
            statement = body["statement"]
            binds = [body["bindings"][str(i)]["value"] for i in range(1, len(body.get("bindings") or {}) + 1)]
            user = binds[-1]
            if user not in self.grants:
                return "422", ("unknown_user", user)
            if statement.startswith("GRANT ROLE"):
                self.grants[user].add(binds[0])
            elif statement.startswith("REVOKE ROLE"):
                self.grants[user].discard(binds[0])
            elif statement.startswith("SHOW GRANTS"):
                return None, ("grants", user)
            return None, None
        return None, None

    def fill(self, note: Any, body: Any) -> Any:
        if note[0] == "one":
            _, kind, name = note
            values = (self.warehouses if kind == "warehouses" else self.databases)[name]
            return {**body, "name": name, **values}
        if note[0] == "list":
            template = _template(body)
            store = self.warehouses if note[1] == "warehouses" else self.databases
            return [{**template, "name": name, **values} for name, values in sorted(store.items())]
        if note[0] == "grants":
            columns = ["created_on", "role", "granted_to", "grantee_name", "granted_by"]
            meta = {
                **(body.get("resultSetMetaData") or {}),
                "numRows": len(self.grants[note[1]]),
                "rowType": [{"name": c, "type": "TEXT", "nullable": True} for c in columns],
            }
            rows = [
                ["2024-01-01", role, "USER", note[1], "SECURITYADMIN"]
                for role in sorted(self.grants[note[1]])
            ]
            return {**body, "resultSetMetaData": meta, "data": rows}
        if note[0] == "unknown_user":
            return {
                **body,
                "code": "002003",
                "message": f"User '{note[1]}' does not exist or not authorized.",
            }
        return body


class GitHubTwin(_Twin):
    """Repositories, branch protection, team members and repository hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.login = "octocat"
        self.repos: dict[str, dict[str, Any]] = {
            "acme/web": {"private": True, "description": "", "archived": False}
        }
        #: Whole rules in GET shape, keyed by (repo, branch): a PUT replaces the whole rule.
        self.protection: dict[tuple[str, str], dict[str, Any]] = {("acme/web", "main"): seeded_protection(1)}
        self.teams: dict[str, set[str]] = {"acme/platform": {"octocat"}}
        self.hooks: dict[str, dict[int, dict[str, Any]]] = {
            "acme/web": {7: {"url": "https://ci.example.com/hook", "events": ["push"], "active": True}}
        }
        self._next_hook = 100

    def route(self, method: str, path: str, body: Any, request: httpx.Request) -> tuple[str | None, Any]:
        if path == "/user":
            return None, ("user",)
        if m := re.fullmatch(r"/(?:orgs/([^/]+)|user)/repos", path):
            if method == "GET":
                return None, ("repos",)
            name = f"{(m.group(1) or self.login).lower()}/{body['name'].lower()}"
            if name in self.repos:
                return "422", None
            self.repos[name] = {
                "private": body.get("private", False),
                "description": body.get("description") or "",
                "archived": False,
            }
            return None, ("repo", name)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)", path):
            name = m.group(1).lower()
            if name not in self.repos:
                return "404", None
            if method == "PATCH" and "archived" in body:
                self.repos[name]["archived"] = body["archived"]
            return None, ("repo", name)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/branches/(.+)/protection", path):
            key = (m.group(1).lower(), m.group(2))
            if method == "PUT":
                self.protection[key] = protection_from_put(body, self.protection.get(key))
            elif key not in self.protection:
                return "404", None
            return None, ("protection", key)
        if m := re.fullmatch(r"/orgs/([^/]+/teams/[^/]+)/members", path):
            return None, ("members", m.group(1).replace("/teams/", "/"))
        if m := re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)", path):
            team = self.teams.setdefault(f"{m.group(1)}/{m.group(2)}", set())
            (team.add if method == "PUT" else team.discard)(m.group(3))
            return None, None
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/hooks", path):
            name = m.group(1).lower()
            if method == "POST":
                self._next_hook += 1
                self.hooks.setdefault(name, {})[self._next_hook] = {
                    "url": body["config"]["url"],
                    "events": body["events"],
                    "active": body.get("active", True),
                }
                return None, ("hook", name, self._next_hook)
            return None, ("hooks", name)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/hooks/(\d+)", path):
            name, hook_id = m.group(1).lower(), int(m.group(2))
            if hook_id not in self.hooks.get(name, {}):
                return "404", None
            if method == "DELETE":
                del self.hooks[name][hook_id]
                return None, None
            return None, ("hook", name, hook_id)
        return None, None

    def _hook(self, template: dict[str, Any], name: str, hook_id: int) -> dict[str, Any]:
        hook = self.hooks[name][hook_id]
        return {
            **template,
            "id": hook_id,
            "events": hook["events"],
            "active": hook["active"],
            "config": {**(template.get("config") or {}), "url": hook["url"]},
        }

    def fill(self, note: Any, body: Any) -> Any:
        kind = note[0]
        if kind == "user":
            return {**body, "login": self.login}
        if kind == "repo":
            owner, repo = note[1].split("/")
            return {
                **body,
                "full_name": note[1],
                "name": repo,
                **self.repos[note[1]],
                "owner": {**(body.get("owner") or {}), "login": owner},
            }
        if kind == "repos":
            template = _template(body)
            return [
                {**template, "full_name": name, "name": name.split("/")[1], **values}
                for name, values in sorted(self.repos.items())
            ]
        if kind == "protection":
            # Prism's example supplies the urls; every part of the rule comes from the model, and
            # a part the model lacks (say, no status checks) is absent, as GitHub leaves it out.
            parts = ("required_status_checks", "required_pull_request_reviews", "restrictions")
            kept = {k: v for k, v in body.items() if k not in parts}
            return {**kept, **copy.deepcopy(self.protection[note[1]])}
        if kind == "members":
            template = _template(body)
            return [{**template, "login": login} for login in sorted(self.teams.get(note[1], set()))]
        if kind == "hooks":
            template = _template(body)
            return [self._hook(template, note[1], hook_id) for hook_id in sorted(self.hooks.get(note[1], {}))]
        if kind == "hook":
            return self._hook(body, note[1], note[2]) if note[2] in self.hooks.get(note[1], {}) else body
        return body
