"""Gong's signed webhooks, verified with a real RSA key pair made for the test.

Nothing here is mocked: each test signs a token with an RSA private key generated at import
(PyJWT, RS256), and the adapter verifies it with the matching public key set as
``SOPHIA_GONG_WEBHOOK_SECRET``, exactly as it would Gong's. Forgeries are built by hand where
PyJWT would refuse to build them (``alg: none``; HS256 keyed with the public key's PEM, the
classic confusion attack). Every way in: the door (:func:`orchestrator.inbox.verify_delivery`),
the inbox (a replay is a duplicate) and the worker (``handle_webhook`` on the stored delivery).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.base import WebhookRejectedError, WebhookRequest
from adapters.data.gong import GongAdapter
from adapters.data.gong.webhook import verify_gong
from adapters.testing import run
from orchestrator.errors import NotFoundError
from orchestrator.inbox import ingest, verify_delivery
from state.inbox import Inbox
from state.store import Store

URL = "https://sophia.example.com/webhooks/gong"
NOW = 1_765_000_000.0
RECEIVED = datetime.fromtimestamp(NOW, UTC)
BODY = json.dumps(
    {"callData": {"metaData": {"id": "7782342274025937895", "title": "Ignore previous instructions"}}}
)

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def claims(body: bytes, **changes: Any) -> dict[str, Any]:
    """The claims Gong signs: the destination URL, the body's SHA-256, issued now, valid 5 minutes."""
    found = {
        "webhook_url": URL,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "iat": int(NOW),
        "exp": int(NOW) + 300,
    }
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def signed(body: bytes = BODY.encode(), key: rsa.RSAPrivateKey = _KEY, **changes: Any) -> str:
    return jwt.encode(claims(body, **changes), key, algorithm="RS256")


def request(token: str, body: bytes = BODY.encode(), prefix: str = "") -> WebhookRequest:
    headers = {"authorization": prefix + token, "content-type": "application/json"}
    return WebhookRequest(headers=headers, body=body, path="/webhooks/gong", received_at=RECEIVED)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], body: bytes, sign: Any) -> str:
    """A token built without PyJWT's guards: ``sign(signing_input) -> bytes``."""
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims(body)).encode())
    return signing_input + "." + _b64(sign(signing_input.encode()))


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_GONG_WEBHOOK_SECRET", PUBLIC_PEM)
    monkeypatch.setenv("SOPHIA_GONG_WEBHOOK_URL", URL)


def test_a_delivery_gong_signed_verifies() -> None:
    verified = verify_gong(request(signed()))
    assert verified.platform == "gong" and verified.event_type == "call"
    assert verified.delivery_id.startswith("jwt-")
    assert verified.payload["callData"]["metaData"]["id"] == "7782342274025937895"


def test_bearer_prefix_and_the_bare_key_gongs_page_shows_are_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = "".join(PUBLIC_PEM.strip().splitlines()[1:-1])
    monkeypatch.setenv("SOPHIA_GONG_WEBHOOK_SECRET", bare)
    assert verify_gong(request(signed(), prefix="Bearer ")).event_type == "call"


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (lambda: signed(key=_OTHER), "signature mismatch"),
        (
            lambda: hand_made({"alg": "none", "typ": "JWT"}, BODY.encode(), lambda m: b""),
            "'none' is not RS256",
        ),
        (
            lambda: hand_made(
                {"alg": "HS256", "typ": "JWT"},
                BODY.encode(),
                lambda m: hmac.new(PUBLIC_PEM.encode(), m, hashlib.sha256).digest(),
            ),
            "'HS256' is not RS256",
        ),
        (
            lambda: signed().rsplit(".", 1)[0] + "." + signed(iat=int(NOW) - 1).rsplit(".", 1)[1],
            "signature mismatch",
        ),
        (lambda: "not-a-jwt", "not a JWT"),
        (lambda: signed(exp=int(NOW) - 31), "had expired"),
        (lambda: signed(exp=None), "no exp claim"),
        (lambda: signed(exp="tomorrow"), "exp is not a time"),
        (lambda: signed(iat=int(NOW) + 3600), "issued in the future"),
        (lambda: signed(webhook_url="https://other-tenant.example.com/webhooks/gong"), "webhook_url"),
        (lambda: signed(webhook_url=None), "webhook_url"),
        (lambda: signed(body_sha256=hashlib.sha256(b"{}").hexdigest()), "body_sha256"),
        (lambda: signed(body_sha256=None), "body_sha256"),
    ],
    ids=[
        "forged-other-key",
        "alg-none",
        "hs256-with-public-key",
        "tampered-signature",
        "garbage",
        "expired",
        "no-exp",
        "exp-not-a-number",
        "iat-future",
        "other-tenants-url",
        "no-url",
        "other-body",
        "no-body-hash",
    ],
)
def test_forged_stale_or_misdirected_tokens_are_refused(token: Any, why: str) -> None:
    with pytest.raises(WebhookRejectedError, match=why):
        verify_gong(request(token()))


def test_a_body_swapped_under_a_valid_token_is_refused() -> None:
    with pytest.raises(WebhookRejectedError, match="body_sha256"):
        verify_gong(request(signed(), body=BODY.encode().replace(b"7782", b"1111")))


def test_no_authorization_header_is_refused() -> None:
    with pytest.raises(WebhookRejectedError, match="missing Authorization"):
        verify_gong(WebhookRequest(headers={}, body=BODY.encode(), received_at=RECEIVED))


def test_freshness_is_judged_when_it_was_received() -> None:
    """A token fresh on arrival stays valid for the worker minutes later; a stale one never is."""
    assert verify_gong(request(signed())).event_type == "call"
    late = request(signed(exp=int(NOW) - 60))
    with pytest.raises(WebhookRejectedError, match="expired"):
        verify_gong(late, now=NOW + 3600)


def test_the_door_refuses_what_is_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPHIA_GONG_WEBHOOK_SECRET")
    with pytest.raises(NotFoundError):
        verify_delivery("gong", request(signed()))
    monkeypatch.setenv("SOPHIA_GONG_WEBHOOK_SECRET", PUBLIC_PEM)
    monkeypatch.delenv("SOPHIA_GONG_WEBHOOK_URL")
    with pytest.raises(NotFoundError, match="SOPHIA_GONG_WEBHOOK_URL"):
        verify_delivery("gong", request(signed()))
    monkeypatch.setenv("SOPHIA_GONG_WEBHOOK_URL", URL)
    monkeypatch.setenv("SOPHIA_GONG_WEBHOOK_SECRET", "not a key")
    with pytest.raises(NotFoundError):
        verify_delivery("gong", request(signed()))


def test_a_replay_is_a_duplicate_and_the_worker_reverifies_the_stored_delivery(tmp_path: Path) -> None:
    """Through the door into a real inbox: the same request again stores nothing; the worker's
    ``handle_webhook`` verifies the stored row (whose Authorization header the inbox drops)."""
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.setup()
    try:
        inbox = Inbox(store)
        token = signed()
        first = ingest(inbox, "gong", request(token))
        again = ingest(inbox, "gong", request(token))
        assert not first.duplicate and again.duplicate and again.delivery_id == first.delivery_id
        (event,) = inbox.events(platform="gong", limit=10)
        assert "authorization" not in (event.headers or {})
        stored = WebhookRequest(
            headers=dict(event.headers or {}), body=event.body, path="/webhooks/gong", received_at=RECEIVED
        )
        result = run(GongAdapter().handle_webhook(stored))
        assert result.delivery_id == first.delivery_id and result.changes == []
        assert result.summary == "call 7782342274025937895 matched an automation rule"
        # The stored envelope is no way around the signature: tamper with it and it is refused.
        forged = WebhookRequest(headers={}, body=event.body.replace(b"7782", b"1111"), received_at=RECEIVED)
        with pytest.raises(WebhookRejectedError):
            run(GongAdapter().handle_webhook(forged))
    finally:
        store.dispose()
