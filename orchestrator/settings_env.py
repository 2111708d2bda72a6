"""The state store's URL read straight from the environment, for the CLI's fast path.

:class:`orchestrator.config.Settings` is the one place settings are defined, but importing
pydantic-settings costs a command a third of a second. The fast path needs one value, the state
URL, and reads it here the way ``Settings`` would: ``SOPHIA_DATABASE_URL``, else SQLite under
``SOPHIA_HOME`` (default ``~/.sophia-iac``). Where that reading could differ from ``Settings`` —
a ``.env`` file in the working directory, a name in another case, an empty home, a URL given
as a file (``SOPHIA_DATABASE_URL_FILE``: reading it, and its errors, are ``Settings``' job) — it
answers None and the CLI takes the ordinary path. ``tests/orchestrator/test_settings_env.py`` holds the
two readings equal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["home_from_env", "state_url_from_env"]

_NAMES = ("SOPHIA_HOME", "SOPHIA_DATABASE_URL", "SOPHIA_DATABASE_URL_FILE")


def _usable(env: Mapping[str, str], cwd: Path | None) -> bool:
    """Whether the environment alone says what ``Settings`` would (no ``.env``, no names in other cases)."""
    if ((cwd or Path.cwd()) / ".env").exists():
        return False
    return not any(key.upper() in _NAMES and key not in _NAMES for key in env)


def _home(env: Mapping[str, str]) -> Path | None:
    home = env.get("SOPHIA_HOME")
    if home is None:
        return Path.home() / ".sophia-iac"
    return Path(home).expanduser() if home.strip() else None


def home_from_env(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path | None:
    """What ``Settings().home`` would be, or None when only ``Settings`` can say for sure."""
    env = os.environ if environ is None else environ
    return _home(env) if _usable(env, cwd) else None


def state_url_from_env(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> str | None:
    """What ``Settings().state_url`` would be, or None when only ``Settings`` can say for sure."""
    env = os.environ if environ is None else environ
    if not _usable(env, cwd):
        return None
    database_url = env.get("SOPHIA_DATABASE_URL")
    if database_url:
        return database_url
    if env.get("SOPHIA_DATABASE_URL_FILE", "").strip():
        return None
    home = _home(env)
    return None if home is None else f"sqlite:///{home / 'state.db'}"
