"""The stdlib reader answers exactly as the store and the service do, and only when it may."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import readonly
from orchestrator.config import Settings
from state.models import ApprovalRecord, ChangeRecord, InventoryItem, Run, utcnow
from state.reader import COLUMN_KINDS, StateReader, sqlite_path
from state.revision import HEAD_REVISION
from state.store import MIGRATIONS_DIR, Store, new_id

MODELS = {"runs": Run, "changes": ChangeRecord, "approvals": ApprovalRecord, "inventory": InventoryItem}


def as_json(value: Any) -> str:
    """Compared as the CLI prints them: ``1`` is not ``true``."""
    return json.dumps(value, sort_keys=True)


def _seed(store: Store) -> dict[str, str]:
    """Runs, changes (an undo among them), approval answers and inventory, with awkward values."""
    whole_second = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    applied = Run(id=new_id("run"), text="create a vector index called docs with 3 dimensions", actor="cli:alice",
                  parsed={"intent": "action"}, plan={"steps": [], "digest": "d1"}, status="applied",
                  result={"changes": ["x"]}, created_at=whole_second, updated_at=whole_second)
    waiting = Run(id=new_id("run"), text="delete the vector index docs", actor="cli:alice", status="awaiting_approval",
                  result={"awaiting": {"kind": "approval", "digest": "d2", "min_approvals": 1, "four_eyes": True,
                                       "expires_at": (utcnow() + timedelta(hours=1)).isoformat()}})
    dry = Run(id=new_id("run"), text="tune vector index docs: m 32", actor="cli:bob", dry_run=True, status="dry_run")
    for run in (applied, waiting, dry):
        store.create_run(run)
    first = store.ledger.open(ChangeRecord(id=new_id("chg"), run_id=applied.id, platform="pgvector",
                                           action="pgvector.index.create", target="docs", actor="cli:alice",
                                           params={"dimension": 3}, before=None, expected={"name": "docs"},
                                           reversible=True, inverse={"action": "pgvector.index.delete"}))
    store.ledger.transition(first.id, "applied", after={"name": "docs", "dimension": 3, "rows": 0})
    undo = store.ledger.open(ChangeRecord(id=new_id("chg"), run_id=applied.id, platform="pgvector",
                                          action="pgvector.index.delete", target="docs", actor="cli:alice",
                                          undo_of=first.id, risk="destructive"))
    store.ledger.transitions((undo.id, "applied", None, {"after": None, "verified": True}),
                             (first.id, "rolled_back", None, {"rolled_back_by": undo.id}))
    failed = store.ledger.open(ChangeRecord(id=new_id("chg"), run_id=dry.id, platform="github", action="github.repo.create",
                                            target="web", actor="cli:bob", environment="staging"))
    store.ledger.transition(failed.id, "failed", error="refused: 422")
    with store.session() as s:
        s.add(ApprovalRecord(run_id=waiting.id, digest="d2", decision="approve", actor="cli:alice",
                             source="cli:alice", outcome="void", problem="four-eyes: not the requester"))
        s.add(ApprovalRecord(run_id=waiting.id, digest="d2", decision="reject", actor="cli:carol", comment="no",
                             outcome="pending"))
    store.replace_inventory("pgvector", {"index": [{"name": "docs", "dimension": 3, "rows": 0}]})
    store.upsert_inventory_item("pgvector", readonly.STATUS_TYPE, "~", {
        "platform": "pgvector", "healthy": True, "configured": True, "message": "PostgreSQL 18 (embedded server)",
        "details": {}, "drift": [], "checked_at": "2026-12-07T12:00:00+00:00"})
    return {"applied": applied.id, "waiting": waiting.id, "dry": dry.id, "first": first.id}


@pytest.fixture
def seeded(isolated_env: Path) -> tuple[Store, StateReader, dict[str, str]]:
    store = Store(Settings().state_url)
    store.setup()
    ids = _seed(store)
    reader = StateReader.open(Settings().state_url)
    assert reader is not None
    yield store, reader, ids
    reader.close()
    store.dispose()


def test_column_kinds_cover_every_column_of_the_models() -> None:
    from sqlalchemy import JSON, Boolean

    from state.models import UTCDateTime

    for table, model in MODELS.items():
        expected = {}
        for column in model.__table__.columns:  # type: ignore[attr-defined]
            kind = ("ts" if isinstance(column.type, UTCDateTime) else "json" if isinstance(column.type, JSON)
                    else "bool" if isinstance(column.type, Boolean) else None)
            if kind:
                expected[column.name] = kind
        assert COLUMN_KINDS[table] == expected, table


def test_rows_read_as_the_models_dump_them(seeded: tuple[Store, StateReader, dict[str, str]]) -> None:
    store, reader, ids = seeded
    drop = {"prev_hash", "hash"}
    for kw in ({}, {"platform": "pgvector"}, {"target": "docs"}, {"status": "failed"}, {"run_id": ids["applied"]},
               {"since": utcnow() - timedelta(minutes=1)}, {"limit": 1}):
        want = [c.model_dump(mode="json", exclude=drop) for c in store.ledger.list(**kw)]  # type: ignore[arg-type]
        assert as_json(reader.changes(**kw)) == as_json(want), kw  # type: ignore[arg-type]
    for status in (None, "awaiting_approval"):
        assert as_json(reader.runs(status=status)) == as_json([r.model_dump(mode="json")
                                                               for r in store.list_runs(status=status)])
    with store.session() as s:
        from sqlmodel import select

        answers = [r.model_dump(mode="json", exclude={"id"}) for r in s.exec(
            select(ApprovalRecord).where(ApprovalRecord.run_id == ids["waiting"]).order_by(ApprovalRecord.id))]
        items = [i.model_dump(mode="json") for i in s.exec(select(InventoryItem).order_by(InventoryItem.name))]
    assert as_json(reader.answers(ids["waiting"])) == as_json(answers) and len(answers) == 2
    assert as_json(sorted(reader.inventory(), key=lambda i: i["id"])) == as_json(sorted(items, key=lambda i: i["id"]))


def test_quick_answers_equal_the_services(seeded: tuple[Store, StateReader, dict[str, str]]) -> None:
    from orchestrator.service import OrchestratorService

    _store, reader, ids = seeded

    async def service_answers() -> dict[str, Any]:
        async with OrchestratorService(Settings(), lazy=True) as svc:
            return {"history": svc.history(), "since": svc.history(since="1h", platform="pgvector"),
                    "runs": svc.runs(), "waiting": svc.runs(status="awaiting_approval"),
                    "view": svc.view(ids["applied"]), "approvals": svc.approvals()}

    want = asyncio.run(service_answers())
    assert as_json(readonly.history(reader)) == as_json(want["history"]) and len(want["history"]) == 3
    assert as_json(readonly.history(reader, since="1h", platform="pgvector")) == as_json(want["since"])
    assert as_json(readonly.runs(reader)) == as_json(want["runs"])
    assert as_json(readonly.runs(reader, status="awaiting_approval")) == as_json(want["waiting"])
    assert as_json(readonly.view(reader, ids["applied"])) == as_json(want["view"])
    assert as_json(readonly.approvals(reader)) == as_json(want["approvals"])
    assert want["approvals"][0]["run_id"] == ids["waiting"]


def test_cached_status_is_the_last_check_with_the_inventory_rows(seeded: tuple[Store, StateReader, dict[str, str]]
                                                                ) -> None:
    _store, reader, _ids = seeded
    [pg] = readonly.cached_status(reader, "pgvector", ["pgvector"]) or []
    assert pg["cached"] is True and pg["healthy"] is True and pg["checked_at"] == "2026-12-07T12:00:00+00:00"
    assert pg["inventory"] == {"index": [{"name": "docs", "dimension": 3, "rows": 0}]}
    every = readonly.cached_status(reader, None, ["github", "pgvector"]) or []
    assert [s["platform"] for s in every] == ["github", "pgvector"]
    assert every[0]["healthy"] is None and every[0]["checked_at"] is None  # never checked: said so, not guessed
    assert readonly.cached_status(reader, "github", ["github"]) is None  # nothing cached: only a live check answers


def test_quick_path_only_on_an_existing_sqlite_store_at_head(isolated_env: Path, tmp_path: Path) -> None:
    assert sqlite_path("postgresql+psycopg://u@h/db") is None and sqlite_path("sqlite://") is None
    assert StateReader.open(f"sqlite:///{tmp_path / 'absent.db'}") is None
    assert not (tmp_path / "absent.db").exists()  # looking didn't create it
    store = Store(Settings().state_url)
    store.setup()
    assert readonly.open_reader(Settings()) is not None
    db = sqlite3.connect(sqlite_path(Settings().state_url))  # type: ignore[arg-type]
    db.execute("UPDATE alembic_version SET version_num = '0003'")
    db.commit()
    assert StateReader.open(Settings().state_url) is None  # behind head: the store migrates it first
    db.execute("UPDATE alembic_version SET version_num = ?", (HEAD_REVISION,))
    db.commit()
    db.close()
    store.dispose()


@pytest.mark.parametrize("unsettled", ["pending", "needs_reconcile", "unverified_undo"])
def test_quick_path_steps_aside_while_something_awaits_reconciling(isolated_env: Path, unsettled: str) -> None:
    store = Store(Settings().state_url)
    store.setup()
    change = store.ledger.open(ChangeRecord(id=new_id("chg"), run_id="run_x", platform="pgvector",
                                            action="pgvector.index.create", target="t", actor="cli:t",
                                            undo_of="chg_y" if unsettled == "unverified_undo" else None))
    if unsettled == "needs_reconcile":
        store.ledger.transition(change.id, "needs_reconcile")
    elif unsettled == "unverified_undo":
        store.ledger.transition(change.id, "applied")
    assert readonly.open_reader(Settings()) is None
    if unsettled == "needs_reconcile":  # read back once already and left for a person: no longer in the way
        store.ledger.transition(change.id, "needs_reconcile", kind="reconcile")
        assert readonly.open_reader(Settings()) is not None
    store.dispose()


def test_an_older_store_is_migrated_to_head_then_read(isolated_env: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    url = Settings().state_url
    Path(sqlite_path(url)).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    engine.dispose()
    assert StateReader.open(url) is None
    store = Store(url)
    store.setup()
    store.create_run(Run(id="run_old", text="help", actor="cli:t", created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    reader = StateReader.open(url)
    assert reader is not None and [r["id"] for r in reader.runs()] == ["run_old"]
    reader.close()
    store.dispose()


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31)))
def test_timestamps_read_as_pydantic_serialises_them(moment: datetime) -> None:
    """The stdlib conversion equals pydantic's, microseconds or none (the quick path can't import pydantic)."""
    from pydantic_core import to_jsonable_python

    from state.reader import _timestamp

    stored = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    assert _timestamp(stored) == to_jsonable_python(moment.replace(tzinfo=UTC))
    assert _timestamp(moment.strftime("%Y-%m-%d %H:%M:%S")) == to_jsonable_python(
        moment.replace(microsecond=0, tzinfo=UTC))
