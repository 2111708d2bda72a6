"""Everyday commands answer at once: what they import, not how long they take (no timed tests).

Each command runs in a fresh process, as a user runs it, and reports the modules it loaded.
Read-only commands load neither LangGraph nor SQLAlchemy; a dry run walks the pipeline without
LangGraph; a store already at head is not migrated (Alembic is never imported).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Run the CLI, then write the names of the modules it loaded to $MODULES_OUT.
RUN_AND_LIST = ("import atexit, json, os, sys\n"
                "atexit.register(lambda: open(os.environ['MODULES_OUT'], 'w').write(json.dumps(sorted(sys.modules))))\n"
                "from orchestrator.interfaces.cli import main\n"
                "sys.argv = ['sophia-iac', *sys.argv[1:]]\n"
                "main()\n")
HEAVY = ("langgraph", "langchain_core", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "opentelemetry")


def _seed(home: Path) -> dict[str, str]:
    """A small ledger written through the store, as the pipeline writes it (no platform needed)."""
    from orchestrator import readonly
    from orchestrator.config import Settings
    from state.models import ChangeRecord, Run
    from state.store import Store, new_id

    store = Store(Settings(home=home).state_url)
    store.setup()
    run = Run(id=new_id("run"), text="create a vector index called docs with 3 dimensions", actor="cli:alice",
              status="applied")
    waiting = Run(id=new_id("run"), text="delete the vector index docs", actor="cli:alice",
                  status="awaiting_approval", result={"awaiting": {"kind": "approval", "digest": "d", "four_eyes": True,
                                                                   "expires_at": "2099-01-01T00:00:00+00:00"}})
    store.create_run(run)
    store.create_run(waiting)
    change = store.ledger.open(ChangeRecord(id=new_id("chg"), run_id=run.id, platform="pgvector",
                                            action="pgvector.index.create", target="docs", actor="cli:alice",
                                            expected={"name": "docs", "dimension": 3}))
    store.ledger.transition(change.id, "applied", after={"name": "docs", "dimension": 3, "rows": 0})
    store.replace_inventory("pgvector", {"index": [{"name": "docs", "dimension": 3, "rows": 0}]})
    store.upsert_inventory_item("pgvector", readonly.STATUS_TYPE, "~", {
        "platform": "pgvector", "healthy": True, "configured": True, "message": "PostgreSQL (embedded server)",
        "details": {"circuit": None}, "drift": [], "checked_at": "2026-12-07T12:00:00+00:00"})
    store.dispose()
    return {"run": run.id, "change": change.id, "waiting": waiting.id}


@pytest.fixture
def env(isolated_env: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    return clean | {"SOPHIA_HOME": str(isolated_env), "SOPHIA_ACTOR": "cli:alice", "PYTHONPATH": str(ROOT)}


def run_cli(env: dict[str, str], tmp_path: Path, *args: str, extra: dict[str, str] | None = None
            ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``sophia-iac ARGS`` in a new process; its result, and the packages and modules it imported."""
    out = tmp_path / "modules.json"
    res = subprocess.run([sys.executable, "-c", RUN_AND_LIST, *args], env=env | {"MODULES_OUT": str(out)} | (extra or {}),
                         capture_output=True, text=True, timeout=180, cwd=ROOT, check=False)
    modules = set(json.loads(out.read_text())) if out.exists() else set()
    return res, modules | {m.split(".")[0] for m in modules}


ADAPTERS = ("adapters.base", "adapters.http", "adapters.ai.pgvector", "httpx")


@pytest.mark.parametrize("args", [["history"], ["history", "--json"], ["runs"], ["runs", "--status", "applied"],
                                  ["approvals", "--json"], ["status"], ["status", "pgvector", "--json"],
                                  ["actions"], ["actions", "--json"]])
def test_read_only_commands_load_no_graph_and_no_sqlalchemy(env: dict[str, str], tmp_path: Path,
                                                            args: list[str]) -> None:
    _seed(Path(env["SOPHIA_HOME"]))
    res, loaded = run_cli(env, tmp_path, *args)
    assert res.returncode == 0, res.stderr
    assert not loaded & set(HEAVY), f"{' '.join(args)} imported {sorted(loaded & set(HEAVY))}"
    assert not loaded & set(ADAPTERS), f"{' '.join(args)} imported {sorted(loaded & set(ADAPTERS))}"


def test_one_run_shown_from_the_file_matches_its_json(env: dict[str, str], tmp_path: Path) -> None:
    ids = _seed(Path(env["SOPHIA_HOME"]))
    res, loaded = run_cli(env, tmp_path, "runs", ids["run"], "--json")
    assert res.returncode == 0, res.stderr
    view = json.loads(res.stdout)
    assert view["run_id"] == ids["run"] and [c["id"] for c in view["changes"]] == [ids["change"]]
    assert not loaded & set(HEAVY)
    missing, _ = run_cli(env, tmp_path, "runs", "run_nosuchrun", "--json")
    assert missing.returncode == 7 and json.loads(missing.stdout)["error"]["code"] == "not_found"


def test_a_pending_change_sends_the_command_through_the_service(env: dict[str, str], tmp_path: Path,
                                                                pg_url: str) -> None:
    from orchestrator.config import Settings
    from state.models import ChangeRecord
    from state.store import Store, new_id

    _seed(Path(env["SOPHIA_HOME"]))
    store = Store(Settings(home=Path(env["SOPHIA_HOME"])).state_url)
    orphan = store.ledger.open(ChangeRecord(id=new_id("chg"), run_id="run_gone", platform="pgvector",
                                            action="pgvector.index.create", target="never-made", actor="cli:alice",
                                            expected={"name": "never-made", "dimension": 3}))
    store.dispose()
    res, loaded = run_cli(env | {"SOPHIA_PGVECTOR_URL": pg_url}, tmp_path, "history", "--json")
    assert res.returncode == 0, res.stderr
    assert "sqlalchemy" in loaded and "langgraph" not in loaded  # the service settled it first, still no graph
    settled = {c["id"]: c["status"] for c in json.loads(res.stdout)}
    assert settled[orphan.id] == "failed"  # read back: the index was never made


def test_dry_run_walks_the_pipeline_without_langgraph(env: dict[str, str], tmp_path: Path, pg_url: str) -> None:
    env = env | {"SOPHIA_PGVECTOR_URL": pg_url}
    first, _ = run_cli(env, tmp_path, "history")  # creates the store (and migrates it: Alembic, once)
    assert first.returncode == 0, first.stderr
    res, loaded = run_cli(env, tmp_path, "do", "create a vector index called docs with 3 dimensions", "--dry-run",
                          "--json")
    assert res.returncode == 0, res.stderr
    view = json.loads(res.stdout)
    assert view["status"] == "dry_run" and view["plan"]["steps"][0]["call"]["action"] == "pgvector.index.create"
    assert view["decision"]["effect"] == "allow"
    assert "langgraph" not in loaded and "langchain_core" not in loaded
    assert "alembic" not in loaded  # the store is at head: nothing to migrate
    assert "opentelemetry" not in loaded  # no OTEL_EXPORTER_OTLP_ENDPOINT: tracing is off and costs no import


def test_status_is_served_from_the_last_check_until_refresh(env: dict[str, str], tmp_path: Path, pg_url: str) -> None:
    _seed(Path(env["SOPHIA_HOME"]))
    env = env | {"SOPHIA_PGVECTOR_URL": pg_url}
    res, loaded = run_cli(env, tmp_path, "status", "pgvector", "--json")
    [cached] = json.loads(res.stdout)
    assert cached["cached"] is True and cached["checked_at"] == "2026-12-07T12:00:00+00:00"
    assert cached["inventory"] == {"index": [{"name": "docs", "dimension": 3, "rows": 0}]}
    assert not loaded & set(ADAPTERS)  # no platform was asked
    text, _ = run_cli(env, tmp_path, "status", "pgvector")
    assert "(checked " in text.stdout and "status --refresh" in text.stdout  # how old, and how to check now
    res, loaded = run_cli(env, tmp_path, "status", "pgvector", "--refresh", "--json")
    [live] = json.loads(res.stdout)
    assert res.returncode == 0 and "cached" not in live and live["checked_at"] > "2026-12-07T12:00:00"
    assert live["inventory"] == {"index": []}  # this database has no index: the seeded row was stale
    res, _ = run_cli(env, tmp_path, "status", "pgvector", "--json")
    [again] = json.loads(res.stdout)
    assert again["cached"] is True and again["checked_at"] == live["checked_at"]


def test_status_with_nothing_cached_checks_live(env: dict[str, str], tmp_path: Path, pg_url: str) -> None:
    env = env | {"SOPHIA_PGVECTOR_URL": pg_url}
    assert run_cli(env, tmp_path, "history")[0].returncode == 0  # a store at head, with no check kept yet
    res, _ = run_cli(env, tmp_path, "status", "pgvector", "--json")
    [live] = json.loads(res.stdout)
    assert res.returncode == 0 and "cached" not in live and live["healthy"] is True


def _lines(text: str) -> list[str]:
    return text.splitlines()


@pytest.mark.parametrize("columns", [80, 120])
def test_actions_never_cut_an_id(env: dict[str, str], tmp_path: Path, columns: int) -> None:
    res, _ = run_cli(env, tmp_path, "actions", "--json")
    ids = [a["id"] for a in json.loads(res.stdout)]
    text, _ = run_cli(env, tmp_path, "actions", extra={"COLUMNS": str(columns)})
    assert text.returncode == 0, text.stderr
    assert max(len(line) for line in _lines(text.stdout)) <= columns
    shown = {cell.strip() for line in _lines(text.stdout) for cell in line.split("│")}
    assert [i for i in ids if i not in shown] == []  # every id whole, in a cell of its own


def test_closest_actions_are_listed_once(env: dict[str, str], tmp_path: Path) -> None:
    res, _ = run_cli(env, tmp_path, "do", "reticulate the splines", "--yes")
    assert res.returncode == 3
    [hint] = [line for line in _lines(res.stderr) if "closest actions:" in line]
    named = [c.strip() for c in hint.split("closest actions:", 1)[1].split(",")]
    assert named and all(res.stderr.count(c) == 1 for c in named), res.stderr


def test_a_validation_error_is_not_a_question(env: dict[str, str], tmp_path: Path) -> None:
    res, _ = run_cli(env, tmp_path, "parse", "create a vector index called bad with 100000 dimensions", "--json")
    parsed: dict[str, Any] = json.loads(res.stdout)
    assert parsed["errors"] and "dimension" in parsed["message"]
    assert not parsed["message"].rstrip().endswith("?"), parsed["message"]
