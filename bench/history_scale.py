"""``history`` and one-change lookups on a ledger of a million changes, on PostgreSQL.

Starts an embedded PostgreSQL (fsync on) in a temporary folder, or uses ``--pg-url``; creates the
store at head; loads N change rows with COPY (16 platforms, 5,000 targets, a year of timestamps,
a handful of ``needs_reconcile``), runs ANALYZE, then times each query the CLI and the REST API
ask — through :class:`state.ledger.Ledger` as the service does — beside the same SQL sent
with psycopg on a warm connection (the floor: what the database alone takes), and prints the
median and p95 of each beside the aim (20 ms at the median) and the plan PostgreSQL chose.

Usage: ``python bench/history_scale.py [-n 1000000] [--repeat 50] [--pg-url URL] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AIM_MS = 20.0
PLATFORMS = ["snowflake", "estuary", "hubspot", "gong", "usergems", "apollo", "vercel", "lambdalabs", "github",
             "figma", "portkey", "openrouter", "pgvector", "pinecone", "weaviate", "slack"]
TARGETS = 5000


def load(url: str, n: int, seed: int = 7) -> dict[str, Any]:
    """COPY ``n`` change rows in; returns a few ids and names to look up."""
    import psycopg

    rng = random.Random(seed)
    start = datetime(2025, 12, 7, tzinfo=UTC)
    step = timedelta(days=365) / n
    picks: dict[str, Any] = {}
    cols = ("id", "run_id", "seq", "platform", "action", "target", "environment", "params", "before", "expected",
            "after", "reversible", "risk", "status", "actor", "created_at", "updated_at", "prev_hash", "hash")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY changes ({', '.join(cols)}) FROM STDIN") as copy:
            for i in range(n):
                platform = PLATFORMS[i % len(PLATFORMS)]
                target = f"res-{rng.randrange(TARGETS)}"
                at = start + step * i
                status = "needs_reconcile" if rng.random() < 0.0005 else "applied"
                cid = f"chg_{i:012x}"
                copy.write_row((cid, f"run_{i // 3:012x}", i + 1, platform, f"{platform}.thing.update", target, "prod",
                                '{"size": "LARGE"}', '{"size": "SMALL"}', '{"size": "LARGE"}', '{"size": "LARGE"}',
                                True, "change", status, "cli:bench", at, at, "", ""))
                if i == n // 2:
                    picks |= {"change_id": cid, "run_id": f"run_{i // 3:012x}", "platform": platform, "target": target}
        conn.commit()
        cur.execute("ANALYZE changes")
        conn.commit()
    picks["newest"] = start + step * (n - 1)
    return picks


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds per call (after one warm-up call)."""
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--pg-url")
    ap.add_argument("--out")
    args = ap.parse_args()

    import psycopg

    from state.store import Store

    server = None
    tmp = tempfile.mkdtemp(prefix="sophia-bench-history-")
    url = args.pg_url
    if not url:
        from state.pgserver import EmbeddedPostgres

        server = EmbeddedPostgres(Path(tmp) / "pg", fsync=True, idle_seconds=0)
        url = server.ensure_running()
    try:
        store = Store(url)
        store.setup()
        t0 = time.perf_counter()
        picks = load(url, args.n)
        loaded_s = time.perf_counter() - t0
        ledger = store.ledger
        since = picks["newest"] - timedelta(hours=2)
        page = ledger.list(limit=20)
        cursor = page[-1].id if page else None
        queries: list[tuple[str, Callable[[], Any], str, tuple[Any, ...]]] = [
            ("history (newest 20)", lambda: ledger.list(limit=20),
             "SELECT * FROM changes ORDER BY created_at DESC, seq DESC, id DESC LIMIT 20", ()),
            ("history --platform", lambda: ledger.list(platform=picks["platform"], limit=20),
             "SELECT * FROM changes WHERE platform = %s ORDER BY created_at DESC, seq DESC, id DESC LIMIT 20",
             (picks["platform"],)),
            ("history --platform --target", lambda: ledger.list(platform=picks["platform"], target=picks["target"],
                                                               limit=20),
             "SELECT * FROM changes WHERE platform = %s AND target = %s ORDER BY created_at DESC, seq DESC, id DESC LIMIT 20",
             (picks["platform"], picks["target"])),
            ("history --target", lambda: ledger.list(target=picks["target"], limit=20),
             "SELECT * FROM changes WHERE target = %s ORDER BY created_at DESC, seq DESC, id DESC LIMIT 20", (picks["target"],)),
            ("history --since 2h", lambda: ledger.list(since=since, limit=20),
             "SELECT * FROM changes WHERE created_at >= %s ORDER BY created_at DESC, seq DESC, id DESC LIMIT 20", (since,)),
            ("history --status needs_reconcile", lambda: ledger.list(status="needs_reconcile", limit=20),
             "SELECT * FROM changes WHERE status = %s ORDER BY created_at DESC, seq DESC, id DESC LIMIT 20",
             ("needs_reconcile",)),
            ("run's changes", lambda: ledger.list(run_id=picks["run_id"], limit=500),
             "SELECT * FROM changes WHERE run_id = %s ORDER BY created_at DESC, seq DESC, id DESC LIMIT 500",
             (picks["run_id"],)),
            ("change lookup", lambda: ledger.get(picks["change_id"]),
             "SELECT * FROM changes WHERE id = %s", (picks["change_id"],)),
        ]
        if cursor:
            queries.append(("history, next page (keyset)", lambda: ledger.list(limit=20, before=cursor),
                            ("SELECT * FROM changes WHERE (created_at, seq, id) < (SELECT created_at, seq, id "
                             "FROM changes WHERE id = %s) ORDER BY created_at DESC, seq DESC, id DESC LIMIT 20"),
                            (cursor,)))
        rows = []
        with psycopg.connect(url, autocommit=True) as conn:
            for label, fn, sql, params in queries:
                ours = timed(fn, args.repeat)
                floor = timed(lambda sql=sql, params=params: conn.execute(sql, params).fetchall(), args.repeat)
                plan = conn.execute("EXPLAIN " + sql, params).fetchall()
                scan = next((r[0].strip() for r in plan if "Scan" in r[0]), plan[0][0].strip())
                rows.append({"query": label, "p50_ms": round(statistics.median(ours), 2),
                             "p95_ms": round(sorted(ours)[int(len(ours) * 0.95) - 1], 2),
                             "floor_p50_ms": round(statistics.median(floor), 2), "plan": scan[:70]})
        store.dispose()
    finally:
        if server is not None:
            server.destroy()
    print(f"{args.n:,} changes loaded in {loaded_s:.0f} s; aim: p50 ≤ {AIM_MS:.0f} ms")
    print(f"{'query':34s} {'p50':>8s} {'p95':>8s} {'floor':>8s}  aim   plan")
    for r in rows:
        mark = "ok" if r["p50_ms"] <= AIM_MS else "over"
        print(f"{r['query']:34s} {r['p50_ms']:7.2f}ms {r['p95_ms']:7.2f}ms {r['floor_p50_ms']:7.2f}ms  {mark:5s} {r['plan']}")
    load_avg = os.getloadavg()
    print(f"load average {[round(x, 2) for x in load_avg]} (2 shared cores)")
    if args.out:
        Path(args.out).write_text(json.dumps({"n": args.n, "aim_ms": AIM_MS, "rows": rows, "loadavg": load_avg,
                                              "measured": datetime.now(UTC).isoformat()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
