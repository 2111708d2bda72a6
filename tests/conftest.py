"""Test isolation: every test gets its own SOPHIA_HOME and a clean environment.

The session ends with a summary of contract tests (:mod:`tests.contract.skips`): loud when any
were skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.otel import spans  # noqa: F401  (fixture: spans in the SDK's in-memory exporter)
from tests.pg import PgServer

ISOLATED_PREFIXES = ("SOPHIA_",)
#: Test-harness settings (not the app's): where the vendor documents, PostgreSQL and Prism are.
KEEP = {"SOPHIA_SPECS_DIR", "SOPHIA_TEST_PG_URL", "SOPHIA_PRISM_BIN"}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """How many contract tests ran, and a banner listing every one that was skipped, and why.

    A wrapper, so it comes after pytest's own summary (the list of skips) and right above the
    final counts, where it can't scroll out of sight.
    """
    yield
    from tests.contract.skips import write_summary

    write_summary(terminalreporter)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private SOPHIA_HOME, no inherited SOPHIA_* settings, and fresh cached settings."""
    for key in list(os.environ):
        if key.startswith(ISOLATED_PREFIXES) and key not in KEEP:
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "sophia-home"
    monkeypatch.setenv("SOPHIA_HOME", str(home))
    monkeypatch.setenv("SOPHIA_ACTOR", "cli:tester")
    from orchestrator.config import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
    if (home / "pg.lock").exists():  # the test started this home's embedded PostgreSQL: don't leave it running
        from state.pgserver import EmbeddedPostgres

        EmbeddedPostgres(home / "pg").stop()


@pytest.fixture(scope="session", autouse=True)
def contract_servers_early(request: pytest.FixtureRequest) -> None:
    """Launch the session's Prism servers with its first test, not its first contract test.

    Prism takes a minute or more over a large document (Figma's) on a busy machine; launched
    here, it boots while the tests before the contract tests run, instead of holding up the
    first test that needs it. Nothing starts when no selected test needs Prism, and anything
    that goes wrong here is left for the contract tests themselves to report (skip or fail).
    """
    from tests.contract.conftest import session_pool, wanted_specs
    from tests.contract.provision import specs_dir

    if not wanted_specs(request.session) or not specs_dir().is_dir():
        return
    try:
        session_pool(specs_dir(), request)
    except (Exception, pytest.skip.Exception):  # noqa: BLE001 - reported by the tests that need it
        return


@pytest.fixture(scope="session", autouse=True)
def no_embedded_postgres_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The session ends with no embedded PostgreSQL running on its temporary folders: any left is stopped, and fails it."""
    yield
    from state.pg_watchdog import stop_postmaster
    from tests.pg import leftover_postmasters

    left = leftover_postmasters(tmp_path_factory.getbasetemp())
    for pid, data_dir in left:
        stop_postmaster(pid, data_dir)
    assert not left, f"embedded PostgreSQL servers left running by the tests (now stopped): {left}"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """The session's PostgreSQL server."""
    server = PgServer(tmp_path_factory.mktemp("pgserver"))
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database for this test (psycopg URL)."""
    return pg_server.fresh_database()
