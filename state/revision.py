"""The schema revision this code expects, importable without SQLAlchemy or Alembic."""

from __future__ import annotations

__all__ = ["HEAD_REVISION"]

#: The newest migration in ``state/migrations/versions``; ``tests/state/test_store.py`` pins it to
#: Alembic's head. A store whose ``alembic_version`` says this is not migrated again.
HEAD_REVISION = "0005"
