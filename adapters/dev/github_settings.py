"""GitHub repository settings: visibility, default branch, and rulesets (read into status).

* ``repo.set_visibility``: ``PATCH /repos/{o}/{r}`` with ``{"visibility": …}``. Making a repo
  public exposes its code, history and Actions logs to anyone; the default policy pack asks
  for a review (``public-repo-review``). On GitHub, making a repo private detaches its public
  forks and drops its stars and watchers from outside; making it public can't re-attach them.
  Neither shows in the state read back, which is the visibility only.
* ``repo.set_default_branch``: ``PATCH /repos/{o}/{r}`` with ``{"default_branch": …}``; a
  branch that does not exist is refused while planning (``GET …/branches/{branch}``, see
  :meth:`~adapters.dev.github_base.GitHubBase.observe_repo`).
* rulesets: ``GET /repos/{o}/{r}/rulesets`` for each listed repository (up to
  :data:`RULESET_REPOS`), their names, target and enforcement in the inventory.
"""

from __future__ import annotations

from typing import Any

from adapters.base import State
from adapters.catalog import ActionCall
from adapters.dev.github_base import GitHubBase, repo_path, repo_state
from adapters.specs.github import owner_repo
from orchestrator.errors import SophiaError, ValidationFailedError

__all__ = ["RULESET_REPOS", "GitHubSettings"]

#: How many repositories' rulesets a status reads (one request each; archived ones skipped).
RULESET_REPOS = 30


def _ruleset(repo: str, raw: dict[str, Any]) -> dict[str, Any]:
    name = str(raw.get("name") or "")[:200]
    return {
        "name": f"{repo}:{name}",
        "repo": repo,
        "ruleset": name,
        "id": raw.get("id"),
        "target": raw.get("target"),
        "enforcement": raw.get("enforcement"),
        "source": str(raw.get("source") or "")[:200],
    }


class GitHubSettings(GitHubBase):
    """Visibility, default branch and rulesets (mixed into :class:`~adapters.dev.github.GitHubAdapter`)."""

    def predict_repo_setting(self, call: ActionCall, before: dict[str, Any]) -> State:
        """The repo state after a visibility or default-branch change."""
        after = dict(before)
        if call.action == "github.repo.set_visibility":
            visibility = call.params["visibility"]
            if visibility == before.get("visibility"):
                raise ValidationFailedError(
                    f"github: {call.target} is already {visibility}", hint="nothing to do"
                )
            after.update(visibility=visibility, private=visibility != "public")
        else:
            after["default_branch"] = call.params["branch"]
        return after

    async def _patch_repo(self, call: ActionCall, body: dict[str, Any]) -> State:
        """``PATCH`` the repository; its answer is the whole repository after the change (the
        read-back; GET again only when the answer is not one)."""
        name = owner_repo(call.target)
        reply = await self.http.request("PATCH", repo_path(name), action=call.action, target=name, json=body)
        if isinstance(reply.data, dict) and reply.data.get("full_name"):
            state = repo_state(reply.data)
            state.setdefault("visibility", "private" if state["private"] else "public")
            return state
        return await self._repo(name, call.action)

    async def do_repo_set_visibility(self, call: ActionCall, before: State) -> State:
        """``PATCH`` the visibility; read the repository back."""
        return await self._patch_repo(call, {"visibility": call.params["visibility"]})

    async def do_repo_set_default_branch(self, call: ActionCall, before: State) -> State:
        """``PATCH`` the default branch; read the repository back."""
        return await self._patch_repo(call, {"default_branch": call.params["branch"]})

    async def rulesets(self, repos: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
        """(the rulesets of up to :data:`RULESET_REPOS` unarchived ``repos``, repos that could not be read)."""
        found: list[dict[str, Any]] = []
        unread: list[str] = []
        for repo in [r for r in repos if not r.get("archived")][:RULESET_REPOS]:
            name = repo["full_name"]
            try:
                items = await self._paged(repo_path(name, "/rulesets"), "github.status", name)
            except SophiaError:
                unread.append(name)  # e.g. a plan without rulesets, or no admin read on this repo
                continue
            found.extend(_ruleset(name, r) for r in items or [] if isinstance(r, dict))
        return found, unread
