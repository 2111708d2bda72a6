"""A drift "revert" is offered only where running it restores the before-state.

Re-creating a deleted resource counts only when the create action reproduces the before-state
(its prediction agrees on the comparable fields) and the resource held nothing its state does
not describe. Otherwise the alert says what the action would do and offers no revert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.ai.pgvector import PgVectorAdapter
from adapters.base import ObservedChange
from adapters.dev.github import GitHubAdapter
from orchestrator.config import Settings
from orchestrator.drift import revert_call, revert_note
from state.models import Drift

REPO = {"full_name": "acme/web", "private": True, "description": "the web app", "archived": False}
INDEX = {"name": "kb", "dimension": 3, "metric": "cosine", "m": 16, "ef_construction": 64, "rows": 0}


def _drift(platform: str, resource_type: str, name: str, before: Any, observed: Any, revert: Any = None) -> Drift:
    verb = "deleted" if observed is None else "created" if before is None else "updated"
    return Drift(id="drift_x", platform=platform, resource_type=resource_type, name=name, verb=verb,
                 before=before, observed=observed, revert=revert)


def test_deleted_github_repo_is_not_offered_a_revert(isolated_env: object) -> None:
    adapter = GitHubAdapter(Settings())
    gone = ObservedChange("repo", "acme/web", None, verb="deleted")
    assert revert_call(adapter, gone, REPO) is None
    note = revert_note(_drift("github", "repo", "acme/web", REPO, None))
    assert "github.repo.create" in note and "recreate, empty" in note
    assert "contents, issues and settings are not restored" in note


def test_deleted_empty_pgvector_index_is_recreated_exactly(isolated_env: object) -> None:
    adapter = PgVectorAdapter(Settings(pgvector_url="postgresql://unused/db"))
    call = revert_call(adapter, ObservedChange("index", "kb", None, verb="deleted"), INDEX)
    assert call is not None and call.action == "pgvector.index.create"
    assert call.params == {"dimension": 3, "metric": "cosine", "m": 16, "ef_construction": 64}
    assert "Revert would run pgvector.index.create" in revert_note(
        _drift("pgvector", "index", "kb", INDEX, None, call.model_dump(mode="json")))


def test_deleted_pgvector_index_with_vectors_is_not_offered_a_revert(isolated_env: object) -> None:
    adapter = PgVectorAdapter(Settings(pgvector_url="postgresql://unused/db"))
    full = INDEX | {"rows": 1200}
    assert revert_call(adapter, ObservedChange("index", "kb", None, verb="deleted"), full) is None
    note = revert_note(_drift("pgvector", "index", "kb", full, None))
    assert "recreate, empty" in note and "1200 vector(s)" in note


def test_recreate_that_cannot_reproduce_the_before_state_is_not_a_revert(isolated_env: object) -> None:
    """A before-state the create action can't produce (here: an archived repo) is not restored by it."""

    class Plain(GitHubAdapter):
        content_on_delete: ClassVar[Mapping[str, str]] = {}  # pretend a repo held nothing but its settings

    archived = REPO | {"archived": True}
    assert revert_call(Plain(Settings()), ObservedChange("repo", "acme/web", None, verb="deleted"), archived) is None
    assert revert_call(Plain(Settings()), ObservedChange("repo", "acme/web", None, verb="deleted"), REPO) is not None


def test_changed_pgvector_settings_revert_genuinely(isolated_env: object) -> None:
    adapter = PgVectorAdapter(Settings(pgvector_url="postgresql://unused/db"))
    changed = INDEX | {"m": 32, "ef_construction": 100}
    call = revert_call(adapter, ObservedChange("index", "kb", changed), INDEX)
    assert call is not None and call.action == "pgvector.index.configure"
    assert call.params == {"m": 16, "ef_construction": 64}


def test_update_without_inverse_says_so() -> None:
    note = revert_note(_drift("github", "repo", "acme/web", REPO, REPO | {"description": "hacked"}))
    assert "no automatic revert" in note.lower()
