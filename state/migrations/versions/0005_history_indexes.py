"""history indexes: changes newest first, overall, per platform and per target

``history`` asks for the newest changes (``ORDER BY created_at DESC, seq DESC, id DESC LIMIT n``;
the id makes the order total, so a keyset cursor never skips or repeats a change), optionally of
one platform, one target or since a time.
Without an index in that order PostgreSQL scans and sorts the whole table: ~120 ms on 100k
changes, growing with the ledger (bench/history_scale.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

INDEXES = {
    "ix_changes_created": ["created_at", "seq", "id"],
    "ix_changes_platform_created": ["platform", "created_at", "seq", "id"],
    "ix_changes_target_created": ["target", "created_at", "seq", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "changes", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="changes")
