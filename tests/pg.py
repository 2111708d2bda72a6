"""One embedded PostgreSQL per test session, a fresh database per test.

``SOPHIA_TEST_PG_URL`` names an external server instead (its user must be able to create
databases).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

__all__ = ["PgServer"]


class PgServer:
    """Hands out fresh databases on one server."""

    def __init__(self, base_dir: Path) -> None:
        external = os.environ.get("SOPHIA_TEST_PG_URL")
        self._server = None
        if external:
            self.admin_url = external
        else:
            from state.pgserver import EmbeddedPostgres

            self._server = EmbeddedPostgres(base_dir / "pg", fsync=False)
            self.admin_url = self._server.ensure_running()

    def fresh_database(self) -> str:
        """Create an empty database (with the vector extension) and return its psycopg URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = self.admin_url.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return url

    def stop(self) -> None:
        """Stop the embedded server (external servers are left alone)."""
        if self._server is not None:
            self._server.destroy()
