"""The change ledger: write-ahead change records, hash-chained so tampering shows.

Every state a change record passes through (``pending`` with its before-state, then
``applied``/``failed``/``rolled_back``/``needs_reconcile``) is appended to the ``ledger`` table
as a full snapshot whose hash covers the previous entry's hash. The ``changes`` table holds the
current snapshot and carries that entry's ``prev_hash`` and ``hash``. :meth:`Ledger.verify`
recomputes the chain and checks every change row against its newest entry, so an edited,
inserted or deleted row in either table is reported.

**Keyed.** Each hash is HMAC-SHA256 under the ledger key (:mod:`state.ledger_key`: resolved by
reference, never stored in the database), so someone who can write the database but doesn't
hold the key can't re-chain an edit. The scheme and the key's public id are recorded in the
ledger head's second row (``ledger_head`` id 0: ``seq`` = the first keyed entry, ``hash`` =
``hmac-sha256:<key id>``). A database written before keying keeps its plain-sha256 entries,
which still verify, with a warning; the first entry appended after them is keyed and covers
their hash.

**Anchors.** Whoever holds the key can still rewrite and re-chain, and anyone can truncate. An
anchor (:meth:`Ledger.head`, written with :func:`write_anchor` — ``sophia-iac ledger
export-head``) is the head's seq and hash at a moment, kept outside the database;
``verify(anchor=...)`` checks the chain still holds that entry with that hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import tuple_, update
from sqlmodel import Session, col, select

from orchestrator.errors import ConfigError, NotFoundError, ValidationFailedError
from orchestrator.state import canonical_json
from state.ledger_key import LedgerKey, resolve_ledger_key
from state.models import ChangeRecord, ChangeStatus, LedgerEntry, LedgerHead, utcnow

if TYPE_CHECKING:
    from state.store import Store

__all__ = ["ANCHOR_FORMAT", "SCHEME", "Ledger", "VerifyReport", "entry_hash", "read_anchor", "snapshot",
           "write_anchor"]

#: The keyed scheme; entries before the scheme row's ``seq`` use ``LEGACY_SCHEME``.
SCHEME = "hmac-sha256"
LEGACY_SCHEME = "sha256"
#: ``ledger_head`` row holding the scheme (row 1 is the head itself).
SCHEME_ROW = 0
ANCHOR_FORMAT = "sophia-iac.ledger-anchor/1"
_KEY_HINT = "set SOPHIA_LEDGER_KEY or SOPHIA_LEDGER_KEY_FILE to the key this ledger was written with " \
            "(the default is $SOPHIA_HOME/ledger.key on the machine that first wrote it)"

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


def entry_hash(prev_hash: str, seq: int, body: dict[str, Any], key: LedgerKey | None = None) -> str:
    """HMAC-SHA256(key, prev_hash | seq | canonical body); plain sha256 of the same for legacy entries."""
    message = f"{prev_hash}|{seq}|{canonical_json(body)}".encode()
    return key.mac(message) if key is not None else hashlib.sha256(message).hexdigest()


def _parse_scheme(marker: LedgerHead | None) -> tuple[int | None, str, str]:
    """(first keyed seq or None, scheme, key id) from the scheme row."""
    if marker is None:
        return None, LEGACY_SCHEME, ""
    scheme, _, key_id = marker.hash.partition(":")
    return marker.seq, scheme, key_id


@dataclass
class VerifyReport:
    """The outcome of :meth:`Ledger.verify`.

    ``scheme`` is ``hmac-sha256``, ``sha256`` (nothing keyed yet) or ``mixed`` (entries before
    ``keyed_from`` predate the key); ``warnings`` say what the chain can't vouch for.
    """

    entries: int = 0
    changes: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    scheme: str = SCHEME
    key_id: str = ""
    keyed_from: int | None = None
    head: dict[str, Any] = field(default_factory=dict)
    anchor: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


class Ledger:
    """Change records and their hash chain."""

    def __init__(self, store: Store, key: LedgerKey | None = None) -> None:
        self.store = store
        self._key = key

    def key(self, *, create: bool) -> LedgerKey | None:
        """The ledger key (resolved once; generated on first append when none is configured)."""
        if self._key is None:
            self._key = resolve_ledger_key(create=create)
        return self._key

    def _signing_key(self, s: Session, seq: int) -> LedgerKey:
        """The key for entry ``seq``; records the scheme on the first keyed entry, refuses another key."""
        key = self.key(create=True)
        assert key is not None  # create=True always yields one
        marker = s.get(LedgerHead, SCHEME_ROW)
        if marker is None:
            s.add(LedgerHead(id=SCHEME_ROW, seq=seq, hash=f"{SCHEME}:{key.key_id}"))
            return key
        _first, scheme, key_id = _parse_scheme(marker)
        if scheme != SCHEME or key_id != key.key_id:
            raise ConfigError(f"this ledger is keyed with key id {key_id or '?'} ({scheme}), but the configured "
                              f"ledger key has key id {key.key_id}; nothing was written", hint=_KEY_HINT,
                              details={"variable": "SOPHIA_LEDGER_KEY"})
        return key

    def _append(self, s: Session, change: ChangeRecord, kind: str) -> None:
        # Bumping the head first takes the write lock (SQLite) / row lock (PostgreSQL), so
        # concurrent appenders queue up instead of forking the chain.
        s.exec(update(LedgerHead).where(col(LedgerHead.id) == 1).values(seq=LedgerHead.seq + 1))  # type: ignore[call-overload]
        head = s.exec(select(LedgerHead).where(LedgerHead.id == 1)).one()
        s.refresh(head)
        key = self._signing_key(s, head.seq)
        change.updated_at = utcnow()
        body = snapshot(change)
        digest = entry_hash(head.hash, head.seq, body, key)
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
        with self.store.session() as s:
            return self._transition(s, change_id, status, kind, fields)

    def transitions(self, *steps: tuple[str, str, str | None, dict[str, Any]]) -> list[ChangeRecord]:
        """Several ``(change_id, status, kind, fields)`` transitions in one database transaction.

        All are recorded or none: an undo's verdict and the undone change's ``rolled_back``
        can't be split by a crash.
        """
        with self.store.session() as s:
            return [self._transition(s, change_id, status, kind, fields) for change_id, status, kind, fields in steps]

    def _transition(self, s: Session, change_id: str, status: str, kind: str | None,
                    fields: dict[str, Any]) -> ChangeRecord:
        if status not in ChangeStatus.ALL:
            raise ValueError(f"unknown change status {status!r}")
        change = s.get(ChangeRecord, change_id, with_for_update=True)
        if change is None:
            raise NotFoundError(f"no change {change_id}", hint="list changes with `sophia-iac history`")
        change.status = status
        for key, value in fields.items():
            setattr(change, key, value)
        self._append(s, change, kind or status)
        return change

    def unverified_undos(self, limit: int = 1000) -> list[ChangeRecord]:
        """Applied undos whose read-back verdict was never recorded (a crash between the two)."""
        with self.store.session() as s:
            q = (select(ChangeRecord).where(col(ChangeRecord.undo_of).is_not(None))
                 .where(ChangeRecord.status == ChangeStatus.APPLIED).where(col(ChangeRecord.verified).is_(None))
                 .order_by(col(ChangeRecord.created_at)).limit(limit))
            return list(s.exec(q).all())

    def last_kinds(self, change_ids: list[str]) -> dict[str, str]:
        """The kind of each change's newest ledger entry (``open``, ``applied``, ``reconcile`` …)."""
        if not change_ids:
            return {}
        with self.store.session() as s:
            rows = s.exec(select(LedgerEntry.change_id, LedgerEntry.kind)
                          .where(col(LedgerEntry.change_id).in_(change_ids)).order_by(col(LedgerEntry.seq)))
            return {change_id: kind for change_id, kind in rows}

    def get(self, change_id: str) -> ChangeRecord:
        """One change by id, or by a fragment of one that names exactly one change (``chg-5ccb8d``)."""
        with self.store.read_session() as s:
            change = s.get(ChangeRecord, change_id) or s.get(ChangeRecord, self.resolve_change_id(change_id))
        if change is None:
            raise NotFoundError(f"no change {change_id}", hint="list changes with `sophia-iac history`")
        return change

    def resolve_change_id(self, token: str) -> str:
        """The full id of the one change ``token`` names (see :mod:`state.ids`)."""
        from state.ids import resolve_id

        with self.store.session() as s:
            return resolve_id(s, ChangeRecord, "chg", token, noun="change",
                              hint="list changes with `sophia-iac history`")

    def list(
        self,
        *,
        platform: str | None = None,
        target: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        run_id: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[ChangeRecord]:
        """Changes, newest first, filtered; ``before``: only those older than that change (the next page).

        Raises:
            NotFoundError: ``before`` names no change.
        """
        with self.store.read_session() as s:
            q = select(ChangeRecord).order_by(col(ChangeRecord.created_at).desc(), col(ChangeRecord.seq).desc(),
                                              col(ChangeRecord.id).desc())
            if before:
                anchor = s.exec(select(ChangeRecord.created_at, ChangeRecord.seq, ChangeRecord.id)
                                .where(ChangeRecord.id == before)).first()
                if anchor is None:
                    raise NotFoundError(f"no change {before}", hint="page on from a change id `history` listed")
                q = q.where(tuple_(col(ChangeRecord.created_at), col(ChangeRecord.seq), col(ChangeRecord.id))
                            < tuple_(*anchor))
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

    def head(self) -> dict[str, Any]:
        """The current head as an anchor: ``seq``, ``hash``, ``at`` (the entry's time), scheme and key id."""
        with self.store.session() as s:
            head = s.exec(select(LedgerHead).where(LedgerHead.id == 1)).one()
            last = s.get(LedgerEntry, head.seq) if head.seq else None
            first_keyed, scheme, key_id = _parse_scheme(s.get(LedgerHead, SCHEME_ROW))
        return {"format": ANCHOR_FORMAT, "seq": head.seq, "hash": head.hash,
                "at": _norm(last.at) if last is not None else None, "exported_at": _norm(utcnow()),
                "scheme": scheme if first_keyed is not None else LEGACY_SCHEME, "key_id": key_id}

    def verify(self, anchor: dict[str, Any] | None = None) -> VerifyReport:
        """Recompute the chain and compare every change row with its newest entry.

        With ``anchor`` (from :meth:`head` / :func:`read_anchor`), also check the chain still
        holds the anchored entry with the anchored hash.

        Raises:
            ConfigError: the ledger is keyed but no ledger key is configured (or it is unreadable).
        """
        report = VerifyReport()
        latest: dict[str, LedgerEntry] = {}
        hashes: dict[int, str] = {}
        with self.store.session() as s:
            head = s.exec(select(LedgerHead).where(LedgerHead.id == 1)).first()
            keyed_from, scheme, key_id = _parse_scheme(s.get(LedgerHead, SCHEME_ROW))
            key = None
            if keyed_from is not None:
                key = self.key(create=False)
                if key is None:
                    raise ConfigError(f"the ledger is keyed (key id {key_id}) but no ledger key is configured, so it "
                                      "can't be verified", hint=_KEY_HINT, details={"variable": "SOPHIA_LEDGER_KEY"})
                report.key_id, report.keyed_from = key_id, keyed_from
                if scheme != SCHEME or key_id != key.key_id:
                    report.problems.append(f"the ledger head says it is keyed with {scheme} key id {key_id}, but the "
                                           f"configured ledger key has key id {key.key_id}: wrong key, or the head "
                                           "was edited")
                    return report
            prev_hash, expected_seq = "", 1
            for entry in s.exec(select(LedgerEntry).order_by(col(LedgerEntry.seq))):
                report.entries += 1
                if entry.seq != expected_seq:
                    report.problems.append(f"ledger entries {expected_seq}..{entry.seq - 1} are missing")
                if entry.prev_hash != prev_hash:
                    report.problems.append(f"ledger entry {entry.seq} does not follow the previous entry")
                keyed = keyed_from is not None and entry.seq >= keyed_from
                if entry_hash(entry.prev_hash, entry.seq, entry.body, key if keyed else None) != entry.hash:
                    report.problems.append(f"ledger entry {entry.seq} ({entry.change_id}) was edited")
                if entry.body.get("id") != entry.change_id:
                    report.problems.append(f"ledger entry {entry.seq} names another change than it holds")
                latest[entry.change_id] = entry
                hashes[entry.seq] = entry.hash
                prev_hash, expected_seq = entry.hash, entry.seq + 1
            if head is None or head.seq != expected_seq - 1 or head.hash != prev_hash:
                report.problems.append("the ledger head does not match the last entry (entries removed at the end?)")
            report.head = {"seq": head.seq if head else 0, "hash": head.hash if head else ""}
            for change in s.exec(select(ChangeRecord)):
                report.changes += 1
                entry = latest.pop(change.id, None)
                if entry is None:
                    report.problems.append(f"change {change.id} has no ledger entry")
                elif snapshot(change) != entry.body or change.hash != entry.hash:
                    report.problems.append(f"change {change.id} differs from its ledger entry {entry.seq} (edited)")
            for change_id, entry in latest.items():
                report.problems.append(f"change {change_id} was deleted (last ledger entry {entry.seq})")
        last_seq = expected_seq - 1
        unkeyed = min(last_seq, (keyed_from - 1) if keyed_from is not None else last_seq)
        if unkeyed > 0:
            report.scheme = "mixed" if keyed_from is not None else LEGACY_SCHEME
            report.warnings.append(
                f"ledger entries 1..{unkeyed} predate the ledger key (plain sha256): an edit shows, but anyone who can "
                "write the database could rewrite and re-chain them; keep an anchor (`sophia-iac ledger export-head`)"
                + ("" if keyed_from is not None else "; the next entry is keyed"))
        if anchor is not None:
            report.anchor = anchor
            self._check_anchor(report, anchor, hashes, last_seq, key)
        return report

    @staticmethod
    def _check_anchor(report: VerifyReport, anchor: dict[str, Any], hashes: dict[int, str], last_seq: int,
                      key: LedgerKey | None) -> None:
        seq, digest = int(anchor["seq"]), str(anchor["hash"])
        when = f"anchored {anchor.get('exported_at') or anchor.get('at') or ''}".strip()
        if anchor.get("key_id") and key is not None and anchor["key_id"] != key.key_id:
            report.problems.append(f"the anchor ({when}) was taken under key id {anchor['key_id']}, the ledger now "
                                   f"uses key id {key.key_id}: it was re-keyed or rewritten")
        if seq == 0:
            return
        if last_seq < seq:
            report.problems.append(f"the ledger ends at entry {last_seq}, but the anchor ({when}) holds entry {seq}: "
                                   "entries were removed")
        elif seq not in hashes:
            report.problems.append(f"ledger entry {seq}, held by the anchor ({when}), is missing")
        elif hashes[seq] != digest:
            report.problems.append(f"ledger entry {seq} is not the one in the anchor ({when}): its hash is "
                                   f"{hashes[seq][:16]}…, the anchor says {digest[:16]}…; history up to the anchor "
                                   "was rewritten")


def write_anchor(anchor: dict[str, Any], path: str | Path) -> None:
    """Write an anchor as JSON, atomically (``-`` is not handled here: the CLI prints instead)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(anchor, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, target)


def read_anchor(path: str | Path) -> dict[str, Any]:
    """Read and check an anchor file.

    Raises:
        ValidationFailedError: it can't be read, or isn't an anchor.
    """
    hint = "give a file written by `sophia-iac ledger export-head`"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationFailedError(f"can't read the anchor {path}: {exc.strerror or exc}", hint=hint) from None
    except ValueError as exc:
        raise ValidationFailedError(f"the anchor {path} is not JSON: {exc}", hint=hint) from None
    ok = (isinstance(data, dict) and isinstance(data.get("seq"), int) and not isinstance(data["seq"], bool)
          and data["seq"] >= 0 and isinstance(data.get("hash"), str) and (data["seq"] == 0 or data["hash"]))
    if not ok:
        raise ValidationFailedError(f"the anchor {path} is not a ledger anchor (needs an integer seq and a hash)",
                                    hint=hint)
    return data
