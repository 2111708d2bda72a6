"""Webhook verification with requests hand-signed per each vendor's documented scheme.

The signatures here are computed with ``hmac``/``hashlib`` directly from the vendor docs
(not with the module's own ``sign_*`` helpers), so a wrong scheme in the module fails.
Every sender gets: valid, tampered body, wrong secret, missing header, the delivery id a
retry carries (the inbox deduplicates on it), and (where the scheme signs a time) stale and
future timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from adapters.base import WebhookRejectedError, WebhookRequest
from adapters.webhooks import (
    LINEAR_WINDOW_SECONDS,
    SLACK_WINDOW_SECONDS,
    sign_github,
    sign_linear,
    sign_slack,
    sign_vercel,
    verify,
    verify_github,
    verify_linear,
    verify_slack,
    verify_vercel,
)

pytestmark = pytest.mark.anyio

SECRET = "It's a Secret to Everybody"
NOW = 1_760_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def req(headers: dict[str, str], body: bytes) -> WebhookRequest:
    return WebhookRequest(headers={k.lower(): v for k, v in headers.items()}, body=body)


# -- GitHub ------------------------------------------------------------------------------


def test_github_documented_test_vector() -> None:
    # docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody",
    # payload "Hello, World!" → this signature.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign_github(SECRET, b"Hello, World!") == expected


def github_request(
    body: bytes,
    *,
    delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    secret: str = SECRET,
    drop: str | None = None,
    sha1_only: bool = False,
) -> WebhookRequest:
    headers = {
        "X-GitHub-Event": "repository",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }
    if sha1_only:
        headers.pop("X-Hub-Signature-256")
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    if drop:
        headers.pop(drop)
    return req(headers, body)


GH_BODY = json.dumps({"action": "archived", "repository": {"full_name": "acme/api"}}).encode()


def test_github_valid() -> None:
    hook = verify_github(github_request(GH_BODY), SECRET)
    assert hook.delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert hook.event_type == "repository" and hook.payload["action"] == "archived"


def test_github_tampered_body() -> None:
    signed = github_request(GH_BODY)
    tampered = req(dict(signed.headers), GH_BODY.replace(b"archived", b"created"))
    with pytest.raises(WebhookRejectedError, match="signature mismatch"):
        verify_github(tampered, SECRET)


def test_github_wrong_secret() -> None:
    with pytest.raises(WebhookRejectedError, match="signature mismatch"):
        verify_github(github_request(GH_BODY, secret="another secret"), SECRET)


def test_github_sha1_only_is_refused_even_when_valid() -> None:
    with pytest.raises(WebhookRejectedError, match="SHA-1"):
        verify_github(github_request(GH_BODY, sha1_only=True), SECRET)


@pytest.mark.parametrize("header", ["X-Hub-Signature-256", "X-GitHub-Delivery", "X-GitHub-Event"])
def test_github_missing_header(header: str) -> None:
    with pytest.raises(WebhookRejectedError, match="missing"):
        verify_github(github_request(GH_BODY, drop=header), SECRET)


def test_github_delivery_id_is_the_delivery_header() -> None:
    # A redelivery carries the same X-GitHub-Delivery: the inbox's dedup key.
    first, again = (verify_github(github_request(GH_BODY), SECRET) for _ in range(2))
    assert first.delivery_id == again.delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    other = verify_github(github_request(GH_BODY, delivery="another-guid"), SECRET)
    assert other.delivery_id == "another-guid"


# -- Vercel ------------------------------------------------------------------------------


VERCEL_BODY = json.dumps(
    {"id": "evt_9f3k2", "type": "deployment.succeeded", "payload": {"name": "web"}}
).encode()


def vercel_request(body: bytes, secret: str = SECRET) -> WebhookRequest:
    return req({"x-vercel-signature": hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}, body)


def test_vercel_valid() -> None:
    hook = verify_vercel(vercel_request(VERCEL_BODY), SECRET)
    assert (hook.delivery_id, hook.event_type) == ("evt_9f3k2", "deployment.succeeded")
    assert (
        sign_vercel(SECRET, VERCEL_BODY) == hmac.new(SECRET.encode(), VERCEL_BODY, hashlib.sha1).hexdigest()
    )


def test_vercel_tampered_body() -> None:
    signed = vercel_request(VERCEL_BODY)
    with pytest.raises(WebhookRejectedError, match="signature mismatch"):
        verify_vercel(req(dict(signed.headers), VERCEL_BODY.replace(b"web", b"api")), SECRET)


def test_vercel_sha256_signature_is_not_accepted() -> None:
    wrong_scheme = req(
        {"x-vercel-signature": hmac.new(SECRET.encode(), VERCEL_BODY, hashlib.sha256).hexdigest()},
        VERCEL_BODY,
    )
    with pytest.raises(WebhookRejectedError):
        verify_vercel(wrong_scheme, SECRET)


def test_vercel_missing_header() -> None:
    with pytest.raises(WebhookRejectedError, match="missing x-vercel-signature"):
        verify_vercel(req({}, VERCEL_BODY), SECRET)


def test_vercel_delivery_id_is_the_payload_id() -> None:
    assert verify_vercel(vercel_request(VERCEL_BODY), SECRET).delivery_id == json.loads(VERCEL_BODY)["id"]


# -- Linear ------------------------------------------------------------------------------


def linear_body(ts_ms: float) -> bytes:
    return json.dumps(
        {"action": "create", "type": "Project", "data": {"name": "Q3"}, "webhookTimestamp": int(ts_ms)}
    ).encode()


def linear_request(
    body: bytes,
    *,
    delivery: str = "d6a5c0c2-1111-4e2e-9d4b-6a7f0e0c1a11",
    secret: str = SECRET,
    drop_sig: bool = False,
) -> WebhookRequest:
    headers = {
        "Linear-Delivery": delivery,
        "Linear-Event": "Project",
        "Linear-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    if drop_sig:
        headers.pop("Linear-Signature")
    return req(headers, body)


def test_linear_valid() -> None:
    hook = verify_linear(linear_request(linear_body(NOW * 1000 - 5_000)), SECRET, now=NOW)
    assert hook.delivery_id.startswith("d6a5c0c2") and hook.event_type == "Project"
    assert sign_linear(SECRET, b"x") == hmac.new(SECRET.encode(), b"x", hashlib.sha256).hexdigest()


def test_linear_tampered_body() -> None:
    body = linear_body(NOW * 1000)
    signed = linear_request(body)
    with pytest.raises(WebhookRejectedError, match="signature mismatch"):
        verify_linear(req(dict(signed.headers), body.replace(b"Q3", b"Q4")), SECRET, now=NOW)


@pytest.mark.parametrize("offset_s", [-61, 61, -3600])
def test_linear_stale_or_future_timestamp(offset_s: int) -> None:
    body = linear_body((NOW + offset_s) * 1000)
    with pytest.raises(WebhookRejectedError, match="60 s"):
        verify_linear(linear_request(body), SECRET, now=NOW)


def test_linear_edge_of_window_is_accepted() -> None:
    verify_linear(linear_request(linear_body((NOW - 59.5) * 1000)), SECRET, now=NOW)


def test_linear_missing_signature_or_timestamp() -> None:
    with pytest.raises(WebhookRejectedError, match="missing linear-signature"):
        verify_linear(linear_request(linear_body(NOW * 1000), drop_sig=True), SECRET, now=NOW)
    body = json.dumps({"type": "Project"}).encode()
    with pytest.raises(WebhookRejectedError, match="webhookTimestamp"):
        verify_linear(linear_request(body), SECRET, now=NOW)


def test_linear_delivery_id_is_the_delivery_header_or_a_body_hash() -> None:
    body = linear_body(NOW * 1000)
    named = verify_linear(linear_request(body), SECRET, now=NOW)
    assert named.delivery_id == "d6a5c0c2-1111-4e2e-9d4b-6a7f0e0c1a11"
    unnamed = req({"Linear-Signature": sign_linear(SECRET, body)}, body)
    assert verify_linear(unnamed, SECRET, now=NOW).delivery_id == "sha256:" + hashlib.sha256(body).hexdigest()


# -- Slack -------------------------------------------------------------------------------


SLACK_BODY = json.dumps(
    {
        "type": "event_callback",
        "event_id": "Ev08MFMKH6",
        "event": {"type": "channel_archive", "channel": "C024BE91L"},
    }
).encode()


def slack_request(
    body: bytes,
    ts: float | str,
    *,
    secret: str = SECRET,
    drop: str | None = None,
    content_type: str = "application/json",
) -> WebhookRequest:
    base = f"v0:{ts if isinstance(ts, str) else int(ts)}:".encode() + body
    headers = {
        "X-Slack-Request-Timestamp": str(ts if isinstance(ts, str) else int(ts)),
        "X-Slack-Signature": "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest(),
        "Content-Type": content_type,
    }
    if drop:
        headers.pop(drop)
    return req(headers, body)


def test_slack_documented_example() -> None:
    # api.slack.com "Verifying requests from Slack" worked example.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert sign_slack(secret, "1531420618", body) == expected
    hook = verify_slack(
        req(
            {
                "X-Slack-Request-Timestamp": "1531420618",
                "X-Slack-Signature": expected,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body,
        ),
        secret,
        now=1531420618 + 10,
    )
    assert hook.delivery_id.startswith("398738663015.") and hook.event_type == "/webhook-collect"


def test_slack_valid_event() -> None:
    hook = verify_slack(slack_request(SLACK_BODY, NOW - 10), SECRET, now=NOW)
    assert (hook.delivery_id, hook.event_type) == ("Ev08MFMKH6", "channel_archive")


def test_slack_tampered_body() -> None:
    signed = slack_request(SLACK_BODY, NOW)
    with pytest.raises(WebhookRejectedError, match="signature mismatch"):
        verify_slack(req(dict(signed.headers), SLACK_BODY.replace(b"archive", b"unarchive")), SECRET, now=NOW)


@pytest.mark.parametrize("offset_s", [-301, 301, -86400])
def test_slack_stale_or_future_timestamp(offset_s: int) -> None:
    with pytest.raises(WebhookRejectedError, match="300 s"):
        verify_slack(slack_request(SLACK_BODY, NOW + offset_s), SECRET, now=NOW)


def test_slack_window_edges_are_accepted() -> None:
    verify_slack(slack_request(SLACK_BODY, NOW - 300), SECRET, now=NOW)
    verify_slack(slack_request(SLACK_BODY, NOW + 300), SECRET, now=NOW)


def test_slack_signature_bound_to_timestamp() -> None:
    signed = slack_request(SLACK_BODY, NOW - 100)
    moved = dict(signed.headers)
    moved["x-slack-request-timestamp"] = str(int(NOW))
    with pytest.raises(WebhookRejectedError, match="signature mismatch"):
        verify_slack(req(moved, SLACK_BODY), SECRET, now=NOW)


@pytest.mark.parametrize("header", ["X-Slack-Signature", "X-Slack-Request-Timestamp"])
def test_slack_missing_header(header: str) -> None:
    with pytest.raises(WebhookRejectedError, match="missing"):
        verify_slack(slack_request(SLACK_BODY, NOW, drop=header), SECRET, now=NOW)


def test_slack_retry_carries_the_same_event_id() -> None:
    first = verify_slack(slack_request(SLACK_BODY, NOW), SECRET, now=NOW)
    retry = verify_slack(slack_request(SLACK_BODY, NOW + 60), SECRET, now=NOW + 60)  # re-signed later
    assert first.delivery_id == retry.delivery_id == "Ev08MFMKH6"


def test_slack_interactive_payload_dedups_on_trigger_id() -> None:
    body = urlencode(
        {"payload": json.dumps({"type": "block_actions", "trigger_id": "13345224609.8534564800.6f8"})}
    )
    hook = verify_slack(
        slack_request(body.encode(), NOW, content_type="application/x-www-form-urlencoded"), SECRET, now=NOW
    )
    assert hook.delivery_id == "13345224609.8534564800.6f8" and hook.event_type == "block_actions"


# -- freshness is judged at receipt, not when the inbox gets to it -------------------------
#
# These use the real clock on purpose: the delivery arrived ``AGO`` seconds before the test
# runs, so a verifier that looked at the wall clock would see it 10 minutes late.

AGO = 600.0
WINDOWS = {"linear": LINEAR_WINDOW_SECONDS, "slack": SLACK_WINDOW_SECONDS}


def signed_at(platform: str, sent: float, received: datetime) -> WebhookRequest:
    """A delivery the sender signed at ``sent`` (epoch s) and our endpoint received at ``received``."""
    if platform == "linear":
        return replace(linear_request(linear_body(sent * 1000)), received_at=received)
    return replace(slack_request(SLACK_BODY, sent), received_at=received)


@pytest.mark.parametrize("platform", sorted(WINDOWS))
def test_fresh_on_receipt_is_accepted_when_processed_10_minutes_later(platform: str) -> None:
    arrived = time.time() - AGO
    request = signed_at(platform, int(arrived) - 2, datetime.fromtimestamp(arrived, UTC))
    assert verify(platform, request, SECRET).platform == platform  # no now=: the wall clock is 10 min on


@pytest.mark.parametrize("platform", sorted(WINDOWS))
def test_stale_on_receipt_stays_stale_however_late_it_is_processed(platform: str) -> None:
    arrived = time.time() - AGO
    sent = int(arrived - 2 * WINDOWS[platform])
    with pytest.raises(WebhookRejectedError, match="from when it was received"):
        verify(platform, signed_at(platform, sent, datetime.fromtimestamp(arrived, UTC)), SECRET)


@pytest.mark.parametrize("platform", sorted(WINDOWS))
def test_future_dated_on_receipt_is_rejected_once_the_clock_has_caught_up(platform: str) -> None:
    # Signed for "now" but received 2 windows earlier: the wall clock agrees with the signature
    # today, the time of receipt never did.
    now = time.time()
    arrived = datetime.fromtimestamp(now - 2 * WINDOWS[platform], UTC)
    with pytest.raises(WebhookRejectedError, match="from when it was received"):
        verify(platform, signed_at(platform, int(now), arrived), SECRET)


def test_a_naive_receipt_time_is_utc() -> None:
    arrived = time.time() - AGO
    naive = datetime.fromtimestamp(arrived, UTC).replace(tzinfo=None)
    assert verify("linear", signed_at("linear", int(arrived), naive), SECRET).platform == "linear"


# -- common ------------------------------------------------------------------------------


def test_unknown_platform_and_empty_secret() -> None:
    with pytest.raises(WebhookRejectedError, match="no webhook verifier"):
        verify("gong", req({}, b"{}"), SECRET)
    with pytest.raises(WebhookRejectedError, match="secret is empty"):
        verify_github(github_request(GH_BODY), "")


def test_valid_signature_over_non_json_body_is_rejected() -> None:
    body = b"<xml/>"
    with pytest.raises(WebhookRejectedError, match="not JSON"):
        verify_github(github_request(body), SECRET)


def test_real_clock_default() -> None:
    body = linear_body(time.time() * 1000)
    assert verify_linear(linear_request(body), SECRET).platform == "linear"
