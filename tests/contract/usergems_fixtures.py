"""Fixtures the UserGems contract test modules share (imported by each; not a conftest).

One Prism serves the hand-written contract for every UserGems module of a session
(:func:`~tests.contract.usergems_twin.shared_server`); each test gets a fresh
:class:`~tests.contract.usergems_twin.UserGemsTwin` (query-string problems none at teardown), a
recording transport pointed at Prism (request-side violations none at teardown), an adapter that
records retry waits, and a fresh ledger (SQLite under ``tmp_path``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.data.usergems import UserGemsAdapter
from orchestrator.config import Settings
from state.store import Store

from .common import checked, closed_after
from .prism import PrismServer, RecordingTransport
from .steered import Sleeps
from .usergems_twin import UserGemsTwin, shared_server

__all__ = ["TOKEN", "adapter", "env", "migrated", "store", "twin", "usergems_server"]

TOKEN = "usergems-contract-key-4b1d9e"


@pytest.fixture(scope="module")
def usergems_server(request: pytest.FixtureRequest) -> PrismServer:
    """The session's Prism serving the hand-written contract."""
    return shared_server(request.config)


@pytest.fixture
def twin() -> Iterator[UserGemsTwin]:
    """UserGems' tracked emails for one test (only tests can see them); query strings checked."""
    twin = UserGemsTwin()
    yield twin
    assert twin.query_problems == [], "query strings the contract refuses"


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, usergems_server: PrismServer, twin: UserGemsTwin
) -> Iterator[RecordingTransport]:
    """A recording transport to Prism, steered by ``twin``; no request-side violation allowed."""
    with checked(
        monkeypatch, "usergems", usergems_server.base_url, TOKEN, twin.attach(RecordingTransport())
    ) as t:
        yield t


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty ledger at the head revision, migrated once per module (copied by ``store``)."""
    path = tmp_path_factory.mktemp("usergems-ledger") / "state.db"
    s = Store(f"sqlite:///{path}")
    s.setup()
    s.dispose()
    return path


@pytest.fixture
def store(tmp_path: Path, migrated: Path) -> Iterator[Store]:
    """A fresh ledger, where the adapter's settings point (``get_status`` reads it)."""
    shutil.copyfile(migrated, tmp_path / "state.db")
    s = Store(f"sqlite:///{tmp_path / 'state.db'}")
    s.setup()  # already at the head revision: a check, no migration
    yield s
    s.dispose()


@pytest.fixture
def adapter(env: RecordingTransport, tmp_path: Path) -> Iterator[UserGemsAdapter]:
    """An adapter sending through ``env``, its settings on ``tmp_path`` (the ``store`` fixture's ledger)."""
    with closed_after(
        UserGemsAdapter(
            Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'state.db'}"),
            transport=env,
            sleep=Sleeps(),
        )
    ) as a:
        yield a
