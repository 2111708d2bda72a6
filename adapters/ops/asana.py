"""Asana adapter: projects and tasks through the REST API 1.0.

Configuration: a personal access token (or OAuth token) in ``SOPHIA_ASANA_TOKEN`` (or
``…_TOKEN_FILE``), sent as ``Authorization: Bearer``; ``SOPHIA_ASANA_BASE_URL`` overrides
``https://app.asana.com/api/1.0`` (tests: a contract server's host root). Every project lives in
one workspace: ``SOPHIA_ASANA_WORKSPACE`` holds its gid (required; a missing one is a
``ConfigError`` naming it). ``SOPHIA_ASANA_TEAM`` (a team name or gid) is the team a new project
is shared with when the command names none; in an organization Asana requires one.

Asana wraps request bodies in ``{"data": {...}}`` and answers ``{"data": ...}`` (lists add
``next_page.offset``); errors are ``{"errors": [{"message": ...}]}``, whose first message the
shared client reports.

How each action is carried out:

* a project is found by NAME (what users type) among the workspace's projects, archived or not,
  listed with ``GET /projects?workspace=…`` page by page; an exact-case match wins over a
  case-insensitive one, a numeric target may also be the gid, and two candidates left is an
  error listing them. Its state is ``{"gid", "name", "team", "archived"}`` (``team``: the
  team's name);
* ``project.create`` → ``POST /projects`` with the workspace and, when given, the team (found
  by name among ``GET /workspaces/{gid}/teams``); then read back with ``GET /projects/{gid}``.
  Its inverse (the catalog's) archives it: Asana deletes are permanent, archiving is not;
* ``project.archive`` / ``unarchive`` → ``PUT /projects/{gid}`` with ``archived`` true/false
  (absolute, so safe to repeat after a 5xx), then read back;
* ``task.create`` → ``POST /tasks`` in the project's gid (with ``assignee``: an email or
  ``me``); its state, found with ``GET /tasks?project=…&completed_since=now`` (open tasks
  only), is ``{"gid", "name", "project", "assignee"}``. A second open task with the same name
  is refused, which also stops a retried command from filing twice. No inverse in the catalog.

Errors: 401/403 → :class:`~adapters.http.PlatformAuthError` naming ``SOPHIA_ASANA_TOKEN``;
404 → ``NotFoundError`` naming the project; 429 (with ``Retry-After``) and 5xx are retried by the
shared client (reads and the archive PUT; a create POST is never repeated after a server error,
because Asana takes no idempotency key). Webhooks are not handled (``supports_webhooks`` is
False): Asana's ``X-Hook-Secret`` handshake and ``X-Hook-Signature`` are not implemented yet.

The contract this is tested against is WRITTEN BY HAND from Asana's API reference
(``tests/contract/fixtures/asana/openapi.yaml``, which cites the pages): it shows the requests
match the documentation, not that the live API accepts them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State
from adapters.catalog import ActionCall, Stack
from adapters.http import HttpAdapter, api_path
from adapters.specs.asana import ACTIONS
from orchestrator.errors import AdapterError, ConfigError, NotFoundError, SophiaError, ValidationFailedError

__all__ = ["DEFAULT_BASE_URL", "AsanaAdapter", "project_state", "workspace_gid"]

DEFAULT_BASE_URL = "https://app.asana.com/api/1.0"
WORKSPACE_VAR = "SOPHIA_ASANA_WORKSPACE"
TEAM_VAR = "SOPHIA_ASANA_TEAM"
_PROJECT_FIELDS = "name,archived,team.name"
_TASK_FIELDS = "name,assignee.email,projects.name"


def _obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (vendor data is untrusted)."""
    return value if isinstance(value, dict) else {}


def _text(value: object, limit: int = 255) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _name(target: str | None, what: str = "project") -> str:
    name = " ".join((target or "").split())
    if not name or len(name) > 255:
        raise ValidationFailedError(
            f"asana: {target!r} is not a {what} name",
            hint=f"give the {what}'s name (1-255 characters)",
            details={"field": "target"},
        )
    return name


def workspace_gid(environ: Mapping[str, str] | None = None) -> str:
    """The workspace gid from ``SOPHIA_ASANA_WORKSPACE``.

    Raises:
        ConfigError: naming the variable when it is unset or not a gid.
    """
    value = (os.environ if environ is None else environ).get(WORKSPACE_VAR, "").strip()
    if not value.isdigit():
        said = f"={value!r} is not a workspace gid" if value else " is not set"
        raise ConfigError(
            f"asana: {WORKSPACE_VAR}{said}",
            hint=f"set {WORKSPACE_VAR} to your workspace's gid (the number GET /workspaces lists)",
        )
    return value


def project_state(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``{"gid", "name", "team", "archived"}`` from an Asana project record."""
    return {
        "gid": _text(raw.get("gid"), 40),
        "name": _text(raw.get("name")),
        "team": _text(_obj(raw.get("team")).get("name")),
        "archived": raw.get("archived") is True,
    }


def _task_state(raw: Mapping[str, Any], project: str | None) -> dict[str, Any]:
    return {
        "gid": _text(raw.get("gid"), 40),
        "name": _text(raw.get("name"), 1024),
        "project": project,
        "assignee": _text(_obj(raw.get("assignee")).get("email")),
    }


class AsanaAdapter(HttpAdapter):
    """Asana projects (create, archive, unarchive) and tasks (create)."""

    name: ClassVar[str] = "asana"
    display_name: ClassVar[str] = "Asana"
    stack: ClassVar[Stack] = Stack.OPS
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("project", "task")
    content_on_delete: ClassVar[Mapping[str, str]] = {
        "project": "its tasks are not restored",
        "task": "its comments, subtasks and attachments are not restored",
    }
    supports_webhooks: ClassVar[bool] = False
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    #: Records per list page (Asana allows 1-100).
    page_size: ClassVar[int] = 100
    #: Most pages read for one listing; a workspace larger than this is reported, not truncated.
    max_pages: ClassVar[int] = 50

    # -- reads -----------------------------------------------------------------------------

    async def _list(
        self, path: str, params: Mapping[str, str], *, action: str, target: str | None = None
    ) -> list[dict[str, Any]]:
        """Every record of a paginated list (``limit``/``offset``), within :attr:`max_pages`."""
        records: list[dict[str, Any]] = []
        query: dict[str, Any] = {**params, "limit": self.page_size}
        for _ in range(self.max_pages):
            reply = await self.http.request("GET", path, action=action, target=target, params=query)
            body = _obj(reply.data)
            data = body.get("data")
            if not isinstance(data, list):
                raise AdapterError(
                    f"asana answered {path} without a list (during {action})",
                    hint="Asana or a proxy in front of it is misbehaving; retry later",
                    details={"platform": "asana", "action": action},
                )
            records.extend(r for r in data if isinstance(r, dict))
            offset = _obj(body.get("next_page")).get("offset")
            if not isinstance(offset, str) or not offset:
                return records
            query["offset"] = offset
        raise AdapterError(
            f"asana: {path} has more than {self.max_pages * self.page_size} records (during {action})",
            hint="too many to search by name; name the project by its gid",
            details={"platform": "asana", "action": action},
        )

    async def _projects(self, action: str) -> list[dict[str, Any]]:
        return await self._list(
            "/projects", {"workspace": workspace_gid(), "opt_fields": _PROJECT_FIELDS}, action=action
        )

    async def _find_project(self, target: str | None, action: str) -> dict[str, Any] | None:
        """The one project called ``target`` (or with that gid), None, or an ambiguity error."""
        name = _name(target)
        raws = await self._projects(action)
        by_gid = [r for r in raws if r.get("gid") == name] if name.isdigit() else []
        exact = by_gid or [r for r in raws if r.get("name") == name]
        found = exact or [r for r in raws if str(r.get("name", "")).casefold() == name.casefold()]
        if len(found) > 1:
            candidates = ", ".join(
                f"{r.get('name')} (gid {r.get('gid')}, team {_obj(r.get('team')).get('name') or '-'}"
                f"{', archived' if r.get('archived') else ''})"
                for r in found[:10]
            )
            raise ValidationFailedError(
                f"asana: {len(found)} projects are called {name!r}: {candidates}",
                hint="name the project by its gid instead",
                details={"platform": "asana", "action": action, "candidates": [r.get("gid") for r in found]},
            )
        return found[0] if found else None

    async def _read_project(self, gid: str, name: str, action: str) -> dict[str, Any]:
        reply = await self.http.request(
            "GET",
            api_path("/projects/{project_gid}", project_gid=gid),
            action=action,
            target=name,
            params={"opt_fields": _PROJECT_FIELDS},
        )
        return project_state(_obj(_obj(reply.data).get("data")))

    async def observe_project(self, call: ActionCall) -> State:
        """``{"gid", "name", "team", "archived"}`` of the project named by the target, or None."""
        raw = await self._find_project(call.target, call.action)
        return project_state(raw) if raw is not None else None

    async def _project_gid(self, call: ActionCall) -> tuple[str, str]:
        """(gid, name) of the call's project, or ``NotFoundError`` naming it."""
        raw = await self._find_project(call.target, call.action)
        if raw is None or not isinstance(raw.get("gid"), str):
            raise self._missing(_name(call.target), call.action)
        return raw["gid"], str(raw.get("name") or call.target)

    async def _team_gid(self, team: str, action: str) -> str:
        teams = await self._list(
            api_path("/workspaces/{workspace_gid}/teams", workspace_gid=workspace_gid()),
            {"opt_fields": "name"},
            action=action,
            target=team,
        )
        found = [t for t in teams if t.get("gid") == team] or [
            t for t in teams if str(t.get("name", "")).casefold() == team.casefold()
        ]
        if len(found) != 1 or not isinstance(found[0].get("gid"), str):
            known = ", ".join(sorted(str(t.get("name")) for t in teams)[:20]) or "none"
            what = "several teams are" if found else "no team is"
            raise NotFoundError(
                f"asana: {what} called {team!r} in the workspace",
                hint=f"use one of: {known} (or the team's gid)",
                details={"platform": "asana", "action": action, "target": team},
            )
        return str(found[0]["gid"])

    async def observe_task(self, call: ActionCall) -> State:
        """The project's open task with exactly this name, or None (a missing project raises)."""
        gid, project = await self._project_gid(call)
        tasks = await self._list(
            "/tasks",
            {"project": gid, "completed_since": "now", "opt_fields": _TASK_FIELDS},
            action=call.action,
            target=project,
        )
        wanted = call.params["name"]
        same = [t for t in tasks if t.get("name") == wanted]
        return _task_state(same[0], project) if same else None

    # -- changes ---------------------------------------------------------------------------

    def _team_for(self, call: ActionCall) -> str | None:
        return call.params.get("team") or os.environ.get(TEAM_VAR, "").strip() or None

    async def do_project_create(self, call: ActionCall, before: State) -> State:
        """``POST /projects`` in the workspace (and team), then ``GET /projects/{gid}``."""
        name = _name(call.target)
        data: dict[str, Any] = {"name": name, "workspace": workspace_gid()}
        team = self._team_for(call)
        if team:
            data["team"] = await self._team_gid(team, call.action)
        reply = await self.http.request(
            "POST",
            "/projects",
            action=call.action,
            target=name,
            json={"data": data},
            params={"opt_fields": _PROJECT_FIELDS},
        )
        gid = _obj(_obj(reply.data).get("data")).get("gid")
        if not isinstance(gid, str):
            return await self.observe_project(call)
        return await self._read_project(gid, name, call.action)

    async def _set_archived(self, call: ActionCall, before: State, archived: bool) -> State:
        name = _name(call.target)
        gid = str((before or {}).get("gid") or (await self._project_gid(call))[0])
        await self.http.request(
            "PUT",
            api_path("/projects/{project_gid}", project_gid=gid),
            action=call.action,
            target=name,
            json={"data": {"archived": archived}},
            params={"opt_fields": _PROJECT_FIELDS},
        )
        return await self._read_project(gid, name, call.action)

    async def do_project_archive(self, call: ActionCall, before: State) -> State:
        """``PUT /projects/{gid}`` with ``archived: true``, then read back."""
        return await self._set_archived(call, before, True)

    async def do_project_unarchive(self, call: ActionCall, before: State) -> State:
        """``PUT /projects/{gid}`` with ``archived: false``, then read back."""
        return await self._set_archived(call, before, False)

    async def do_task_create(self, call: ActionCall, before: State) -> State:
        """``POST /tasks`` in the project; the created record is the read-back."""
        gid, project = await self._project_gid(call)
        data: dict[str, Any] = {"name": call.params["name"], "projects": [gid]}
        if call.params.get("assignee"):
            data["assignee"] = call.params["assignee"]
        reply = await self.http.request(
            "POST",
            "/tasks",
            action=call.action,
            target=project,
            json={"data": data},
            params={"opt_fields": _TASK_FIELDS},
        )
        raw = _obj(_obj(reply.data).get("data"))
        if not isinstance(raw.get("gid"), str):
            return await self.observe_task(call)
        return _task_state(raw, project)

    # -- planning --------------------------------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse duplicates, changes to missing projects, and no-op archives."""
        workspace_gid()
        verb = call.action.removeprefix("asana.")
        if verb == "task.create":
            if before is not None:
                raise ValidationFailedError(
                    f"asana: {before.get('project')!r} already has an open task called {before.get('name')!r}",
                    hint="to add another one, give it a different name",
                )
            return
        name = _name(call.target)
        if verb == "project.create":
            if before is not None:
                tail = " (archived: unarchive it instead)" if before.get("archived") else ""
                raise ValidationFailedError(
                    f"asana: project {name!r} already exists{tail}", hint="choose another name"
                )
            return
        if before is None:
            raise self._missing(name, call.action)
        if verb == "project.archive" and before.get("archived"):
            raise ValidationFailedError(f"asana: {name!r} is already archived", hint="nothing to do")
        if verb == "project.unarchive" and not before.get("archived"):
            raise ValidationFailedError(f"asana: {name!r} is not archived", hint="nothing to do")

    def predict(self, call: ActionCall, before: State) -> State:
        """Only the fields the call decides (``team`` as typed: :meth:`reached` ignores case)."""
        verb = call.action.removeprefix("asana.")
        if verb == "task.create":
            return {"name": call.params["name"]}
        if verb == "project.create":
            expected: dict[str, Any] = {"name": _name(call.target), "archived": False}
            team = self._team_for(call)
            if team and not team.isdigit():
                expected["team"] = team
            return expected
        b = before or {}
        return {"gid": b.get("gid"), "name": b.get("name"), "archived": verb == "project.archive"}

    def reached(self, call: ActionCall, expected: State, observed: State) -> bool:
        """Like :func:`adapters.base.matches`, but a team name matches in any case."""
        if expected is None or observed is None:
            return expected is None and observed is None
        for key, value in expected.items():
            seen = observed.get(key)
            if key == "team" and isinstance(value, str) and isinstance(seen, str):
                if value.casefold() != seen.casefold():
                    return False
            elif seen != value:
                return False
        return True

    @staticmethod
    def _missing(name: str, action: str) -> NotFoundError:
        return NotFoundError(
            f"asana: no project named {name!r} ({action})",
            hint="check the name; `sophia-iac status asana` lists the projects",
            details={"platform": "asana", "action": action, "target": name},
        )

    # -- status ----------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Every project in the workspace (archived or not) as inventory, and the breaker."""
        try:
            raws = await self._projects("asana.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        projects = [project_state(r) for r in raws if r.get("name")]
        archived = sum(1 for p in projects if p["archived"])
        return PlatformStatus(
            "asana",
            healthy=True,
            message=f"workspace {workspace_gid()}: {len(projects)} project(s), {archived} archived",
            inventory={"project": projects},
            details={
                "circuit": self.http.breaker.snapshot(),
                "base_url": self.http.base_url,
                "workspace": workspace_gid(),
            },
        )
