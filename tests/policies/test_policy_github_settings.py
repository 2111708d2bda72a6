"""The default pack on GitHub's riskier settings: a repo made public, a secret that can't come back.

``public-repo-review`` (mandatory) asks for approval whenever a repository is made public;
``unrestorable-secret`` whenever an existing Actions secret is overwritten or deleted with no
reference to its current value (GitHub never returns it, so undo is impossible). Params are in
their planned JSON form (the models leave an unset ``previous`` out, so ``has()`` reads it).
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.specs.github import ACTIONS
from orchestrator.state import Effect
from policies.loader import load_engine
from tests.policies.policy_helpers import make_ctx

SPECS = {spec.id: spec for spec in ACTIONS}


def fired(action: str, params: dict[str, Any], before: dict[str, Any] | None = None) -> set[str]:
    planned = SPECS[action].validate_params(params)
    decision = load_engine("").evaluate(make_ctx(action, "acme/web", planned, before=before))
    return {r["rule"] for r in decision.reasons if decision.effect is not Effect.ALLOW}


@pytest.mark.parametrize(("visibility", "review"), [("public", True), ("Public", True), ("private", False)])
def test_making_a_repo_public_is_reviewed(visibility: str, review: bool) -> None:
    rules = fired("github.repo.set_visibility", {"visibility": visibility}, {"visibility": "private"})
    assert ("public-repo-review" in rules) is review


EXISTS = {"name": "DEPLOY_TOKEN", "exists": True, "updated_at": "2026-01-01T00:00:00Z"}
ABSENT = {"name": "DEPLOY_TOKEN", "exists": False, "updated_at": None}


@pytest.mark.parametrize(
    ("action", "params", "before", "review"),
    [
        ("github.secret.set", {"name": "DEPLOY_TOKEN", "value": "secret://NEW"}, EXISTS, True),
        (
            "github.secret.set",
            {"name": "DEPLOY_TOKEN", "value": "secret://NEW", "previous": "secret://OLD"},
            EXISTS,
            False,
        ),
        ("github.secret.set", {"name": "DEPLOY_TOKEN", "value": "secret://NEW"}, ABSENT, False),
        ("github.secret.delete", {"name": "DEPLOY_TOKEN"}, EXISTS, True),
        ("github.secret.delete", {"name": "DEPLOY_TOKEN", "previous": "secret://OLD"}, EXISTS, False),
    ],
)
def test_unrestorable_secret_changes_are_reviewed(
    action: str, params: dict[str, Any], before: dict[str, Any], review: bool
) -> None:
    assert ("unrestorable-secret" in fired(action, params, before)) is review
