"""GitHub actions: repositories, branch protection, team membership and webhooks.

Targets are ``owner/repo`` (``org/team`` for teams). Before-/after-states the adapter records:

* repo: ``{"full_name", "private", "description", "archived"}``.
* branch protection: ``{"branch", "enabled", "required_reviews"}``.
* team: ``{"team", "members"}``.
* webhook: before ``{"hook_id", "url", "events", "active"}`` (for ``delete``); the after-state
  of ``webhook.create`` carries ``{"hook_id"}`` of the new hook.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from adapters.catalog import ActionCall, ActionSpec, Params, inverse_same_target, restore_fields
from adapters.specs._fields import dedupe, github_login, https_url, split_list, swap_with_params

__all__ = [
    "ACTIONS",
    "OWNER_REPO",
    "BranchProtectionParams",
    "RepoCreateParams",
    "TeamMemberParams",
    "WebhookCreateParams",
    "WebhookDeleteParams",
    "owner_repo",
]

OWNER_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_BRANCH = re.compile(r"^(?!/)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]{1,255}(?<!/)(?<!\.lock)$")
_EVENT = re.compile(r"^(\*|[a-z_]{2,60})$")


def owner_repo(value: object) -> str:
    """``https://github.com/Acme/Web.git`` / ``acme/web`` → ``acme/web`` (GitHub names are case-insensitive)."""
    text = str(value).strip().removesuffix(".git").rstrip("/")
    text = re.sub(r"^(https?://)?(www\.)?github\.com/", "", text, flags=re.IGNORECASE)
    if not OWNER_REPO.match(text):
        raise ValueError(f"not owner/repo: {value!r}")
    return text.lower()


class RepoCreateParams(Params):
    """``github.repo.create`` params."""

    private: bool = True
    description: str = Field(default="", max_length=350)


class BranchProtectionParams(Params):
    """``github.branch_protection.set`` params."""

    branch: str = Field(default="main", description="branch name")
    required_reviews: int = Field(default=1, ge=0, le=6, description="required approving reviews (0 to 6)")

    @field_validator("branch", mode="before")
    @classmethod
    def _branch(cls, value: object) -> str:
        text = str(value).strip().strip("`'\"")
        if not _BRANCH.match(text):
            raise ValueError(f"not a branch name: {value!r}")
        return text


class TeamMemberParams(Params):
    """``github.team.add_member`` / ``remove_member`` params."""

    user: str = Field(description="GitHub login")

    _u = field_validator("user", mode="before")(classmethod(lambda cls, v: github_login(v)))


class WebhookCreateParams(Params):
    """``github.webhook.create`` params."""

    url: str = Field(description="https payload URL")
    events: list[str] = Field(default_factory=lambda: ["push"], min_length=1, max_length=50)

    _url = field_validator("url", mode="before")(classmethod(lambda cls, v: https_url(v)))

    @field_validator("events", mode="before")
    @classmethod
    def _events(cls, value: object) -> object:
        items = split_list(value, on_spaces=False)
        if not isinstance(items, list):
            return items
        events = dedupe(re.sub(r"[\s-]+", "_", str(e).strip().lower()) for e in items)
        for event in events:
            if not _EVENT.match(event):
                raise ValueError(f"not a GitHub webhook event: {event!r}")
        return events


class WebhookDeleteParams(Params):
    """``github.webhook.delete`` params."""

    hook_id: int = Field(ge=1, description="the webhook's numeric id")


def _delete_created_hook(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    hook_id = (after or {}).get("hook_id")
    if not hook_id:
        return None
    return ActionCall(action="github.webhook.delete", target=call.target, params={"hook_id": int(hook_id)})


def _protection_before(
    call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> ActionCall | None:
    if not before or not before.get("enabled") or before.get("required_reviews") is None:
        return None  # there was no rule to go back to; the catalog has no "remove protection"
    return ActionCall(
        action="github.branch_protection.set", target=call.target,
        params={"branch": before.get("branch", call.params.get("branch")),
                "required_reviews": before["required_reviews"]},
    )


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="github.repo.create",
        summary="Create a repository",
        params=RepoCreateParams,
        target="owner/repo",
        inverse=inverse_same_target("github.repo.archive"),
        inverse_hint="repo.archive",
        examples=(
            "create a github repo acme/payments-service",
            "new public repository acme/docs-site with description Product docs",
            "make a private repo acme/infra-experiments on github",
        ),
    ),
    ActionSpec(
        id="github.repo.archive",
        summary="Archive a repository (read-only, reversible)",
        target="owner/repo",
        inverse=inverse_same_target("github.repo.unarchive"),
        inverse_hint="unarchive",
        examples=(
            "archive the github repo acme/old-website",
            "make acme/legacy-api read-only by archiving it",
            "archive repository acme/hackathon-2023",
        ),
    ),
    ActionSpec(
        id="github.repo.unarchive",
        summary="Unarchive a repository",
        target="owner/repo",
        inverse=inverse_same_target("github.repo.archive"),
        inverse_hint="archive",
        examples=(
            "unarchive the github repo acme/old-website",
            "restore acme/legacy-api from the archive",
            "un-archive repository acme/hackathon-2023",
        ),
    ),
    ActionSpec(
        id="github.branch_protection.set",
        summary="Protect a branch: require pull-request reviews",
        params=BranchProtectionParams,
        target="owner/repo",
        inverse=_protection_before,
        inverse_hint="set the before rules (none when the branch was unprotected)",
        examples=(
            "protect main on acme/web with 2 required reviews",
            "require 1 approving review on the release branch of acme/api",
            "turn on branch protection for acme/payments-service",
        ),
    ),
    ActionSpec(
        id="github.team.add_member",
        summary="Add a user to a team",
        params=TeamMemberParams,
        target="org/team",
        inverse=swap_with_params("github.team.remove_member", ("user",)),
        inverse_hint="remove_member",
        examples=(
            "add @octocat to the github team acme/platform",
            "put janedoe on acme/frontend",
            "invite user mona to team acme/data-eng on github",
        ),
    ),
    ActionSpec(
        id="github.team.remove_member",
        summary="Remove a user from a team",
        params=TeamMemberParams,
        target="org/team",
        inverse=swap_with_params("github.team.add_member", ("user",)),
        inverse_hint="add_member",
        examples=(
            "remove @octocat from the github team acme/platform",
            "take janedoe off acme/frontend",
            "kick user mona out of team acme/data-eng on github",
        ),
    ),
    ActionSpec(
        id="github.webhook.create",
        summary="Create a repository webhook",
        params=WebhookCreateParams,
        target="owner/repo",
        inverse=_delete_created_hook,
        inverse_hint="webhook.delete (the new hook's id from the after-state)",
        examples=(
            "add a webhook to acme/web posting to https://hooks.example.com/gh",
            "create a github webhook on acme/api for push and pull_request to https://ci.example.com/hook",
            "hook acme/docs-site up to https://example.net/deploy on release events",
        ),
    ),
    ActionSpec(
        id="github.webhook.delete",
        summary="Delete a repository webhook",
        params=WebhookDeleteParams,
        target="owner/repo",
        inverse=restore_fields("github.webhook.create", {"url": "url", "events": "events"}),
        inverse_hint="recreate it from the before-state (a new hook id)",
        examples=(
            "delete webhook 12345 from acme/web",
            "remove the github hook 987654 on acme/api",
            "drop hook id 4242 from the repo acme/docs-site",
        ),
    ),
)
