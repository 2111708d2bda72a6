"""Linear adapter: projects and issues through the GraphQL API.

One endpoint, ``POST https://api.linear.app/graphql`` (``SOPHIA_LINEAR_BASE_URL`` overrides the
host), through the shared :class:`adapters.http.HttpAdapter` client; the credential is
``SOPHIA_LINEAR_TOKEN`` (a personal API key, sent as ``Authorization: <key>``). Every query and
mutation the adapter can send is a constant in :data:`DOCUMENTS`, validated in the tests with
``graphql-core`` against Linear's published SDL (``schema.graphql``). Webhooks:
``SOPHIA_LINEAR_WEBHOOK_SECRET``; ``Linear-Signature`` HMAC-SHA256 over the raw body, the body's
``webhookTimestamp`` within ±60 s of receipt (as Linear's own SDK enforces); the delivery id
is ``Linear-Delivery``, on which the inbox deduplicates.

Errors: Linear reports failures as GraphQL errors whose ``extensions.type`` says what happened
(``ratelimited``, ``authentication error``, ``forbidden`` …), with HTTP 200, 400 or 429.
:class:`GraphQLStatusTransport` gives those their HTTP meaning (429/401/403) before the shared
client sees them, so its retry (honouring ``Retry-After``), breaker and "name the credential"
handling apply unchanged; other GraphQL errors become an :class:`AdapterError` naming the
action (or :class:`NotFoundError` naming the target for "not found"). A query is a read and may
be retried after a 5xx or timeout; a mutation is not (Linear has no idempotency keys, so a
timed-out ``issueCreate`` may have landed: the executor reads the issue back by title, and
records it ``applied`` if it is there, ``needs_reconcile`` until the reconciler settles it
otherwise).

Schema notes: ``projectArchive`` is deprecated in the schema "in favor of projectDelete", which
*trashes* (purged after 30 days) — that would make archive destructive, so the adapter keeps
``projectArchive(trash: false)`` while the schema has it. Issues are found by exact title among
the team's open issues; filing a second open issue with the same title is refused, which also
stops a retried command from filing twice.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

import httpx

from adapters.base import (
    ObservedChange,
    PlatformStatus,
    State,
    WebhookRequest,
    WebhookResult,
)
from adapters.catalog import ActionCall, Stack
from adapters.credentials import scrub, webhook_secret
from adapters.http import HttpAdapter
from adapters.specs.linear import ACTIONS
from adapters.webhooks import verify_linear
from orchestrator.errors import AdapterError, NotFoundError, SophiaError, ValidationFailedError

__all__ = ["DOCUMENTS", "GraphQLStatusTransport", "LinearAdapter", "linear_changes"]

DEFAULT_BASE_URL = "https://api.linear.app"

_PROJECT_FIELDS = (
    "fragment ProjectFields on Project { id name archivedAt trashed teams(first: 10) { nodes { key name } } }"
)
_ISSUE_FIELDS = "fragment IssueFields on Issue { id identifier title priority archivedAt team { key name } }"

#: Every GraphQL document the adapter sends (the tests validate each against the schema).
DOCUMENTS: dict[str, str] = {
    "team": """query SophiaTeam($team: String!) {
  teams(filter: {or: [{key: {eqIgnoreCase: $team}}, {name: {eqIgnoreCase: $team}}]}, first: 5) {
    nodes { id key name } } }""",
    "project": """query SophiaProject($name: String!) {
  projects(filter: {name: {eqIgnoreCase: $name}}, includeArchived: true, first: 20) {
    nodes { ...ProjectFields } } }
"""
    + _PROJECT_FIELDS,
    "project_create": """mutation SophiaProjectCreate($name: String!, $teamId: String!) {
  projectCreate(input: {name: $name, teamIds: [$teamId]}) { success project { ...ProjectFields } } }
"""
    + _PROJECT_FIELDS,
    "project_archive": """mutation SophiaProjectArchive($id: String!) {
  projectArchive(id: $id, trash: false) { success entity { ...ProjectFields } } }
"""
    + _PROJECT_FIELDS,
    "project_unarchive": """mutation SophiaProjectUnarchive($id: String!) {
  projectUnarchive(id: $id) { success entity { ...ProjectFields } } }
"""
    + _PROJECT_FIELDS,
    "open_issue": """query SophiaOpenIssue($team: String!, $title: String!) {
  issues(filter: {team: {or: [{key: {eqIgnoreCase: $team}}, {name: {eqIgnoreCase: $team}}]},
                  title: {eq: $title}, completedAt: {null: true}, canceledAt: {null: true}}, first: 5) {
    nodes { ...IssueFields } } }
"""
    + _ISSUE_FIELDS,
    "issue": """query SophiaIssue($id: String!) { issue(id: $id) { ...IssueFields } }
"""
    + _ISSUE_FIELDS,
    "issue_create": """mutation SophiaIssueCreate($teamId: String!, $title: String!, $priority: Int) {
  issueCreate(input: {teamId: $teamId, title: $title, priority: $priority}) { success issue { ...IssueFields } } }
"""
    + _ISSUE_FIELDS,
    "status": """query SophiaStatus {
  viewer { id name }
  organization { name urlKey }
  teams(first: 100) { nodes { id key name } }
  projects(first: 100, includeArchived: true) { nodes { ...ProjectFields } } }
"""
    + _PROJECT_FIELDS,
}

_STATUS_OF_ERROR = {
    "ratelimited": 429,
    "authentication error": 401,
    "forbidden": 403,
    "RATELIMITED": 429,
    "AUTHENTICATION_ERROR": 401,
    "FORBIDDEN": 403,
}
_PROJECT_NAME = re.compile(r"^\S(?:.{0,253}\S)?$")


def _obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (vendor data is untrusted)."""
    return value if isinstance(value, dict) else {}


class GraphQLStatusTransport(httpx.AsyncBaseTransport):
    """Gives Linear's GraphQL-level failures their HTTP status (see the module docstring).

    A 200/400 answer whose first error is ``ratelimited``/``authentication error``/``forbidden``
    becomes 429/401/403; any other 400 carrying GraphQL errors becomes 200, so the adapter can
    report Linear's own message (the shared client would only say "HTTP 400").
    """

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if response.status_code not in (200, 400) or "json" not in response.headers.get("content-type", ""):
            return response
        content = await response.aread()
        status = response.status_code
        try:
            body = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            body = None
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            ext = _obj(errors[0].get("extensions"))
            status = _STATUS_OF_ERROR.get(
                str(ext.get("type")), _STATUS_OF_ERROR.get(str(ext.get("code")), 200)
            )
        headers = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        ]
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _project_state(node: Mapping[str, Any]) -> dict[str, Any]:
    teams = (node.get("teams") or {}).get("nodes") or [] if isinstance(node.get("teams"), dict) else []
    first = teams[0] if teams and isinstance(teams[0], dict) else {}
    return {
        "id": node.get("id"),
        "name": node.get("name"),
        "team": first.get("key"),
        "team_name": first.get("name"),
        "archived": bool(node.get("archivedAt") or node.get("trashed")),
    }


def _issue_state(node: Mapping[str, Any]) -> dict[str, Any]:
    team = _obj(node.get("team"))
    priority = node.get("priority")
    return {
        "id": node.get("id"),
        "identifier": node.get("identifier"),
        "title": node.get("title"),
        "priority": int(priority) if isinstance(priority, (int, float)) else None,
        "team": team.get("key"),
        "team_name": team.get("name"),
    }


class LinearAdapter(HttpAdapter):
    """Linear projects (create, archive, unarchive) and issues (create)."""

    name: ClassVar[str] = "linear"
    display_name: ClassVar[str] = "Linear"
    stack: ClassVar[Stack] = Stack.OPS
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("project", "issue", "team")
    content_on_delete: ClassVar[Mapping[str, str]] = {
        "project": "its issues and updates are not restored",
        "issue": "its comments, history and links are not restored",
    }
    supports_webhooks: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL

    @cached_property
    def _teams(self) -> dict[str, dict[str, Any]]:
        """Teams this adapter has resolved, by lower-cased key or name."""
        return {}

    def client_transport(self) -> httpx.AsyncBaseTransport:
        """The injected transport behind :class:`GraphQLStatusTransport` (GraphQL errors → HTTP)."""
        return GraphQLStatusTransport(self.transport)

    async def _graphql(
        self, document: str, variables: Mapping[str, Any], *, action: str, target: str | None = None
    ) -> dict[str, Any]:
        """Send one :data:`DOCUMENTS` entry; return ``data`` or raise naming action and target."""
        text = DOCUMENTS[document]
        read = text.lstrip().startswith("query")
        reply = await self.http.request(
            "POST",
            "/graphql",
            action=action,
            target=target,
            json={
                "query": text,
                "variables": dict(variables),
                "operationName": text.split()[1].split("(")[0],
            },
            # A query is a read, safe to repeat; Linear takes no idempotency key, so this only says so.
            idempotency_key=f"read-{uuid.uuid4()}" if read else None,
        )
        body = _obj(reply.data)
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        if errors:
            messages = []
            for err in errors[:3]:
                ext = _obj(err.get("extensions"))
                messages.append(
                    scrub(str(ext.get("userPresentableMessage") or err.get("message") or "error"))[:160]
                )
            said = "; ".join(messages)
            details = {"platform": "linear", "action": action, "errors": messages}
            if any("not found" in m.lower() for m in messages):
                raise NotFoundError(
                    f"linear: {target or 'the resource'} not found ({action}): {said}",
                    hint="check the name; `sophia-iac status linear` lists projects and teams",
                    details=details,
                )
            raise AdapterError(
                f"linear rejected {action}" + (f" on {target}" if target else "") + f": {said}",
                hint="Linear refused the request as sent; see its message",
                details=details,
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise AdapterError(
                f"linear returned no data for {action}",
                hint="Linear or a proxy is misbehaving; retry",
                details={"platform": "linear", "action": action},
            )
        return data

    # -- teams -----------------------------------------------------------------------------
    async def _team(self, team: str, action: str) -> dict[str, Any]:
        cached = self._teams.get(team.lower())
        if cached is not None:
            return cached
        data = await self._graphql("team", {"team": team}, action=action, target=team)
        nodes = [n for n in (data.get("teams") or {}).get("nodes") or [] if isinstance(n, dict)]
        exact = [n for n in nodes if str(n.get("key", "")).lower() == team.lower()] or nodes
        if not exact:
            raise NotFoundError(
                f"linear: no team {team!r}",
                hint="use the team's key (ENG) or name; `sophia-iac status linear` lists teams",
            )
        self._teams[team.lower()] = exact[0]
        return exact[0]

    # -- projects --------------------------------------------------------------------------
    @staticmethod
    def project_name(target: str | None) -> str:
        """A project name: 1–255 characters, trimmed, inner whitespace collapsed."""
        name = " ".join((target or "").split())
        if not _PROJECT_NAME.match(name):
            raise ValidationFailedError(
                f"linear: {target!r} is not a project name",
                hint="give the project's name (1-255 characters)",
                details={"field": "target"},
            )
        return name

    async def observe_project(self, call: ActionCall) -> State:
        """``{"id", "name", "team", "team_name", "archived"}``, or None (archived ones count)."""
        name = self.project_name(call.target)
        data = await self._graphql("project", {"name": name}, action=call.action, target=name)
        nodes = [n for n in (data.get("projects") or {}).get("nodes") or [] if isinstance(n, dict)]
        if not nodes:
            return None
        states = [_project_state(n) for n in nodes]
        states.sort(key=lambda s: (s["archived"], s["name"] != name))
        return states[0]

    async def do_project_create(self, call: ActionCall, before: State) -> State:
        """``projectCreate`` for the team; then read the project back by name."""
        name = self.project_name(call.target)
        team = await self._team(call.params["team"], call.action)
        await self._graphql(
            "project_create", {"name": name, "teamId": team["id"]}, action=call.action, target=name
        )
        return await self.observe_project(call)

    async def _archive(self, document: str, call: ActionCall, before: State) -> State:
        name = self.project_name(call.target)
        await self._graphql(document, {"id": str((before or {})["id"])}, action=call.action, target=name)
        return await self.observe_project(call)

    async def do_project_archive(self, call: ActionCall, before: State) -> State:
        """``projectArchive(trash: false)``."""
        return await self._archive("project_archive", call, before)

    async def do_project_unarchive(self, call: ActionCall, before: State) -> State:
        """``projectUnarchive``."""
        return await self._archive("project_unarchive", call, before)

    # -- issues ----------------------------------------------------------------------------
    async def observe_issue(self, call: ActionCall) -> State:
        """The team's open issue with exactly this title (None when there is none)."""
        team = (call.target or "").strip()
        data = await self._graphql(
            "open_issue", {"team": team, "title": call.params["title"]}, action=call.action, target=team
        )
        nodes = [n for n in (data.get("issues") or {}).get("nodes") or [] if isinstance(n, dict)]
        return _issue_state(nodes[0]) if nodes else None

    async def do_issue_create(self, call: ActionCall, before: State) -> State:
        """``issueCreate``; then read the new issue back by its id."""
        p = call.params
        team = await self._team((call.target or "").strip(), call.action)
        data = await self._graphql(
            "issue_create",
            {"teamId": team["id"], "title": p["title"], "priority": p["priority"]},
            action=call.action,
            target=call.target,
        )
        issue = (data.get("issueCreate") or {}).get("issue") or {}
        if not isinstance(issue.get("id"), str):
            return await self.observe_issue(call)
        read = await self._graphql("issue", {"id": issue["id"]}, action=call.action, target=call.target)
        return _issue_state(read["issue"]) if isinstance(read.get("issue"), dict) else None

    # -- planning --------------------------------------------------------------------------
    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse duplicates, changes to missing projects, and no-op archives."""
        verb = call.action.removeprefix("linear.")
        if verb == "issue.create":
            if not (call.target or "").strip():
                raise ValidationFailedError("linear: which team?", hint="name the team key, e.g. ENG")
            if before is not None:
                raise ValidationFailedError(
                    f"linear: {before.get('identifier')} is already open in {call.target} with this title",
                    hint="to file another one, give it a different title",
                )
            return
        name = self.project_name(call.target)
        if verb == "project.create":
            if before is not None:
                tail = " (archived: unarchive it instead)" if before.get("archived") else ""
                raise ValidationFailedError(
                    f"linear: project {name!r} already exists{tail}", hint="choose another name"
                )
            return
        if before is None:
            raise ValidationFailedError(
                f"linear: no project named {name!r}", hint="`sophia-iac status linear` lists projects"
            )
        if verb == "project.archive" and before.get("archived"):
            raise ValidationFailedError(f"linear: {name!r} is already archived", hint="nothing to do")
        if verb == "project.unarchive" and not before.get("archived"):
            raise ValidationFailedError(f"linear: {name!r} is not archived", hint="nothing to do")

    def predict(self, call: ActionCall, before: State) -> State:
        """Only the fields the call decides; ``team`` may be a key or a name (see :meth:`reached`)."""
        verb = call.action.removeprefix("linear.")
        p, b = call.params, before or {}
        if verb == "issue.create":
            return {"team": (call.target or "").strip(), "title": p["title"], "priority": p["priority"] or 0}
        if verb == "project.create":
            return {"name": self.project_name(call.target), "team": p["team"], "archived": False}
        return {"id": b.get("id"), "name": b.get("name"), "archived": verb == "project.archive"}

    def reached(self, call: ActionCall, expected: State, observed: State) -> bool:
        """Like :func:`adapters.base.matches`, but a team matches by key or name, any case."""
        if expected is None or observed is None:
            return expected is None and observed is None
        for key, value in expected.items():
            if key == "team":
                names = {
                    str(observed.get("team") or "").lower(),
                    str(observed.get("team_name") or "").lower(),
                }
                if str(value).lower() not in names:
                    return False
            elif observed.get(key) != value:
                return False
        return True

    # -- public ----------------------------------------------------------------------------
    async def get_status(self) -> PlatformStatus:
        """Viewer and workspace, teams and projects as inventory, and the circuit breaker."""
        try:
            data = await self._graphql("status", {}, action="linear.status")
        except SophiaError as exc:
            return PlatformStatus(
                self.name, healthy=False, message=str(exc), details={"circuit": self.breaker.snapshot()}
            )
        teams = [
            {"name": t.get("key"), "id": t.get("id"), "title": t.get("name")}
            for t in (data.get("teams") or {}).get("nodes") or []
            if isinstance(t, dict) and t.get("key")
        ]
        projects = [
            _project_state(n) for n in (data.get("projects") or {}).get("nodes") or [] if isinstance(n, dict)
        ]
        org = _obj(data.get("organization"))
        viewer = _obj(data.get("viewer"))
        return PlatformStatus(
            self.name,
            healthy=True,
            message=f"{org.get('name') or '?'} as {viewer.get('name') or '?'}: {len(teams)} team(s), "
            f"{len(projects)} project(s)",
            inventory={"team": teams, "project": [p for p in projects if p.get("name")]},
            details={"circuit": self.breaker.snapshot(), "workspace": org.get("urlKey")},
        )

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify ``Linear-Signature`` and ``webhookTimestamp`` (±60 s of receipt); report the changes.

        The delivery id is ``Linear-Delivery``; deduplicating on it is the inbox's job (durably,
        across processes), so a retry or a replay of a stored delivery is handled again here.
        """
        verified = verify_linear(request, webhook_secret("linear"))
        changes = linear_changes(verified.payload)
        return WebhookResult(
            "linear",
            verified.delivery_id,
            verified.event_type,
            changes,
            summary=f"{verified.event_type}: {len(changes)} change(s)",
        )


_VERBS = {"create": "created", "update": "updated", "remove": "removed"}


def _text(value: object, limit: int = 255) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def linear_changes(payload: Mapping[str, Any]) -> list[ObservedChange]:
    """Project and issue changes in a verified delivery (titles and names are data, truncated)."""
    data = _obj(payload.get("data"))
    actor_info = _obj(payload.get("actor"))
    actor = _text(actor_info.get("name")) or _text(actor_info.get("id"))
    verb = _VERBS.get(str(payload.get("action")), "updated")
    kind = payload.get("type")
    state: dict[str, Any] | None
    if kind == "Project" and data:
        name = _text(data.get("name")) or _text(data.get("id")) or "?"
        state = (
            None
            if verb == "removed"
            else {"id": _text(data.get("id")), "name": name, "archived": bool(data.get("archivedAt"))}
        )
        return [ObservedChange("project", name, state, verb=verb, actor=actor)]
    if kind == "Issue" and data:
        name = _text(data.get("identifier")) or _text(data.get("id")) or "?"
        team = _obj(data.get("team"))
        priority = data.get("priority")
        state = (
            None
            if verb == "removed"
            else {
                "id": _text(data.get("id")),
                "identifier": name,
                "title": _text(data.get("title")),
                "priority": int(priority) if isinstance(priority, (int, float)) else None,
                "team": _text(team.get("key")),
            }
        )
        return [ObservedChange("issue", name, state, verb=verb, actor=actor)]
    return []
