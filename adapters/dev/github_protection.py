"""Branch protection: GitHub's GET representation of a rule to the PUT body that recreates it.

``PUT /repos/{o}/{r}/branches/{branch}/protection`` replaces the whole rule, so changing one
part (the review count) means sending every other part back as it is. The two shapes differ
(GitHub's "Get branch protection" / "Update branch protection"):

=========================================  ==========================================
GET answers                                 PUT takes
=========================================  ==========================================
``enforce_admins: {url, enabled}``          ``enforce_admins: bool`` (null: off)
``required_status_checks: {…, contexts,     ``{strict, contexts, checks: [{context,
checks: [{context, app_id}]}``              app_id}]}`` (app_id -1: any app)
``…reviews.dismissal_restrictions.users``   ``users: [login]``, ``teams: [slug]``,
``[{login…}]``, ``teams[{slug…}]``,         ``apps: [slug]``; the same for
``apps[{slug…}]``                           ``bypass_pull_request_allowances`` and
                                            ``restrictions``
``required_linear_history: {enabled}``      ``required_linear_history: bool`` (and the
                                            other switches in :data:`PROTECTION_TOGGLES`)
absent status checks / reviews / push       ``null``
restrictions
=========================================  ==========================================

:func:`protection_rule` gives the PUT shape of what GET answered (lists sorted, so two reads
of the same rule compare equal); it is also the ``rule`` in the adapter's state, so the
before-state an undo restores holds every part. :func:`protection_body` is that rule with the
review count set. ``required_signatures`` is not part of the PUT body (it has its own
endpoint) and a PUT leaves it alone, so it is not in the rule.

``contexts`` and ``checks`` are both sent: the contract marks ``contexts`` required, and
``checks`` is what carries each check's ``app_id``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from adapters.specs.github import PROTECTION_TOGGLES

__all__ = ["protection_body", "protection_rule"]

#: GET's ``app_id`` for a check any app may report (PUT spells that -1).
_ANY_APP = -1


def _names(items: Any, key: str) -> list[str]:
    """``[{"login": "mona", …}]`` → ``["mona"]`` (sorted; entries without ``key`` skipped)."""
    if not isinstance(items, list):
        return []
    return sorted(str(i[key]) for i in items if isinstance(i, Mapping) and i.get(key) is not None)


def _actors(raw: Any) -> dict[str, list[str]] | None:
    """GET's ``{users: [{login}], teams: [{slug}], apps: [{slug}]}`` → PUT's lists of names."""
    if not isinstance(raw, Mapping):
        return None
    return {
        "users": _names(raw.get("users"), "login"),
        "teams": _names(raw.get("teams"), "slug"),
        "apps": _names(raw.get("apps"), "slug"),
    }


def _status_checks(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    out: dict[str, Any] = {"strict": bool(raw.get("strict", False))}
    contexts = {str(c) for c in raw.get("contexts") or []}
    if isinstance(raw.get("checks"), list):
        checks = [
            {"context": str(c["context"]), "app_id": _ANY_APP if c.get("app_id") is None else int(c["app_id"])}
            for c in raw["checks"]
            if isinstance(c, Mapping) and c.get("context") is not None
        ]
        out["checks"] = sorted(checks, key=lambda c: (c["context"], c["app_id"]))
        contexts |= {c["context"] for c in checks}
    out["contexts"] = sorted(contexts)
    return out


def _reviews(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    out: dict[str, Any] = {
        "required_approving_review_count": int(raw.get("required_approving_review_count") or 0)
    }
    for switch in ("dismiss_stale_reviews", "require_code_owner_reviews", "require_last_push_approval"):
        if switch in raw:
            out[switch] = bool(raw[switch])
    for group in ("dismissal_restrictions", "bypass_pull_request_allowances"):
        actors = _actors(raw.get(group))
        if actors is not None:
            out[group] = actors
    return out


def protection_rule(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body that recreates the rule GET answered with ``raw`` (see the module doc)."""
    admins = raw.get("enforce_admins")
    rule: dict[str, Any] = {
        "required_status_checks": _status_checks(raw.get("required_status_checks")),
        "enforce_admins": bool(admins.get("enabled")) if isinstance(admins, Mapping) else None,
        "required_pull_request_reviews": _reviews(raw.get("required_pull_request_reviews")),
        "restrictions": _actors(raw.get("restrictions")),
    }
    for toggle in PROTECTION_TOGGLES:
        value = raw.get(toggle)
        if isinstance(value, Mapping) and "enabled" in value:
            rule[toggle] = bool(value["enabled"])
    return rule


def protection_body(rule: Mapping[str, Any] | None, required_reviews: int) -> dict[str, Any]:
    """The whole PUT body: ``rule`` (None: no rule yet) with only the review count set."""
    if rule is None:
        return {
            "required_status_checks": None,
            "enforce_admins": None,
            "required_pull_request_reviews": {"required_approving_review_count": required_reviews},
            "restrictions": None,
        }
    body = copy.deepcopy(dict(rule))
    reviews = dict(body.get("required_pull_request_reviews") or {})
    reviews["required_approving_review_count"] = required_reviews
    body["required_pull_request_reviews"] = reviews
    return body
