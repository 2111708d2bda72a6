"""Webhook hook secrets (Asana's X-Hook-Secret): gated by our own expectation, encrypted at rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from state.hook_secrets import TOKEN_PARAM, HookSecrets, with_token
from state.models import utcnow
from state.store import Store

SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"


def test_a_handshake_is_accepted_only_for_a_pending_expectation_and_only_once(store: Store) -> None:
    hooks = HookSecrets(store)
    assert hooks.confirm("asana", "no-such-token", SECRET) is False  # nobody asked for it
    expected = hooks.expect("asana", target="https://sophia.example.com/webhooks/asana", resource="111")
    assert f"{TOKEN_PARAM}={expected.token}" in expected.target
    assert hooks.confirm("asana", "not-" + expected.token, SECRET) is False
    assert hooks.confirm("github", expected.token, SECRET) is False  # another platform's door
    assert hooks.confirm("asana", expected.token, SECRET) is True
    assert hooks.confirm("asana", expected.token, "attacker-" + SECRET) is False  # consumed
    assert [s for _, s in hooks.secrets("asana")] == [SECRET]


def test_an_expired_expectation_accepts_no_handshake(store: Store) -> None:
    hooks = HookSecrets(store)
    expected = hooks.expect("asana", target="https://sophia.example.com/webhooks/asana", ttl=60)
    assert hooks.confirm("asana", expected.token, SECRET, now=utcnow() + timedelta(seconds=61)) is False
    assert hooks.secrets("asana") == []


def test_the_secret_is_encrypted_at_rest_and_bound_to_its_row(store: Store) -> None:
    hooks = HookSecrets(store)
    expected = hooks.expect("asana", target="https://sophia.example.com/webhooks/asana", resource="111")
    assert hooks.confirm("asana", expected.token, SECRET)
    hooks.bind("asana", expected.token, "43214")
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM webhook_secrets"))]
    assert rows and SECRET not in repr(rows) and SECRET.encode() not in b"".join(
        v for r in rows for v in r if isinstance(v, bytes | memoryview))
    # A ciphertext moved to another row does not decrypt there (the row is authenticated data).
    other = hooks.expect("asana", target="https://sophia.example.com/webhooks/asana", resource="222")
    assert hooks.confirm("asana", other.token, "x" * 64)
    with store.engine.begin() as conn:
        blob = conn.execute(text("SELECT secret FROM webhook_secrets WHERE hook_id = '43214'")).scalar()
        conn.execute(text("UPDATE webhook_secrets SET secret = :s WHERE token = :t"), {"s": blob, "t": other.token})
    assert [s for _, s in hooks.secrets("asana")] == [SECRET]
    assert hooks.delete("asana", "43214") is True
    assert hooks.secrets("asana") == []


def test_another_key_cannot_read_the_secrets(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = HookSecrets(store)
    expected = hooks.expect("asana", target="https://sophia.example.com/webhooks/asana")
    assert hooks.confirm("asana", expected.token, SECRET)
    monkeypatch.setenv("SOPHIA_ASANA_WEBHOOK_KEY", "another-key-entirely-0123456789")
    assert hooks.secrets("asana") == []  # written under the ledger-derived key, unreadable under this one


def test_with_token_keeps_the_targets_own_query() -> None:
    assert with_token("https://h.example/webhooks/asana?a=1", "t0k") == \
        f"https://h.example/webhooks/asana?a=1&{TOKEN_PARAM}=t0k"
