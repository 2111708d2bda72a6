"""Every adapter that accepts webhooks is verified at the inbox door with its vendor's scheme.

The table below has one row per platform whose real adapter declares ``supports_webhooks``
(a test fails if an adapter turns webhooks on without a row). Each row signs a delivery the
way the vendor documents it (RELIABILITY.md §1), with the one setting that holds that
platform's webhook secret, and nothing else configured:

* a correctly signed delivery is accepted at ``POST /webhooks/{platform}`` and processed by
  the worker (the adapter's ``handle_webhook`` re-verifies it with the same setting);
* a wrongly signed, an unsigned, and (where the vendor signs a time) a stale delivery is
  refused at the door — 401, or Figma's documented 400 — and never reaches the inbox or the
  worker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters import registry
from tests.interfaces.conftest import Api
from tests.interfaces.test_webhooks import inbox_rows, post

ROOT = Path(__file__).resolve().parents[2]

#: The real adapters, captured before any fixture swaps in the test-only ones.
REAL_ADAPTERS = dict(registry.BUILTIN)

#: The one setting per platform that holds its webhook secret (door and worker both read it).
SECRET_SETTING = {
    "figma": "SOPHIA_FIGMA_WEBHOOK_SECRET",
    "github": "SOPHIA_GITHUB_WEBHOOK_SECRET",
    "gong": "SOPHIA_GONG_WEBHOOK_SECRET",
    "hubspot": "SOPHIA_HUBSPOT_WEBHOOK_SECRET",
    "linear": "SOPHIA_LINEAR_WEBHOOK_SECRET",
    "slack": "SOPHIA_SLACK_SIGNING_SECRET",
    "vercel": "SOPHIA_VERCEL_WEBHOOK_SECRET",
}
#: Settings that must NOT be read for a webhook secret (retired names).
RETIRED = ("SOPHIA_SLACK_WEBHOOK_SECRET",)

HUBSPOT_URL = "https://sophia.example.com/webhooks/hubspot?portal=acme%20eu"
GONG_URL = "https://sophia.example.com/webhooks/gong"
#: Gong signs with the automation rule's private key; the setting holds its public key.
_GONG_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_GONG_FORGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
GONG_PUBLIC = _GONG_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

Signer = Callable[[str, str, float], tuple[bytes, dict[str, str]]]


def _hex(secret: str, message: bytes, digest: str) -> str:
    return hmac.new(secret.encode(), message, digest).hexdigest()


def sign_github(secret: str, delivery: str, at: float) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"action": "archived", "sender": {"login": "octocat"},
                       "repository": {"full_name": "Acme/Web", "private": True, "archived": True}}).encode()
    return body, {"X-Hub-Signature-256": "sha256=" + _hex(secret, body, "sha256"),
                  "X-GitHub-Delivery": delivery, "X-GitHub-Event": "repository"}


def sign_vercel(secret: str, delivery: str, at: float) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": delivery, "type": "project.created", "createdAt": int(at * 1000),
                       "payload": {"project": {"id": "prj_1", "name": "marketing-site"},
                                   "user": {"id": "usr_1"}}}).encode()
    return body, {"x-vercel-signature": _hex(secret, body, "sha1")}


def sign_linear(secret: str, delivery: str, at: float) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"action": "update", "type": "Project", "webhookTimestamp": int(at * 1000),
                       "actor": {"name": "Jane"}, "data": {"id": "p1", "name": "Q4 Launch"}}).encode()
    return body, {"Linear-Signature": _hex(secret, body, "sha256"), "Linear-Delivery": delivery,
                  "Linear-Event": "Project"}


def sign_slack(secret: str, delivery: str, at: float) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": delivery,
                       "event": {"type": "channel_created",
                                 "channel": {"id": "C9", "name": "war-room", "creator": "U7"}}}).encode()
    stamp = str(int(at))
    return body, {"X-Slack-Request-Timestamp": stamp,
                  "X-Slack-Signature": "v0=" + _hex(secret, f"v0:{stamp}:".encode() + body, "sha256")}


def sign_hubspot(secret: str, delivery: str, at: float) -> tuple[bytes, dict[str, str]]:
    """v3: base64 HMAC-SHA256 of method + URI + body + timestamp (ms), as HubSpot documents it."""
    body = json.dumps([{"eventId": int(uuid.UUID(delivery)) % 10**9, "subscriptionId": 12345, "portalId": 62515,
                        "occurredAt": int(at * 1000), "subscriptionType": "contact.creation",
                        "attemptNumber": 0, "objectId": 123, "changeSource": "CRM"}]).encode()
    stamp = str(int(at * 1000))
    uri = HUBSPOT_URL.replace("%20", " ")  # HubSpot signs the URI with its %-escapes decoded
    mac = hmac.new(secret.encode(), b"POST" + uri.encode() + body + stamp.encode(), hashlib.sha256)
    return body, {"X-HubSpot-Signature-v3": base64.b64encode(mac.digest()).decode(),
                  "X-HubSpot-Request-Timestamp": stamp}


def sign_gong(secret: str, delivery: str, at: float) -> tuple[bytes, dict[str, str]]:
    """An RS256 JWT over the destination URL and the body's SHA-256, valid a minute (the setting: the public key)."""
    import jwt

    body = json.dumps({"callData": {"metaData": {"id": str(int(uuid.UUID(delivery)) % 10**18),
                                                  "title": "Quarterly review"}}}).encode()
    claims = {"webhook_url": GONG_URL, "body_sha256": hashlib.sha256(body).hexdigest(), "iat": int(at),
              "exp": int(at) + 60}
    key = _GONG_KEY if secret == GONG_PUBLIC else _GONG_FORGER  # a wrong "secret": someone else's key
    return body, {"Authorization": jwt.encode(claims, key, algorithm="RS256")}


def sign_figma(secret: str, delivery: str, at: float) -> tuple[bytes, dict[str, str]]:
    """Figma signs nothing: each payload echoes the webhook's passcode."""
    body = json.dumps({"event_type": "FILE_UPDATE", "file_key": "AbC123", "file_name": "Roadmap",
                       "passcode": secret, "timestamp": "2026-01-01T00:00:00Z", "webhook_id": delivery[:20]
                       }).encode()
    return body, {}


@dataclass(frozen=True)
class Door:
    """How one platform signs, what an unsigned delivery lacks, and its freshness window."""

    sign: Signer
    unsigned: Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]
    window: float | None  # seconds; None: the vendor signs no time (dedup is the replay guard)
    refused: int = 401


def _drop(*names: str) -> Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]:
    def strip(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        return body, {k: v for k, v in headers.items() if k.lower() not in names}
    return strip


def _no_passcode(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    payload = json.loads(body)
    payload.pop("passcode")
    return json.dumps(payload).encode(), headers


DOORS: dict[str, Door] = {
    "github": Door(sign_github, _drop("x-hub-signature-256"), None),
    "vercel": Door(sign_vercel, _drop("x-vercel-signature"), None),
    "linear": Door(sign_linear, _drop("linear-signature"), 60),
    "slack": Door(sign_slack, _drop("x-slack-signature"), 300),
    "hubspot": Door(sign_hubspot, _drop("x-hubspot-signature-v3"), 300),
    # Figma documents 400 as the answer to a wrong passcode (it stops the webhook at once).
    "figma": Door(sign_figma, _no_passcode, None, refused=400),
    # A token lives 60 s and 30 s of clock difference are allowed either way.
    "gong": Door(sign_gong, _drop("authorization"), 90),
}
SECRETS = {platform: f"{platform}-door-secret-{uuid.uuid4().hex[:8]}" for platform in DOORS} | {"gong": GONG_PUBLIC}


def webhook_platforms() -> list[str]:
    """Every real adapter that declares ``supports_webhooks``."""
    from importlib import import_module

    found = []
    for platform, path in REAL_ADAPTERS.items():
        module, _, name = path.partition(":")
        if getattr(import_module(module), name).supports_webhooks:
            found.append(platform)
    return sorted(found)


@pytest.fixture
def doors(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    """The real adapters, and for each platform only its one webhook-secret setting."""
    for platform in DOORS:
        monkeypatch.setitem(registry.BUILTIN, platform, REAL_ADAPTERS[platform])
    for name in RETIRED:
        monkeypatch.delenv(name, raising=False)
    for platform, setting in SECRET_SETTING.items():
        monkeypatch.setenv(setting, SECRETS[platform])
    monkeypatch.setenv("SOPHIA_HUBSPOT_WEBHOOK_URL", HUBSPOT_URL)
    monkeypatch.setenv("SOPHIA_GONG_WEBHOOK_URL", GONG_URL)
    registry._table.cache_clear()
    return api


def _delivery_id(platform: str) -> str:
    return "Ev" + uuid.uuid4().hex[:12].upper() if platform == "slack" else str(uuid.uuid4())


def _send(api: Api, platform: str, body: bytes, headers: dict[str, str]) -> Any:
    return post(api, platform, body, headers | {"Content-Type": "application/json"})


def test_every_webhook_accepting_adapter_has_a_door_and_one_documented_setting() -> None:
    assert webhook_platforms() == sorted(DOORS) == sorted(SECRET_SETTING)
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for setting in SECRET_SETTING.values():
        assert f"`{setting}`" in readme, setting
        assert f"\n{setting}=" in example, setting
    for name in RETIRED:
        assert name not in example and name not in readme


@pytest.mark.parametrize("platform", sorted(DOORS))
def test_a_signed_delivery_is_accepted_at_the_door_and_processed(doors: Api, platform: str) -> None:
    body, headers = DOORS[platform].sign(SECRETS[platform], _delivery_id(platform), time.time())
    answer = _send(doors, platform, body, headers)
    assert answer.status_code == 200 and answer.json()["status"] == "accepted", answer.text
    worker = doors.work()
    assert (worker.processed, worker.failed) == (1, 0), [r.last_error for r in inbox_rows(doors, platform)]
    assert [r.status for r in inbox_rows(doors, platform)] == ["done"]


def _refused_cases(platform: str) -> list[str]:
    return ["wrong", "unsigned"] + (["stale", "future"] if DOORS[platform].window else [])


@pytest.mark.parametrize(("platform", "case"), [(p, c) for p in sorted(DOORS) for c in _refused_cases(p)])
def test_a_bad_delivery_is_refused_at_the_door_and_never_reaches_the_worker(
        doors: Api, platform: str, case: str) -> None:
    door = DOORS[platform]
    now = time.time()
    secret, at = SECRETS[platform], now
    if case == "wrong":
        secret = "not-" + secret
    elif case in ("stale", "future"):
        assert door.window is not None
        at = now - door.window - 5 if case == "stale" else now + door.window + 5
    body, headers = door.sign(secret, _delivery_id(platform), at)
    if case == "unsigned":
        body, headers = door.unsigned(body, headers)
    answer = _send(doors, platform, body, headers)
    assert answer.status_code == door.refused, answer.text
    assert answer.json()["code"] == "webhook_rejected"
    assert inbox_rows(doors, platform) == []
    assert doors.work().processed == 0 and inbox_rows(doors) == []
