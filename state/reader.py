"""Read-only queries on a SQLite state file with the standard library: the CLI's quick path.

Importing SQLAlchemy and the SQLModel tables costs a command about half a second, more than a
quick answer (``history``, ``runs``, ``approvals``, cached ``status``) may take in all.
:class:`StateReader` reads the same tables with :mod:`sqlite3` and returns each row as the JSON
its model gives (``model_dump(mode="json")``). ``tests/state/test_reader.py`` checks every column
of these tables against the models, and the answers against the store's, so the two can't drift
apart.

It opens only a store that exists and is at :data:`~state.revision.HEAD_REVISION`; creating,
migrating and writing, and PostgreSQL, are :class:`state.store.Store`'s.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from state.revision import HEAD_REVISION

__all__ = ["COLUMN_KINDS", "StateReader", "sqlite_path"]

#: Per table, the columns whose stored form isn't their JSON form: ``ts`` (a UTC timestamp),
#: ``json`` (a JSON document) and ``bool``. Every other column reads as stored.
COLUMN_KINDS: dict[str, dict[str, str]] = {
    "runs": {"created_at": "ts", "updated_at": "ts", "parsed": "json", "plan": "json", "decision": "json",
             "error": "json", "result": "json", "dry_run": "bool"},
    "changes": {"params": "json", "before": "json", "expected": "json", "after": "json", "inverse": "json",
                "reversible": "bool", "verified": "bool", "created_at": "ts", "updated_at": "ts"},
    "approvals": {"created_at": "ts"},
    "inventory": {"attributes": "json", "refreshed_at": "ts"},
}


def sqlite_path(url: str) -> Path | None:
    """The file a ``sqlite:///…`` URL names, as :class:`state.store.Store` reads it (None otherwise)."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def _timestamp(value: Any) -> Any:
    """A stored timestamp (``2026-12-07 12:31:04.088738``, UTC) as pydantic writes it in JSON.

    That is ISO 8601 with ``Z`` for UTC (``2026-12-07T12:31:04.088738Z``); written here with the
    standard library, since importing pydantic costs the quick path more than its whole answer.
    ``tests/state/test_reader.py`` checks it against pydantic's own serialiser.
    """
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat().removesuffix("+00:00") + "Z"


_CONVERT = {
    "ts": _timestamp,
    "json": lambda v: None if v is None else json.loads(v),
    "bool": lambda v: None if v is None else bool(v),
}


class StateReader:
    """SELECTs on the state file; every answer is JSON like the models' ``model_dump(mode="json")``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def open(cls, url: str) -> StateReader | None:
        """A reader on the store at ``url``, or None unless it is an existing SQLite file at head."""
        path = sqlite_path(url)
        if path is None or not path.is_file():
            return None
        conn = sqlite3.connect(path, timeout=30)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            row = None
        if row is None or row[0] != HEAD_REVISION:
            conn.close()
            return None
        return cls(conn)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def _rows(self, table: str, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        kinds = COLUMN_KINDS[table]
        convert = [_CONVERT.get(kinds.get(name, ""), None) for name in names]
        return [{name: (fn(value) if fn else value) for name, fn, value in zip(names, convert, row, strict=True)}
                for row in cur.fetchall()]

    # -- what the service would settle first -----------------------------------------------
    def unsettled(self) -> bool:
        """Whether a starting service would have something to reconcile.

        A ``pending`` change (orphaned, or in progress elsewhere), a ``needs_reconcile`` change not
        yet read back, or an applied undo without its verdict: then the quick path steps aside.
        """
        if self.conn.execute("SELECT 1 FROM changes WHERE status = 'pending' LIMIT 1").fetchone():
            return True
        if self.conn.execute("SELECT 1 FROM changes WHERE undo_of IS NOT NULL AND status = 'applied' "
                             "AND verified IS NULL LIMIT 1").fetchone():
            return True
        unexamined = """
            SELECT 1 FROM changes c WHERE c.status = 'needs_reconcile' AND COALESCE(
                (SELECT l.kind FROM ledger l WHERE l.change_id = c.id ORDER BY l.seq DESC LIMIT 1), '') != 'reconcile'
            LIMIT 1"""
        return self.conn.execute(unexamined).fetchone() is not None

    # -- changes and runs ------------------------------------------------------------------
    def changes(self, *, platform: str | None = None, target: str | None = None, status: str | None = None,
                since: datetime | None = None, run_id: str | None = None, limit: int = 50,
                before: str | None = None) -> list[dict[str, Any]]:
        """Change records, newest first (as :meth:`state.ledger.Ledger.list`), without their hashes.

        Raises:
            LookupError: ``before`` names no change (the caller steps aside for the service's error).
        """
        where, args = [], []
        if before:
            anchor = self.conn.execute("SELECT created_at, seq, id FROM changes WHERE id = ?", (before,)).fetchone()
            if anchor is None:
                raise LookupError(before)
            where.append("(created_at, seq, id) < (?, ?, ?)")
            args.extend(anchor)
        for column, value in (("platform", platform), ("target", target), ("status", status), ("run_id", run_id)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if since:
            where.append("created_at >= ?")
            args.append(since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
        sql = ("SELECT * FROM changes" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY created_at DESC, seq DESC, id DESC LIMIT ?")
        rows = self._rows("changes", sql, (*args, limit))
        for row in rows:
            del row["prev_hash"], row["hash"]
        return rows

    def runs(self, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Runs, newest first (as :meth:`state.store.Store.list_runs`)."""
        if status:
            return self._rows("runs", "SELECT * FROM runs WHERE status = ? ORDER BY created_at DESC LIMIT ?",
                              (status, limit))
        return self._rows("runs", "SELECT * FROM runs ORDER BY created_at DESC LIMIT ?", (limit,))

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run, or None."""
        rows = self._rows("runs", "SELECT * FROM runs WHERE id = ?", (run_id,))
        return rows[0] if rows else None

    def answers(self, run_id: str) -> list[dict[str, Any]]:
        """The recorded answers to a run's approval request, oldest first (without their row ids)."""
        rows = self._rows("approvals", "SELECT * FROM approvals WHERE run_id = ? ORDER BY id", (run_id,))
        for row in rows:
            del row["id"]
        return rows

    def inventory(self, platform: str | None = None) -> list[dict[str, Any]]:
        """Inventory rows (bookkeeping rows, whose type starts with ``~``, included), by platform and name."""
        if platform:
            return self._rows("inventory", "SELECT * FROM inventory WHERE platform = ? ORDER BY platform, name",
                              (platform,))
        return self._rows("inventory", "SELECT * FROM inventory ORDER BY platform, name")
