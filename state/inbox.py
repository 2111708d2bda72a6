"""The webhook inbox (dedup + work queue), its dead letters, drift records and Slack deliveries.

A delivery is stored once per ``(platform, delivery_id)`` before it is acknowledged
(RELIABILITY.md §2.4): a duplicate finds the row and changes nothing. Workers *claim* rows
with a lease — on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so several processes take
disjoint rows; on SQLite (one writer) with a plain conditional update — and finish each
claim with a fencing check on ``locked_by``. A row that fails ``max_attempts`` times moves
to ``webhook_dead_letters`` with its last error; :meth:`Inbox.claim_replay` lets exactly one
replay of a dead letter proceed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import col, select

from orchestrator.errors import ApprovalError, NotFoundError
from state.models import DeadLetter, Drift, InboxEvent, SlackRequest, utcnow
from state.sql import insert_ignore
from state.store import Store, new_id

__all__ = ["INBOX_RETENTION_SECONDS", "STORED_HEADER_DENYLIST", "Inbox"]

#: ≥ 7 days: covers GitHub's 3-day redelivery and every sender's retry schedule (§1.10).
INBOX_RETENTION_SECONDS = 7 * 24 * 3600
#: Headers never stored with a delivery (credentials a proxy may add; not needed to verify).
STORED_HEADER_DENYLIST = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})

_CLAIM_PG = text("""
UPDATE webhook_inbox SET status = 'processing', locked_by = :worker, locked_until = :until,
       attempts = attempts + 1
 WHERE id IN (SELECT id FROM webhook_inbox
               WHERE (status = 'pending' AND next_attempt_at <= :now)
                  OR (status = 'processing' AND locked_until < :now)
               ORDER BY id
               FOR UPDATE SKIP LOCKED
               LIMIT :n)
RETURNING id
""")

#: The inbox insert on PostgreSQL as plain SQL: building and caching the Core statement cost
#: more CPU than the round trip (it is the webhook endpoint's hot path).
_ADD_PG = text("""
INSERT INTO webhook_inbox (platform, delivery_id, event_type, headers, body, received_at, status, attempts,
                           next_attempt_at)
VALUES (:platform, :delivery_id, :event_type, :headers, :body, :received_at, 'pending', 0, :received_at)
ON CONFLICT (platform, delivery_id) DO NOTHING
RETURNING id
""").bindparams(bindparam("headers", type_=InboxEvent.__table__.c.headers.type),  # type: ignore[attr-defined]
                bindparam("received_at", type_=InboxEvent.__table__.c.received_at.type))  # type: ignore[attr-defined]

_CLAIM_SQLITE = text("""
UPDATE webhook_inbox SET status = 'processing', locked_by = :worker, locked_until = :until,
       attempts = attempts + 1
 WHERE id IN (SELECT id FROM webhook_inbox
               WHERE (status = 'pending' AND next_attempt_at <= :now)
                  OR (status = 'processing' AND locked_until < :now)
               ORDER BY id
               LIMIT :n)
RETURNING id
""")


class Inbox:
    """Inbox rows, dead letters, drift and Slack delivery records over one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- ingest --------------------------------------------------------------------------
    def add(self, platform: str, delivery_id: str, event_type: str, headers: Mapping[str, str],
            body: bytes, received_at: datetime | None = None) -> tuple[int | None, bool]:
        """Store a verified delivery; returns ``(id, True)`` if new, ``(None, False)`` if a duplicate."""
        kept = {k.lower(): v for k, v in headers.items() if k.lower() not in STORED_HEADER_DENYLIST}
        now = received_at or utcnow()
        if self.store.dialect == "postgresql":
            values = {"platform": platform, "delivery_id": delivery_id[:300], "event_type": event_type[:200],
                      "headers": kept, "body": body, "received_at": now}
            for attempt in (1, 2):
                try:
                    with self.store.autocommit_engine.connect() as pg:
                        row = pg.execute(_ADD_PG, values).first()
                    break
                except DBAPIError as exc:
                    # A pooled connection the server closed (restart, failover): retry once on a new
                    # one; the insert is idempotent, so a first attempt that did land reads as duplicate.
                    if attempt == 1 and exc.connection_invalidated:
                        continue
                    if isinstance(exc, OperationalError) or exc.connection_invalidated:
                        raise self.store.unavailable(exc) from exc
                    raise
            return (int(row[0]), True) if row is not None else (None, False)
        table = InboxEvent.__table__  # type: ignore[attr-defined]
        # One statement, committed on its own (autocommit): one round trip on the hot path.
        with self._autocommit() as conn:
            new_id_ = insert_ignore(conn, table, {
                "platform": platform, "delivery_id": delivery_id[:300], "event_type": event_type[:200],
                "headers": kept, "body": body, "received_at": now, "status": "pending", "attempts": 0,
                "next_attempt_at": now,
            }, ["platform", "delivery_id"])
        return (int(new_id_), True) if new_id_ is not None else (None, False)

    @contextmanager
    def _autocommit(self) -> Iterator[Connection]:
        try:
            with self.store.engine.connect() as conn:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")
        except OperationalError as exc:
            raise self.store.unavailable(exc) from exc

    # -- work queue ----------------------------------------------------------------------
    def claim(self, worker: str, *, limit: int = 10, lease_seconds: float = 300) -> list[InboxEvent]:
        """Claim up to ``limit`` due rows for ``worker`` (no other worker gets them while leased)."""
        now = utcnow()
        sql = _CLAIM_PG if self.store.dialect == "postgresql" else _CLAIM_SQLITE
        with self.store.session() as s:
            ids = [r[0] for r in s.connection().execute(
                sql, {"worker": worker, "until": now + timedelta(seconds=lease_seconds), "now": now, "n": limit})]
        if not ids:
            return []
        with self.store.session() as s:
            rows = s.exec(select(InboxEvent).where(col(InboxEvent.id).in_(ids)).order_by(col(InboxEvent.id))).all()
            return list(rows)

    def complete(self, event_id: int, worker: str, summary: str) -> bool:
        """Mark a claimed row done; False if the claim was lost (another worker took it over)."""
        with self.store.session() as s:
            result = s.exec(update(InboxEvent).where(  # type: ignore[call-overload]
                col(InboxEvent.id) == event_id, col(InboxEvent.locked_by) == worker,
                col(InboxEvent.status) == "processing",
            ).values(status="done", processed_at=utcnow(), summary=summary[:2000], locked_until=None,
                     last_error=None))
            return bool(result.rowcount)

    def fail(self, event_id: int, worker: str, error: str, *, max_attempts: int, backoff: float) -> str:
        """Record a failed attempt: retry later (``"retry"``) or move to the dead letters (``"dead"``)."""
        error = error[:4000]
        with self.store.session() as s:
            row = s.get(InboxEvent, event_id)
            if row is None or row.locked_by != worker or row.status != "processing":
                return "lost"
            if row.attempts >= max_attempts:
                row.status, row.last_error, row.locked_until = "dead", error, None
                s.add(row)
                s.add(DeadLetter(inbox_id=event_id, platform=row.platform, delivery_id=row.delivery_id,
                                 event_type=row.event_type, attempts=row.attempts, last_error=error))
                return "dead"
            delay = min(backoff * 2 ** (row.attempts - 1), 3600.0)
            row.status, row.last_error, row.locked_until = "pending", error, None
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            s.add(row)
            return "retry"

    def get(self, event_id: int) -> InboxEvent:
        """One inbox row."""
        with self.store.session() as s:
            row = s.get(InboxEvent, event_id)
        if row is None:
            raise NotFoundError(f"no webhook event {event_id}", hint="list them with `sophia-iac webhooks list`")
        return row

    def events(self, *, status: str | None = None, platform: str | None = None, limit: int = 50
               ) -> list[InboxEvent]:
        """Newest first."""
        with self.store.session() as s:
            q = select(InboxEvent).order_by(col(InboxEvent.id).desc()).limit(limit)
            if status:
                q = q.where(InboxEvent.status == status)
            if platform:
                q = q.where(InboxEvent.platform == platform)
            return list(s.exec(q).all())

    def depth(self) -> dict[str, int]:
        """Row counts by status (for metrics)."""
        with self.store.session() as s:
            rows = s.connection().execute(text("SELECT status, count(*) FROM webhook_inbox GROUP BY status"))
            return {str(k): int(v) for k, v in rows}

    def prune(self, retention_seconds: int = INBOX_RETENTION_SECONDS) -> int:
        """Delete processed rows older than the retention (their ids still dedupe until then)."""
        cutoff = utcnow() - timedelta(seconds=retention_seconds)
        with self.store.session() as s:
            result = s.exec(delete(InboxEvent).where(  # type: ignore[call-overload]
                col(InboxEvent.status) == "done", col(InboxEvent.received_at) < cutoff))
            return int(result.rowcount or 0)

    # -- dead letters --------------------------------------------------------------------
    def dead_letters(self, *, limit: int = 50) -> list[DeadLetter]:
        """Newest first."""
        with self.store.session() as s:
            return list(s.exec(select(DeadLetter).order_by(col(DeadLetter.id).desc()).limit(limit)).all())

    def dead_letter(self, dead_id: int) -> DeadLetter:
        """One dead letter."""
        with self.store.session() as s:
            row = s.get(DeadLetter, dead_id)
        if row is None:
            raise NotFoundError(f"no dead letter {dead_id}", hint="list them with `sophia-iac webhooks dead`")
        return row

    def claim_replay(self, dead_id: int, actor: str) -> InboxEvent:
        """Reserve the one replay of a dead letter; a second call is refused.

        Raises:
            NotFoundError: no such dead letter.
            ApprovalError: it was already replayed.
        """
        dead = self.dead_letter(dead_id)
        with self.store.session() as s:
            taken = s.exec(update(DeadLetter).where(  # type: ignore[call-overload]
                col(DeadLetter.id) == dead_id, col(DeadLetter.replayed_at).is_(None),
            ).values(replayed_at=utcnow(), replayed_by=actor)).rowcount
        if not taken:
            again = self.dead_letter(dead_id)
            raise ApprovalError(
                f"dead letter {dead_id} was already replayed at {again.replayed_at:%Y-%m-%d %H:%M:%S} "
                f"by {again.replayed_by}",
                hint="a dead letter is replayed once; see the inbox row for the outcome",
            )
        return self.get(dead.inbox_id)

    def finish_replay(self, dead_id: int, ok: bool, error: str | None = None) -> None:
        """Record how the replay went."""
        with self.store.session() as s:
            row = s.get(DeadLetter, dead_id)
            if row is not None:
                row.replay_ok, row.replay_error = ok, (error or None) and error[:4000]
                s.add(row)

    def mark_replayed(self, event_id: int, ok: bool, summary: str) -> None:
        """Settle an inbox row after a manual replay."""
        with self.store.session() as s:
            row = s.get(InboxEvent, event_id)
            if row is not None:
                row.status = "done" if ok else "dead"
                row.attempts += 1
                row.processed_at = utcnow()
                if ok:
                    row.summary, row.last_error = summary[:2000], None
                else:
                    row.last_error = summary[:4000]
                s.add(row)

    # -- drift ---------------------------------------------------------------------------
    def record_drift(self, drift: Drift) -> tuple[Drift, bool]:
        """Record drift once per (inbox row, resource); returns the row and whether it is new."""
        values = drift.model_dump()
        table = Drift.__table__  # type: ignore[attr-defined]
        with self.store.session() as s:
            inserted = insert_ignore(s.connection(), table, values, ["inbox_id", "resource_type", "name"])
            if inserted is not None:
                return drift, True
            existing = s.exec(select(Drift).where(
                Drift.inbox_id == drift.inbox_id, Drift.resource_type == drift.resource_type,
                Drift.name == drift.name)).first()
        assert existing is not None
        return existing, False

    def drift(self, drift_id: str) -> Drift:
        """One drift record."""
        with self.store.session() as s:
            row = s.get(Drift, drift_id)
        if row is None:
            raise NotFoundError(f"no drift {drift_id}", hint="list drift with GET /v1/drift")
        return row

    def list_drift(self, *, status: str | None = None, platform: str | None = None, limit: int = 50) -> list[Drift]:
        """Newest first."""
        with self.store.session() as s:
            q = select(Drift).order_by(col(Drift.detected_at).desc()).limit(limit)
            if status:
                q = q.where(Drift.status == status)
            if platform:
                q = q.where(Drift.platform == platform)
            return list(s.exec(q).all())

    def update_drift(self, drift_id: str, *, expect_status: str | None = None, **fields: Any) -> bool:
        """Set fields on a drift row (only if it is in ``expect_status``, when given)."""
        with self.store.session() as s:
            q = update(Drift).where(col(Drift.id) == drift_id)
            if expect_status is not None:
                q = q.where(col(Drift.status) == expect_status)
            return bool(s.exec(q.values(**fields)).rowcount)  # type: ignore[call-overload]

    # -- Slack deliveries ----------------------------------------------------------------
    def remember_slack(self, delivery_id: str, kind: str, *, team_id: str | None = None,
                       user_id: str | None = None, channel_id: str | None = None) -> bool:
        """Record a Slack delivery; False if it was seen before (a retry: do nothing)."""
        table = SlackRequest.__table__  # type: ignore[attr-defined]
        with self._autocommit() as conn:
            return insert_ignore(conn, table, {
                "delivery_id": delivery_id[:300], "kind": kind, "team_id": team_id, "user_id": user_id,
                "channel_id": channel_id, "status": "accepted", "received_at": utcnow(),
            }, ["delivery_id"]) is not None

    def settle_slack(self, delivery_id: str, *, status: str, run_id: str | None = None) -> None:
        """Record what a Slack delivery led to."""
        with self.store.session() as s:
            s.exec(update(SlackRequest).where(  # type: ignore[call-overload]
                col(SlackRequest.delivery_id) == delivery_id).values(status=status, run_id=run_id))

    def slack_request(self, delivery_id: str) -> SlackRequest | None:
        """A Slack delivery record."""
        with self.store.session() as s:
            return s.get(SlackRequest, delivery_id)

    @staticmethod
    def new_drift_id() -> str:
        """A drift id."""
        return new_id("drift")
