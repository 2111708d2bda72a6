"""The embedded PostgreSQL: one server per home, stale pid files, the idle stop, password-only access."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from state.pg_watchdog import cmdline, postmaster
from state.pgserver import EmbeddedPostgres
from tests.pg import leftover_postmasters

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A home whose embedded server (and its data) is removed afterwards."""
    home = tmp_path / "home"
    yield home
    EmbeddedPostgres(home / "pg").destroy()


def _until(check: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


START = (
    "import sys, json; from pathlib import Path; from state.pgserver import EmbeddedPostgres\n"
    "pg = EmbeddedPostgres(Path(sys.argv[1]), fsync=False)\n"
    "url = pg.ensure_running(); print(json.dumps({'url': url, 'pid': pg.status().pid}))\n"
)


def test_two_processes_starting_at_once_share_one_server(home: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", START, str(home / "pg")], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert results[0] == results[1]  # same URL (port, password), same postmaster
    assert [pid for pid, _ in leftover_postmasters(home)] == [results[0]["pid"]]
    with psycopg.connect(results[0]["url"]) as conn:
        assert conn.execute("SELECT current_setting('data_directory')").fetchone() == (str(home / "pg"),)


def test_a_pid_file_naming_a_dead_or_reused_pid_does_not_block_a_start(home: Path) -> None:
    pg = EmbeddedPostgres(home / "pg", fsync=False, idle_seconds=0)
    pg.ensure_running()
    first = pg.status()
    assert first.pid is not None
    os.kill(first.pid, signal.SIGKILL)  # a crash: postmaster.pid stays behind
    assert _until(lambda: not leftover_postmasters(home))  # its children notice and exit
    assert (home / "pg" / "postmaster.pid").exists()
    with psycopg.connect(pg.ensure_running()) as conn:
        conn.execute("SELECT 1")
    second = pg.status()
    assert second.running and second.pid != first.pid

    pg.stop()
    pid_file = home / "pg" / "postmaster.pid"  # now a file whose pid is alive but is no postmaster (pid reuse)
    pid_file.write_text(f"{os.getpid()}\n{home / 'pg'}\n{int(time.time())}\n{second.port}\n\n127.0.0.1\n")
    with psycopg.connect(pg.ensure_running()) as conn:
        conn.execute("SELECT 1")
    assert pg.status().pid not in (None, os.getpid())


def test_clients_need_the_password_and_there_is_no_unix_socket(home: Path) -> None:
    pg = EmbeddedPostgres(home / "pg", fsync=False, idle_seconds=0)
    url = pg.ensure_running()
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg.port}/postgres", connect_timeout=5)
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW unix_socket_directories").fetchone() == ("",)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    assert oct((home / "pg.json").stat().st_mode & 0o777) == "0o600"


def test_the_server_stops_after_the_idle_period_but_never_while_in_use(home: Path) -> None:
    pg = EmbeddedPostgres(home / "pg", fsync=False, idle_seconds=1.5)
    url = pg.ensure_running()
    started = pg.status()
    assert started.watchdog_pid is not None and started.idle_seconds == 1.5
    with psycopg.connect(url) as conn:  # in use: a connection, idle or not, keeps it up
        time.sleep(4)
        assert conn.execute("SELECT 1").fetchone() == (1,)
    for _ in range(8):  # handing out the URL renews the lease, even before anyone connects
        time.sleep(0.4)
        assert pg.ensure_running() == url
    assert pg.status().pid == started.pid
    assert _until(lambda: postmaster(home / "pg") is None), "the idle server was not stopped"
    assert _until(lambda: not cmdline(started.watchdog_pid)), "the watchdog outlived its server"
    assert not leftover_postmasters(home)
    with psycopg.connect(pg.ensure_running()) as conn:  # the next use starts it again
        conn.execute("SELECT 1")
    assert pg.status().pid != started.pid


@pytest.mark.skipif(os.geteuid() != 0, reason="where the data goes as root, when the server runs as nobody")
def test_as_nobody_data_out_of_its_reach_moves_home_once_a_user_namespace_can_run_it(home: Path) -> None:
    home.mkdir(mode=0o700)
    as_nobody = EmbeddedPostgres(home / "pg", fsync=False, idle_seconds=0, userns=False)
    with psycopg.connect(as_nobody.ensure_running(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    status = as_nobody.status()
    assert status.run_as == "nobody" and status.data_dir == str(as_nobody.fallback_dir)
    assert not (home / "pg").exists()

    in_userns = EmbeddedPostgres(home / "pg", fsync=False, idle_seconds=0, userns=True)
    with psycopg.connect(in_userns.ensure_running()) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)
    status = in_userns.status()
    assert status.data_dir == str(home / "pg") and "user namespace" in (status.run_as or "")
    assert not as_nobody.fallback_dir.exists() and (home / "pg").stat().st_uid == 0


def test_the_pgvector_adapter_starts_the_server_again_after_a_stop(isolated_env: Path) -> None:
    from adapters.ai.pgvector import PgVectorAdapter
    from orchestrator.config import Settings

    adapter = PgVectorAdapter(Settings())

    async def body() -> tuple[bool, bool]:
        first = await adapter.get_status()
        await adapter.aclose()  # between two uses of a long-lived adapter, the server is stopped (idle, or pg stop)
        await asyncio.to_thread(EmbeddedPostgres(isolated_env / "pg").stop)
        second = await adapter.get_status()
        await adapter.aclose()
        return first.healthy, second.healthy

    try:
        assert asyncio.run(body()) == (True, True)
    finally:
        EmbeddedPostgres(isolated_env / "pg").destroy()


LEAKY_TEST = '''
from state.pgserver import EmbeddedPostgres


def test_forgets_its_server(tmp_path):
    EmbeddedPostgres(tmp_path / "not-the-home" / "pg", fsync=False, idle_seconds=0).ensure_running()
'''


def test_a_test_session_that_leaves_a_server_running_fails_and_the_server_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(LEAKY_TEST)
    inner = tmp_path / "inner"
    try:
        res = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
             "--rootdir", str(tmp_path), "--basetemp", str(inner), str(tmp_path / "test_leaky.py")],
            cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        )
        assert res.returncode != 0 and "left running by the tests (now stopped)" in res.stdout, res.stdout[-2000:]
        assert not leftover_postmasters(inner)
    finally:
        for pid, data_dir in leftover_postmasters(inner):
            from state.pg_watchdog import stop_postmaster

            stop_postmaster(pid, data_dir)
