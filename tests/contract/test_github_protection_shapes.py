"""Branch protection's GET shape to PUT shape, checked without a server.

The conversion is what keeps a review-count change from dropping the rest of the rule
(:mod:`adapters.dev.github_protection`); the twin's PUT model
(:mod:`tests.contract.github_protection`) is GitHub's documented replace semantics.
"""

from __future__ import annotations

import copy

from adapters.catalog import ActionCall
from adapters.dev.github_protection import protection_body, protection_rule
from adapters.specs.github import ACTIONS, BranchProtectionParams

from .github_protection import protection_from_put, seeded_protection

SET = next(spec for spec in ACTIONS if spec.id == "github.branch_protection.set")


def test_get_shape_becomes_put_shape() -> None:
    raw = {
        "url": "https://api.github.com/repos/acme/web/branches/main/protection",
        "required_status_checks": {
            "url": "…", "strict": True, "contexts": ["lint", "build"], "contexts_url": "…",
            "checks": [{"context": "lint", "app_id": None}, {"context": "build", "app_id": 15368}],
        },
        "enforce_admins": {"url": "…", "enabled": False},
        "required_pull_request_reviews": {
            "url": "…", "dismiss_stale_reviews": True, "require_code_owner_reviews": False,
            "required_approving_review_count": 2, "require_last_push_approval": True,
            "dismissal_restrictions": {"url": "…", "users": [{"login": "mona", "id": 1}],
                                       "teams": [{"slug": "core", "id": 2}], "apps": []},
            "bypass_pull_request_allowances": {"users": [], "teams": [{"slug": "release"}],
                                               "apps": [{"slug": "renovate", "id": 3}]},
        },
        "required_signatures": {"url": "…", "enabled": True},
        "required_linear_history": {"enabled": True},
        "lock_branch": {"enabled": False},
    }
    assert protection_rule(raw) == {
        "required_status_checks": {
            "strict": True,
            "contexts": ["build", "lint"],
            "checks": [{"context": "build", "app_id": 15368}, {"context": "lint", "app_id": -1}],
        },
        "enforce_admins": False,
        "required_pull_request_reviews": {
            "required_approving_review_count": 2, "dismiss_stale_reviews": True,
            "require_code_owner_reviews": False, "require_last_push_approval": True,
            "dismissal_restrictions": {"users": ["mona"], "teams": ["core"], "apps": []},
            "bypass_pull_request_allowances": {"users": [], "teams": ["release"], "apps": ["renovate"]},
        },
        "restrictions": None,
        "required_linear_history": True,
        "lock_branch": False,
    }


def test_body_changes_only_the_count_and_round_trips_through_a_replace() -> None:
    stored = seeded_protection(1)
    rule = protection_rule(stored)
    body = protection_body(rule, 4)
    assert body["required_pull_request_reviews"]["required_approving_review_count"] == 4
    assert {k: v for k, v in body.items() if k != "required_pull_request_reviews"} == {
        k: v for k, v in rule.items() if k != "required_pull_request_reviews"
    }
    after = protection_from_put(body, stored)
    expected = copy.deepcopy(stored)
    expected["required_pull_request_reviews"]["required_approving_review_count"] = 4
    assert after == expected
    assert protection_from_put(protection_body(protection_rule(after), 1), after) == stored


def test_inverse_carries_the_whole_before_rule_and_plain_calls_do_not() -> None:
    rule = protection_rule(seeded_protection(1))
    call = SET.call("acme/web", {"branch": "main", "required_reviews": 3})
    assert call.params == {"branch": "main", "required_reviews": 3}
    before = {"branch": "main", "enabled": True, "required_reviews": 1, "rule": rule}
    inverse = SET.derive_inverse(call, before, None)
    assert inverse == ActionCall(
        action=SET.id, target="acme/web", params={"branch": "main", "required_reviews": 1, "rule": rule}
    )
    assert SET.call(inverse.target, inverse.params) == inverse  # it survives re-validation
    assert "rule" not in SET.json_schema()["properties"]
    assert "rule" in BranchProtectionParams.model_fields
