"""The change ledger: write-ahead change records, hash-chained so tampering shows.

Every state a change record passes through (``pending`` with its before-state, then
``applied``/``failed``/``rolled_back``/``needs_reconcile``) is appended to the ``ledger`` table
as a full snapshot whose hash covers the previous entry's hash. The ``changes`` table holds the
current snapshot and carries that entry's ``prev_hash`` and ``hash``. :meth:`Ledger.verify`
recomputes the chain and checks every change row against its newest entry, so an edited,
inserted or deleted row in either table is reported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from orchestrator.errors import NotFoundError
from orchestrator.state import canonical_json
from state.models import ChangeRecord, ChangeStatus, LedgerEntry, LedgerHead, utcnow

if TYPE_CHECKING:
    from state.store import Store

__all__ = ["Ledger", "VerifyReport", "snapshot"]

_UNHASHED = frozenset({"prev_hash", "hash"})


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    return value


#: Columns added after records were first hashed: left out of the hashed body while unset, so
#: entries written before they existed still verify.
_ADDED_LATER = frozenset({"verified"})


def snapshot(change: ChangeRecord) -> dict[str, Any]:
    """The hashed content of a change record: every column but the hashes."""
    return {k: _norm(v) for k, v in change.model_dump().items()
            if k not in _UNHASHED and not (k in _ADDED_LATER and v is None)}


def entry_hash(prev_hash: str, seq: int, body: dict[str, Any]) -> str:
    """sha256(prev_hash | seq | canonical body)."""
    return hashlib.sha256(f"{prev_hash}|{seq}|{canonical_json(body)}".encode()).hexdigest()


@dataclass
class VerifyReport:
    """The outcome of :meth:`Ledger.verify`."""

    entries: int = 0
    changes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


class Ledger:
    """Change records and their hash chain."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _append(self, s: Session, change: ChangeRecord, kind: str) -> None:
        # Bumping the head first takes the write lock (SQLite) / row lock (PostgreSQL), so
        # concurrent appenders queue up instead of forking the chain.
        s.exec(update(LedgerHead).where(col(LedgerHead.id) == 1).values(seq=LedgerHead.seq + 1))  # type: ignore[call-overload]
        head = s.exec(select(LedgerHead).where(LedgerHead.id == 1)).one()
        s.refresh(head)
        change.updated_at = utcnow()
        body = snapshot(change)
        digest = entry_hash(head.hash, head.seq, body)
        s.add(LedgerEntry(seq=head.seq, change_id=change.id, kind=kind, body=body, prev_hash=head.hash, hash=digest))
        change.prev_hash, change.hash = head.hash, digest
        head.hash = digest
        s.add(head)
        s.add(change)

    def open(self, change: ChangeRecord) -> ChangeRecord:
        """Write a new change record as ``pending`` (before anything is sent)."""
        change.status = ChangeStatus.PENDING
        with self.store.session() as s:
            self._append(s, change, "open")
        return change

    def transition(self, change_id: str, status: str, *, kind: str | None = None, **fields: Any) -> ChangeRecord:
        """Move a change to ``status`` (setting ``after``, ``error`` … as given).

        ``kind`` names the ledger entry (default: the status), e.g. ``reconcile`` for a
        settlement by the reconciler or ``verify`` for an undo's read-back verdict.
        """
        if status not in ChangeStatus.ALL:
            raise ValueError(f"unknown change status {status!r}")
        with self.store.session() as s:
            change = s.get(ChangeRecord, change_id, with_for_update=True)
            if change is None:
                raise NotFoundError(f"no change {change_id}", hint="list changes with `sophia-iac history`")
            change.status = status
            for key, value in fields.items():
                setattr(change, key, value)
            self._append(s, change, kind or status)
        return change

    def get(self, change_id: str) -> ChangeRecord:
        """One change by id."""
        with self.store.session() as s:
            change = s.get(ChangeRecord, change_id)
        if change is None:
            raise NotFoundError(f"no change {change_id}", hint="list changes with `sophia-iac history`")
        return change

    def list(
        self,
        *,
        platform: str | None = None,
        target: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        run_id: str | None = None,
        limit: int = 50,
    ) -> list[ChangeRecord]:
        """Changes, newest first, filtered."""
        with self.store.session() as s:
            q = select(ChangeRecord).order_by(col(ChangeRecord.created_at).desc(), col(ChangeRecord.seq).desc())
            if platform:
                q = q.where(ChangeRecord.platform == platform)
            if target:
                q = q.where(ChangeRecord.target == target)
            if status:
                q = q.where(ChangeRecord.status == status)
            if since:
                q = q.where(ChangeRecord.created_at >= since)
            if run_id:
                q = q.where(ChangeRecord.run_id == run_id)
            return list(s.exec(q.limit(limit)).all())

    def verify(self) -> VerifyReport:
        """Recompute the chain and compare every change row with its newest entry."""
        report = VerifyReport()
        latest: dict[str, LedgerEntry] = {}
        with self.store.session() as s:
            head = s.exec(select(LedgerHead).where(LedgerHead.id == 1)).first()
            prev_hash, expected_seq = "", 1
            for entry in s.exec(select(LedgerEntry).order_by(col(LedgerEntry.seq))):
                report.entries += 1
                if entry.seq != expected_seq:
                    report.problems.append(f"ledger entries {expected_seq}..{entry.seq - 1} are missing")
                if entry.prev_hash != prev_hash:
                    report.problems.append(f"ledger entry {entry.seq} does not follow the previous entry")
                if entry_hash(entry.prev_hash, entry.seq, entry.body) != entry.hash:
                    report.problems.append(f"ledger entry {entry.seq} ({entry.change_id}) was edited")
                if entry.body.get("id") != entry.change_id:
                    report.problems.append(f"ledger entry {entry.seq} names another change than it holds")
                latest[entry.change_id] = entry
                prev_hash, expected_seq = entry.hash, entry.seq + 1
            if head is None or head.seq != expected_seq - 1 or head.hash != prev_hash:
                report.problems.append("the ledger head does not match the last entry (entries removed at the end?)")
            for change in s.exec(select(ChangeRecord)):
                report.changes += 1
                entry = latest.pop(change.id, None)
                if entry is None:
                    report.problems.append(f"change {change.id} has no ledger entry")
                elif snapshot(change) != entry.body or change.hash != entry.hash:
                    report.problems.append(f"change {change.id} differs from its ledger entry {entry.seq} (edited)")
            for change_id, entry in latest.items():
                report.problems.append(f"change {change_id} was deleted (last ledger entry {entry.seq})")
        return report
