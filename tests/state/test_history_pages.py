"""History pages with a keyset cursor: every change exactly once, newest first, on SQLite and PostgreSQL,
through the ledger and through the CLI's stdlib reader alike."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from orchestrator.errors import NotFoundError
from state.models import ChangeRecord, utcnow
from state.reader import StateReader
from state.store import Store, new_id


def _fill(store: Store, n: int, hours_ago: int = 1) -> list[str]:
    """``n`` changes; ties on purpose: runs of three share created_at, and pairs share seq too."""
    base = utcnow().replace(microsecond=0) - timedelta(hours=hours_ago)
    ids = []
    for i in range(n):
        change = store.ledger.open(ChangeRecord(
            id=new_id("chg"), run_id="run_pages", seq=(i // 2) % 3, platform="pgvector" if i % 2 else "slack",
            action="pgvector.index.create", target=f"t{i % 4}", actor="cli:pager",
            created_at=base + timedelta(seconds=i // 3)))
        store.ledger.transition(change.id, "applied")
        ids.append(change.id)
    return ids


def _pages(fetch: object, size: int, **filters: object) -> list[list[str]]:
    pages: list[list[str]] = []
    before = None
    while True:
        page = list(fetch(limit=size, before=before, **filters))  # type: ignore[operator]
        if not page:
            return pages
        pages.append(page)
        before = page[-1]


@pytest.mark.parametrize("filters", [{}, {"platform": "pgvector"}, {"target": "t1"}])
def test_pages_hold_every_change_once_in_order(store: Store, filters: dict[str, str]) -> None:
    _fill(store, 23)
    everything = [c.id for c in store.ledger.list(limit=1000, **filters)]  # type: ignore[arg-type]
    pages = _pages(lambda **kw: [c.id for c in store.ledger.list(**kw)], 4, **filters)
    assert [cid for page in pages for cid in page] == everything
    assert all(len(p) == 4 for p in pages[:-1])


def test_pages_are_stable_while_changes_are_added(store: Store) -> None:
    """Offsets shift when a change lands between two pages; a keyset cursor doesn't."""
    _fill(store, 10, hours_ago=2)
    first = [c.id for c in store.ledger.list(limit=5)]
    _fill(store, 3, hours_ago=1)  # newer changes arrive
    second = [c.id for c in store.ledger.list(limit=5, before=first[-1])]
    everything = [c.id for c in store.ledger.list(limit=1000)]
    assert everything[3:8] == first  # by offset, page 2 would now repeat page 1
    assert second == everything[8:13]


def test_an_unknown_cursor_is_not_found(store: Store) -> None:
    _fill(store, 2)
    with pytest.raises(NotFoundError, match="no change chg_nope"):
        store.ledger.list(before="chg_nope")


def test_the_stdlib_reader_pages_as_the_ledger(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    store = Store(url)
    store.setup()
    _fill(store, 17)
    reader = StateReader.open(url)
    assert reader is not None
    for filters in ({}, {"platform": "slack"}, {"target": "t2"}):
        ours = _pages(lambda **kw: [c["id"] for c in reader.changes(**kw)], 3, **filters)
        theirs = _pages(lambda **kw: [c.id for c in store.ledger.list(**kw)], 3, **filters)
        assert ours == theirs and ours
        page = reader.changes(limit=3, before=ours[0][-1], **filters)
        assert json.dumps(page, sort_keys=True) == json.dumps(
            [c.model_dump(mode="json", exclude={"prev_hash", "hash"}) for c in
             store.ledger.list(limit=3, before=ours[0][-1], **filters)], sort_keys=True)  # type: ignore[arg-type]
    with pytest.raises(LookupError):
        reader.changes(before="chg_nope")
    reader.close()
    store.dispose()


def test_history_uses_an_index_in_its_order(store: Store) -> None:
    """The newest page is read from an index, not by sorting the table (PostgreSQL's and SQLite's plans)."""
    from sqlalchemy import text

    _fill(store, 5)
    sql = "SELECT id FROM changes WHERE platform = 'slack' ORDER BY created_at DESC, seq DESC, id DESC LIMIT 20"
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))  # a tiny table would be scanned; ask which index serves
            plan = " ".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))
            assert "ix_changes_platform_created" in plan and "Sort" not in plan, plan
        else:
            plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "ix_changes_platform_created" in plan and "TEMP B-TREE" not in plan, plan
