"""The surfaces' tables on SQLite and PostgreSQL: keys, Slack users, idempotency keys, the inbox."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update

from orchestrator.errors import ApprovalError, NotFoundError, ValidationFailedError
from state.idempotency import IdempotencyStore
from state.identities import ANY_TEAM, ApiKeys, SlackUsers, hash_key, registered, role_allows
from state.inbox import Inbox
from state.models import IdempotencyRecord, InboxEvent, utcnow
from state.store import Store


def test_api_keys_authenticate_by_hash_until_revoked(store: Store) -> None:
    keys = ApiKeys(store)
    row, key = keys.create(name="ci-bot", role="operator", created_by="cli:admin")
    assert row.key_hash == hash_key(key) and key not in row.key_hash and row.prefix == key[:12]
    who = keys.authenticate(key)
    assert who is not None and (who.name, who.role, who.actor) == ("ci-bot", "operator", "api:ci-bot")
    assert keys.authenticate(key + "x") is None and keys.authenticate("not-a-key") is None
    keys.revoke(row.id)
    assert keys.authenticate(key) is None and registered(store, "api:ci-bot") is None
    with pytest.raises(NotFoundError):
        keys.revoke("key_missing")
    with pytest.raises(ValidationFailedError):
        keys.create(name="x", role="superuser")
    with pytest.raises(ValidationFailedError):
        keys.create(name="has space", role="viewer")
    assert role_allows("admin", "approver") and not role_allows("operator", "approver")


def test_slack_users_map_per_workspace_or_any(store: Store) -> None:
    users = SlackUsers(store)
    users.link(team_id="T1", user_id="U1", identity="alice", role="approver")
    users.link(team_id=ANY_TEAM, user_id="U2", identity="bob", role="viewer")
    assert users.lookup("T1", "U1").name == "alice"  # type: ignore[union-attr]
    assert users.lookup("T2", "U1") is None
    assert users.lookup("T9", "U2").actor == "slack:U2"  # type: ignore[union-attr]
    assert registered(store, "slack:U1").name == "alice"  # type: ignore[union-attr]
    users.link(team_id="T1", user_id="U1", identity="alice", role="viewer")  # replaces
    assert users.lookup("T1", "U1").role == "viewer"  # type: ignore[union-attr]
    assert users.unlink(team_id="T1", user_id="U1") and not users.unlink(team_id="T1", user_id="U1")


def test_idempotency_keys_replay_conflict_and_expire(store: Store) -> None:
    idem = IdempotencyStore(store)
    assert idem.begin("k1", "api:a", "h1").outcome == "new"
    assert idem.begin("k1", "api:a", "h1").outcome == "in_flight"
    assert idem.begin("k1", "api:a", "h2").outcome == "mismatch"
    assert idem.begin("k1", "api:b", "h2").outcome == "new"  # keys are per caller
    idem.finish("k1", "api:a", 202, '{"ok": 1}')
    replay = idem.begin("k1", "api:a", "h1")
    assert (replay.outcome, replay.status, replay.body) == ("replay", 202, '{"ok": 1}')
    idem.abandon("k1", "api:b")
    assert idem.begin("k1", "api:b", "h3").outcome == "new"

    def age(key: str, hours: float) -> None:
        with store.session() as s:
            s.exec(update(IdempotencyRecord).where(IdempotencyRecord.key == key)  # type: ignore[call-overload,arg-type]
                   .values(created_at=utcnow() - timedelta(hours=hours)))

    age("k1", 25)  # kept at least 24 h: still replayed
    assert idem.begin("k1", "api:a", "h1").outcome == "replay"
    age("k1", 73)  # past the retention: a new request
    assert idem.begin("k1", "api:a", "h9").outcome == "new"
    assert idem.prune() >= 1


def test_an_abandoned_in_flight_key_is_taken_over_after_its_lease(store: Store) -> None:
    crashed, alive = IdempotencyStore(store, lease=0), IdempotencyStore(store, lease=600)
    assert crashed.begin("k", "p", "h").outcome == "new"  # … and its process died: the lease runs out
    assert alive.begin("k", "p", "h").outcome == "new"  # a retry takes the key over
    assert alive.begin("k", "p", "h").outcome == "in_flight"  # and holds it for its own lease


def test_concurrent_requests_with_one_key_run_once(store: Store) -> None:
    idem = IdempotencyStore(store)
    barrier = threading.Barrier(8)

    def one(_: int) -> str:
        barrier.wait()
        return idem.begin("same", "api:x", "h").outcome

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(one, range(8)))
    assert sorted(outcomes) == ["in_flight"] * 7 + ["new"]


def test_inbox_dedupes_claims_retries_and_dead_letters(store: Store) -> None:
    inbox = Inbox(store)
    first, new = inbox.add("github", "d1", "push", {"Authorization": "Bearer x", "X-GitHub-Event": "push"}, b"{}")
    assert new and first is not None
    assert inbox.add("github", "d1", "push", {}, b"{}") == (None, False)
    assert inbox.get(first).headers == {"x-github-event": "push"}  # credentials a proxy added are not kept
    inbox.add("github", "d2", "push", {}, b"{}")
    a = inbox.claim("worker-a", limit=1)
    b = inbox.claim("worker-b", limit=5)
    assert [e.delivery_id for e in a] == ["d1"] and [e.delivery_id for e in b] == ["d2"]
    assert inbox.claim("worker-c") == []
    assert not inbox.complete(first, "worker-b", "not mine")  # fencing: only the claimant settles it
    assert inbox.complete(first, "worker-a", "ok")
    assert inbox.fail(b[0].id or 0, "worker-b", "boom", max_attempts=2, backoff=0) == "retry"
    (again,) = inbox.claim("worker-c")
    assert again.attempts == 2
    assert inbox.fail(again.id or 0, "worker-c", "boom again", max_attempts=2, backoff=0) == "dead"
    (dead,) = inbox.dead_letters()
    assert (dead.delivery_id, dead.attempts, dead.last_error) == ("d2", 2, "boom again")
    assert inbox.claim_replay(dead.id or 0, "cli:ops").delivery_id == "d2"
    with pytest.raises(ApprovalError, match="already replayed"):
        inbox.claim_replay(dead.id or 0, "cli:ops")
    assert inbox.depth() == {"done": 1, "dead": 1}


def test_an_expired_claim_is_taken_over_and_the_old_claimant_is_fenced_off(store: Store) -> None:
    inbox = Inbox(store)
    event_id, _ = inbox.add("github", "slow", "push", {}, b"{}")
    assert inbox.claim("stuck", lease_seconds=0)
    (retaken,) = inbox.claim("fresh", lease_seconds=300)
    assert retaken.id == event_id and retaken.attempts == 2
    assert not inbox.complete(event_id or 0, "stuck", "late") and inbox.complete(event_id or 0, "fresh", "ok")


def test_processed_rows_are_pruned_after_the_retention(store: Store) -> None:
    inbox = Inbox(store)
    old, _ = inbox.add("github", "old", "push", {}, b"{}")
    inbox.add("github", "new", "push", {}, b"{}")
    (claimed, _) = inbox.claim("w", limit=2)
    inbox.complete(claimed.id or 0, "w", "ok")
    with store.session() as s:
        s.exec(update(InboxEvent).where(InboxEvent.id == old)  # type: ignore[call-overload,arg-type]
               .values(received_at=utcnow() - timedelta(days=8)))
    assert inbox.prune() == 1
    assert [e.delivery_id for e in inbox.events()] == ["new"]


def test_an_inbox_insert_survives_a_connection_the_server_closed(store: Store) -> None:
    """The insert's pooled connection has no ping before use: a dead one is replaced and retried once."""
    inbox = Inbox(store)
    assert inbox.add("github", "before", "push", {}, b"{}")[1]
    if store.dialect != "postgresql":
        return  # SQLite has no server to close the connection
    from sqlalchemy import text

    with store.engine.connect() as admin:  # another pool: close every other backend on this database
        closed = admin.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    assert closed and closed >= 1
    assert inbox.add("github", "after", "push", {}, b"{}")[1]  # new, stored, no error
    assert inbox.add("github", "after", "push", {}, b"{}") == (None, False)
    assert {e.delivery_id for e in inbox.events()} == {"before", "after"}
