"""Small SQL helpers that differ by dialect (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

__all__ = ["insert_ignore"]


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any], conflict: list[str]) -> Any | None:
    """``INSERT … ON CONFLICT (conflict) DO NOTHING RETURNING`` the primary key; None on a conflict."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    pk = list(table.primary_key.columns)
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(*pk)
    row = conn.execute(stmt).first()
    if row is None:
        return None
    return row[0] if len(pk) == 1 else tuple(row)
