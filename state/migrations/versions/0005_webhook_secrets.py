"""webhook secrets: per-hook secrets from a handshake (Asana's X-Hook-Secret), encrypted at rest

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_secrets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('resource', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('hook_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('secret', sa.LargeBinary(), nullable=True),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('webhook_secrets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_secrets_platform'), ['platform'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_secrets_hook_id'), ['hook_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_secrets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_secrets_hook_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_secrets_platform'))
    op.drop_table('webhook_secrets')
