"""Inbound webhook verification, exactly as each vendor documents it, plus dedup keys.

Every verifier works on the raw body bytes (before any parsing), compares MACs with
:func:`hmac.compare_digest`, rejects before doing any work, and returns a
:class:`VerifiedWebhook` carrying the sender's delivery id. Failures raise
:class:`~adapters.base.WebhookRejectedError` (HTTP 401). Deduplicating on the delivery id is
the inbox's job (:mod:`state.inbox`, unique per platform and id, kept ≥ 7 days): a delivery
already seen is answered 200 there and changes nothing.

=========  =====================================  ==========================  ============
sender     signature                              freshness                   dedup key
=========  =====================================  ==========================  ============
GitHub     ``X-Hub-Signature-256: sha256=<hex>``  none (dedup is the guard)   X-GitHub-Delivery
           HMAC-SHA256(secret, body); SHA-1-only
           ``X-Hub-Signature`` is refused
Vercel     ``x-vercel-signature: <hex>``          none                        payload ``id``
           HMAC-SHA1(secret, body)
Linear     ``Linear-Signature: <hex>``            body ``webhookTimestamp``   Linear-Delivery
           HMAC-SHA256(secret, body)              (ms), |recv − ts| ≤ 60 s
Slack      ``X-Slack-Signature: v0=<hex>``        X-Slack-Request-Timestamp   ``event_id``
           HMAC-SHA256(secret, "v0:ts:body")      (s), |recv − ts| ≤ 300 s    (``trigger_id``)
=========  =====================================  ==========================  ============

Freshness is judged at ``recv``, the request's ``received_at`` (when our endpoint received
it), not at the wall clock: a delivery stored in the inbox and processed, retried or replayed
from the dead letters minutes later is as fresh as when it arrived, while one that was
already stale on arrival stays stale on every later attempt. ``now=`` overrides it (tests).

Text inside a verified payload is still untrusted data, never a command.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import parse_qs

from pydantic import SecretStr

from adapters.base import WebhookRejectedError, WebhookRequest
from adapters.credentials import Secret

__all__ = [
    "LINEAR_WINDOW_SECONDS",
    "SLACK_WINDOW_SECONDS",
    "VERIFIERS",
    "VerifiedWebhook",
    "sign_github",
    "sign_linear",
    "sign_slack",
    "sign_vercel",
    "verify",
    "verify_github",
    "verify_linear",
    "verify_slack",
    "verify_vercel",
]

SLACK_WINDOW_SECONDS = 300
LINEAR_WINDOW_SECONDS = 60

SecretLike = Secret | SecretStr | str | bytes


@dataclass(frozen=True)
class VerifiedWebhook:
    """A webhook whose signature (and freshness, where the sender signs a time) checked out.

    ``stored_body`` is what the inbox keeps instead of the raw body when that body carries a
    credential (Figma echoes its passcode in every payload); ``None`` keeps the raw bytes, which
    signed senders need so the worker can re-check the signature.
    """

    platform: str
    delivery_id: str
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)
    stored_body: bytes | None = field(default=None, repr=False)


def _key(secret: SecretLike) -> bytes:
    if isinstance(secret, Secret):
        secret = secret.reveal()
    elif isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    if isinstance(secret, str):
        secret = secret.encode()
    if not secret:
        raise WebhookRejectedError("webhook secret is empty", hint="configure the webhook signing secret")
    return secret


def _hex(secret: SecretLike, message: bytes, digest: str) -> str:
    return hmac.new(_key(secret), message, digest).hexdigest()


def _reject(platform: str, why: str, hint: str) -> WebhookRejectedError:
    return WebhookRejectedError(
        f"{platform} webhook rejected: {why}", hint=hint, details={"platform": platform}
    )


def _require(platform: str, request: WebhookRequest, name: str) -> str:
    value = request.header(name)
    if not value:
        raise _reject(platform, f"missing {name} header", "only the vendor's signed deliveries are accepted")
    return value.strip()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def _json(platform: str, body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _reject(platform, "body is not JSON", "the vendor sends JSON bodies") from None
    if not isinstance(payload, dict):
        raise _reject(platform, "body is not a JSON object", "the vendor sends JSON objects")
    return payload


def _received(request: WebhookRequest, now: float | None) -> float:
    """The time freshness is judged at: ``now`` if given, else when the request was received."""
    if now is not None:
        return now
    received = request.received_at
    if received.tzinfo is None:  # a naive time is UTC, as the state store keeps them
        received = received.replace(tzinfo=UTC)
    return received.timestamp()


# -- signing (the vendors' schemes; used by tests and by anyone forwarding deliveries) --


def sign_github(secret: SecretLike, body: bytes) -> str:
    """``X-Hub-Signature-256`` value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + _hex(secret, body, "sha256")


def sign_vercel(secret: SecretLike, body: bytes) -> str:
    """``x-vercel-signature`` value: hex HMAC-SHA1 of the raw body."""
    return _hex(secret, body, "sha1")


def sign_linear(secret: SecretLike, body: bytes) -> str:
    """``Linear-Signature`` value: hex HMAC-SHA256 of the raw body."""
    return _hex(secret, body, "sha256")


def sign_slack(secret: SecretLike, timestamp: str | int, body: bytes) -> str:
    """``X-Slack-Signature`` value: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    return "v0=" + _hex(secret, b"v0:" + str(timestamp).encode() + b":" + body, "sha256")


# -- verifiers ---------------------------------------------------------------------------


def verify_github(
    request: WebhookRequest, secret: SecretLike, *, now: float | None = None
) -> VerifiedWebhook:
    """GitHub: ``X-Hub-Signature-256`` required; a SHA-1-only ``X-Hub-Signature`` is refused."""
    signature = request.header("x-hub-signature-256")
    if not signature:
        if request.header("x-hub-signature"):
            raise _reject(
                "github",
                "only the legacy SHA-1 X-Hub-Signature was sent",
                "SHA-1 signatures are not accepted; GitHub sends X-Hub-Signature-256 when the hook"
                " has a secret",
            )
        raise _reject("github", "missing X-Hub-Signature-256 header", "set a secret on the GitHub webhook")
    if not _same(sign_github(secret, request.body), signature):
        raise _reject(
            "github", "signature mismatch", "check SOPHIA_GITHUB_WEBHOOK_SECRET matches the hook's secret"
        )
    delivery = _require("github", request, "x-github-delivery")
    event = _require("github", request, "x-github-event")
    payload = _json("github", request.body)
    return VerifiedWebhook("github", delivery, event, payload)


def verify_vercel(
    request: WebhookRequest, secret: SecretLike, *, now: float | None = None
) -> VerifiedWebhook:
    """Vercel: ``x-vercel-signature`` = hex HMAC-SHA1(secret, body); dedup on the payload ``id``."""
    signature = _require("vercel", request, "x-vercel-signature")
    if not _same(sign_vercel(secret, request.body), signature):
        raise _reject(
            "vercel", "signature mismatch", "check SOPHIA_VERCEL_WEBHOOK_SECRET matches the webhook's secret"
        )
    payload = _json("vercel", request.body)
    delivery = payload.get("id")
    if not isinstance(delivery, str) or not delivery:
        raise _reject("vercel", "payload has no id", "Vercel deliveries carry an id")
    return VerifiedWebhook("vercel", delivery, str(payload.get("type", "")), payload)


def verify_linear(
    request: WebhookRequest,
    secret: SecretLike,
    *,
    now: float | None = None,
    window: float = LINEAR_WINDOW_SECONDS,
) -> VerifiedWebhook:
    """Linear: ``Linear-Signature`` over the body; ``webhookTimestamp`` (ms) within ±60 s of receipt."""
    signature = _require("linear", request, "linear-signature")
    if not _same(sign_linear(secret, request.body), signature):
        raise _reject(
            "linear", "signature mismatch", "check SOPHIA_LINEAR_WEBHOOK_SECRET matches the webhook's secret"
        )
    payload = _json("linear", request.body)
    stamp = payload.get("webhookTimestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        raise _reject(
            "linear", "body has no webhookTimestamp", "Linear signs a webhookTimestamp into each body"
        )
    if abs(_received(request, now) - stamp / 1000.0) > window:
        raise _reject(
            "linear",
            f"webhookTimestamp is more than {window:.0f} s from when it was received",
            "a stale or replayed delivery",
        )
    delivery = request.header("linear-delivery") or "sha256:" + hashlib.sha256(request.body).hexdigest()
    event = request.header("linear-event") or str(payload.get("type", ""))
    return VerifiedWebhook("linear", delivery, event, payload)


def verify_slack(
    request: WebhookRequest,
    secret: SecretLike,
    *,
    now: float | None = None,
    window: float = SLACK_WINDOW_SECONDS,
) -> VerifiedWebhook:
    """Slack v0: HMAC-SHA256 of ``v0:{ts}:{body}``; |received − ts| ≤ 300 s (either direction).

    Dedup key: ``event_id`` (Events API); ``trigger_id`` for slash commands and interactive
    payloads; a body hash for the one-off ``url_verification`` handshake.
    """
    timestamp = _require("slack", request, "x-slack-request-timestamp")
    signature = _require("slack", request, "x-slack-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise _reject("slack", "X-Slack-Request-Timestamp is not a number", "a malformed request") from None
    if abs(_received(request, now) - sent_at) > window:
        raise _reject(
            "slack",
            f"timestamp is more than {window:.0f} s from when it was received",
            "a stale or replayed request",
        )
    if not _same(sign_slack(secret, timestamp, request.body), signature):
        raise _reject(
            "slack", "signature mismatch", "check SOPHIA_SLACK_SIGNING_SECRET is the app's signing secret"
        )
    ctype = (request.header("content-type") or "").lower()
    if "application/x-www-form-urlencoded" in ctype:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        payload: dict[str, Any] = (
            _json("slack", form["payload"].encode()) if "payload" in form else dict(form)
        )
        delivery = payload.get("trigger_id") or payload.get("action_ts")
        event = str(payload.get("type") or payload.get("command") or "command")
    else:
        payload = _json("slack", request.body)
        delivery = payload.get("event_id")
        event = str((payload.get("event") or {}).get("type") or payload.get("type", ""))
        if payload.get("type") == "url_verification":
            delivery = "url_verification:" + hashlib.sha256(request.body).hexdigest()[:32]
    if not isinstance(delivery, str) or not delivery:
        raise _reject("slack", "no event_id or trigger_id to deduplicate on", "not a Slack event we accept")
    return VerifiedWebhook("slack", delivery, event, payload)


Verifier = Callable[..., VerifiedWebhook]

VERIFIERS: dict[str, Verifier] = {
    "github": verify_github,
    "vercel": verify_vercel,
    "linear": verify_linear,
    "slack": verify_slack,
}


def verify(
    platform: str, request: WebhookRequest, secret: SecretLike, *, now: float | None = None
) -> VerifiedWebhook:
    """Verify ``request`` with ``platform``'s scheme."""
    verifier = VERIFIERS.get(platform)
    if verifier is None:
        raise WebhookRejectedError(
            f"no webhook verifier for {platform}", hint=f"webhooks are accepted from: {', '.join(VERIFIERS)}"
        )
    return verifier(request, secret, now=now)
