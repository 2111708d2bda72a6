"""``sophia-iac pg status`` / ``pg stop`` in a subprocess, on the home's embedded PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from state.pg_watchdog import cmdline
from state.pgserver import EmbeddedPostgres
from tests.pg import leftover_postmasters

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SOPHIA_")}
    return subprocess.run([sys.executable, "-m", "orchestrator.interfaces.cli", "pg", *args], check=False,
                          env={**base, "SOPHIA_HOME": str(home), "PYTHONPATH": str(ROOT), **env},
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def jcli(home: Path, *args: str, **env: str) -> Any:
    res = cli(home, *args, "--json", **env)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


def test_status_and_stop(isolated_env: Path) -> None:
    before = jcli(isolated_env, "status")
    assert before["running"] is False and before["initialised"] is False
    assert before["data_dir"] == str(isolated_env / "pg") and before["idle_seconds"] == 900

    pg = EmbeddedPostgres(isolated_env / "pg", fsync=False, idle_seconds=120)
    pg.ensure_running()
    status = jcli(isolated_env, "status")
    assert status["running"] and status["initialised"] and status["data_dir"] == str(isolated_env / "pg")
    assert [status["pid"]] == [pid for pid, _ in leftover_postmasters(isolated_env)] and status["port"] == pg.port
    assert abs(time.time() - status["started_at"]) < 120 and status["since"].endswith("Z")
    assert status["idle_seconds"] == 120 and status["watchdog_pid"] and status["connections"] == 0
    assert status["log_file"] == str(isolated_env / "pg" / "server.log") and Path(status["binaries"]).is_dir()
    text = cli(isolated_env, "status").stdout
    assert f"running since {status['since']} (pid {status['pid']}, port {status['port']}" in text
    assert f"data:      {isolated_env / 'pg'}" in text and "idle stop: after 120 s" in text

    stopped = cli(isolated_env, "stop")
    assert stopped.returncode == 0
    assert stopped.stdout.strip() == (f"stopped the embedded PostgreSQL (pid {status['pid']}, port {status['port']}); "
                                      f"data in {isolated_env / 'pg'}")
    assert not leftover_postmasters(isolated_env) and not cmdline(status["watchdog_pid"])
    assert jcli(isolated_env, "stop") == {"stopped": False, "pid": None, "port": None,
                                          "data_dir": str(isolated_env / "pg")}
    after = cli(isolated_env, "status", SOPHIA_PG_IDLE_SECONDS="0").stdout
    assert "embedded PostgreSQL: not running" in after and "idle stop: never" in after


def test_pg_is_in_the_help() -> None:
    res = subprocess.run([sys.executable, "-m", "orchestrator.interfaces.cli", "pg", "--help"], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    assert "status" in res.stdout and "stop" in res.stdout
