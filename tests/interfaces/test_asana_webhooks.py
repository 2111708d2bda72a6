"""Asana's webhooks at the door: the X-Hook-Secret handshake (only when we asked for one), then
``X-Hook-Signature`` = hex HMAC-SHA256(secret, raw body), checked at the door and in the worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from sqlalchemy import text

from tests.interfaces.conftest import Api
from tests.interfaces.test_webhooks import inbox_rows

SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
TARGET = "https://sophia.example.com/webhooks/asana"


def _hook_rows(api: Api) -> list[Any]:
    with api.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM webhook_secrets"))]


def _path(target: str) -> str:
    return target.split("sophia.example.com", 1)[1]


def _handshake(api: Api, path: str, secret: str = SECRET) -> Any:
    return api.client.post(path, content=b"", headers={"X-Hook-Secret": secret})


def _events(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def _sign(secret: str, body: bytes) -> dict[str, str]:
    return {"X-Hook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


STORY = {"action": "added", "resource": {"gid": "9001", "resource_type": "story"},
         "parent": {"gid": "42", "resource_type": "task"}, "created_at": "2026-12-07T10:00:00.000Z",
         "user": {"gid": "7", "resource_type": "user"}}


def _establish(api: Api, secret: str = SECRET) -> None:
    from state.hook_secrets import HookSecrets

    expected = HookSecrets(api.store).expect("asana", target=TARGET, resource="111")
    answer = _handshake(api, _path(expected.target), secret)
    assert answer.status_code == 200 and answer.headers["X-Hook-Secret"] == secret, answer.text


def test_an_unexpected_handshake_is_refused_and_nothing_is_stored(api: Api) -> None:
    for path in ("/webhooks/asana", "/webhooks/asana?sophia_hook=guessed-token"):
        answer = _handshake(api, path)
        assert answer.status_code == 401, answer.text
        assert "X-Hook-Secret" not in answer.headers and SECRET not in answer.text
    assert _hook_rows(api) == [] and inbox_rows(api) == []


def test_an_expected_handshake_is_echoed_fast_stored_encrypted_and_consumed(api: Api) -> None:
    from state.hook_secrets import HookSecrets

    expected = HookSecrets(api.store).expect("asana", target=TARGET, resource="111")
    started = time.monotonic()
    answer = _handshake(api, _path(expected.target))
    assert time.monotonic() - started < 1.0
    assert answer.status_code == 200 and answer.headers["X-Hook-Secret"] == SECRET
    assert SECRET not in repr(_hook_rows(api))
    again = _handshake(api, _path(expected.target), "attacker-secret")
    assert again.status_code == 401 and "X-Hook-Secret" not in again.headers
    assert inbox_rows(api) == []


def test_a_signed_event_is_accepted_and_processed_and_a_bad_one_refused(api: Api) -> None:
    _establish(api)
    body = _events(STORY)
    for headers in ({"X-Hook-Signature": "0" * 64}, {}, _sign("not-" + SECRET, body)):
        refused = api.client.post("/webhooks/asana", content=body, headers=headers)
        assert refused.status_code == 401 and refused.json()["code"] == "webhook_rejected", refused.text
    assert inbox_rows(api) == []
    accepted = api.client.post("/webhooks/asana", content=body, headers=_sign(SECRET, body))
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text
    again = api.client.post("/webhooks/asana", content=body, headers=_sign(SECRET, body))
    assert again.json()["status"] == "duplicate"  # the dedup key is a digest of the events
    worker = api.work()
    assert (worker.processed, worker.failed) == (1, 0), [r.last_error for r in inbox_rows(api)]


def test_an_event_signed_with_a_deleted_hooks_secret_is_refused_by_the_worker(api: Api) -> None:
    from state.hook_secrets import HookSecrets

    _establish(api)
    body = _events(STORY)
    assert api.client.post("/webhooks/asana", content=body, headers=_sign(SECRET, body)).status_code == 200
    with api.store.engine.begin() as conn:
        conn.execute(text("UPDATE webhook_secrets SET status = 'deleted'"))
    assert HookSecrets(api.store).secrets("asana") == []
    worker = api.work()
    assert (worker.processed, worker.failed) == (0, 1)
    assert [r.status for r in inbox_rows(api, "asana")] == ["dead"]
