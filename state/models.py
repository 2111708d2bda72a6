"""SQLModel tables: one schema for SQLite and PostgreSQL.

Schema changes go through an append-only Alembic migration in ``state/migrations/versions``;
``tests/state/test_migrations.py`` checks that the migrations build exactly these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "ApiKey",
    "ApprovalRecord",
    "ChangeRecord",
    "ChangeStatus",
    "DeadLetter",
    "Drift",
    "Freeze",
    "IdempotencyRecord",
    "InboxEvent",
    "InventoryItem",
    "LedgerEntry",
    "LedgerHead",
    "Lock",
    "Run",
    "SlackRequest",
    "SlackUser",
]

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always tz-aware UTC in Python (SQLite returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, **kw))


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSONType, nullable=nullable))


class ChangeStatus:
    """The life of a change record."""

    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    NEEDS_RECONCILE = "needs_reconcile"

    ALL = (PENDING, APPLIED, FAILED, ROLLED_BACK, NEEDS_RECONCILE)


class Run(SQLModel, table=True):
    """One command, from text to outcome."""

    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=40)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    text: str
    actor: str = Field(index=True)
    surface: str = "cli"
    parser: str | None = None
    parsed: dict[str, Any] | None = _json()
    plan: dict[str, Any] | None = _json()
    plan_digest: str | None = None
    decision: dict[str, Any] | None = _json()
    status: str = Field(default="received", index=True)
    dry_run: bool = False
    error: dict[str, Any] | None = _json()
    result: dict[str, Any] | None = _json()


class ChangeRecord(SQLModel, table=True):
    """The current state of one change; every transition is also a :class:`LedgerEntry`."""

    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_platform_target", "platform", "target"),
        # history: newest first, overall / per platform / per target (migration 0005)
        Index("ix_changes_created", "created_at", "seq", "id"),
        Index("ix_changes_platform_created", "platform", "created_at", "seq", "id"),
        Index("ix_changes_target_created", "target", "created_at", "seq", "id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    run_id: str = Field(index=True, max_length=40)
    seq: int = 0
    platform: str
    action: str
    target: str | None = None
    environment: str = "prod"
    params: dict[str, Any] | None = _json()
    before: dict[str, Any] | None = _json()
    expected: dict[str, Any] | None = _json()
    after: dict[str, Any] | None = _json()
    inverse: dict[str, Any] | None = _json()
    reversible: bool = False
    risk: str = "change"
    status: str = Field(default=ChangeStatus.PENDING, index=True)
    actor: str
    undo_of: str | None = Field(default=None, index=True)
    rolled_back_by: str | None = None
    #: For an undo: whether reading back showed the undone change's before-state (None: not checked).
    verified: bool | None = None
    error: str | None = None
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    prev_hash: str = ""
    hash: str = ""


class LedgerEntry(SQLModel, table=True):
    """Append-only, hash-chained log of every change-record state (creation and transitions)."""

    __tablename__ = "ledger"

    seq: int = Field(primary_key=True)
    change_id: str = Field(index=True, max_length=40)
    kind: str
    body: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    at: datetime = _ts()
    prev_hash: str
    hash: str


class LedgerHead(SQLModel, table=True):
    """One row: the last ledger seq and hash. Updating it first serialises appenders."""

    __tablename__ = "ledger_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = ""


class Lock(SQLModel, table=True):
    """A lease on one (platform, target): one resource, one writer."""

    __tablename__ = "locks"

    key: str = Field(primary_key=True, max_length=300)
    holder: str
    run_id: str | None = None
    token: str
    host: str = ""
    pid: int = 0
    acquired_at: datetime = _ts()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class InventoryItem(SQLModel, table=True):
    """A platform resource we know of, refreshed by ``get_status`` and webhooks."""

    __tablename__ = "inventory"
    __table_args__ = (UniqueConstraint("platform", "resource_type", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(index=True)
    resource_type: str
    name: str
    attributes: dict[str, Any] | None = _json()
    refreshed_at: datetime = _ts()


class Freeze(SQLModel, table=True):
    """A change freeze on an environment, until a time."""

    __tablename__ = "freezes"

    id: int | None = Field(default=None, primary_key=True)
    environment: str = Field(index=True)
    until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reason: str = ""
    actor: str = ""
    created_at: datetime = _ts()
    lifted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    lifted_by: str | None = None


class ApprovalRecord(SQLModel, table=True):
    """One answer to an approval request (who, what, for which plan digest, and what it amounted to)."""

    __tablename__ = "approvals"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, max_length=40)
    digest: str
    decision: str
    actor: str
    source: str = ""
    comment: str | None = None
    outcome: str
    problem: str | None = None
    created_at: datetime = _ts()


# -- surfaces: API keys, Slack identities, idempotency, webhook inbox, drift (migration 0002) --


def _opt_ts() -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ApiKey(SQLModel, table=True):
    """A REST API key: only its SHA-256 is stored; it acts as identity ``name`` with ``role``."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(index=True)
    role: str
    key_hash: str = Field(unique=True, max_length=64)
    prefix: str = ""
    created_by: str = ""
    created_at: datetime = _ts()
    revoked_at: datetime | None = _opt_ts()
    last_used_at: datetime | None = _opt_ts()


class SlackUser(SQLModel, table=True):
    """A Slack user (per workspace) mapped to a sophia identity with a role."""

    __tablename__ = "slack_users"

    team_id: str = Field(primary_key=True, max_length=40)
    user_id: str = Field(primary_key=True, max_length=40)
    identity: str
    role: str
    created_at: datetime = _ts()


class IdempotencyRecord(SQLModel, table=True):
    """The first response to an ``Idempotency-Key`` (per caller), replayed for retries."""

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True, max_length=255)
    principal: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status: str = "in_flight"
    response_status: int | None = None
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _ts(index=True)
    locked_until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class InboxEvent(SQLModel, table=True):
    """A verified webhook delivery, stored before it is acknowledged; workers claim and process it."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("platform", "delivery_id"),
        Index("ix_webhook_inbox_claim", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=60)
    delivery_id: str = Field(max_length=300)
    event_type: str = ""
    headers: dict[str, Any] | None = _json()
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = _ts()
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    locked_by: str | None = None
    locked_until: datetime | None = _opt_ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    processed_at: datetime | None = _opt_ts()
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class DeadLetter(SQLModel, table=True):
    """An inbox event whose handler kept failing; ``webhooks replay`` reprocesses it once."""

    __tablename__ = "webhook_dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    inbox_id: int = Field(unique=True)
    platform: str
    delivery_id: str
    event_type: str = ""
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    died_at: datetime = _ts()
    replayed_at: datetime | None = _opt_ts()
    replayed_by: str | None = None
    replay_ok: bool | None = None
    replay_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SlackRequest(SQLModel, table=True):
    """One Slack delivery (event_id / trigger_id): retries of it never start a second run."""

    __tablename__ = "slack_requests"

    delivery_id: str = Field(primary_key=True, max_length=300)
    kind: str
    team_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None
    run_id: str | None = None
    status: str = "accepted"
    received_at: datetime = _ts()


class Drift(SQLModel, table=True):
    """A change a platform reported that our ledger does not explain."""

    __tablename__ = "drift"
    __table_args__ = (UniqueConstraint("inbox_id", "resource_type", "name"),)

    id: str = Field(primary_key=True, max_length=40)
    platform: str = Field(index=True)
    resource_type: str
    name: str
    verb: str = "updated"
    reported_actor: str | None = None
    observed: dict[str, Any] | None = _json()
    before: dict[str, Any] | None = _json()
    revert: dict[str, Any] | None = _json()
    inbox_id: int | None = None
    status: str = Field(default="open", index=True)
    revert_run_id: str | None = None
    notified: bool = False
    detected_at: datetime = _ts()
