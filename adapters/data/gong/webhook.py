"""Gong's signed webhooks: an RS256 JWT in ``Authorization``, checked with Gong's public key.

Gong sends webhooks from Automation Rules ("Fire webhook"); with the "Signed JWT header"
method each delivery carries a JWT signed with Gong's private key, and the rule's page shows
the public key ("Show public key") [help.gong.io/docs/create-a-webhook-rule]. The claims
checked here are those Gong's receivers check (Nango's, [nango.dev/docs/api-integrations/gong/
webhooks]): ``webhook_url`` — the destination the rule was registered with, so a delivery
signed for another tenant's route is refused — and ``body_sha256``, the hex SHA-256 of the raw
body, so a signed token can't carry another body; plus ``exp`` (required) and ``iat`` (when
given, not in the future).

Settings (read at the door and again by the worker, :mod:`orchestrator.inbox`):
``SOPHIA_GONG_WEBHOOK_SECRET`` holds the public key (PEM, or the bare base64 Gong's page
shows; it is not secret, but it is the one webhook setting every platform has), and
``SOPHIA_GONG_WEBHOOK_URL`` the exact destination URL given to the rule.

Only ``RS256`` is accepted: ``alg: none``, HMAC algorithms (the public key used as an HMAC
secret) and every other algorithm are refused before the signature is looked at. ``exp`` is
judged at the delivery's ``received_at``, as every verifier here judges freshness, so a
delivery the worker retries later is as fresh as when it arrived. The dedup key is a digest
of the token itself: a replayed request is the same delivery (the inbox answers it as a
duplicate), and a new one needs Gong's private key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from adapters.base import WebhookRejectedError, WebhookRequest
from adapters.credentials import webhook_secret
from adapters.webhooks import VerifiedWebhook
from orchestrator.errors import ConfigError

__all__ = ["ALGORITHM", "ENVELOPE", "URL_VAR", "public_key", "unwrap", "verify_gong"]

ALGORITHM = "RS256"
URL_VAR = "SOPHIA_GONG_WEBHOOK_URL"
#: Seconds of clock difference allowed on ``exp`` and ``iat``.
LEEWAY = 30
#: How a stored delivery begins: the token follows, then a newline, then the raw body.
ENVELOPE = b"sophia-gong-jwt/1\n"


def _reject(why: str, hint: str = "only Gong's signed deliveries are accepted") -> WebhookRejectedError:
    return WebhookRejectedError(f"gong webhook rejected: {why}", hint=hint, details={"platform": "gong"})


def public_key(text: str) -> RSAPublicKey:
    """Gong's public key from PEM or from the bare base64 body Gong's page shows.

    Raises:
        ConfigError: not an RSA public key (the setting is named).
    """
    body = text.strip()
    if "-----BEGIN" not in body:
        body = "-----BEGIN PUBLIC KEY-----\n" + "".join(body.split()) + "\n-----END PUBLIC KEY-----"
    try:
        key = load_pem_public_key(body.encode())
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, RSAPublicKey):
        raise ConfigError(
            "SOPHIA_GONG_WEBHOOK_SECRET is not an RSA public key",
            hint="paste the key Gong's automation rule shows under 'Show public key'",
        )
    return key


def _token(request: WebhookRequest) -> str:
    value = (request.header("authorization") or "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not value:
        raise _reject(
            "missing Authorization header (the signed JWT)",
            "choose 'Signed JWT header' as the rule's authentication method",
        )
    return value


def _claims(token: str, key: RSAPublicKey) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise _reject("the Authorization header is not a JWT") from None
    if header.get("alg") != ALGORITHM:
        raise _reject(f"JWT algorithm {str(header.get('alg'))[:20]!r} is not {ALGORITHM}")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError:
        raise _reject(
            "signature mismatch", "check SOPHIA_GONG_WEBHOOK_SECRET is the rule's public key"
        ) from None
    except jwt.InvalidTokenError as exc:
        raise _reject(f"invalid JWT ({type(exc).__name__})") from None
    return dict(claims)


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _reject(f"claim {name} is not a time")
    return float(value)


def verify_gong(request: WebhookRequest, *, now: float | None = None) -> VerifiedWebhook:
    """Check a Gong delivery (see the module doc) and return it verified.

    Raises:
        ConfigError: the public key or the webhook URL is not configured (both named).
        WebhookRejectedError: anything about the token, its claims or the body is wrong.
    """
    url = os.environ.get(URL_VAR, "").strip()
    if not url:
        raise ConfigError(
            "gong webhooks need the URL Gong calls",
            hint=f"set {URL_VAR} to the destination URL of the Gong automation rule",
        )
    key = public_key(webhook_secret("gong").reveal())
    token = _token(request)
    claims = _claims(token, key)
    received = now if now is not None else _received(request)
    exp, iat = _number(claims, "exp"), _number(claims, "iat")
    if exp is None:
        raise _reject("the JWT has no exp claim")
    if received > exp + LEEWAY:
        raise _reject("the JWT had expired when the delivery was received", "a stale or replayed delivery")
    if iat is not None and iat > received + LEEWAY:
        raise _reject("the JWT was issued in the future")
    claimed_url = claims.get("webhook_url")
    if not isinstance(claimed_url, str) or not hmac.compare_digest(claimed_url.encode(), url.encode()):
        raise _reject(
            "the JWT's webhook_url is not this server's", f"{URL_VAR} must be the rule's destination URL"
        )
    digest = claims.get("body_sha256")
    actual = hashlib.sha256(request.body).hexdigest()
    if not isinstance(digest, str) or not hmac.compare_digest(digest.lower().encode(), actual.encode()):
        raise _reject("the body does not match the JWT's body_sha256")
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise _reject("body is not JSON") from None
    if not isinstance(payload, dict):
        raise _reject("body is not a JSON object")
    delivery = "jwt-" + hashlib.sha256(token.encode()).hexdigest()[:40]
    stored = ENVELOPE + token.encode() + b"\n" + request.body
    return VerifiedWebhook("gong", delivery, "call", payload, stored_body=stored)


def unwrap(request: WebhookRequest) -> WebhookRequest:
    """A stored delivery (:data:`ENVELOPE`) as it was received: the token back in ``Authorization``.

    Any other request is returned as it is (and verified as it is).
    """
    if request.header("authorization") or not request.body.startswith(ENVELOPE):
        return request
    token, sep, body = request.body[len(ENVELOPE) :].partition(b"\n")
    if not sep:
        return request
    headers = {**request.headers, "authorization": token.decode("ascii", "replace")}
    return WebhookRequest(headers=headers, body=body, path=request.path, received_at=request.received_at)


def _received(request: WebhookRequest) -> float:
    received = request.received_at
    if received.tzinfo is None:
        received = received.replace(tzinfo=UTC)
    return received.timestamp()
