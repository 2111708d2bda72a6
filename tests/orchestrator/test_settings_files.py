"""``SOPHIA_DATABASE_URL_FILE`` and ``SOPHIA_PGVECTOR_URL_FILE``: a URL with a password, as a mounted secret.

compose.yaml passes both URLs this way (``/run/secrets/…``); these tests hold ``Settings`` to
what the README promises: the file is read when the URL itself is unset, the URL set directly
wins, a bad file is a ``ConfigError`` naming the variable, and the value is a secret to the
scrubber.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.credentials import scrub
from orchestrator.config import Settings
from orchestrator.errors import ConfigError

STATE_URL = "postgresql+psycopg://sophia:s3cr3t-from-a-file@db:5432/sophia"
VECTOR_URL = "postgresql://sophia:s3cr3t-from-a-file@db:5432/sophia"


def _secret(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n", encoding="utf-8")  # editors and `echo` add a newline; it is stripped
    return path


def test_urls_are_read_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_DATABASE_URL_FILE", str(_secret(tmp_path, "database_url", STATE_URL)))
    monkeypatch.setenv("SOPHIA_PGVECTOR_URL_FILE", str(_secret(tmp_path, "pgvector_url", VECTOR_URL)))
    settings = Settings()
    assert settings.state_url == STATE_URL
    assert settings.is_postgres
    assert settings.pgvector_url == VECTOR_URL
    assert "s3cr3t" not in scrub(f"could not connect to {STATE_URL}")


def test_the_url_set_directly_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_DATABASE_URL", "postgresql+psycopg://other@elsewhere/db")
    monkeypatch.setenv("SOPHIA_DATABASE_URL_FILE", str(_secret(tmp_path, "database_url", STATE_URL)))
    assert Settings().state_url == "postgresql+psycopg://other@elsewhere/db"


def test_no_file_no_url_is_sqlite(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_DATABASE_URL_FILE", "  ")
    assert Settings().state_url == f"sqlite:///{isolated_env / 'state.db'}"


@pytest.mark.parametrize("variable", ["SOPHIA_DATABASE_URL_FILE", "SOPHIA_PGVECTOR_URL_FILE"])
def test_a_missing_file_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, str(tmp_path / "not-there"))
    with pytest.raises(ConfigError, match=variable) as caught:
        Settings()
    assert "not-there" in caught.value.message


def test_an_empty_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_DATABASE_URL_FILE", str(_secret(tmp_path, "database_url", "")))
    with pytest.raises(ConfigError, match="empty file"):
        Settings()
