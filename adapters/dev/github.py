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
* ``secret.set``/``delete``: Actions secrets, sealed with the repository's public key
  (:mod:`adapters.dev.github_secrets`); values only by ``secret://NAME`` reference.
* ``repo.set_visibility``/``set_default_branch``: ``PATCH /repos/{o}/{r}``; ``status`` also lists
  each repository's rulesets (:mod:`adapters.dev.github_settings`).

The adapter is split along these seams: :mod:`adapters.dev.github_base` (paths, state shapes,
reads), :mod:`adapters.dev.github_secrets`, :mod:`adapters.dev.github_settings`,
:mod:`adapters.dev.github_protection` and :mod:`adapters.dev.github_webhooks`.

Where the contract differs from the live API:

* The contract declares no 429 on these operations (only two operations in the whole file
  do), and no auth scheme: Prism can force 401/403/404 but not 429 here. GitHub's live
  secondary limits come as 403 or 429; the retry rules are tested against a local server
  and against a contract 403 carrying GitHub's documented secondary-limit message.
* A team membership for someone outside the organisation is an invitation
  (``state: pending``): the member list read back does not include them until they accept,
  so the change shows as not reached.
* Branch protection ``GET`` answers 404 both for an unprotected branch and a missing one.
* The document's repository ``PATCH`` lists ``visibility`` as ``public``/``private`` only:
  ``internal`` exists on GitHub Enterprise Cloud/Server (whose documents list it) and is sent
  as given; against api.github.com's document it is a request-side violation.
* "Get a repository secret" declares no 404, so a secret's existence is read from the
  (declared) list of the repository's secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import PlatformStatus, State, WebhookRequest, WebhookResult
from adapters.catalog import ActionCall, Stack
from adapters.credentials import Secret, require_configured, webhook_secret, webhook_secret_ref
from adapters.dev.github_base import (
    API_VERSION,
    MEDIA_TYPE,
    PAGE,
    hook_path,
    membership_path,
    org_team,
    protection_path,
    repo_path,
    repo_state,
)
from adapters.dev.github_protection import protection_body, protection_rule
from adapters.dev.github_secrets import GitHubSecrets
from adapters.dev.github_settings import GitHubSettings
from adapters.dev.github_webhooks import github_delivery
from adapters.http import api_path
from adapters.specs.github import ACTIONS, owner_repo
from orchestrator.errors import ConfigError, NotFoundError, SophiaError, ValidationFailedError

__all__ = ["API_VERSION", "MEDIA_TYPE", "GitHubAdapter"]


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


class GitHubAdapter(GitHubSecrets, GitHubSettings):
    """GitHub repositories and their settings, branch protection, Actions secrets, teams and webhooks."""

    name: ClassVar[str] = "github"
    display_name: ClassVar[str] = "GitHub"
    stack: ClassVar[Stack] = Stack.DEV
    actions = ACTIONS
    resource_types: ClassVar[tuple[str, ...]] = (
        "repo", "branch_protection", "team", "webhook", "secret", "ruleset",
    )
    content_on_delete: ClassVar[Mapping[str, str]] = {"repo": "contents, issues and settings are not restored"}
    supports_webhooks: ClassVar[bool] = True
    supports_dry_run: ClassVar[bool] = True

    # -- observe ---------------------------------------------------------------------------
    # observe_repo: GitHubBase; observe_secret: GitHubSecrets.

    async def _protection(self, call: ActionCall) -> tuple[dict[str, Any] | None, bool]:
        """(the raw rule or None, whether the repo exists)."""
        name = owner_repo(call.target)
        branch = call.params.get("branch", "main")
        raw = await self._get(protection_path(name, branch), call.action, name)
        if raw is not None:
            return raw, True
        return None, await self._get(repo_path(name), call.action, name) is not None

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
        org, team = org_team(call.target)
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
            raw = await self._get(hook_path(name, call.params["hook_id"]), call.action, name)
            return _hook_state(raw) if raw is not None else None
        hooks = await self._paged(repo_path(name, "/hooks"), call.action, name)
        if hooks is None:
            raise NotFoundError(f"github: {name} not found ({call.action})", hint="check owner/repo")
        for hook in hooks:
            if isinstance(hook, dict) and (hook.get("config") or {}).get("url") == call.params.get("url"):
                return _hook_state(hook)
        return None

    # -- predict ---------------------------------------------------------------------------

    def precheck(self, call: ActionCall, before: State) -> None:
        """Refuse ``webhook.create`` at plan time when no webhook secret is configured, and a
        secret change whose references don't resolve."""
        if call.action.startswith("github.secret."):
            self.precheck_secret(call, before)
        elif call.action == "github.webhook.create":
            try:
                require_configured(webhook_secret_ref("github"))
            except ConfigError as exc:
                raise _no_hook_secret(exc) from None

    def predict(self, call: ActionCall, before: State) -> State:
        """The state after ``call``; raises when it can't apply."""
        verb = call.action.rsplit(".", 1)[-1]
        resource = call.action.split(".")[1]
        p = call.params
        if resource == "secret":
            return self.predict_secret(call, before)
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
        if verb in ("set_visibility", "set_default_branch"):
            return self.predict_repo_setting(call, before)
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

    def reached(self, call: ActionCall, expected: State, observed: State) -> bool:
        """Like :func:`adapters.base.matches`; a secret change as :meth:`secret_reached` says."""
        if expected is None or observed is None:
            return expected is None and observed is None
        if call.action.startswith("github.secret."):
            return self.secret_reached(expected, observed)
        return all(observed.get(key) == value for key, value in expected.items())

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
            "PATCH", repo_path(name), action=call.action, target=name, json={"archived": archived}
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
            protection_path(name, branch),
            action=call.action,
            target=name,
            json=body,
        )
        return await self.observe_branch_protection(call)

    # -- teams -----------------------------------------------------------------------------

    async def do_team_add_member(self, call: ActionCall, before: State) -> State:
        org, team = org_team(call.target)
        await self.http.request(
            "PUT",
            membership_path(org, team, call.params["user"]),
            action=call.action,
            target=f"{org}/{team}",
            json={"role": "member"},
        )
        return await self.observe_team(call)

    async def do_team_remove_member(self, call: ActionCall, before: State) -> State:
        org, team = org_team(call.target)
        await self.http.request(
            "DELETE",
            membership_path(org, team, call.params["user"]),
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
            "POST", repo_path(name, "/hooks"), action=call.action, target=name, json=body
        )
        hook_id = (reply.data or {}).get("id")
        raw = await self._get(hook_path(name, hook_id), call.action, name) if hook_id else None
        return _hook_state(raw) if raw is not None else None

    async def do_webhook_delete(self, call: ActionCall, before: State) -> State:
        name = owner_repo(call.target)
        await self.http.request(
            "DELETE", hook_path(name, call.params["hook_id"]), action=call.action, target=name
        )
        return await self.observe_webhook(call)

    # -- status ----------------------------------------------------------------------------

    async def get_status(self) -> PlatformStatus:
        """Health (the token works), rate-limit headroom, the token's repositories and their rulesets."""
        try:
            login = await self.login()
            repos = await self.http.request(
                "GET", "/user/repos", action="github.status", params={"per_page": PAGE, "sort": "updated"}
            )
            limits = await self.http.request("GET", "/rate_limit", action="github.status")
        except SophiaError as exc:
            return self.failed_status(exc)
        listed = [repo_state(r) for r in repos.data or [] if isinstance(r, dict)]
        rulesets, unread = await self.rulesets(listed)
        inventory = {"repo": [{"name": state["full_name"], **state} for state in listed], "ruleset": rulesets}
        core = ((limits.data or {}).get("resources") or {}).get("core") or {}
        return PlatformStatus(
            "github",
            healthy=True,
            message=f"authenticated as {login}; {len(listed)} repos, {len(rulesets)} rulesets",
            inventory=inventory,
            details={
                "circuit": self.http.breaker.snapshot(),
                "login": login,
                "rate_limit_remaining": core.get("remaining"),
                "base_url": self.http.base_url,
                "rulesets_unread": unread,
            },
        )

    # -- webhooks in -----------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify (X-Hub-Signature-256) and turn a delivery into observed changes
        (:func:`~adapters.dev.github_webhooks.github_delivery`)."""
        return github_delivery(request)
