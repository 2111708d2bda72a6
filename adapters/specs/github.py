"""GitHub actions: repositories, branch protection, team membership and webhooks.

Targets are ``owner/repo`` (``org/team`` for teams). Before-/after-states the adapter records:

* repo: ``{"full_name", "private", "description", "archived"}``.
* branch protection: ``{"branch", "enabled", "required_reviews", "rule"}``; ``rule`` is the
  whole rule in the PUT body's shape (None when the branch is unprotected).
* team: ``{"team", "members"}``.
* webhook: before ``{"hook_id", "url", "events", "active"}`` (for ``delete``); the after-state
  of ``webhook.create`` carries ``{"hook_id"}`` of the new hook.
* repo settings and Actions secrets: see :mod:`adapters.specs.github_settings` (their params
  models and inverses live there; the specs are appended below).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, field_validator, model_serializer
from pydantic.json_schema import SkipJsonSchema

from adapters.catalog import ActionCall, ActionSpec, Params, inverse_same_target, restore_fields
from adapters.specs._fields import dedupe, github_login, https_url, split_list, swap_with_params
from adapters.specs.github_settings import (
    DefaultBranchParams,
    SecretDeleteParams,
    SecretSetParams,
    VisibilityParams,
    restore_default_branch,
    restore_visibility,
    undo_secret_delete,
    undo_secret_set,
)

__all__ = [
    "ACTIONS",
    "OWNER_REPO",
    "PROTECTION_PARTS",
    "PROTECTION_TOGGLES",
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

#: The switches of a branch-protection PUT body (booleans there, ``{"enabled"}`` in GET).
PROTECTION_TOGGLES = (
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
    "lock_branch",
    "allow_fork_syncing",
)
#: Every top-level key a branch-protection PUT body may have.
PROTECTION_PARTS = frozenset(
    {"required_status_checks", "enforce_admins", "required_pull_request_reviews", "restrictions",
     *PROTECTION_TOGGLES}
)


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
    """``github.branch_protection.set`` params.

    ``rule`` is for the derived inverse only: the whole before-rule, in the PUT body's shape, to
    put back (every part, with the count set from ``required_reviews``). Without it the current
    rule is kept and only the count changes. It is hidden from the params' JSON schema (nobody
    types it) and left out of the JSON form when unset, so ordinary calls look as they always did.
    """

    branch: str = Field(default="main", description="branch name")
    required_reviews: int = Field(default=1, ge=0, le=6, description="required approving reviews (0 to 6)")
    rule: SkipJsonSchema[dict[str, Any] | None] = None

    @field_validator("rule")
    @classmethod
    def _rule(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        unknown = set(value) - PROTECTION_PARTS
        if unknown:
            raise ValueError(f"not parts of a branch protection rule: {sorted(unknown)}")
        return value

    @model_serializer(mode="wrap")
    def _omit_unset_rule(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("rule") is None:
            data.pop("rule", None)
        return data

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
    params: dict[str, Any] = {
        "branch": before.get("branch", call.params.get("branch")),
        "required_reviews": before["required_reviews"],
    }
    if before.get("rule") is not None:  # the whole before-rule, so undo puts every part back
        params["rule"] = before["rule"]
    return ActionCall(
        action="github.branch_protection.set", target=call.target,
        params=BranchProtectionParams.model_validate(params).model_dump(mode="json"),
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
        inverse_hint="put the whole before-rule back (none when the branch was unprotected)",
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
    ActionSpec(
        id="github.secret.set",
        summary="Set a repository's Actions secret from a secret reference (encrypted for the repo)",
        params=SecretSetParams,
        target="owner/repo",
        inverse=undo_secret_set,
        inverse_hint=(
            "secret.delete if it did not exist; if it did, the previous value can't be restored"
            " (GitHub never returns it) unless previous=secret://NAME names where it is kept"
        ),
        examples=(
            "set the actions secret DEPLOY_TOKEN on acme/web from secret://DEPLOY_TOKEN",
            "add github secret NPM_TOKEN to acme/api using secret://NPM_PUBLISH",
            "store secret://SENTRY_DSN as the SENTRY_DSN secret in acme/docs-site",
        ),
        secret_params=frozenset({"value", "previous"}),
    ),
    ActionSpec(
        id="github.secret.delete",
        summary="Delete a repository's Actions secret",
        params=SecretDeleteParams,
        target="owner/repo",
        inverse=undo_secret_delete,
        inverse_hint=(
            "irreversible (GitHub never returns a secret's value) unless previous=secret://NAME"
            " names where the value is kept: then set it again from there"
        ),
        examples=(
            "delete the secret NPM_TOKEN from acme/web",
            "remove the actions secret DEPLOY_KEY on acme/api",
            "drop github secret OLD_SLACK_WEBHOOK from the repo acme/docs-site",
        ),
        secret_params=frozenset({"previous"}),
    ),
    ActionSpec(
        id="github.repo.set_visibility",
        summary="Make a repository public, private or internal",
        params=VisibilityParams,
        target="owner/repo",
        inverse=restore_visibility,
        inverse_hint="set the before visibility",
        examples=(
            "make acme/web private",
            "change the visibility of acme/docs-site to public",
            "set repo acme/platform-tools to internal visibility",
        ),
    ),
    ActionSpec(
        id="github.repo.set_default_branch",
        summary="Change a repository's default branch (the branch must exist)",
        params=DefaultBranchParams,
        target="owner/repo",
        inverse=restore_default_branch,
        inverse_hint="set the before default branch",
        examples=(
            "change the default branch of acme/web to main",
            "set the default branch on acme/api to develop",
            "make release/2.0 the default branch of acme/docs-site",
        ),
    ),
)
