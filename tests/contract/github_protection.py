"""Branch protection as GitHub keeps it, for :class:`~tests.contract.twins.GitHubTwin`.

``PUT …/branches/{branch}/protection`` replaces the whole rule: whatever the body leaves out
(a ``null`` status-check block, a missing ``bypass_pull_request_allowances``, an absent
toggle) is gone or back at its default afterwards. The twin therefore stores the whole rule in
the shape ``GET`` answers (users, teams and apps as objects; switches as ``{"enabled": …}``)
and rebuilds it from each PUT body the way GitHub's "Update branch protection" doc describes,
so a client that drops a field on its way through a read-modify-write shows it on the next
GET. ``required_signatures`` has its own endpoint and is not part of the PUT body: a PUT
leaves it as it was.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["TOGGLES", "protection_from_put", "seeded_protection"]

#: Switches the PUT body takes as booleans and GET answers as ``{"enabled": bool}``.
TOGGLES = (
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
    "lock_branch",
    "allow_fork_syncing",
)
_API = "https://api.github.com"


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": sum(map(ord, login)), "type": "User", "url": f"{_API}/users/{login}"}


def _team(slug: str) -> dict[str, Any]:
    return {"slug": slug, "name": slug.replace("-", " ").title(), "id": sum(map(ord, slug)), "permission": "push"}


def _app(slug: str) -> dict[str, Any]:
    return {"slug": slug, "name": slug, "id": sum(map(ord, slug)), "owner": {"login": "acme"}}


def _actors(given: dict[str, Any] | None) -> dict[str, Any]:
    given = given or {}
    return {
        "users": [_user(u) for u in given.get("users") or []],
        "teams": [_team(t) for t in given.get("teams") or []],
        "apps": [_app(a) for a in given.get("apps") or []],
    }


def protection_from_put(body: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The rule GitHub keeps after ``PUT`` with ``body``, in ``GET`` shape (the whole rule is replaced)."""
    rule: dict[str, Any] = {}
    checks = body.get("required_status_checks")
    if isinstance(checks, dict):
        if checks.get("checks") is not None:
            listed = [{"context": c["context"], "app_id": c.get("app_id")} for c in checks["checks"]]
        else:  # contexts alone: GitHub picks the app itself; the twin records "any"
            listed = [{"context": c, "app_id": None} for c in checks.get("contexts") or []]
        rule["required_status_checks"] = {
            "strict": bool(checks.get("strict")),
            "contexts": [c["context"] for c in listed],
            "checks": listed,
        }
    rule["enforce_admins"] = {"enabled": bool(body.get("enforce_admins"))}
    reviews = body.get("required_pull_request_reviews")
    if isinstance(reviews, dict):
        kept: dict[str, Any] = {
            "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews")),
            "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews")),
            "required_approving_review_count": int(reviews.get("required_approving_review_count") or 0),
            "require_last_push_approval": bool(reviews.get("require_last_push_approval")),
        }
        dismissal = reviews.get("dismissal_restrictions")
        if isinstance(dismissal, dict) and any(dismissal.get(k) for k in ("users", "teams", "apps")):
            kept["dismissal_restrictions"] = _actors(dismissal)
        bypass = reviews.get("bypass_pull_request_allowances")
        if isinstance(bypass, dict):
            kept["bypass_pull_request_allowances"] = _actors(bypass)
        rule["required_pull_request_reviews"] = kept
    if isinstance(body.get("restrictions"), dict):
        rule["restrictions"] = _actors(body["restrictions"])
    for toggle in TOGGLES:
        rule[toggle] = {"enabled": bool(body.get(toggle))}
    signatures = (previous or {}).get("required_signatures") or {"enabled": False}
    rule["required_signatures"] = copy.deepcopy(signatures)
    return rule


def seeded_protection(required_reviews: int = 1) -> dict[str, Any]:
    """A realistic rule on an organisation repo: every part of the rule is set to something."""
    rule = protection_from_put(
        {
            "required_status_checks": {
                "strict": True,
                "contexts": ["ci/build", "security/scan"],
                "checks": [
                    {"context": "ci/build", "app_id": 15368},
                    {"context": "security/scan", "app_id": 57789},
                ],
            },
            "enforce_admins": True,
            "required_pull_request_reviews": {
                "dismissal_restrictions": {"users": ["mona"], "teams": ["release-managers"], "apps": []},
                "dismiss_stale_reviews": True,
                "require_code_owner_reviews": True,
                "required_approving_review_count": required_reviews,
                "require_last_push_approval": True,
                "bypass_pull_request_allowances": {
                    "users": ["octocat"],
                    "teams": ["platform"],
                    "apps": ["dependabot"],
                },
            },
            "restrictions": {"users": ["octocat"], "teams": ["platform"], "apps": ["deploy-bot"]},
            "required_linear_history": True,
            "allow_force_pushes": False,
            "allow_deletions": False,
            "block_creations": True,
            "required_conversation_resolution": True,
            "lock_branch": False,
            "allow_fork_syncing": True,
        },
        None,
    )
    rule["required_signatures"] = {"enabled": True}
    return rule
