"""A stand-in for Linear's GraphQL API: Linear's published schema, executed over fixture data.

No GraphQL contract server (a Prism for SDL) is available, so this stands in for one, behind an
``httpx.MockTransport``: every request is parsed and validated with ``graphql-core`` against
Linear's own ``schema.graphql`` (a document that fails validation is recorded in
:attr:`LinearFixture.validation_errors` and answered 400, as a GraphQL server would), then
executed by ``graphql-core`` against in-memory fixture data. Only the root fields the adapter
uses have resolvers (they implement the filter operators it sends); nested fields resolve from
the fixture dicts, and the schema's non-null rules still apply to what comes back.
"""

from __future__ import annotations

import itertools
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx

__all__ = ["TOKEN", "LinearFixture", "linear_schema", "schema_path"]

TOKEN = "lin_api_fixturetoken0123456789abcdef"
ARCHIVED_AT = "2026-01-05T10:00:00.000Z"


def schema_path() -> Path:
    """Linear's ``schema.graphql`` (the project's copy, or ``SOPHIA_SPECS_DIR``'s), or skip saying where."""
    from tests.contract.provision import vendor_document

    return vendor_document("linear", "schema.graphql")


@lru_cache(maxsize=2)
def linear_schema(path: Path) -> Any:
    """The parsed schema (about 2.5 s to build, so once per session)."""
    from graphql import build_schema

    return build_schema(path.read_text(encoding="utf-8"))


def _compare(value: Any, condition: dict[str, Any]) -> bool:
    for op, expected in condition.items():
        if op == "eq" and value != expected:
            return False
        if op == "eqIgnoreCase" and (not isinstance(value, str) or value.lower() != str(expected).lower()):
            return False
        if op == "null" and (value is None) != bool(expected):
            return False
        if op == "in" and value not in expected:
            return False
    return True


def matches(item: dict[str, Any], where: dict[str, Any] | None) -> bool:
    """The subset of Linear's filter semantics the adapter uses (and/or, eq, eqIgnoreCase, null, in)."""
    for key, condition in (where or {}).items():
        if key == "or":
            ok = any(matches(item, c) for c in condition)
        elif key == "and":
            ok = all(matches(item, c) for c in condition)
        elif set(condition) <= {"eq", "eqIgnoreCase", "null", "in"}:
            ok = _compare(item.get(key), condition)
        else:
            ok = isinstance(item.get(key), dict) and matches(item[key], condition)
        if not ok:
            return False
    return True


class _Root:
    """Root resolvers (graphql-core calls a callable attribute of the root value with its args)."""

    def __init__(self, fx: LinearFixture) -> None:
        self.fx = fx

    def teams(
        self, info: Any, filter: dict[str, Any] | None = None, first: int | None = None, **_: Any
    ) -> Any:
        return {"nodes": [t for t in self.fx.teams if matches(t, filter)][: first or 50]}

    def projects(
        self,
        info: Any,
        filter: dict[str, Any] | None = None,
        first: int | None = None,
        includeArchived: bool = False,
        **_: Any,
    ) -> Any:
        found = [
            p for p in self.fx.projects if (includeArchived or not p["archivedAt"]) and matches(p, filter)
        ]
        return {"nodes": found[: first or 50]}

    def issues(
        self,
        info: Any,
        filter: dict[str, Any] | None = None,
        first: int | None = None,
        includeArchived: bool = False,
        **_: Any,
    ) -> Any:
        found = [i for i in self.fx.issues if (includeArchived or not i["archivedAt"]) and matches(i, filter)]
        return {"nodes": found[: first or 50]}

    def issue(self, info: Any, id: str) -> Any:
        return self.fx.find(self.fx.issues, id, "Issue")

    def viewer(self, info: Any) -> Any:
        return {"id": "user_bot", "name": "Sophia Bot"}

    def organization(self, info: Any) -> Any:
        return {"name": "Acme", "urlKey": "acme"}

    def projectCreate(self, info: Any, input: dict[str, Any], **_: Any) -> Any:
        teams = [t for t in self.fx.teams if t["id"] in input["teamIds"]]
        if len(teams) != len(input["teamIds"]):
            raise ValueError("Entity not found: Team")
        project = {
            "id": f"prj-{next(self.fx.ids)}",
            "name": input["name"],
            "archivedAt": None,
            "trashed": None,
            "teams": {"nodes": teams},
        }
        self.fx.projects.append(project)
        return {"success": True, "project": project, "lastSyncId": 1.0}

    def projectArchive(self, info: Any, id: str, trash: bool | None = None) -> Any:
        project = self.fx.find(self.fx.projects, id, "Project")
        project.update(archivedAt=ARCHIVED_AT, trashed=bool(trash) or None)
        return {"success": True, "entity": project, "lastSyncId": 2.0}

    def projectUnarchive(self, info: Any, id: str) -> Any:
        project = self.fx.find(self.fx.projects, id, "Project")
        project.update(archivedAt=None, trashed=None)
        return {"success": True, "entity": project, "lastSyncId": 3.0}

    def issueCreate(self, info: Any, input: dict[str, Any]) -> Any:
        team = self.fx.find(self.fx.teams, input["teamId"], "Team")
        number = sum(1 for i in self.fx.issues if i["team"]["id"] == team["id"]) + 1
        issue = {
            "id": f"iss-{next(self.fx.ids)}",
            "identifier": f"{team['key']}-{number}",
            "title": input["title"],
            "priority": float(input.get("priority") or 0),
            "archivedAt": None,
            "completedAt": None,
            "canceledAt": None,
            "team": team,
        }
        self.fx.issues.append(issue)
        return {"success": True, "issue": issue, "lastSyncId": 4.0}


class LinearFixture:
    """Fixture data plus the MockTransport handler (:meth:`handle`)."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.ids = itertools.count(1)
        eng = {"id": "team-eng", "key": "ENG", "name": "Engineering"}
        gro = {"id": "team-gro", "key": "GRO", "name": "Growth"}
        self.teams = [eng, gro]
        self.projects: list[dict[str, Any]] = [
            {
                "id": "prj-mobile",
                "name": "Mobile Offline Mode",
                "archivedAt": None,
                "trashed": None,
                "teams": {"nodes": [eng]},
            },
            {
                "id": "prj-q1",
                "name": "Q1 Onboarding",
                "archivedAt": ARCHIVED_AT,
                "trashed": None,
                "teams": {"nodes": [gro]},
            },
        ]
        self.issues: list[dict[str, Any]] = [
            {
                "id": "iss-safari",
                "identifier": "ENG-1",
                "title": "Checkout times out on Safari",
                "priority": 2.0,
                "archivedAt": None,
                "completedAt": None,
                "canceledAt": None,
                "team": eng,
            },
        ]
        self.validation_errors: list[str] = []
        self.operations: list[tuple[str, str]] = []
        self.script: list[httpx.Response] = []

    @staticmethod
    def find(items: list[dict[str, Any]], ident: str, kind: str) -> dict[str, Any]:
        for item in items:
            if item["id"] == ident:
                return item
        raise ValueError(f"Entity not found: {kind}")

    @property
    def mutations(self) -> list[str]:
        return [name for kind, name in self.operations if kind == "mutation"]

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Validate against the schema, then execute; scripted answers first, if any."""
        from graphql import GraphQLError, execute, parse, validate

        if self.script:
            return self.script.pop(0)
        if request.headers.get("authorization") != TOKEN:
            return httpx.Response(
                400,
                json={
                    "errors": [
                        {
                            "message": "Authentication required, not authenticated",
                            "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR"},
                        }
                    ]
                },
            )
        body = json.loads(request.content)
        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            self.validation_errors.append(exc.message)
            return httpx.Response(400, json={"errors": [exc.formatted]})
        problems = validate(self.schema, document)
        if problems:
            self.validation_errors.extend(p.message for p in problems)
            return httpx.Response(400, json={"errors": [p.formatted for p in problems]})
        for definition in document.definitions:
            operation = getattr(definition, "operation", None)
            if operation is not None:
                self.operations.append((operation.value, definition.name.value if definition.name else ""))
        result = execute(
            self.schema,
            document,
            root_value=_Root(self),
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        return httpx.Response(200, json=answer)
