"""Store, ledger and locks on both backends."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestrator.errors import BusyError, NotFoundError, StoreUnavailableError
from state.locks import lock_key
from state.models import ChangeRecord, Lock, Run, utcnow
from state.store import HEAD_REVISION, MIGRATIONS_DIR, Store, new_id


def _change(run_id: str = "run_x", target: str = "idx") -> ChangeRecord:
    return ChangeRecord(id=new_id("chg"), run_id=run_id, platform="pgvector", action="pgvector.index.create",
                        target=target, actor="cli:t", params={"dimension": 3}, before=None,
                        expected={"name": target})


def test_head_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_setup_is_idempotent_and_at_head(store: Store) -> None:
    store.setup()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION


def test_migrations_build_the_models_schema(store: Store) -> None:
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    insp = inspect(store.engine)
    for table in SQLModel.metadata.sorted_tables:
        cols = {c["name"] for c in insp.get_columns(table.name)}
        assert cols == {c.name for c in table.columns}, table.name
        built = {(i["name"], tuple(i["column_names"])) for i in insp.get_indexes(table.name)}
        declared = {(i.name, tuple(c.name for c in i.columns)) for i in table.indexes}
        assert declared <= built, (table.name, declared - built)


def test_ledger_records_transitions_and_verifies(store: Store) -> None:
    change = store.ledger.open(_change())
    assert change.status == "pending" and change.hash
    store.ledger.transition(change.id, "applied", after={"name": "idx"})
    got = store.ledger.get(change.id)
    assert got.status == "applied" and got.after == {"name": "idx"}
    report = store.ledger.verify()
    assert report.ok, report.problems
    assert (report.entries, report.changes) == (2, 1)


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE changes SET target = 'other'", "edited"),
        ("UPDATE changes SET status = 'failed'", "edited"),
        ("DELETE FROM changes", "was deleted"),
        ("DELETE FROM ledger WHERE seq = 1", "missing"),
        ("UPDATE ledger SET kind = 'x', body = '{\"id\": \"nope\"}' WHERE seq = 1", "edited"),
        ("DELETE FROM ledger WHERE seq = 2", "ledger head"),
    ],
)
def test_verify_detects_tampering(store: Store, sql: str, problem: str) -> None:
    change = store.ledger.open(_change())
    store.ledger.transition(change.id, "applied", after={"name": "idx"})
    with store.engine.begin() as conn:
        conn.execute(text(sql))
    report = store.ledger.verify()
    assert not report.ok
    assert any(problem in p for p in report.problems), report.problems


def test_concurrent_appends_keep_one_chain(store: Store) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for _ in range(5):
                c = store.ledger.open(_change(target=f"t{n}"))
                store.ledger.transition(c.id, "applied")
        except BaseException as exc:  # noqa: BLE001 - any failure in a thread is surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = store.ledger.verify()
    assert report.ok, report.problems
    assert report.entries == 40


def test_unknown_change_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.ledger.get("chg_000000000000")


def test_lock_excludes_a_second_writer_until_released(store: Store) -> None:
    key = lock_key("pgvector", "Docs")
    lease = store.locks.acquire([key], holder="cli:a", run_id="run_a", ttl_seconds=60)
    with pytest.raises(BusyError, match="busy, held by cli:a"):
        store.locks.acquire([lock_key("pgvector", "docs")], holder="cli:b", run_id="run_b", ttl_seconds=60)
    store.locks.release(lease)
    store.locks.release(store.locks.acquire([key], holder="cli:b", run_id="run_b", ttl_seconds=60))


def test_all_or_nothing_when_one_key_is_busy(store: Store) -> None:
    store.locks.acquire(["p:b"], holder="cli:a", run_id=None, ttl_seconds=60)
    with pytest.raises(BusyError):
        store.locks.acquire(["p:a", "p:b"], holder="cli:b", run_id=None, ttl_seconds=60)
    assert [lock.key for lock in store.locks.held()] == ["p:b"]


def test_stale_leases_are_taken_over(store: Store) -> None:
    now = utcnow()
    with store.session() as s:
        s.add(Lock(key="p:expired", holder="old", token="t1", expires_at=now - timedelta(seconds=1)))
        s.add(Lock(key="p:deadpid", holder="old", token="t2", host=__import__("socket").gethostname(),
                   pid=2**22 + 12345, expires_at=now + timedelta(hours=1)))
    lease = store.locks.acquire(["p:expired", "p:deadpid"], holder="new", run_id=None, ttl_seconds=60)
    assert set(lease.keys) == {"p:expired", "p:deadpid"}


def test_runs_claim_is_compare_and_set(store: Store) -> None:
    store.create_run(Run(id="run_1", text="x", actor="a", status="awaiting_approval"))
    assert store.claim_run("run_1", "awaiting_approval", "deciding")
    assert not store.claim_run("run_1", "awaiting_approval", "deciding")
    assert store.get_run("run_1").status == "deciding"


def test_inventory_and_freezes(store: Store) -> None:
    store.replace_inventory("pgvector", {"index": [{"name": "b"}, {"name": "a"}]})
    store.upsert_inventory_item("pgvector", "index", "c", {"name": "c"})
    store.upsert_inventory_item("pgvector", "index", "a", None)
    assert store.inventory() == {"pgvector.index": ["b", "c"]}
    store.add_freeze("prod", utcnow() + timedelta(hours=1), "release", "cli:a")
    assert [f.environment for f in store.active_freezes("prod")] == ["prod"]
    assert store.lift_freezes("prod", "cli:b") == 1
    assert store.active_freezes() == []


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    with pytest.raises(StoreUnavailableError, match="unreachable") as info:
        store.setup()
    assert "SOPHIA_DATABASE_URL" in info.value.hint
