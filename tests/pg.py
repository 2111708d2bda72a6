"""One embedded PostgreSQL per test session, a fresh database per test; stopped at session end.

``SOPHIA_TEST_PG_URL`` names an external server instead (its user must be able to create
databases). :func:`leftover_postmasters` finds embedded servers still running on data under a
folder: the session ends by stopping any the tests left under its temporary folder, and fails.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

__all__ = ["PgServer", "leftover_postmasters"]

#: Should pytest be killed before its session ends, the server stops itself after this long idle.
SESSION_IDLE_SECONDS = 600.0


class PgServer:
    """Hands out fresh databases on one server."""

    def __init__(self, base_dir: Path) -> None:
        external = os.environ.get("SOPHIA_TEST_PG_URL")
        self._server = None
        if external:
            self.admin_url = external
        else:
            from state.pgserver import EmbeddedPostgres

            self._server = EmbeddedPostgres(base_dir / "pg", fsync=False, idle_seconds=SESSION_IDLE_SECONDS)
            self.admin_url = self._server.ensure_running()

    def fresh_database(self) -> str:
        """Create an empty database (with the vector extension) and return its psycopg URL."""
        import psycopg

        if self._server is not None:  # started again if it went idle (and renews its lease)
            self.admin_url = self._server.ensure_running()
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = self.admin_url.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return url

    def stop(self) -> None:
        """Stop the embedded server and delete its data (external servers are left alone)."""
        if self._server is not None:
            self._server.destroy()


def leftover_postmasters(under: Path) -> list[tuple[int, Path]]:
    """Embedded PostgreSQL servers running on a data directory under ``under``: (pid, data dir)."""
    from state.pg_watchdog import cmdline

    root = under.resolve()
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc/self").exists() else []:
        if not entry.name.isdigit():
            continue
        argv = cmdline(int(entry.name)) or []
        if argv and Path(argv[0]).name == "postgres" and "-D" in argv[:-1]:
            data_dir = Path(argv[argv.index("-D") + 1])
            if data_dir.is_absolute() and data_dir.resolve().is_relative_to(root):
                found.append((int(entry.name), data_dir))
    return found
