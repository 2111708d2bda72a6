"""The keyed hash chain and anchors: a rewrite without the key, or before an anchor, shows."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from orchestrator.errors import ConfigError
from orchestrator.state import canonical_json
from state.models import ChangeRecord, LedgerEntry, LedgerHead
from state.store import Store, new_id

Mac = Callable[[str, int, dict[str, Any]], str]


def _change(target: str = "idx") -> ChangeRecord:
    return ChangeRecord(id=new_id("chg"), run_id="run_x", platform="pgvector", action="pgvector.index.create",
                        target=target, actor="cli:alice", params={"dimension": 3}, expected={"name": target})


def _history(store: Store, n: int = 2) -> list[str]:
    ids = []
    for i in range(n):
        change = store.ledger.open(_change(f"idx{i}"))
        store.ledger.transition(change.id, "applied", after={"name": f"idx{i}"})
        ids.append(change.id)
    return ids


def _sha256(prev: str, seq: int, body: dict[str, Any]) -> str:
    """The old, unkeyed scheme: what anyone who can write the database can compute."""
    return hashlib.sha256(f"{prev}|{seq}|{canonical_json(body)}".encode()).hexdigest()


def _rewrite(store: Store, mac: Mac, edit_seq: int, **edits: Any) -> None:
    """An attacker's rewrite: edit one entry's body, then re-chain every entry, change row and the head."""
    with store.session() as s:
        prev, latest = "", {}
        for entry in s.exec(select(LedgerEntry).order_by(col(LedgerEntry.seq))).all():
            if entry.seq == edit_seq:
                entry.body = {**entry.body, **edits}
            entry.prev_hash, entry.hash = prev, mac(prev, entry.seq, entry.body)
            s.add(entry)
            latest[entry.change_id] = entry
            prev = entry.hash
        for change in s.exec(select(ChangeRecord)).all():
            entry = latest[change.id]
            for k, v in entry.body.items():
                if k in ("created_at", "updated_at"):
                    continue
                setattr(change, k, v)
            change.prev_hash, change.hash = entry.prev_hash, entry.hash
            s.add(change)
        head = s.get(LedgerHead, 1)
        assert head is not None
        head.seq, head.hash = max(e.seq for e in latest.values()), prev
        s.add(head)


def test_the_key_is_generated_once_0600_and_never_stored(store: Store, isolated_env: Path) -> None:
    """Zero configuration: the first append writes $SOPHIA_HOME/ledger.key (0600); the database never holds it."""
    _history(store, 1)
    key_path = isolated_env / "ledger.key"
    assert key_path.exists() and stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = key_path.read_text().strip()
    assert len(key) >= 32
    with store.session() as s:
        dumped = json.dumps([r.model_dump(mode="json") for r in s.exec(select(LedgerEntry)).all()] +
                            [r.model_dump(mode="json") for r in s.exec(select(LedgerHead)).all()] +
                            [r.model_dump(mode="json") for r in s.exec(select(ChangeRecord)).all()])
    assert key not in dumped
    report = store.ledger.verify()
    assert report.ok and report.scheme == "hmac-sha256" and not report.warnings


def test_a_rewrite_rechained_with_plain_sha256_is_detected(store: Store) -> None:
    """Someone without the key rewrites a row and re-chains it the old way: verify says edited."""
    _history(store)
    _rewrite(store, _sha256, edit_seq=1, actor="cli:mallory")
    report = store.ledger.verify()
    assert not report.ok
    assert any("ledger entry 1" in p and "edited" in p for p in report.problems), report.problems


def test_a_configured_key_is_used_and_a_wrong_key_refused(store: Store, monkeypatch: pytest.MonkeyPatch,
                                                          isolated_env: Path, tmp_path: Path) -> None:
    """SOPHIA_LEDGER_KEY_FILE is used as is (nothing generated); another key can't append, and verify names it."""
    from state.ledger import Ledger

    keyfile = tmp_path / "k"
    keyfile.write_text("a" * 40 + "\n")
    monkeypatch.setenv("SOPHIA_LEDGER_KEY_FILE", str(keyfile))
    _history(store, 1)
    assert not (isolated_env / "ledger.key").exists()
    assert store.ledger.verify().ok
    monkeypatch.delenv("SOPHIA_LEDGER_KEY_FILE")
    monkeypatch.setenv("SOPHIA_LEDGER_KEY", "b" * 40)
    other = Ledger(store)
    with pytest.raises(ConfigError, match="key id"):
        other.open(_change("more"))
    report = other.verify()
    assert not report.ok and any("key id" in p for p in report.problems), report.problems
    monkeypatch.setenv("SOPHIA_LEDGER_KEY", "short")
    with pytest.raises(ConfigError, match="too short"):
        Ledger(store).verify()


def test_verify_without_the_key_says_which_setting(store: Store, isolated_env: Path) -> None:
    """A keyed ledger can't be checked without its key: a config error, not a false 'ok'."""
    from state.ledger import Ledger

    _history(store, 1)
    (isolated_env / "ledger.key").unlink()
    with pytest.raises(ConfigError, match="SOPHIA_LEDGER_KEY"):
        Ledger(store).verify()


def test_a_rewrite_with_the_key_before_an_anchor_is_detected(store: Store) -> None:
    """Whoever holds the key can re-chain; an exported anchor still shows history before it changed."""
    from state.ledger import Ledger, entry_hash
    from state.ledger_key import resolve_ledger_key

    _history(store)
    anchor = store.ledger.head()
    assert anchor["seq"] == 4 and anchor["hash"] and anchor["at"] and anchor["key_id"]
    assert store.ledger.verify(anchor=anchor).ok
    _history(store, 1)
    assert store.ledger.verify(anchor=anchor).ok  # appending after the anchor is fine
    key = resolve_ledger_key(create=False)
    assert key is not None
    _rewrite(store, lambda p, s, b: entry_hash(p, s, b, key), edit_seq=1, actor="cli:mallory")
    assert Ledger(store).verify().ok  # the chain alone can't tell: the rewriter had the key
    report = Ledger(store).verify(anchor=anchor)
    assert not report.ok
    assert any("entry 4" in p and "anchor" in p for p in report.problems), report.problems


def test_truncation_before_an_anchor_is_detected(store: Store) -> None:
    """Removing entries up to before the anchor (and fixing the head) is caught by the anchor."""
    _history(store, 2)
    anchor = store.ledger.head()
    with store.session() as s:
        for entry in s.exec(select(LedgerEntry).where(col(LedgerEntry.seq) > 2)).all():
            s.delete(entry)
        for change in s.exec(select(ChangeRecord)).all():
            if change.target == "idx1":
                s.delete(change)
        head = s.get(LedgerHead, 1)
        assert head is not None
        last = s.get(LedgerEntry, 2)
        assert last is not None
        head.seq, head.hash = 2, last.hash
        s.add(head)
    report = store.ledger.verify(anchor=anchor)
    assert any("anchor" in p and "removed" in p for p in report.problems), report.problems


def test_an_unkeyed_ledger_still_verifies_and_is_keyed_from_the_next_entry(store: Store) -> None:
    """A database written before keying: its sha256 entries verify (with a warning), new ones are keyed."""
    from state.ledger import snapshot

    change = _change()
    with store.session() as s:
        head = s.get(LedgerHead, 1)
        assert head is not None
        body = snapshot(change)
        digest = _sha256("", 1, body)
        s.add(LedgerEntry(seq=1, change_id=change.id, kind="open", body=body, prev_hash="", hash=digest))
        change.prev_hash, change.hash = "", digest
        s.add(change)
        head.seq, head.hash = 1, digest
        s.add(head)
    legacy = store.ledger.verify()
    assert legacy.ok, legacy.problems
    assert legacy.scheme == "sha256" and legacy.warnings
    store.ledger.transition(change.id, "applied", after={"name": "idx"})
    mixed = store.ledger.verify()
    assert mixed.ok, mixed.problems
    assert mixed.keyed_from == 2 and any("1..1" in w for w in mixed.warnings), mixed.warnings
    _rewrite(store, _sha256, edit_seq=1, actor="cli:mallory")
    assert not store.ledger.verify().ok  # the keyed entry 2 covers entry 1's hash


def test_anchor_files_round_trip_and_bad_ones_are_refused(store: Store, tmp_path: Path) -> None:
    from orchestrator.errors import ValidationFailedError
    from state.ledger import read_anchor, write_anchor

    _history(store, 1)
    path = tmp_path / "anchor.json"
    write_anchor(store.ledger.head(), path)
    anchor = read_anchor(path)
    assert anchor["seq"] == 2 and store.ledger.verify(anchor=anchor).ok
    path.write_text('{"seq": "x"}')
    with pytest.raises(ValidationFailedError, match="anchor"):
        read_anchor(path)
