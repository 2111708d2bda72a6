"""Ids pasted in loose shapes are settled by the rows that exist (both backends)."""

from __future__ import annotations

import pytest

from orchestrator.errors import NotFoundError
from state.models import ChangeRecord, Run
from state.store import Store


def _run(store: Store, run_id: str) -> None:
    store.create_run(Run(id=run_id, text="x", actor="a", status="awaiting_approval"))


def _change(store: Store, change_id: str) -> None:
    store.ledger.open(ChangeRecord(id=change_id, run_id="run_x", platform="pgvector", action="pgvector.index.create",
                                    target="idx", actor="cli:t", params={"dimension": 3}, before=None,
                                    expected={"name": "idx"}))


@pytest.mark.parametrize("token", ["run_91bc2e3f4a5b", "r-91bc", "R-91BC2E", "run-91bc2", "`run_91bc`", "91bc2e"])
def test_a_run_fragment_names_the_one_run(store: Store, token: str) -> None:
    _run(store, "run_91bc2e3f4a5b")
    _run(store, "run_5d17aa000000")
    assert store.resolve_run_id(token) == "run_91bc2e3f4a5b"
    assert store.get_run(token).id == "run_91bc2e3f4a5b"


def test_an_ambiguous_fragment_lists_the_candidates(store: Store) -> None:
    _run(store, "run_ab1000000000")
    _run(store, "run_ab2000000000")
    with pytest.raises(NotFoundError) as err:
        store.resolve_run_id("r-ab")
    assert "run_ab1000000000" in str(err.value) and "run_ab2000000000" in str(err.value)
    assert "more of the id" in err.value.hint


@pytest.mark.parametrize("token", ["r-zz99", "run_ffff", "hello", "%", "run_%", "r-_"])
def test_no_match_or_a_wildcard_is_not_found(store: Store, token: str) -> None:
    _run(store, "run_91bc2e3f4a5b")
    with pytest.raises(NotFoundError):
        store.resolve_run_id(token)


@pytest.mark.parametrize("token", ["chg_77aa00000000", "77", "chg-77a", "CHG_77AA", "change77"])
def test_a_change_fragment_names_the_one_change(store: Store, token: str) -> None:
    _change(store, "chg_77aa00000000")
    _change(store, "chg_5ccb8df97b01")
    assert store.ledger.get(token).id == "chg_77aa00000000"
