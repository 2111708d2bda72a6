"""Vercel adapter: project environment variables, production deployments and domains (REST).

Every request goes through the shared :class:`adapters.http.HttpAdapter` client (base URL
``https://api.vercel.com``, ``SOPHIA_VERCEL_BASE_URL`` overrides it; bearer token from
``SOPHIA_VERCEL_TOKEN``; optional non-secret ``SOPHIA_VERCEL_TEAM_ID`` adds ``teamId`` to each
call). Endpoints, all in the published contract (``vercel-spec.2025-10-27.json``):

=====================  =================================================================
env.set / env.unset    ``GET /v10/projects/{p}/env``, ``POST /v10/projects/{p}/env``,
                       ``PATCH`` / ``DELETE /v9/projects/{p}/env/{id}``
deployment.*           ``GET /v9/projects/{p}`` (``targets.production``),
                       ``GET /v6/deployments``, ``POST /v10/projects/{id}/promote/{dpl}``
domain.add / remove    ``GET /v9/projects/{p}/domains``, ``POST /v10/projects/{p}/domains``,
                       ``DELETE /v9/projects/{p}/domains/{domain}``
status                 ``GET /v2/user``, ``GET /v10/projects``
=====================  =================================================================

**Secret values.** ``vercel.env.set``'s ``value`` is a secret param: a command that types it is
refused before anything is stored (:mod:`orchestrator.secret_params`), the executor redacts a
literal in the ledger (a reference is a name and is kept), and this adapter never puts a value
in any state it returns, never logs it, and registers it with the scrubber before sending.
Give it by reference, ``secret://NAME``, and the adapter resolves it at the moment of the call
through :mod:`adapters.credentials` from ``SOPHIA_VERCEL_ENV_<NAME>`` (or ``…_FILE``, or the
secret manager's ``vercel/env_<name>``); at plan time it only checks that one of them is set.
Literal values remain accepted here for programmatic callers (the IaC runner, tests).
The namespace is deliberate: a reference can't name an arbitrary process variable, so a parsed
command can't copy ``SOPHIA_GITHUB_TOKEN`` into a Vercel project.

**How undo works without storing values.** When a value is set by reference, the adapter writes
the reference (never the value) into the variable's Vercel ``comment`` as
``[sophia-iac value_ref=secret://NAME]``. Observing a variable reads that marker back as
``value_ref``, so the before-state of a later ``set``/``unset`` says which reference produced the
value being replaced, and the inverse is ``env.set(value=secret://NAME)``, resolved again at undo
time. Honest limits: the undo restores whatever ``SOPHIA_VERCEL_ENV_NAME`` holds *then*; and a
value that was set literally (or by hand in the dashboard) has no reference, so overwriting or
unsetting it is irreversible (the inverse is None and the ledger says so). Setting a variable
that did not exist is always undoable (the inverse is ``unset``).

A variable is identified by (key, environment). One that targets several environments is split
rather than edited in place, so changing ``production`` never changes ``preview``.

**Contract vs live API.** The contract has no rollback endpoint (the CLI's
``POST /v9/projects/{id}/rollback/{dpl}`` is not published), so ``deployment.rollback`` promotes
the previous READY production deployment with the published promote endpoint. Promotion is
asynchronous on the live API (202); the read-back polls ``targets.production`` for up to
``promote_wait`` seconds. The contract's list endpoints answer in several shapes (``{"envs":
[…]}``, a bare list, one object); all are accepted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
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
from adapters.credentials import (
    SCRUBBER,
    param_secret_ref,
    require_configured,
    resolve_secret,
    webhook_secret,
)
from adapters.http import HttpAdapter, Reply, Sleep, api_path
from adapters.specs.vercel import ACTIONS
from adapters.webhooks import verify_vercel
from orchestrator.errors import SophiaError, ValidationFailedError

__all__ = ["REF_PREFIX", "VercelAdapter", "value_ref_of", "vercel_changes"]

DEFAULT_BASE_URL = "https://api.vercel.com"
REF_PREFIX = "secret://"
_REF = re.compile(r"^secret://([A-Z][A-Z0-9_]{0,100})$")
_MARKER = re.compile(r"\s*\[sophia-iac value_ref=(secret://[A-Z][A-Z0-9_]{0,100})\]")
_PROJECT = re.compile(r"^(prj_[A-Za-z0-9]{4,64}|[a-z0-9][a-z0-9._-]{0,99})$")
_MAX_PAGES = 20


def _obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (vendor data is untrusted)."""
    return value if isinstance(value, dict) else {}


def value_ref_of(value: str) -> str | None:
    """``secret://NAME`` if ``value`` is a well-formed reference, None for a literal value.

    Raises:
        ValidationFailedError: for a ``secret://`` value that is not ``secret://UPPER_SNAKE``.
    """
    if not value.startswith(REF_PREFIX):
        return None
    if not _REF.match(value):
        raise ValidationFailedError(
            "vercel: a secret reference must look like secret://NAME (A-Z, 0-9, _)",
            hint="then set SOPHIA_VERCEL_ENV_NAME to the value",
            details={"field": "value"},
        )
    return value


def _ref_in(comment: object) -> str | None:
    match = _MARKER.search(comment) if isinstance(comment, str) else None
    return match.group(1) if match else None


def _with_ref(comment: object, ref: str | None) -> str:
    text = _MARKER.sub("", comment if isinstance(comment, str) else "").strip()
    if ref:
        text = f"{text} [sophia-iac value_ref={ref}]".strip()
    return text[:500]


def _items(data: Any, key: str) -> list[dict[str, Any]]:
    """The list under ``key``, a bare list, or a single object: the contract uses all three."""
    if isinstance(data, dict) and isinstance(data.get(key), list):
        items = data[key]
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict) and data:
        items = [data]
    else:
        items = []
    return [item for item in items if isinstance(item, dict)]


def _targets(entry: Mapping[str, Any]) -> list[str]:
    target = entry.get("target")
    if isinstance(target, str):
        return [target]
    return [t for t in target or [] if isinstance(t, str)]


def _plain(entry: Mapping[str, Any], key: str, environment: str) -> bool:
    """A project-wide variable ``key`` in ``environment`` (not branch- or custom-env-scoped)."""
    return (
        entry.get("key") == key
        and environment in _targets(entry)
        and not entry.get("gitBranch")
        and not entry.get("customEnvironmentIds")
    )


class VercelAdapter(HttpAdapter):
    """Vercel projects: environment variables, production deployment, domains."""

    name: ClassVar[str] = "vercel"
    display_name: ClassVar[str] = "Vercel"
    stack: ClassVar[Stack] = Stack.DEV
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("project", "env", "deployment", "domain")
    supports_webhooks: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = DEFAULT_BASE_URL

    def __init__(
        self,
        settings: Any = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        promote_wait: float = 10.0,
    ) -> None:
        super().__init__(settings, transport=transport, sleep=sleep)
        self.promote_wait = promote_wait
        self.team_id = os.environ.get("SOPHIA_VERCEL_TEAM_ID", "").strip() or None
        self._project_ids: dict[str, str] = {}

    # -- plumbing ------------------------------------------------------------------------
    async def _req(
        self,
        method: str,
        path: str,
        *,
        action: str,
        target: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Reply:
        query = dict(params or {})
        if self.team_id:
            query["teamId"] = self.team_id
        return await self.http.request(method, path, action=action, target=target, params=query, json=json)

    @staticmethod
    def project_of(target: str | None) -> str:
        """A Vercel project name (lower-case, ≤ 100 of a-z 0-9 . _ -) or id (``prj_…``)."""
        name = (target or "").strip()
        name = name if name.startswith("prj_") else name.lower()
        if not _PROJECT.match(name):
            raise ValidationFailedError(
                f"vercel: {target!r} is not a project name or id",
                hint="use the project's name as in its URL (a-z, 0-9, '.', '_', '-') or its prj_ id",
                details={"field": "target"},
            )
        return name

    @staticmethod
    def _path(template: str, project: str, **more: Any) -> str:
        """``template`` (a literal under ``/v…/projects/{idOrName}``) with each value one checked segment."""
        return api_path(template, idOrName=project, **more)

    # -- env -------------------------------------------------------------------------------
    async def _find_env(self, project: str, key: str, environment: str, action: str) -> dict[str, Any] | None:
        reply = await self._req(
            "GET", self._path("/v10/projects/{idOrName}/env", project), action=action, target=project
        )
        return next((e for e in _items(reply.data, "envs") if _plain(e, key, environment)), None)

    async def _env_state(self, project: str, key: str, environment: str, action: str) -> State:
        entry = await self._find_env(project, key, environment, action)
        return {
            "key": key,
            "environment": environment,
            "exists": entry is not None,
            "value_ref": _ref_in(entry.get("comment")) if entry else None,
        }

    async def observe_env(self, call: ActionCall) -> State:
        """``{"key", "environment", "exists", "value_ref"}``; the value itself is never read."""
        project = self.project_of(call.target)
        return await self._env_state(project, call.params["key"], call.params["environment"], call.action)

    def _resolve_value(self, value: str) -> tuple[str, str | None]:
        ref = value_ref_of(value)
        if ref is None:
            SCRUBBER.register(value)
            return value, None
        name = _REF.match(ref).group(1)  # type: ignore[union-attr]
        return resolve_secret(param_secret_ref("vercel", name)).reveal(), ref

    async def do_env_set(self, call: ActionCall, before: State) -> State:
        """Create, edit in place, or split a multi-environment variable; then read back."""
        project, p = self.project_of(call.target), call.params
        key, env = p["key"], p["environment"]
        value, ref = self._resolve_value(p["value"])
        entry = await self._find_env(project, key, env, call.action)
        base = self._path("/v10/projects/{idOrName}/env", project)
        if entry is None:
            body: dict[str, Any] = {"key": key, "value": value, "type": "encrypted", "target": [env]}
            if ref:
                body["comment"] = _with_ref("", ref)
            await self._req("POST", base, action=call.action, target=project, json=body)
        elif _targets(entry) == [env]:
            body = {"value": value}
            if ref or _ref_in(entry.get("comment")):
                body["comment"] = _with_ref(entry.get("comment"), ref)
            await self._req(
                "PATCH",
                self._path("/v9/projects/{idOrName}/env/{id}", project, id=str(entry["id"])),
                action=call.action,
                target=project,
                json=body,
            )
        else:
            await self._narrow(project, entry, env, call.action)
            kind = "sensitive" if entry.get("type") == "sensitive" and env != "development" else "encrypted"
            body = {"key": key, "value": value, "type": kind, "target": [env]}
            if ref:
                body["comment"] = _with_ref("", ref)
            await self._req("POST", base, action=call.action, target=project, json=body)
        return await self._env_state(project, key, env, call.action)

    async def _narrow(self, project: str, entry: Mapping[str, Any], env: str, action: str) -> None:
        remaining = [t for t in _targets(entry) if t != env]
        await self._req(
            "PATCH",
            self._path("/v9/projects/{idOrName}/env/{id}", project, id=str(entry["id"])),
            action=action,
            target=project,
            json={"target": remaining},
        )

    async def do_env_unset(self, call: ActionCall, before: State) -> State:
        """Delete the variable, or drop this environment from a multi-environment one."""
        project, key, env = self.project_of(call.target), call.params["key"], call.params["environment"]
        entry = await self._find_env(project, key, env, call.action)
        if entry is not None:
            if _targets(entry) == [env]:
                await self._req(
                    "DELETE",
                    self._path("/v9/projects/{idOrName}/env/{id}", project, id=str(entry["id"])),
                    action=call.action,
                    target=project,
                )
            else:
                await self._narrow(project, entry, env, call.action)
        return await self._env_state(project, key, env, call.action)

    # -- deployments -----------------------------------------------------------------------
    async def _project(self, project: str, action: str) -> dict[str, Any]:
        reply = await self._req(
            "GET",
            self._path("/v9/projects/{idOrName}", project),
            action=action,
            target=project,
        )
        data = _obj(reply.data)
        if isinstance(data.get("id"), str):
            self._project_ids[project] = data["id"]
        return data

    @staticmethod
    def _production_id(project: Mapping[str, Any]) -> str | None:
        ident = _obj(_obj(project.get("targets")).get("production")).get("id")
        return ident if isinstance(ident, str) else None

    async def _previous_production(
        self, project_id: str, current: str | None, action: str, target: str
    ) -> str | None:
        reply = await self._req(
            "GET",
            "/v6/deployments",
            action=action,
            target=target,
            params={
                "projectId": project_id,
                "target": "production",
                "state": "READY",
                "rollbackCandidate": "true",
                "limit": 20,
            },
        )
        for item in _items(reply.data, "deployments"):
            uid = item.get("uid") or item.get("id")
            if isinstance(uid, str) and uid != current:
                return uid
        return None

    async def observe_deployment(self, call: ActionCall) -> State:
        """``{"production_deployment_id"}`` (plus ``previous_deployment_id`` for a bare rollback)."""
        name = self.project_of(call.target)
        project = await self._project(name, call.action)
        current = self._production_id(project)
        state: dict[str, Any] = {"production_deployment_id": current}
        if call.action == "vercel.deployment.rollback" and not call.params.get("deployment_id"):
            project_id = self._project_ids.get(name, name)
            state["previous_deployment_id"] = await self._previous_production(
                project_id, current, call.action, name
            )
        return state

    async def _promote(self, call: ActionCall, before: State, deployment_id: str) -> State:
        name = self.project_of(call.target)
        if (before or {}).get("production_deployment_id") != deployment_id:
            if name not in self._project_ids:
                await self._project(name, call.action)
            path = self._path(
                "/v10/projects/{idOrName}/promote/{deploymentId}",
                self._project_ids.get(name, name),
                deploymentId=deployment_id,
            )
            await self._req(
                "POST",
                path,
                action=call.action,
                target=name,
            )
        waited = 0.0
        while True:
            after = await self.observe_deployment(call)
            if (after or {}).get("production_deployment_id") == deployment_id or waited >= self.promote_wait:
                return after
            await self.pause(1.0)
            waited += 1.0

    async def do_deployment_promote(self, call: ActionCall, before: State) -> State:
        """Promote ``deployment_id`` to production (a no-op when it already is)."""
        return await self._promote(call, before, call.params["deployment_id"])

    async def do_deployment_rollback(self, call: ActionCall, before: State) -> State:
        """Promote the given, or the previous READY, production deployment."""
        target = call.params.get("deployment_id") or (before or {}).get("previous_deployment_id")
        return await self._promote(call, before, str(target))

    # -- domains ---------------------------------------------------------------------------
    async def observe_domain(self, call: ActionCall) -> State:
        """``{"project", "domains"}``: every domain attached to the project, sorted."""
        project = self.project_of(call.target)
        names: set[str] = set()
        params: dict[str, Any] = {"limit": 100}
        seen: set[Any] = set()
        for _ in range(_MAX_PAGES):
            reply = await self._req(
                "GET",
                self._path("/v9/projects/{idOrName}/domains", project),
                action=call.action,
                target=project,
                params=params,
            )
            names |= {d["name"] for d in _items(reply.data, "domains") if isinstance(d.get("name"), str)}
            pagination = reply.data.get("pagination") if isinstance(reply.data, dict) else None
            nxt = pagination.get("next") if isinstance(pagination, dict) else None
            if not nxt or nxt in seen:
                break
            seen.add(nxt)
            params = {"limit": 100, "until": nxt}
        return {"project": project, "domains": sorted(names)}

    async def do_domain_add(self, call: ActionCall, before: State) -> State:
        """Attach the domain (Vercel then asks for DNS verification if it is external)."""
        project = self.project_of(call.target)
        await self._req(
            "POST",
            self._path("/v10/projects/{idOrName}/domains", project),
            action=call.action,
            target=project,
            json={"name": call.params["domain"]},
        )
        return await self.observe_domain(call)

    async def do_domain_remove(self, call: ActionCall, before: State) -> State:
        """Detach the domain from the project (the domain stays in the account)."""
        project = self.project_of(call.target)
        await self._req(
            "DELETE",
            self._path("/v9/projects/{idOrName}/domains/{domain}", project, domain=call.params["domain"]),
            action=call.action,
            target=project,
        )
        return await self.observe_domain(call)

    # -- planning ----------------------------------------------------------------------------
    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse no-op changes whose recorded inverse would then do harm, and malformed refs."""
        project = self.project_of(call.target)
        verb = call.action.removeprefix("vercel.")
        p, b = call.params, before or {}
        if verb == "env.set":
            ref = value_ref_of(p["value"])
            if ref:  # fail at plan time, not after an approval, when the reference can't resolve
                require_configured(param_secret_ref("vercel", ref.removeprefix(REF_PREFIX)))
        elif verb == "env.unset" and not b.get("exists"):
            raise ValidationFailedError(
                f"vercel: {p['key']} is not set for {p['environment']} on {project}",
                hint="`sophia-iac status vercel` lists projects; check the key and environment",
            )
        elif verb == "domain.add" and p["domain"] in b.get("domains", []):
            raise ValidationFailedError(
                f"vercel: {p['domain']} is already on {project}", hint="nothing to do"
            )
        elif verb == "domain.remove" and p["domain"] not in b.get("domains", []):
            raise ValidationFailedError(
                f"vercel: {p['domain']} is not on {project}",
                hint=f"domains on {project}: {', '.join(b.get('domains', [])) or 'none'}",
            )
        elif (
            verb == "deployment.rollback"
            and not p.get("deployment_id")
            and not b.get("previous_deployment_id")
        ):
            raise ValidationFailedError(
                f"vercel: {project} has no earlier READY production deployment to roll back to",
                hint="name one: `roll back <project> to dpl_…`",
            )

    def predict(self, call: ActionCall, before: State) -> State:
        """The env/deployment/domain state the call should leave."""
        verb = call.action.removeprefix("vercel.")
        p, b = call.params, dict(before or {})
        if verb == "env.set":
            return {
                "key": p["key"],
                "environment": p["environment"],
                "exists": True,
                "value_ref": value_ref_of(p["value"]),
            }
        if verb == "env.unset":
            return {"key": p["key"], "environment": p["environment"], "exists": False, "value_ref": None}
        if verb == "deployment.promote":
            return {"production_deployment_id": p["deployment_id"]}
        if verb == "deployment.rollback":
            return {"production_deployment_id": p.get("deployment_id") or b.get("previous_deployment_id")}
        domains = set(b.get("domains", []))
        domains = domains | {p["domain"]} if verb == "domain.add" else domains - {p["domain"]}
        return {"project": self.project_of(call.target), "domains": sorted(domains)}

    # -- public ----------------------------------------------------------------------------
    async def get_status(self) -> PlatformStatus:
        """Token check (``/v2/user``), projects as inventory, and the circuit breaker."""
        try:
            user = await self._req("GET", "/v2/user", action="vercel.status")
            projects: list[dict[str, Any]] = []
            reply = await self._req("GET", "/v10/projects", action="vercel.status", params={"limit": "100"})
            for item in _items(reply.data, "projects"):
                if isinstance(item.get("name"), str):
                    projects.append(
                        {
                            "name": item["name"],
                            "id": item.get("id"),
                            "production_deployment_id": self._production_id(item),
                        }
                    )
        except SophiaError as exc:
            return PlatformStatus(
                self.name, healthy=False, message=str(exc), details={"circuit": self.breaker.snapshot()}
            )
        who = (user.data or {}).get("user", {}) if isinstance(user.data, dict) else {}
        return PlatformStatus(
            self.name,
            healthy=True,
            message=f"signed in as {who.get('username') or '?'}, {len(projects)} project(s)",
            inventory={"project": projects},
            details={"circuit": self.breaker.snapshot(), "team_id": self.team_id},
        )

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify ``x-vercel-signature`` (HMAC-SHA1) and report changes.

        The delivery id is the payload ``id``; deduplicating on it is the inbox's job.
        """
        verified = verify_vercel(request, webhook_secret("vercel"))
        changes = vercel_changes(verified.event_type, verified.payload)
        return WebhookResult(
            "vercel",
            verified.delivery_id,
            verified.event_type,
            changes,
            summary=f"{verified.event_type}: {len(changes)} change(s)",
        )


def _text(value: object, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def vercel_changes(event_type: str, payload: Mapping[str, Any]) -> list[ObservedChange]:
    """Resource changes in a verified delivery. Only ids and names are kept; text is data."""
    body = _obj(payload.get("payload"))
    project = _obj(body.get("project"))
    deployment = _obj(body.get("deployment"))
    user = _obj(body.get("user"))
    actor = _text(user.get("id"))
    kind, _, verb = event_type.partition(".")
    if kind == "deployment" and deployment:
        name = _text(project.get("name")) or _text(deployment.get("name")) or _text(project.get("id")) or "?"
        state = {
            "deployment_id": _text(deployment.get("id")),
            "project_id": _text(project.get("id")),
            "target": _text(body.get("target")),
            "url": _text(deployment.get("url")),
        }
        return [ObservedChange("deployment", name, state, verb=verb or "updated", actor=actor)]
    if kind == "project" and project and verb in ("created", "removed"):
        name = _text(project.get("name")) or _text(project.get("id")) or "?"
        gone = verb == "removed"
        return [
            ObservedChange(
                "project",
                name,
                None if gone else {"id": _text(project.get("id")), "name": name},
                verb=verb,
                actor=actor,
            )
        ]
    domain = _obj(body.get("domain"))
    if kind == "domain" and domain:
        name = _text(domain.get("name")) or "?"
        return [ObservedChange("domain", name, {"name": name}, verb=verb or "updated", actor=actor)]
    return []
