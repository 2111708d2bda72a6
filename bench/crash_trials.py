"""Crash trials: ``kill -9`` the CLI at random moments of ``do`` and ``undo``; the ledger must still tell the truth.

Each trial starts ``sophia-iac do "create a vector index called ct-N …" --yes`` (even trials) or
``sophia-iac undo <an applied create> --yes`` (odd trials) against the embedded PostgreSQL,
sends SIGKILL at a random moment — a quarter of the trials uniformly over [0, 1.2 × the
median uninterrupted run]; the rest a random 0–150 ms after the command's write-ahead
``pending`` record appears in the state database (start-up takes most of a run and the
platform call only tens of milliseconds, so uniform kills almost never land between the
record and the outcome) — then settles the ledger with ``sophia-iac reconcile`` and checks, against the platform
read back:

* **pending**: no change record is left ``pending`` or ``needs_reconcile``;
* **lost**: every index that exists has an applied, not rolled-back, create on record, and
  every such create's index exists (no change without a record, no record without its change);
* **duplicated**: no target has two applied creates, no change was undone twice, and an index
  absent after an undo has its create ``rolled_back`` exactly when read-back proved it.

    python bench/crash_trials.py [TRIALS]        # default 100

Prints the counts beside their floor (0) and the kill-time distribution; exits 1 if any
count is above 0. Uses a throwaway SOPHIA_HOME (the embedded server is stopped at the end).
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "orchestrator.interfaces.cli"]


def _cli(env: dict[str, str], *args: str, check: bool = False) -> Any:
    done = subprocess.run([*CLI, *args, "--json"], check=False, env=env, capture_output=True, text=True,
                          timeout=300)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stdout}{done.stderr}")
    try:
        return json.loads(done.stdout) if done.stdout.strip() else None
    except ValueError:
        return None


def _start(env: dict[str, str], trial: int, creates: list[str]) -> tuple[subprocess.Popen[str], str]:
    if trial % 2 == 1 and creates:
        change = creates.pop(random.randrange(len(creates)))
        args = ["undo", change, "--yes"]
    else:
        args = ["do", f"create a vector index called ct-{trial} with 3 dimensions", "--yes"]
    # One actor per trial: the default policy's per-actor rate limit would refuse most of them.
    proc = subprocess.Popen([*CLI, *args], env={**env, "SOPHIA_ACTOR": f"cli:crash-{trial}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    return proc, args[0]


def _changes(home: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{home / 'state.db'}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM changes").fetchone()[0])
    except sqlite3.Error:
        return -1


def _after_record(home: Path, proc: subprocess.Popen[str], known: int, limit: float) -> float:
    """Wait until the command's first change record exists, then a random 0–150 ms; returns the delay."""
    t0 = time.perf_counter()
    while proc.poll() is None and time.perf_counter() - t0 < limit:
        if _changes(home) > known:
            time.sleep(random.uniform(0, 0.15))
            break
        time.sleep(0.002)
    return time.perf_counter() - t0


def _indexes(env: dict[str, str]) -> set[str]:
    status = _cli(env, "status", "pgvector", check=True)
    return {item["name"] for item in status[0]["inventory"].get("index", [])}


def _check(env: dict[str, str]) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    changes = _cli(env, "history", "--limit", "1000", check=True)
    problems: dict[str, list[str]] = {"pending": [], "lost": [], "duplicated": []}
    for c in changes:
        if c["status"] in ("pending", "needs_reconcile"):
            problems["pending"].append(f"{c['id']} {c['action']} {c['target']} {c['status']}")
    creates = [c for c in changes if c["action"] == "pgvector.index.create" and not c.get("undo_of")]
    live = {c["target"] for c in creates if c["status"] == "applied"}
    exists = _indexes(env)
    for name in sorted(exists - live):
        problems["lost"].append(f"index {name} exists with no applied create on record")
    for name in sorted(live - exists):
        problems["lost"].append(f"create of {name} is applied on record, the index is gone")
    seen: dict[str, int] = {}
    for c in creates:
        if c["status"] in ("applied", "rolled_back"):
            seen[c["target"]] = seen.get(c["target"], 0) + 1
    problems["duplicated"] += [f"{t}: {n} creates took effect" for t, n in seen.items() if n > 1]
    undone: dict[str, int] = {}
    for c in changes:
        if c.get("undo_of") and c["status"] == "applied" and c.get("verified"):
            undone[c["undo_of"]] = undone.get(c["undo_of"], 0) + 1
    problems["duplicated"] += [f"{orig} undone {n} times" for orig, n in undone.items() if n > 1]
    by_id = {c["id"]: c for c in changes}
    for orig in undone:
        if by_id.get(orig, {}).get("status") != "rolled_back":
            problems["lost"].append(f"{orig}: the undo was verified but the change is not rolled_back")
    return problems, changes


def main(trials: int = 100) -> int:
    home = Path(tempfile.mkdtemp(prefix="sophia-crash-"))
    env = {**os.environ, "SOPHIA_HOME": str(home), "SOPHIA_ACTOR": "cli:crash-trials"}
    env.pop("SOPHIA_PGVECTOR_URL", None)
    random.seed(int(os.environ.get("CRASH_SEED", "7")))
    durations = []
    for i in range(4):  # the uninterrupted run time sets the kill window (the first also starts the server)
        t0 = time.perf_counter()
        _cli(env, "do", f"create a vector index called warm-{i} with 3 dimensions", "--yes", check=True)
        durations.append(time.perf_counter() - t0)
    median = statistics.median(durations[1:])
    window = 1.2 * median
    creates = [c["id"] for c in _cli(env, "history", check=True) if c["status"] == "applied"]
    kills: list[float] = []
    totals = {"pending": 0, "lost": 0, "duplicated": 0}
    finished = 0
    recorded = len(_cli(env, "history", "--limit", "1000", check=True))
    outcomes: dict[str, int] = {}
    for trial in range(trials):
        proc, verb = _start(env, trial, creates)
        if trial % 4 == 0:
            delay = random.uniform(0, window)
            time.sleep(delay)
        else:
            delay = _after_record(home, proc, recorded, 3 * window)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills.append(delay)
        else:
            finished += 1
        code = proc.wait()
        _cli(env, "reconcile")
        problems, history = _check(env)
        new = history[: len(history) - recorded]  # newest first
        recorded = len(history)
        if new:
            kind = "settled " + "+".join(sorted({c["status"] for c in new}))
        elif code == -signal.SIGKILL:
            kind = "no record (killed before the write-ahead record)"
        else:
            kind = f"no record (the command ended with exit {code} before any change)"
        outcomes[kind] = outcomes.get(kind, 0) + 1
        for key, found in problems.items():
            totals[key] += len(found)
            for line in found:
                print(f"  trial {trial} ({verb}): {key}: {line}")
        creates = [c["id"] for c in history if c["action"] == "pgvector.index.create"
                   and c["status"] == "applied" and not c.get("undo_of")]
    changes = _cli(env, "history", "--limit", "1000", check=True)
    statuses: dict[str, int] = {}
    for c in changes:
        statuses[c["status"]] = statuses.get(c["status"], 0) + 1
    print(f"trials: {trials} ({len(kills)} killed mid-run, {finished} finished before the kill)")
    print(f"median uninterrupted run {median:.2f} s; kills at {min(kills, default=0):.2f}–{max(kills, default=0):.2f} s")
    for kind, n in sorted(outcomes.items()):
        print(f"  {n:>4} trials: {kind}")
    print(f"ledger after reconcile: {len(changes)} changes, {statuses}")
    print(f"{'check':<12}{'found':>7}{'floor':>7}")
    for key, value in totals.items():
        print(f"{key:<12}{value:>7}{0:>7}")
    print(f"ledger verify: {'ok' if (_cli(env, 'ledger', 'verify') or {}).get('ok') else 'FAILED'}")
    from state.pgserver import EmbeddedPostgres

    EmbeddedPostgres(home / "pg").destroy()
    return 1 if any(totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
