"""GitHub adapter (REST): repositories, branch protection, team membership, repository webhooks.

Configuration: ``SOPHIA_GITHUB_TOKEN`` (or ``…_TOKEN_FILE``), a fine-grained or classic token
with the scopes the actions need (administration for repos and protection, members for teams,
webhooks for hooks); ``SOPHIA_GITHUB_BASE_URL`` for GitHub Enterprise (``https://HOST/api/v3``)
or a local contract server; ``SOPHIA_GITHUB_WEBHOOK_SECRET`` to sign the webhooks this
adapter creates and to verify the deliveries it receives (``webhook.create`` refuses without
it, at plan time: an unsigned hook's deliveries could be forged by anyone).

Every request carries ``Accept: application/vnd.github+json, application/json`` and
``X-GitHub-Api-Version``. The shared client applies GitHub's rate-limit rules: ``Retry-After``
when present, the ``x-ratelimit-reset`` time when ``x-ratelimit-remaining`` is 0, and at
least 60 s for a secondary limit that says neither.

How actions map to the API:

* ``repo.create``: ``POST /user/repos`` when the owner is the token's own login, else
  ``POST /orgs/{org}/repos``. ``repo.archive``/``unarchive``: ``PATCH /repos/{o}/{r}``
  with ``archived``.
* ``branch_protection.set``: ``PUT …/branches/{branch}/protection`` replaces the whole rule,
  so the adapter reads the current rule, converts it from GET shape to PUT shape
  (:mod:`adapters.dev.github_protection`) and sends all of it back with only the review count
  changed. The state carries the whole rule, so undo puts every part of it back (the inverse
  passes the before-rule in the hidden ``rule`` param) and a dropped part shows at read-back.
* ``team.add_member``/``remove_member``: ``PUT``/``DELETE /orgs/{org}/teams/{slug}/memberships/{user}``;
  the team's state is its member list (``GET …/members``, paged).
* ``webhook.create``/``delete``: ``POST``/``DELETE /repos/{o}/{r}/hooks[/{id}]``; creation
  refuses a second hook to the same URL.

Where the contract differs from the live API:

* The contract declares no 429 on these operations (only two operations in the whole file
  do), and no auth scheme: Prism can force 401/403/404 but not 429 here. GitHub's live
  secondary limits come as 403 or 429; the retry rules are tested against a local server
  and against a contract 403 carrying GitHub's documented secondary-limit message.
* A team membership for someone outside the organisation is an invitation
  (``state: pending``): the member list read back does not include them until they accept,
  so the change shows as not reached.
* Branch protection ``GET`` answers 404 both for an unprotected branch and a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import (
    ObservedChange,
    PlatformStatus,
    State,
    WebhookRejectedError,
    WebhookRequest,
    WebhookResult,
)
from adapters.catalog import ActionCall, Stack
from adapters.credentials import Secret, require_configured, webhook_secret, webhook_secret_ref
from adapters.dev.github_protection import protection_body, protection_rule
from adapters.http import HttpAdapter, api_path
from adapters.specs.github import ACTIONS, owner_repo
from adapters.webhooks import verify_github
from orchestrator.errors import ConfigError, NotFoundError, SophiaError, ValidationFailedError

__all__ = ["API_VERSION", "MEDIA_TYPE", "GitHubAdapter"]

MEDIA_TYPE = "application/vnd.github+json, application/json"
API_VERSION = "2022-11-28"
_PAGE = 100
_MAX_PAGES = 20


def _org_team(target: str | None) -> tuple[str, str]:
    text = (target or "").strip().lower()
    org, _, team = text.partition("/")
    team = team.strip().replace(" ", "-")
    if not org or not team or "/" in team:
        raise ValidationFailedError(
            f"not org/team: {target!r}", hint="name the team as org/team-slug, e.g. acme/platform"
        )
    return org, team


def _repo_path(name: str, rest: str = "") -> str:
    """``/repos/{owner}/{repo}`` (+ a literal ``rest``), owner and repo each one checked segment."""
    owner, _, repo = name.partition("/")
    return api_path("/repos/{owner}/{repo}" + rest, owner=owner, repo=repo)


def _protection_path(name: str, branch: object) -> str:
    """``…/branches/{branch}/protection``; a branch may hold ``/`` (sent as ``%2F``), never ``..``."""
    owner, _, repo = name.partition("/")
    return api_path(
        "/repos/{owner}/{repo}/branches/{branch}/protection",
        slashes=("branch",),
        owner=owner,
        repo=repo,
        branch=branch,
    )


def _hook_path(name: str, hook_id: object) -> str:
    """``/repos/{owner}/{repo}/hooks/{hook_id}``; the id must be a whole number."""
    if isinstance(hook_id, bool) or not str(hook_id).strip().isdigit():
        raise ValidationFailedError(f"hook_id: {hook_id!r} is not a webhook id", hint="use the numeric id")
    owner, _, repo = name.partition("/")
    return api_path(
        "/repos/{owner}/{repo}/hooks/{hook_id}", owner=owner, repo=repo, hook_id=int(str(hook_id))
    )


def _membership_path(org: str, team: str, user: object) -> str:
    """``/orgs/{org}/teams/{team_slug}/memberships/{username}``, each part one segment."""
    return api_path(
        "/orgs/{org}/teams/{team_slug}/memberships/{username}", org=org, team_slug=team, username=user
    )


def _repo_state(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "full_name": str(raw.get("full_name") or "").lower(),
        "private": bool(raw.get("private")),
        "description": raw.get("description") or "",
        "archived": bool(raw.get("archived")),
    }


def _hook_state(raw: dict[str, Any]) -> dict[str, Any]:
    config = raw.get("config") or {}
    return {
        "hook_id": raw.get("id"),
        "url": config.get("url"),
        "events": sorted(raw.get("events") or []),
        "active": bool(raw.get("active", True)),
    }


def _no_hook_secret(exc: ConfigError) -> ConfigError:
    variable = webhook_secret_ref("github").env_var
    return ConfigError(
        "github.webhook.create needs a webhook secret: without one GitHub would send unsigned"
        " deliveries, which anyone could forge and which this server refuses",
        hint=exc.hint or f"set {variable} (or {variable}_FILE) to the secret GitHub should sign with",
        details={"variable": variable},
    )


def _hook_secret() -> Secret:
    """The secret new hooks are signed with (the one the door verifies with)."""
    try:
        return webhook_secret("github")
    except ConfigError as exc:
        raise _no_hook_secret(exc) from None


def _short(value: Any, limit: int = 200) -> str:
    """Untrusted webhook text, bounded: data for display, never an instruction."""
    return str(value or "")[:limit]


class GitHubAdapter(HttpAdapter):
    """GitHub repositories, branch protection, teams and webhooks."""

    name: ClassVar[str] = "github"
    display_name: ClassVar[str] = "GitHub"
    stack: ClassVar[Stack] = Stack.DEV
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = ("repo", "branch_protection", "team", "webhook")
    content_on_delete: ClassVar[Mapping[str, str]] = {"repo": "contents, issues and settings are not restored"}
    supports_webhooks: ClassVar[bool] = True
    supports_dry_run: ClassVar[bool] = True

    api_base_url: ClassVar[str | None] = "https://api.github.com"
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": MEDIA_TYPE, "X-GitHub-Api-Version": API_VERSION}

    #: The token's login, read once by :meth:`login`.
    _login: str | None = None

    async def _get(self, path: str, action: str, target: str | None, **params: Any) -> Any:
        reply = await self.http.request(
            "GET", path, action=action, target=target, params=params or None, not_found_ok=True
        )
        return None if reply.status == 404 else reply.data

    async def _paged(self, path: str, action: str, target: str | None) -> list[Any] | None:
        items: list[Any] = []
        for page in range(1, _MAX_PAGES + 1):
            data = await self._get(path, action, target, per_page=_PAGE, page=page)
            if data is None:
                return None if page == 1 else items
            items.extend(data if isinstance(data, list) else [])
            if not isinstance(data, list) or len(data) < _PAGE:
                break
        return items

    async def login(self) -> str:
        """The token's own login (cached)."""
        if self._login is None:
            reply = await self.http.request("GET", "/user", action="github.status")
            self._login = str((reply.data or {}).get("login") or "").lower()
        return self._login

    # -- observe ---------------------------------------------------------------------------

    async def observe_repo(self, call: ActionCall) -> State:
        """``{"full_name", "private", "description", "archived"}`` or None."""
        name = owner_repo(call.target)
        raw = await self._get(_repo_path(name), call.action, name)
        return _repo_state(raw) if raw is not None else None

    async def _protection(self, call: ActionCall) -> tuple[dict[str, Any] | None, bool]:
        """(the raw rule or None, whether the repo exists)."""
        name = owner_repo(call.target)
        branch = call.params.get("branch", "main")
        raw = await self._get(_protection_path(name, branch), call.action, name)
        if raw is not None:
            return raw, True
        return None, await self._get(_repo_path(name), call.action, name) is not None

    async def observe_branch_protection(self, call: ActionCall) -> State:
        """``{"branch", "enabled", "required_reviews", "rule"}``; None if the repo does not exist.

        ``rule`` is the whole rule in PUT shape (:func:`protection_rule`; None when the branch
        is unprotected), so the before-state an undo restores, and the read-back compared with
        a prediction, cover every part of the rule, not only the count.
        """
        raw, repo_exists = await self._protection(call)
        if not repo_exists:
            return None
        branch = call.params.get("branch", "main")
        if raw is None:
            return {"branch": branch, "enabled": False, "required_reviews": None, "rule": None}
        reviews = raw.get("required_pull_request_reviews")
        count = reviews.get("required_approving_review_count", 0) if isinstance(reviews, dict) else None
        return {"branch": branch, "enabled": True, "required_reviews": count, "rule": protection_rule(raw)}

    async def observe_team(self, call: ActionCall) -> State:
        """``{"team", "members"}`` (sorted logins) or None if the team does not exist."""
        org, team = _org_team(call.target)
        members = await self._paged(
            api_path("/orgs/{org}/teams/{team_slug}/members", org=org, team_slug=team),
            call.action,
            f"{org}/{team}",
        )
        if members is None:
            return None
        logins = sorted(
            {str(m.get("login", "")).lower() for m in members if isinstance(m, dict) and m.get("login")}
        )
        return {"team": f"{org}/{team}", "members": logins}

    async def observe_webhook(self, call: ActionCall) -> State:
        """The hook named by ``hook_id`` (delete) or the hook to ``url`` (create), or None."""
        name = owner_repo(call.target)
        if "hook_id" in call.params:
            raw = await self._get(_hook_path(name, call.params["hook_id"]), call.action, name)
            return _hook_state(raw) if raw is not None else None
        hooks = await self._paged(_repo_path(name, "/hooks"), call.action, name)
        if hooks is None:
            raise NotFoundError(f"github: {name} not found ({call.action})", hint="check owner/repo")
        for hook in hooks:
            if isinstance(hook, dict) and (hook.get("config") or {}).get("url") == call.params.get("url"):
                return _hook_state(hook)
        return None

    # -- predict ---------------------------------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse ``webhook.create`` at plan time when no webhook secret is configured."""
        if call.action == "github.webhook.create":
            try:
                require_configured(webhook_secret_ref("github"))
            except ConfigError as exc:
                raise _no_hook_secret(exc) from None

    def predict(self, call: ActionCall, before: State) -> State:
        """The state after ``call``; raises when it can't apply."""
        verb = call.action.rsplit(".", 1)[-1]
        resource = call.action.split(".")[1]
        p = call.params
        if call.action == "github.repo.create":
            name = owner_repo(call.target)
            if before is not None:
                raise ValidationFailedError(f"github repo {name} already exists", hint="pick another name")
            return {
                "full_name": name,
                "private": p["private"],
                "description": p["description"],
                "archived": False,
            }
        if call.action == "github.webhook.create":
            if before is not None:
                raise ValidationFailedError(
                    f"{owner_repo(call.target)} already has a webhook to {p['url']} (id {before['hook_id']})",
                    hint="delete it first or use another URL",
                )
            return {"url": p["url"], "events": sorted(p["events"]), "active": True}
        if before is None:
            what = {"team": "team", "webhook": f"webhook {p.get('hook_id')} on"}.get(resource, "repo")
            raise NotFoundError(
                f"github: {what} {call.target} not found ({call.action})",
                hint="check the name; `sophia-iac status github` lists what exists",
            )
        after = dict(before)
        if verb in ("archive", "unarchive"):
            after["archived"] = verb == "archive"
        elif resource == "branch_protection":
            after.update(enabled=True, required_reviews=p["required_reviews"])
            rule = p.get("rule") if p.get("rule") is not None else before.get("rule")
            if rule is None:
                # A new rule: GitHub fills its defaults in, so only the count is predicted.
                after.pop("rule", None)
            else:
                after["rule"] = protection_body(rule, p["required_reviews"])
        elif verb == "add_member":
            after["members"] = sorted(set(before["members"]) | {p["user"]})
        elif verb == "remove_member":
            after["members"] = sorted(set(before["members"]) - {p["user"]})
        elif call.action == "github.webhook.delete":
            return None
        return after

    # -- repos -----------------------------------------------------------------------------

    async def do_repo_create(self, call: ActionCall, before: State) -> State:
        name = owner_repo(call.target)
        owner, repo = name.split("/")
        body = {"name": repo, "private": call.params["private"], "description": call.params["description"]}
        path = "/user/repos" if owner == await self.login() else api_path("/orgs/{org}/repos", org=owner)
        await self.http.request("POST", path, action=call.action, target=name, json=body)
        return await self.observe_repo(call)

    async def _set_archived(self, call: ActionCall, archived: bool) -> State:
        name = owner_repo(call.target)
        await self.http.request(
            "PATCH", _repo_path(name), action=call.action, target=name, json={"archived": archived}
        )
        return await self.observe_repo(call)

    async def do_repo_archive(self, call: ActionCall, before: State) -> State:
        return await self._set_archived(call, True)

    async def do_repo_unarchive(self, call: ActionCall, before: State) -> State:
        return await self._set_archived(call, False)

    # -- branch protection -----------------------------------------------------------------

    async def do_branch_protection_set(self, call: ActionCall, before: State) -> State:
        """``PUT`` the whole rule: the given one (an undo) or the current one, with the count set."""
        name = owner_repo(call.target)
        branch = call.params["branch"]
        rule = call.params.get("rule")
        if rule is None:
            raw, _ = await self._protection(call)
            rule = protection_rule(raw) if raw is not None else None
        body = protection_body(rule, call.params["required_reviews"])
        await self.http.request(
            "PUT",
            _protection_path(name, branch),
            action=call.action,
            target=name,
            json=body,
        )
        return await self.observe_branch_protection(call)

    # -- teams -----------------------------------------------------------------------------

    async def do_team_add_member(self, call: ActionCall, before: State) -> State:
        org, team = _org_team(call.target)
        await self.http.request(
            "PUT",
            _membership_path(org, team, call.params["user"]),
            action=call.action,
            target=f"{org}/{team}",
            json={"role": "member"},
        )
        return await self.observe_team(call)

    async def do_team_remove_member(self, call: ActionCall, before: State) -> State:
        org, team = _org_team(call.target)
        await self.http.request(
            "DELETE",
            _membership_path(org, team, call.params["user"]),
            action=call.action,
            target=f"{org}/{team}",
        )
        return await self.observe_team(call)

    # -- webhooks --------------------------------------------------------------------------

    async def do_webhook_create(self, call: ActionCall, before: State) -> State:
        name = owner_repo(call.target)
        # Resolved before anything is sent: no secret, no hook (never an unsigned one).
        config: dict[str, Any] = {"url": call.params["url"], "content_type": "json", "insecure_ssl": "0",
                                  "secret": _hook_secret().reveal()}
        body = {"name": "web", "active": True, "events": list(call.params["events"]), "config": config}
        reply = await self.http.request(
            "POST", _repo_path(name, "/hooks"), action=call.action, target=name, json=body
        )
        hook_id = (reply.data or {}).get("id")
        raw = await self._get(_hook_path(name, hook_id), call.action, name) if hook_id else None
        return _hook_state(raw) if raw is not None else None

    async def do_webhook_delete(self, call: ActionCall, before: State) -> State:
        name = owner_repo(call.target)
        await self.http.request(
            "DELETE", _hook_path(name, call.params["hook_id"]), action=call.action, target=name
        )
        return await self.observe_webhook(call)

    # -- status ----------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Health (the token works), rate-limit headroom, and the token's repositories."""
        try:
            login = await self.login()
            repos = await self.http.request(
                "GET", "/user/repos", action="github.status", params={"per_page": _PAGE, "sort": "updated"}
            )
            limits = await self.http.request("GET", "/rate_limit", action="github.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        inventory = {
            "repo": [
                {"name": state["full_name"], **state}
                for state in (_repo_state(r) for r in repos.data or [] if isinstance(r, dict))
            ]
        }
        core = ((limits.data or {}).get("resources") or {}).get("core") or {}
        return PlatformStatus(
            "github",
            healthy=True,
            message=f"authenticated as {login}; {len(inventory['repo'])} repos",
            inventory=inventory,
            details={
                "circuit": self.http.breaker.snapshot(),
                "login": login,
                "rate_limit_remaining": core.get("remaining"),
                "base_url": self.http.base_url,
            },
        )

    # -- webhooks in -----------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify (X-Hub-Signature-256) and turn a delivery into observed changes.

        Dedup on ``delivery_id`` (X-GitHub-Delivery) is the caller's inbox's job. Payload text
        is data: names are bounded and nothing in it is ever run.
        """
        try:
            secret = webhook_secret("github")
        except ConfigError as exc:
            raise WebhookRejectedError(
                "github webhooks can't be verified: no secret configured", hint=exc.hint
            ) from None
        hook = verify_github(request, secret)
        payload = hook.payload
        action = _short(payload.get("action"), 40)
        actor = _short((payload.get("sender") or {}).get("login"), 60) or None
        repo = payload.get("repository") or {}
        repo_name = _short(repo.get("full_name")).lower()
        changes: list[ObservedChange] = []
        if hook.event_type == "repository" and repo_name:
            state = None if action == "deleted" else _repo_state(repo)
            changes.append(ObservedChange("repo", repo_name, state, verb=action or "updated", actor=actor))
        elif hook.event_type == "branch_protection_rule" and repo_name:
            rule = payload.get("rule") or {}
            state = {
                "branch": _short(rule.get("name"), 255),
                "enabled": action != "deleted",
                "required_reviews": rule.get("required_approving_review_count"),
            }
            changes.append(
                ObservedChange("branch_protection", repo_name, state, verb=action or "edited", actor=actor)
            )
        elif hook.event_type == "membership":
            team = payload.get("team") or {}
            org = (payload.get("organization") or {}).get("login")
            member = _short((payload.get("member") or {}).get("login"), 60).lower()
            if org and team.get("slug"):
                name = f"{_short(org, 60).lower()}/{_short(team.get('slug'), 100)}"
                changes.append(
                    ObservedChange(
                        "team",
                        name,
                        {"team": name, "member": member},
                        verb=f"member_{action}" if action else "updated",
                        actor=actor,
                    )
                )
        elif hook.event_type == "meta" and action == "deleted" and repo_name:
            changes.append(ObservedChange("webhook", repo_name, None, verb="deleted", actor=actor))
        where = f" on {repo_name}" if repo_name else ""
        summary = f"{hook.event_type}{'.' + action if action else ''}{where}"
        return WebhookResult("github", hook.delivery_id, hook.event_type, changes, summary)
