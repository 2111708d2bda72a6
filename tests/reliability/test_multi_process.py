"""Many processes on one PostgreSQL: two ``serve`` processes and webhook workers, as pods would run.

Everything here is a real process started from the real CLI (``serve --no-worker`` twice,
``webhooks work``) on one embedded PostgreSQL that holds the state store and the pgvector
platform. The only test-only parts are the webhook adapters of ``tests/interfaces/hook_adapters.py``
(a handler that records each call in a ``hook_calls`` table and can be made slow), installed in
each process by the launcher below; the runs use the real pgvector adapter.

What it shows (issue 15): deliveries raced to both servers are taken once and processed once;
a worker killed with SIGKILL mid-event leaves that event to another worker after its lease; a
run awaiting approval on one server, approved through both at once, applies once; and of two
changes to one resource from different servers, one proceeds and the other is told who holds it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.interfaces.conftest import WEBHOOK_SECRETS
from tests.interfaces.test_webhooks import signed

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
LEASE = 4.0

#: The real CLI with the test-only webhook adapters registered first (argv: the CLI's own).
LAUNCH = """
import runpy, sys
from tests.interfaces.hook_adapters import install
install()
sys.argv = ["sophia-iac", *sys.argv[1:]]
runpy.run_module("orchestrator.interfaces.cli", run_name="__main__")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Cluster:
    """The processes and the database they share."""

    pg_url: str
    env: dict[str, str]
    tmp: Path
    servers: list[str]
    procs: list[subprocess.Popen[str]]
    keys: dict[str, str]

    def start(self, name: str, *args: str, extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
        home = self.tmp / name
        log = (self.tmp / f"{name}.log").open("w")
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH, *args], cwd=ROOT, text=True,
                                env=self.env | {"SOPHIA_HOME": str(home)} | (extra or {}),
                                stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()[-3000:]

    def worker(self, name: str) -> subprocess.Popen[str]:
        return self.start(name, "webhooks", "work")

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            return list(conn.execute(query, params).fetchall())

    def post(self, server: int, path: str, who: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.servers[server] + path, headers={"Authorization": f"Bearer {self.keys[who]}"},
                          timeout=120, **kwargs)

    def hook_calls(self, delivery: str) -> list[int]:
        try:
            return [r[0] for r in self.sql("SELECT pid FROM hook_calls WHERE delivery_id = %s", delivery)]
        except Exception:  # noqa: BLE001 - the table appears with the first call
            return []


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path, isolated_env: Path) -> Iterator[Cluster]:
    """Two servers (A: holds at ``after_lock`` while ``tmp/gate`` is missing) on one PostgreSQL."""
    from state.identities import ApiKeys
    from state.store import Store

    url = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
    store = Store(url)
    store.setup()
    keys = {name: ApiKeys(store).create(name=name, role=role)[1]
            for name, role in (("alice", "operator"), ("dave", "operator"), ("bob", "approver"),
                               ("carol", "approver"))}
    store.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    env |= {"PYTHONPATH": str(ROOT), "SOPHIA_DATABASE_URL": url, "SOPHIA_PGVECTOR_URL": pg_url,
            "HOOK_CALLS_PG": pg_url, "SOPHIA_WEBHOOK_LEASE_SECONDS": str(LEASE),
            "SOPHIA_WEBHOOK_POLL_SECONDS": "0.2", "SOPHIA_RECONCILE_SECONDS": "0", "SOPHIA_DRIFT_SCAN_SECONDS": "0",
            "SOPHIA_LEDGER_KEY": "multi-process-ledger-key"}
    env |= {f"SOPHIA_{p.upper()}_WEBHOOK_SECRET": s for p, s in WEBHOOK_SECRETS.items()}
    gate = tmp_path / "gate"
    gate.touch()
    ports = [free_port(), free_port()]
    c = Cluster(pg_url, env, tmp_path, [f"http://127.0.0.1:{p}" for p in ports], [], keys)
    try:
        c.start("server-a", "serve", "--port", str(ports[0]), "--no-worker", "--log-level", "warning",
                extra={"SOPHIA_FAULTS": f"after_lock=wait:{gate}"})
        c.start("server-b", "serve", "--port", str(ports[1]), "--no-worker", "--log-level", "warning")
        for i, base in enumerate(c.servers):
            def up(base: str = base) -> bool:
                try:
                    return httpx.get(base + "/healthz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            try:
                wait_for(up, 120, f"server {'AB'[i]}")
            except AssertionError:
                raise AssertionError(c.log(f"server-{'ab'[i]}")) from None
        yield c
    finally:
        for proc in c.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in c.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def deliver(c: Cluster, payload: dict[str, Any], delivery: str, server: int) -> httpx.Response:
    body, headers = signed("github", payload, delivery=delivery)
    return httpx.post(c.servers[server] + "/webhooks/github", content=body, headers=headers, timeout=60)


def test_two_servers_and_workers_on_one_postgres(cluster: Cluster, tmp_path: Path) -> None:
    c = cluster
    # -- webhooks: each delivery raced to both servers at once; one takes it, the other says duplicate
    first = c.worker("worker-1")
    n = 30
    ids = [f"mp-{i}" for i in range(n)]

    def race(i: int) -> list[str]:
        payload = {"resource": {"type": "repo", "name": f"acme/r{i}", "state": {"name": f"acme/r{i}"}}}
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda s: deliver(c, payload, ids[i], s), (i % 2, 1 - i % 2)))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        return sorted(a.json()["status"] for a in answers)

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(race, range(n)))
    assert outcomes == [["accepted", "duplicate"]] * n

    def all_done() -> bool:
        rows = c.sql("SELECT status, count(*) FROM webhook_inbox GROUP BY status")
        return dict(rows) == {"done": n}

    wait_for(all_done, 90, "the worker to process every delivery")
    calls = c.sql("SELECT delivery_id, count(*) FROM hook_calls GROUP BY delivery_id")
    assert sorted(calls) == sorted((d, 1) for d in ids)  # processed exactly once each

    # -- a worker killed mid-event: the event waits out the lease, then another worker takes it
    payload = {"sleep": 120, "sleep_once": True,
               "resource": {"type": "repo", "name": "acme/slow", "state": {"name": "acme/slow", "archived": True}}}
    assert deliver(c, payload, "mp-slow", 0).json()["status"] == "accepted"
    wait_for(lambda: c.hook_calls("mp-slow"), 60, "worker-1 to start on the slow event")
    assert c.hook_calls("mp-slow") == [first.pid]
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()
    later = {"resource": {"type": "repo", "name": "acme/later", "state": {"name": "acme/later"}}}
    assert deliver(c, later, "mp-later", 1).json()["status"] == "accepted"
    second = c.worker("worker-2")
    wait_for(lambda: c.hook_calls("mp-later"), 90, "worker-2 to take new work")
    held = c.sql("SELECT status, locked_by, attempts FROM webhook_inbox WHERE delivery_id = 'mp-slow'")
    if time.monotonic() - killed_at < LEASE - 0.5:  # still inside the dead worker's lease: nobody took it
        assert held[0][0] == "processing" and f":{first.pid}:" in held[0][1], held
    wait_for(lambda: c.sql("SELECT 1 FROM webhook_inbox WHERE delivery_id = 'mp-slow' AND status = 'done'"),
             60, "worker-2 to finish the slow event after the lease: " + c.log("worker-2"))
    assert c.hook_calls("mp-slow") == [first.pid, second.pid]  # one killed attempt, one that finished
    ((status, locked_by, attempts),) = c.sql(
        "SELECT status, locked_by, attempts FROM webhook_inbox WHERE delivery_id = 'mp-slow'")
    assert (status, attempts) == ("done", 2) and f":{second.pid}:" in locked_by
    assert c.sql("SELECT count(*) FROM webhook_inbox WHERE status <> 'done'") == [(0,)]
    assert c.sql("SELECT count(*) FROM webhook_dead_letters") == [(0,)]

    # -- approval: asked on server A, approved through A and B at the same moment, applied once
    made = c.post(0, "/v1/commands", "alice", json={"text": "create a vector index called mpx with 3 dimensions"})
    assert made.status_code == 200 and made.json()["status"] == "applied", made.text
    asked = c.post(0, "/v1/commands", "alice", json={"text": "delete the vector index mpx"})
    assert asked.status_code == 202, asked.text
    run_id = asked.json()["run_id"]
    assert c.post(1, f"/v1/runs/{run_id}/approve", "alice").status_code in (403, 409)  # not one's own
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda s: c.post(s[0], f"/v1/runs/{run_id}/approve", s[1]),
                                ((0, "bob"), (1, "carol"))))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 200)
    assert winner.json()["status"] == "applied", winner.text
    loser = next(a for a in answers if a.status_code == 409)
    assert run_id in loser.text or "approv" in loser.text.lower(), loser.text
    changes = c.sql("SELECT action, status FROM changes WHERE run_id = %s", run_id)
    assert changes == [("pgvector.index.delete", "applied")], changes
    assert c.sql("SELECT to_regclass('sophia_vectors.mpx')") == [(None,)]

    # -- two changes to one resource from two servers: one proceeds, the other is told who holds it
    (tmp_path / "gate").unlink()
    with ThreadPoolExecutor(1) as pool:
        held_run = pool.submit(c.post, 0, "/v1/commands", "alice",
                               json={"text": "create a vector index called shared with 3 dimensions"})
        wait_for(lambda: c.sql("SELECT count(*) FROM locks")[0][0], 60, "server A to take the lock")
        busy = c.post(1, "/v1/commands", "dave", json={"text": "create a vector index called shared with 4 dimensions"})
        (tmp_path / "gate").touch()
        proceeded = held_run.result(timeout=120)
    # the run reached an outcome (200): failed, busy, naming the holder and its run; nothing applied
    refused = busy.json()
    assert (refused["status"], refused["error"]["code"]) == ("failed", "busy"), busy.text
    assert refused["error"]["details"]["holder"] == "api:alice" and refused["changes"] == [], busy.text
    assert "held by api:alice" in refused["error"]["message"]
    assert proceeded.status_code == 200 and proceeded.json()["status"] == "applied", proceeded.text
    rows = c.sql("SELECT actor, status FROM changes WHERE action = 'pgvector.index.create' AND target = 'shared'")
    assert len(rows) == 1 and rows[0][1] == "applied", rows
    dims = c.sql("SELECT atttypmod FROM pg_attribute WHERE attrelid = 'sophia_vectors.shared'::regclass "
                 "AND attname = 'embedding'")
    assert dims == [(3,)], dims
