"""``Idempotency-Key`` records: the first response to a key is replayed for every retry.

Semantics (RELIABILITY.md §2.1–2.2; the IETF draft and Stripe): a key is scoped to the caller;
the same key with the same request replays the stored status and body; with a different
request it is an error (422); while the first request is still running it is a conflict (409).
Terminal outcomes (2xx and deterministic 4xx) are stored; 5xx are not, so a retry runs again.
A request that died mid-flight holds its key for a lease, then the key can be taken over.
Records are kept for :data:`RETENTION_SECONDS` (≥ 24 h, as clients are promised).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, update
from sqlmodel import col

from state.models import IdempotencyRecord, utcnow
from state.sql import insert_ignore
from state.store import Store

__all__ = ["LEASE_SECONDS", "MAX_KEY_LENGTH", "RETENTION_SECONDS", "Begin", "IdempotencyStore"]

RETENTION_SECONDS = 72 * 3600
LEASE_SECONDS = 600
MAX_KEY_LENGTH = 255

Outcome = Literal["new", "replay", "in_flight", "mismatch"]


@dataclass(frozen=True)
class Begin:
    """What to do with a request carrying an idempotency key."""

    outcome: Outcome
    status: int | None = None
    body: str | None = None


class IdempotencyStore:
    """Begin, finish or abandon a keyed request; prune old keys."""

    def __init__(self, store: Store, *, retention: int = RETENTION_SECONDS, lease: int = LEASE_SECONDS) -> None:
        self.store = store
        self.retention = retention
        self.lease = lease

    def begin(self, key: str, principal: str, request_hash: str) -> Begin:
        """Claim ``key`` for this request, or say how an earlier one with it ended."""
        now = utcnow()
        table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
        with self.store.session() as s:
            conn = s.connection()
            # An expired record is as good as absent.
            conn.execute(delete(table).where(table.c.key == key, table.c.principal == principal,
                                             table.c.created_at < now - timedelta(seconds=self.retention)))
            inserted = insert_ignore(conn, table, {
                "key": key, "principal": principal, "request_hash": request_hash, "status": "in_flight",
                "created_at": now, "locked_until": now + timedelta(seconds=self.lease),
            }, ["key", "principal"])
            if inserted is not None:
                return Begin("new")
            row = s.get(IdempotencyRecord, (key, principal))
            if row is None:  # deleted between our insert and read: the client may retry
                return Begin("in_flight")
            if row.request_hash != request_hash:
                return Begin("mismatch")
            if row.status == "done":
                return Begin("replay", row.response_status, row.response_body)
            if row.locked_until > now:
                return Begin("in_flight")
            taken = conn.execute(
                update(table)
                .where(table.c.key == key, table.c.principal == principal, table.c.status == "in_flight",
                       table.c.locked_until == row.locked_until)
                .values(locked_until=now + timedelta(seconds=self.lease))
            ).rowcount
            return Begin("new") if taken else Begin("in_flight")

    def finish(self, key: str, principal: str, status: int, body: str) -> None:
        """Store the response that every retry with this key will get."""
        with self.store.session() as s:
            s.exec(update(IdempotencyRecord).where(  # type: ignore[call-overload]
                col(IdempotencyRecord.key) == key, col(IdempotencyRecord.principal) == principal,
            ).values(status="done", response_status=status, response_body=body))

    def abandon(self, key: str, principal: str) -> None:
        """Forget an in-flight key (its request failed in a way a retry may fix)."""
        with self.store.session() as s:
            s.exec(delete(IdempotencyRecord).where(  # type: ignore[call-overload]
                col(IdempotencyRecord.key) == key, col(IdempotencyRecord.principal) == principal,
                col(IdempotencyRecord.status) == "in_flight",
            ))

    def prune(self) -> int:
        """Delete records older than the retention; returns how many."""
        cutoff = utcnow() - timedelta(seconds=self.retention)
        with self.store.session() as s:
            result = s.exec(delete(IdempotencyRecord).where(  # type: ignore[call-overload]
                col(IdempotencyRecord.created_at) < cutoff))
            return int(result.rowcount or 0)
