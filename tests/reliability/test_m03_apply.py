"""RELIABILITY.md §7 rows 16–21: crashes, Pulumi, locks, idempotency keys, rollback, inbox/outbox.

Real stores throughout (SQLite state; PostgreSQL for the locks/ledger race and for the
pgvector platform); the CLI runs in a subprocess where a process has to die.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config import Settings
from orchestrator.errors import BusyError
from orchestrator.service import OrchestratorService
from tests.interfaces.conftest import Api
from tests.interfaces.test_api import SlowParser
from tests.interfaces.test_webhooks import calls, signed
from tests.orchestrator.conftest import arun, req
from tests.reliability.conftest import inbox_rows

ROOT = Path(__file__).resolve().parents[2]


def _cli_env(home: Path, pg_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env.update(SOPHIA_HOME=str(home), SOPHIA_PGVECTOR_URL=pg_url, SOPHIA_ACTOR="cli:alice", PYTHONPATH=str(ROOT))
    return env


def _cli(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.interfaces.cli", *args], env=env | extra,
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)


# -- row 16 ------------------------------------------------------------------------------


def test_row16_crash_mid_apply_is_reconciled(isolated_env: Path, pg_url: str) -> None:
    """The CLI is killed (exit 137, no cleanup) right after the ``pending`` commit and right after the
    platform call returned; the next start settles each by reading the platform: not-sent → failed,
    landed → applied; no pending row remains, no duplicate object, the ledger verifies.

    Smaller than the lead's kill -9 trials: two fault points via SOPHIA_FAULTS (the "mid-HTTP"
    point is not covered here; pgvector speaks SQL, not HTTP).
    """
    env = _cli_env(isolated_env, pg_url)
    expected = ({"lost": "pending"}, {"lost": "failed", "landed": "pending"})  # each start settles the last crash
    for (name, fault), seen in zip((("lost", "after_pending=exit"), ("landed", "after_call=exit")), expected,
                                   strict=True):
        crashed = _cli(env, "do", f"create a vector index called {name} with 3 dims", "--yes", SOPHIA_FAULTS=fault)
        assert crashed.returncode == 137, crashed.stderr
        with sqlite3.connect(isolated_env / "state.db") as db:
            assert dict(db.execute("SELECT target, status FROM changes").fetchall()) == seen
    started = time.monotonic()
    history = json.loads(_cli(env, "history", "--json").stdout)
    assert time.monotonic() - started < 60, "settled well inside the 60 s SLA"
    assert {c["target"]: c["status"] for c in history} == {"lost": "failed", "landed": "applied"}
    status = json.loads(_cli(env, "status", "pgvector", "--json").stdout)
    assert [i["name"] for i in status[0]["inventory"]["index"]] == ["landed"]
    again = _cli(env, "do", "create a vector index called landed with 3 dims", "--yes")
    assert again.returncode == 4 and "already exists" in again.stderr, "no duplicate object"
    with sqlite3.connect(isolated_env / "state.db") as db:
        assert db.execute("SELECT count(*) FROM changes WHERE status = 'pending'").fetchone() == (0,)
    assert json.loads(_cli(env, "ledger", "verify", "--json").stdout)["ok"]


# -- row 17 ------------------------------------------------------------------------------


@pytest.fixture
def iac(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The real IacRunner over the fake Pulumi workspace of tests/iac (the pulumi CLI can't run here)."""
    from iac.runner import IacRunner
    from tests.iac.fakes import FakeWorkspace

    monkeypatch.setenv("SOPHIA_PULUMI_CONFIG_PASSPHRASE", "correct horse battery staple")
    monkeypatch.setenv("SOPHIA_SNOWFLAKE_TOKEN", "sf-token-000111222")
    workspace = FakeWorkspace()
    return IacRunner(Settings(iac_retry_seconds=0.01, iac_lock_timeout_seconds=0.5), workspace), workspace


def test_row17_pulumi_interrupted_and_concurrent(iac: tuple[Any, Any]) -> None:
    """(a) An interrupted ``up`` left pending operations: the next run refreshes, never runs ``pulumi cancel``,
    applies nothing and reports ``needs_reconcile``. (b) Two concurrent ups on one stack never overlap;
    Pulumi's ConcurrentUpdateError (409) is retried at most 3 times, then surfaced as busy.

    Mock: the Pulumi CLI can't be installed here, so the workspace is tests/iac's fake (the real
    inline program under ``set_mocks``, the SDK's real result/error classes); the runner — locking,
    retries, journal, error mapping — is the production code. Gap: no real ``kill -9`` of a
    ``pulumi up``.
    """
    from adapters.testing import run
    from iac.errors import PendingOperationsError, StackBusyError
    from iac.programs.snowflake import PROGRAM as SNOWFLAKE
    from tests.iac.fakes import command_error

    runner, workspace = iac

    def spec(**sizes: str) -> Any:
        return SNOWFLAKE.load({"warehouses": {n: {"name": n, "size": s} for n, s in sizes.items()}})

    run(runner.up(SNOWFLAKE, "prod", spec(ETL_WH="SMALL")))
    stack = workspace.stack("sophia-snowflake", "prod")
    urn = next(iter(stack.resources))
    stack.pending_operations = [{"resource": {"urn": urn, "type": "snowflake:index/warehouse:Warehouse"},
                                 "type": "creating"}]
    stack.calls.clear()
    with pytest.raises(PendingOperationsError) as raised:
        run(runner.up(SNOWFLAKE, "prod", spec(ETL_WH="LARGE")))
    assert raised.value.code == "needs_reconcile" and stack.calls == ["export", "refresh"]
    assert "cancel" not in stack.calls and "up" not in stack.calls
    # pending *creates* stay until someone checks the provider and clears them by hand
    assert stack.pending_operations and "--clear-pending-creates" in raised.value.hint
    stack.pending_operations = []  # the operator's `pulumi refresh --clear-pending-creates`

    active, peak = [0], [0]
    guard = threading.Lock()
    real_up = stack.up

    def slow_up(**kwargs: Any) -> Any:
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        try:
            return real_up(**kwargs)
        finally:
            with guard:
                active[0] -= 1

    stack.up = slow_up

    async def both() -> list[Any]:
        return await asyncio.gather(runner.up(SNOWFLAKE, "prod", spec(ETL_WH="SMALL", A_WH="SMALL")),
                                    runner.up(SNOWFLAKE, "prod", spec(ETL_WH="SMALL", B_WH="SMALL")))

    first, second = run(both())
    assert peak[0] == 1 and first.result == second.result == "succeeded"
    stack.calls.clear()
    stack.fail = [command_error("error: [409] Conflict: Another update is currently in progress.\n")] * 5
    with pytest.raises(StackBusyError) as busy:
        run(runner.up(SNOWFLAKE, "prod", spec(ETL_WH="XLARGE")))
    assert busy.value.code == "busy" and stack.calls.count("up") == 4, stack.calls


# -- row 18 ------------------------------------------------------------------------------


def test_row18_locks_and_no_lost_update(pg_url: str) -> None:
    """20 writers race for one resource on PostgreSQL: exactly 1 lease, 19 BusyErrors naming the holder;
    a crashed holder's lease expires within its TTL and a waiter proceeds; 20 concurrent ledger
    transitions of one change lose none (the hash chain verifies, every entry is there).

    Gap: there is no ``version`` column (optimistic concurrency) on change records; updates
    take a row lock (``SELECT … FOR UPDATE``) instead, so "0 rows updated, retried" has no
    counterpart. The no-lost-update property is asserted directly.
    """
    from state.ledger import Ledger
    from state.locks import LockManager
    from state.models import ChangeRecord
    from state.store import Store

    store = Store(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    store.setup()
    try:
        locks = LockManager(store)
        barrier = threading.Barrier(20)
        won: list[Any] = []
        busy: list[BusyError] = []

        def writer(i: int) -> None:
            barrier.wait()
            try:
                won.append(locks.acquire(["pgvector:docs"], holder=f"cli:w{i}", run_id=f"run_{i}", ttl_seconds=2))
            except BusyError as exc:
                busy.append(exc)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1 and len(busy) == 19
        holder = won[0].holder
        assert all(e.details["holder"] == holder and "busy, held by " + holder in e.message for e in busy)
        # the holder "crashes": never releases. A waiter gets in once the 2 s lease has expired.
        with pytest.raises(BusyError):
            locks.acquire(["pgvector:docs"], holder="cli:waiter", run_id="run_w", ttl_seconds=2)
        time.sleep(2.1)
        lease = locks.acquire(["pgvector:docs"], holder="cli:waiter", run_id="run_w", ttl_seconds=2)
        assert lease.holder == "cli:waiter"

        ledger = Ledger(store)
        change = ledger.open(ChangeRecord(id="chg_race", run_id="run_race", platform="pgvector",
                                          action="pgvector.index.create", target="docs", actor="cli:alice"))
        go = threading.Barrier(20)

        def transition(i: int) -> None:
            go.wait()
            ledger.transition(change.id, "pending", kind=f"note-{i}")

        threads = [threading.Thread(target=transition, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report = ledger.verify()
        assert report.ok, report
        from sqlmodel import select

        from state.models import LedgerEntry

        with store.session() as s:
            kinds = sorted(e.kind for e in s.exec(select(LedgerEntry).where(LedgerEntry.change_id == change.id)))
        assert kinds == sorted(["open"] + [f"note-{i}" for i in range(20)])
    finally:
        store.dispose()


# -- row 19 ------------------------------------------------------------------------------


def test_row19_rest_idempotency_key(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same key + body twice: identical answer, one effect; other body: 422; in flight: 409; past the
    retention (72 h, documented): a new request; 5xx not stored.

    Gap: a mutating POST without a key is NOT refused with 400 — the key is optional by
    design (the CLI and Slack send none); each keyless POST is a new request, asserted here.
    The 5xx case forces one internal failure by wrapping ``service.submit`` (nothing real fails
    on demand in-process); that is the only stand-in.
    """
    from state.models import IdempotencyRecord

    def post(text: str, key: str | None) -> Any:
        headers = api.h("operator") | ({"Idempotency-Key": key} if key else {})
        return api.client.post("/v1/commands", json={"text": text}, headers=headers)

    create = "create a vector index called keyed with 3 dimensions"
    first, second = post(create, "k-1"), post(create, "k-1")
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert len(api.store.ledger.list(limit=100)) == 1
    reused = post("help", "k-1")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"

    api.ctx.host.service.deps.parsers["default"] = SlowParser(1.5)
    results: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: results.update(first=post("help", "k-slow")))
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with api.store.session() as s:
            if s.get(IdempotencyRecord, ("k-slow", "api:operator")) is not None:
                break
        time.sleep(0.02)
    in_flight = post("help", "k-slow")
    assert in_flight.status_code == 409 and in_flight.json()["code"] == "idempotency_key_in_flight"
    thread.join(30)
    from orchestrator.parsing.offline import OfflineParser

    api.ctx.host.service.deps.parsers["default"] = OfflineParser()

    before = len(api.runs())
    assert post("help", None).status_code == post("help", None).status_code == 200
    assert len(api.runs()) == before + 2, "keyless requests are each run"

    with api.store.session() as s:
        record = s.get(IdempotencyRecord, ("k-1", "api:operator"))
        assert record is not None
        record.created_at -= timedelta(hours=73)
        s.add(record)
    expired = post("help", "k-1")
    assert expired.status_code == 200 and "idempotent-replayed" not in expired.headers

    service = api.ctx.host.service
    real = service.submit
    attempts = {"n": 0}

    async def flaky(request: Any, parsed: Any = None, **kw: Any) -> Any:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise RuntimeError("transient")
        return await real(request, parsed, **kw)

    monkeypatch.setattr(service, "submit", flaky)
    assert post("help", "k-5xx").status_code == 500
    assert post("help", "k-5xx").status_code == 200 and attempts["n"] == 2


# -- row 20 ------------------------------------------------------------------------------


def test_row20_rollback_restores_the_read_back(pg_url: str, isolated_env: Path) -> None:
    """pgvector (the adapter with reversible actions that runs for real here): apply → undo → read-back equals
    the pre-state; undoing the same change again changes nothing; an irreversible step is flagged
    at plan time and waits for an explicit approval.

    Gap: a second undo is refused (``approval_invalid``-style "already undone") rather than
    answered as a no-op success; either way no second inverse runs.
    """

    async def flow() -> None:
        async with OrchestratorService(Settings(pgvector_url=pg_url)) as svc:
            created = await svc.submit(req("create a vector index called rb with 3 dimensions"))
            assert created["status"] == "applied"
            before = (await svc.status("pgvector"))[0]["inventory"]["index"]
            tuned = await svc.submit(req("tune vector index rb: m 32, ef_construction 128"))
            assert tuned["status"] == "applied", tuned
            change_id = tuned["changes"][0]["id"]
            undone = await svc.undo(change_id=change_id, actor="cli:alice")
            assert undone["status"] == "applied", undone
            after = (await svc.status("pgvector"))[0]["inventory"]["index"]
            assert after == before, (before, after)
            count = len(svc.history())
            try:
                again = await svc.undo(change_id=change_id, actor="cli:alice")
            except Exception as exc:  # noqa: BLE001 - a refusal is the documented answer
                assert "undone" in str(exc) or "rolled back" in str(exc), exc
            else:
                assert again["status"] != "applied" and again["changes"] == [], again
            assert len(svc.history()) == count
            assert (await svc.status("pgvector"))[0]["inventory"]["index"] == before
            deleting = await svc.submit(req("delete the vector index rb"))
            step = deleting["plan"]["steps"][0]
            assert step["risk"] == "destructive" and deleting["status"] == "awaiting_approval"

    arun(flow())


# -- row 21 ------------------------------------------------------------------------------


def test_row21_inbox_survives_a_crash_and_a_rollback_stores_nothing(api: Api) -> None:
    """The inbox half of the pattern: a delivery committed and then claimed by a worker that dies is
    processed once after the claim lease lapses; a transaction that wrote an inbox row and rolled
    back leaves nothing to process.

    Gap: there is no outbox (outbound messages such as Slack drift alerts are sent after the
    commit, with a ``notified`` flag, not from an outbox table), so "published after restart"
    is asserted for the inbox only.
    """
    from state.inbox import Inbox
    from state.models import InboxEvent

    body, headers = signed("github", {"resource": {"type": "repo", "name": "acme/crashy",
                                                   "state": {"name": "acme/crashy"}}}, delivery="crashy-1")
    assert api.client.post("/webhooks/github", content=body, headers=headers).json()["status"] == "accepted"
    inbox = Inbox(api.store)
    claimed = inbox.claim("worker-that-dies", limit=10, lease_seconds=1)
    assert [e.delivery_id for e in claimed] == ["crashy-1"]
    assert api.work().processed == 0, "the claim is honoured while its lease runs"
    time.sleep(1.1)
    assert api.work().processed == 1 and api.work().processed == 0
    assert calls(api) == [["github", "crashy-1"]]

    with pytest.raises(RuntimeError), api.store.session() as s:
        s.add(InboxEvent(platform="github", delivery_id="rolled-back", body=b"{}"))
        s.flush()
        raise RuntimeError("the transaction fails after writing the row")
    assert [r.delivery_id for r in inbox_rows(api)] == ["crashy-1"]
    assert api.work().processed == 0 and calls(api) == [["github", "crashy-1"]]
