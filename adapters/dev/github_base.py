"""What every part of the GitHub adapter shares: request paths, state shapes, reads.

:class:`GitHubBase` holds the HTTP reads (``_get``, ``_paged``, the token's login) and the repo
observation; :mod:`adapters.dev.github` (the adapter), :mod:`adapters.dev.github_secrets`
(Actions secrets) and :mod:`adapters.dev.github_settings` (visibility, default branch,
rulesets) build on it. Every path is built by :func:`adapters.http.api_path`, so each value from
a command (owner, repo, branch, secret name, team, login) is exactly one quoted segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import State
from adapters.catalog import ActionCall
from adapters.http import HttpAdapter, api_path
from adapters.specs.github import owner_repo
from orchestrator.errors import ValidationFailedError

__all__ = [
    "API_VERSION",
    "MEDIA_TYPE",
    "GitHubBase",
    "branch_path",
    "hook_path",
    "membership_path",
    "org_team",
    "protection_path",
    "repo_path",
    "repo_state",
]

MEDIA_TYPE = "application/vnd.github+json, application/json"
API_VERSION = "2022-11-28"
PAGE = 100
MAX_PAGES = 20


def org_team(target: str | None) -> tuple[str, str]:
    """``acme/Platform Team`` → ``("acme", "platform-team")``; anything else is refused."""
    text = (target or "").strip().lower()
    org, _, team = text.partition("/")
    team = team.strip().replace(" ", "-")
    if not org or not team or "/" in team:
        raise ValidationFailedError(
            f"not org/team: {target!r}", hint="name the team as org/team-slug, e.g. acme/platform"
        )
    return org, team


def repo_path(name: str, rest: str = "") -> str:
    """``/repos/{owner}/{repo}`` (+ a literal ``rest``), owner and repo each one checked segment."""
    owner, _, repo = name.partition("/")
    return api_path("/repos/{owner}/{repo}" + rest, owner=owner, repo=repo)


def _branch_path(template: str, name: str, branch: object) -> str:
    owner, _, repo = name.partition("/")
    return api_path(template, slashes=("branch",), owner=owner, repo=repo, branch=branch)


def protection_path(name: str, branch: object) -> str:
    """``…/branches/{branch}/protection``; a branch may hold ``/`` (sent as ``%2F``), never ``..``."""
    return _branch_path("/repos/{owner}/{repo}/branches/{branch}/protection", name, branch)


def branch_path(name: str, branch: object) -> str:
    """``/repos/{owner}/{repo}/branches/{branch}`` (``/`` in the branch sent as ``%2F``)."""
    return _branch_path("/repos/{owner}/{repo}/branches/{branch}", name, branch)


def hook_path(name: str, hook_id: object) -> str:
    """``/repos/{owner}/{repo}/hooks/{hook_id}``; the id must be a whole number."""
    if isinstance(hook_id, bool) or not str(hook_id).strip().isdigit():
        raise ValidationFailedError(f"hook_id: {hook_id!r} is not a webhook id", hint="use the numeric id")
    owner, _, repo = name.partition("/")
    return api_path(
        "/repos/{owner}/{repo}/hooks/{hook_id}", owner=owner, repo=repo, hook_id=int(str(hook_id))
    )


def membership_path(org: str, team: str, user: object) -> str:
    """``/orgs/{org}/teams/{team_slug}/memberships/{username}``, each part one segment."""
    return api_path(
        "/orgs/{org}/teams/{team_slug}/memberships/{username}", org=org, team_slug=team, username=user
    )


def repo_state(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``{"full_name", "private", "description", "archived"}``, plus ``visibility`` and
    ``default_branch`` when the answer carries them (a repository GET does; some webhook
    payloads don't)."""
    state: dict[str, Any] = {
        "full_name": str(raw.get("full_name") or "").lower(),
        "private": bool(raw.get("private")),
        "description": raw.get("description") or "",
        "archived": bool(raw.get("archived")),
    }
    if isinstance(raw.get("visibility"), str):
        state["visibility"] = raw["visibility"].lower()
    if isinstance(raw.get("default_branch"), str):
        state["default_branch"] = raw["default_branch"]
    return state


class GitHubBase(HttpAdapter):
    """The shared reads of the GitHub adapter (see the module doc); not an adapter by itself."""

    api_base_url: ClassVar[str | None] = "https://api.github.com"
    api_headers: ClassVar[Mapping[str, str]] = {"Accept": MEDIA_TYPE, "X-GitHub-Api-Version": API_VERSION}

    #: The token's login, read once by :meth:`login`.
    _login: str | None = None

    async def _get(self, path: str, action: str, target: str | None, **params: Any) -> Any:
        reply = await self.http.request(
            "GET", path, action=action, target=target, params=params or None, not_found_ok=True
        )
        return None if reply.status == 404 else reply.data

    async def _paged(
        self, path: str, action: str, target: str | None, key: str | None = None
    ) -> list[Any] | None:
        """Every item of a paged list (``key``: the list sits under that key of an object)."""
        items: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            data = await self._get(path, action, target, per_page=PAGE, page=page)
            if data is None:
                return None if page == 1 else items
            if key is not None:
                data = data.get(key) if isinstance(data, dict) else None
            items.extend(data if isinstance(data, list) else [])
            if not isinstance(data, list) or len(data) < PAGE:
                break
        return items

    async def login(self) -> str:
        """The token's own login (cached)."""
        if self._login is None:
            reply = await self.http.request("GET", "/user", action="github.status")
            self._login = str((reply.data or {}).get("login") or "").lower()
        return self._login

    async def _repo(self, name: str, action: str) -> dict[str, Any] | None:
        raw = await self._get(repo_path(name), action, name)
        if not isinstance(raw, dict):
            return None
        state = repo_state(raw)
        state.setdefault("visibility", "private" if state["private"] else "public")
        return state

    async def observe_repo(self, call: ActionCall) -> State:
        """``{"full_name", "private", "description", "archived", "visibility", "default_branch"}`` or None.

        For ``repo.set_default_branch`` the named branch must exist (checked while planning,
        unless it already is the default): a missing one is refused with a clear error.
        """
        name = owner_repo(call.target)
        state = await self._repo(name, call.action)
        if state is not None and call.action == "github.repo.set_default_branch":
            branch = call.params["branch"]
            if (
                state.get("default_branch") != branch
                and await self._get(branch_path(name, branch), call.action, name) is None
            ):
                raise ValidationFailedError(
                    f"github: {name} has no branch {branch!r}, so it can't be the default branch",
                    hint="push the branch first, or check its name (branch names are case-sensitive)",
                    details={"field": "branch", "target": name},
                )
        return state
