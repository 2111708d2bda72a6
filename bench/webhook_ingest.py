"""Webhook ingest throughput on PostgreSQL, beside a raw psycopg insert of the same rows.

Measured in one run, on one server (fsync on: every acknowledged delivery is durable):

* ``ingest``     — the endpoint's synchronous part in-process: verify the GitHub signature,
                   insert the inbox row once (ON CONFLICT DO NOTHING), commit; 8 threads.
* ``http``       — the same through the real server: ``POST /webhooks/github`` to uvicorn
                   (one process) from 32 concurrent httpx clients.
* ``bare_http``  — the floor for ``http``: a bare FastAPI app on the same uvicorn, doing only
                   what the endpoint must (verify the signature, insert once with ON CONFLICT
                   DO NOTHING, commit, answer accepted/duplicate) with a psycopg pool; the same
                   load generator. Aim: ``http`` ≥ 0.5× this.
* ``raw``        — psycopg inserting the same rows (same columns, ON CONFLICT DO NOTHING,
                   autocommit per row) from 8 threads, no verification.
* ``raw_batch``  — psycopg ``executemany`` of the same rows in one transaction (a ceiling:
                   one commit for everything, which a webhook endpoint can't do).

Each path sends N unique deliveries plus 10 % duplicates; the unique rows stored are checked.
Usage: ``python bench/webhook_ingest.py [--n 4000] [--pg-url URL] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-webhook-secret"


def start_postgres(base: Path) -> tuple[Any, str]:
    """An embedded PostgreSQL with fsync ON (the test server turns it off) and synchronous_commit on (the default)."""
    from state.pgserver import EmbeddedPostgres

    pg = EmbeddedPostgres(base / "pg", fsync=True, idle_seconds=0)
    return pg, pg.ensure_running()


def create_db(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def deliveries(n: int) -> list[tuple[bytes, dict[str, str]]]:
    """N signed GitHub deliveries plus 10 % exact re-sends (duplicates)."""
    out = []
    for i in range(n):
        body = json.dumps({"action": "edited", "repository": {"full_name": f"acme/repo-{i}", "archived": False},
                           "sender": {"login": "octocat"}}).encode()
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        out.append((body, {"x-hub-signature-256": sig, "x-github-delivery": str(uuid.uuid4()),
                           "x-github-event": "repository", "content-type": "application/json"}))
    return out + out[: n // 10]


def bench_ingest(url: str, items: list[tuple[bytes, dict[str, str]]], threads: int = 8) -> dict[str, Any]:
    from adapters.base import WebhookRequest
    from orchestrator.inbox import ingest
    from state.inbox import Inbox
    from state.store import Store

    store = Store(url.replace("postgresql://", "postgresql+psycopg://"))
    store.setup()
    store.engine.dispose()
    from sqlalchemy import create_engine

    store.engine = create_engine(store.url, pool_size=threads, max_overflow=0, pool_pre_ping=False)
    inbox = Inbox(store)

    def one(item: tuple[bytes, dict[str, str]]) -> bool:
        return ingest(inbox, "github", WebhookRequest(headers=item[1], body=item[0])).duplicate

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, items[:50]))  # warm the pool
        started, cpu = time.perf_counter(), time.process_time()
        dups = sum(pool.map(one, items[50:]))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stored = len(inbox.events(limit=100_000))
    store.dispose()
    return {"events": len(items) - 50, "seconds": round(elapsed, 3), "events_per_s": round((len(items) - 50) / elapsed),
            "duplicates": dups, "unique_rows": stored, "threads": threads,
            "cpu_ms_per_event": round(cpu / (len(items) - 50) * 1000, 2)}


#: The floor: only what a webhook endpoint must do (verify, insert once, commit, answer).
BARE_APP = """
import hashlib, hmac, json, os
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

SECRET = os.environ["SOPHIA_GITHUB_WEBHOOK_SECRET"].encode()
pool = ConnectionPool(os.environ["BARE_PG_URL"], min_size=8, max_size=8, kwargs={"autocommit": True})
app = FastAPI()
INSERT = (
    "INSERT INTO webhook_inbox (platform, delivery_id, event_type, headers, body, received_at, status, attempts,"
    " next_attempt_at) VALUES ('github', %s, %s, %s, %s, now(), 'pending', 0, now())"
    " ON CONFLICT (platform, delivery_id) DO NOTHING RETURNING id")


@app.get("/readyz")
def ready():
    return {"ok": True}


@app.post("/webhooks/github")
async def receive(request: Request):
    body = await request.body()
    want = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, request.headers.get("x-hub-signature-256", "")):
        return JSONResponse({"error": "bad signature"}, 401)
    delivery = request.headers["x-github-delivery"]
    json.loads(body)

    def insert():
        with pool.connection() as conn:
            return conn.execute(INSERT, (delivery, request.headers.get("x-github-event", ""),
                                         Jsonb(dict(request.headers)), body)).fetchone()

    row = await run_in_threadpool(insert)
    return JSONResponse({"status": "accepted" if row else "duplicate", "platform": "github", "delivery_id": delivery})
"""


def bench_bare_http(url: str, items: list[tuple[bytes, dict[str, str]]], concurrency: int = 32) -> dict[str, Any]:
    code = BARE_APP + ("\nimport uvicorn\nuvicorn.run(app, host='127.0.0.1', port=int(os.environ['BARE_PORT']), "
                       "log_level='warning', access_log=False)\n")
    return _serve_and_load(url, items, code, concurrency, {"BARE_PG_URL": url})


def bench_http(url: str, items: list[tuple[bytes, dict[str, str]]], concurrency: int = 32) -> dict[str, Any]:
    code = ("import os; from tests.interfaces.hook_adapters import install; install(); "
            "from orchestrator.interfaces.api import create_app; import uvicorn; "
            "uvicorn.run(create_app(worker=False), host='127.0.0.1', port=int(os.environ['BARE_PORT']), "
            "log_level='warning', access_log=False)")
    return _serve_and_load(url, items, code, concurrency, {})


def _serve_and_load(url: str, items: list[tuple[bytes, dict[str, str]]], code: str, concurrency: int,
                    extra: dict[str, str]) -> dict[str, Any]:
    import httpx

    from state.pgserver import free_port

    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="sophia-bench-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOPHIA_HOME": str(home),
           "SOPHIA_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
           "SOPHIA_GITHUB_WEBHOOK_SECRET": SECRET, "BARE_PORT": str(port)} | extra
    server = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)

        async def run() -> tuple[float, dict[int, int], int]:
            # A lean load generator (pre-built HTTP/1.1 requests on keep-alive sockets): httpx spent
            # ~5 ms of CPU per request on these cores, more than either server, and hid the difference.
            statuses: dict[int, int] = {}
            dups = 0
            queue = list(reversed([_request_bytes(port, body, headers) for body, headers in items]))

            async def worker() -> None:
                nonlocal dups
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    while queue:
                        writer.write(queue.pop())
                        head = await reader.readuntil(b"\r\n\r\n")
                        status = int(head.split(b" ", 2)[1])
                        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                        payload = await reader.readexactly(length)
                        statuses[status] = statuses.get(status, 0) + 1
                        dups += status == 200 and b'"duplicate"' in payload
                finally:
                    writer.close()

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - started, statuses, dups

        cpu_before, client_before = proc_cpu(server.pid), time.process_time()
        elapsed, statuses, dups = asyncio.run(run())
        server_cpu, client_cpu = proc_cpu(server.pid) - cpu_before, time.process_time() - client_before
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(home, ignore_errors=True)
    import psycopg

    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT count(*) FROM webhook_inbox").fetchone()[0]  # type: ignore[index]
    return {"events": len(items), "seconds": round(elapsed, 3), "events_per_s": round(len(items) / elapsed),
            "statuses": statuses, "duplicates": dups, "unique_rows": stored, "concurrency": concurrency,
            "server_cpu_ms_per_event": round(server_cpu / len(items) * 1000, 2),
            "client_cpu_ms_per_event": round(client_cpu / len(items) * 1000, 2),
            "server": "uvicorn, 1 process" + (" (httptools, uvloop)" if _has("httptools") and _has("uvloop") else
                                               " (h11, asyncio)")}


def _request_bytes(port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = ["POST /webhooks/github HTTP/1.1", f"host: 127.0.0.1:{port}", f"content-length: {len(body)}",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


RAW_INSERT = """
INSERT INTO webhook_inbox (platform, delivery_id, event_type, headers, body, received_at, status, attempts,
                           next_attempt_at)
VALUES ('github', %s, %s, %s, %s, now(), 'pending', 0, now())
ON CONFLICT (platform, delivery_id) DO NOTHING
"""


def _rows(items: list[tuple[bytes, dict[str, str]]]) -> list[tuple[Any, ...]]:
    from psycopg.types.json import Jsonb

    return [(h["x-github-delivery"], h["x-github-event"], Jsonb(h), body) for body, h in items]


def bench_raw(url: str, items: list[tuple[bytes, dict[str, str]]], threads: int = 8) -> dict[str, Any]:
    import threading

    import psycopg

    rows = _rows(items)
    local = threading.local()
    conns: list[Any] = []

    def conn() -> Any:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(url, autocommit=True)
            conns.append(local.conn)
        return local.conn

    def one(row: tuple[Any, ...]) -> None:
        conn().execute(RAW_INSERT, row)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, rows[:50]))
        started = time.perf_counter()
        list(pool.map(one, rows[50:]))
        elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    with psycopg.connect(url) as c:
        stored = c.execute("SELECT count(*) FROM webhook_inbox").fetchone()[0]  # type: ignore[index]
    return {"events": len(rows) - 50, "seconds": round(elapsed, 3), "events_per_s": round((len(rows) - 50) / elapsed),
            "unique_rows": stored, "threads": threads}


def bench_raw_batch(url: str, items: list[tuple[bytes, dict[str, str]]]) -> dict[str, Any]:
    import psycopg

    rows = _rows(items)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(RAW_INSERT, rows)
        conn.commit()
        elapsed = time.perf_counter() - started
        stored = conn.execute("SELECT count(*) FROM webhook_inbox").fetchone()[0]  # type: ignore[index]
    return {"events": len(rows), "seconds": round(elapsed, 3), "events_per_s": round(len(rows) / elapsed),
            "unique_rows": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--pg-url", default=os.environ.get("SOPHIA_BENCH_PG_URL"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ["SOPHIA_GITHUB_WEBHOOK_SECRET"] = SECRET
    from tests.interfaces.hook_adapters import install

    install()
    base = Path(tempfile.mkdtemp(prefix="sophia-bench-pg-"))
    pg = None
    admin = args.pg_url
    if not admin:
        pg, admin = start_postgres(base)
    try:
        items = deliveries(args.n)
        from state.store import Store

        results: dict[str, Any] = {"n_unique": args.n, "n_sent": len(items), "cpus": os.cpu_count(),
                                   "loadavg_before": os.getloadavg()}
        for name, fn in (("ingest", bench_ingest), ("raw", bench_raw), ("bare_http", bench_bare_http),
                         ("http", bench_http), ("raw_batch", bench_raw_batch)):
            url = create_db(admin, f"bench_{name}")
            Store(url.replace("postgresql://", "postgresql+psycopg://")).setup()  # same schema for every path
            results[name] = fn(url, items)
            print(name, json.dumps(results[name]), flush=True)
        with __import__("psycopg").connect(admin) as conn:
            results["fsync"] = conn.execute("SHOW fsync").fetchone()[0]  # type: ignore[index]
            results["synchronous_commit"] = conn.execute("SHOW synchronous_commit").fetchone()[0]  # type: ignore[index]
        results["loadavg_after"] = os.getloadavg()
        http, bare, raw = (results[k]["events_per_s"] for k in ("http", "bare_http", "raw"))
        results["aims"] = {"http_vs_bare_http": {"ratio": round(http / bare, 2), "aim": 0.5, "met": http >= 0.5 * bare},
                           "http_vs_raw": {"ratio": round(http / raw, 3), "aim": 0.4, "met": http >= 0.4 * raw}}
        print(json.dumps(results, indent=1))
        print(f"http {http}/s vs bare app {bare}/s: {http / bare:.2f}x (aim >= 0.5x); "
              f"vs raw psycopg {raw}/s: {http / raw:.3f}x (aim >= 0.4x); load {os.getloadavg()[0]:.1f}")
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1) + "\n")
    finally:
        if pg is not None:
            pg.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
