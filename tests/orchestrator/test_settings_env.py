"""The fast path's state URL is the one ``Settings`` computes, or it declines to say."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.config import Settings
from orchestrator.settings_env import home_from_env, state_url_from_env

CASES: list[dict[str, str]] = [
    {},
    {"SOPHIA_HOME": "/srv/sophia"},
    {"SOPHIA_HOME": "~/elsewhere"},
    {"SOPHIA_HOME": "relative/home"},
    {"SOPHIA_DATABASE_URL": "postgresql://u@db/sophia"},
    {"SOPHIA_DATABASE_URL": "sqlite:////tmp/x.db", "SOPHIA_HOME": "/srv/sophia"},
    {"SOPHIA_DATABASE_URL": "", "SOPHIA_HOME": "/srv/sophia"},
    {"SOPHIA_ENV": "prod", "SOPHIA_HOME": "/srv/sophia"},
    {"SOPHIA_DATABASE_URL": "postgresql://u@db/sophia", "SOPHIA_DATABASE_URL_FILE": "/nowhere"},
    {"SOPHIA_DATABASE_URL_FILE": " ", "SOPHIA_HOME": "/srv/sophia"},
]


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.upper().startswith("SOPHIA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("env", CASES, ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()) or "nothing")
def test_equals_settings(clean: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert state_url_from_env() == Settings().state_url


@pytest.mark.parametrize("env", [{"sophia_home": "/srv/other"}, {"Sophia_Database_Url": "postgresql://x/y"},
                                 {"SOPHIA_HOME": ""}, {"SOPHIA_HOME": "  "},
                                 {"SOPHIA_DATABASE_URL_FILE": "/run/secrets/database_url"},
                                 {"sophia_database_url_file": "/run/secrets/database_url"}])
def test_declines_where_settings_could_read_otherwise(clean: Path, monkeypatch: pytest.MonkeyPatch,
                                                      env: dict[str, str]) -> None:
    """Names in another case (pydantic-settings ignores case), an empty home, a URL in a file: only Settings may say."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert state_url_from_env() is None


def test_declines_beside_a_dotenv_file(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings reads ``.env`` in the working directory; the fast path doesn't, so it steps aside."""
    monkeypatch.setenv("SOPHIA_HOME", "/srv/sophia")
    (clean / ".env").write_text("SOPHIA_HOME=/srv/from-dotenv\n")
    assert Settings().state_url == "sqlite:////srv/sophia/state.db"  # the environment wins, but…
    assert state_url_from_env() is None  # …reading .env is Settings' job
    monkeypatch.delenv("SOPHIA_HOME")
    assert Settings().state_url == "sqlite:////srv/from-dotenv/state.db"
    assert state_url_from_env() is None


@pytest.mark.parametrize("env", [e for e in CASES if e.get("SOPHIA_HOME", "x").strip()],
                         ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()) or "nothing")
def test_home_equals_settings(clean: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert home_from_env() == Settings().home
