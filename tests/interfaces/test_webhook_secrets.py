"""One webhook-secret setting per platform, read by the door and by the worker alike.

A Slack app signs everything (slash commands, interactivity, workspace events) with its one
signing secret, ``SOPHIA_SLACK_SIGNING_SECRET``. Workspace events reach the inbox through
``/slack/events`` or ``/webhooks/slack``; the worker re-verifies them in the Slack adapter. If
the door and the worker read different settings, an event the door accepted dead-letters.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest

from tests.interfaces.conftest import SLACK_SECRET, Api
from tests.interfaces.test_webhooks import inbox_rows, post


@pytest.fixture
def slack_only(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    """The real Slack adapter; its webhook secret only in ``SOPHIA_SLACK_SIGNING_SECRET``."""
    from adapters import registry

    monkeypatch.setitem(registry.BUILTIN, "slack", "adapters.ops.slack:SlackAdapter")
    registry._table.cache_clear()
    for name in list(__import__("os").environ):
        if name.startswith("SOPHIA_SLACK_WEBHOOK_SECRET"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SOPHIA_SLACK_SIGNING_SECRET", SLACK_SECRET)
    return api


def channel_created(name: str) -> bytes:
    event_id = "Ev" + uuid.uuid4().hex[:12].upper()
    return json.dumps({"type": "event_callback", "team_id": "T1", "event_id": event_id,
                       "event": {"type": "channel_created",
                                 "channel": {"id": "C" + event_id[-6:], "name": name, "creator": "U7"}}}).encode()


def signed(body: bytes, secret: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig, "Content-Type": "application/json"}


def test_with_only_the_signing_secret_an_event_goes_door_inbox_worker_processed(slack_only: Api) -> None:
    via_events = slack_only.slack("/slack/events", channel_created("war-room"), "application/json")
    assert via_events.status_code == 200, via_events.text
    body = channel_created("on-call")
    via_hooks = post(slack_only, "slack", body, signed(body, SLACK_SECRET))
    assert via_hooks.status_code == 200 and via_hooks.json()["status"] == "accepted", via_hooks.text
    worker = slack_only.work()
    assert (worker.processed, worker.failed) == (2, 0), [r.last_error for r in inbox_rows(slack_only)]
    assert sorted(r.status for r in inbox_rows(slack_only, "slack")) == ["done", "done"]
    assert sorted(slack_only.store.inventory("slack")["slack.channel"]) == ["on-call", "war-room"]


def test_a_leftover_second_slack_secret_is_read_by_neither_the_door_nor_the_worker(
        slack_only: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # A deployment that still sets the retired name (another value) must not split the checks.
    monkeypatch.setenv("SOPHIA_SLACK_WEBHOOK_SECRET", "an-old-events-secret")
    assert slack_only.slack("/slack/events", channel_created("war-room"), "application/json").status_code == 200
    body = channel_created("sneaky")
    assert post(slack_only, "slack", body, signed(body, "an-old-events-secret")).status_code == 401
    body = channel_created("on-call")
    assert post(slack_only, "slack", body, signed(body, SLACK_SECRET)).status_code == 200
    worker = slack_only.work()
    assert (worker.processed, worker.failed) == (2, 0), [r.last_error for r in inbox_rows(slack_only)]
    from state.inbox import Inbox

    assert Inbox(slack_only.store).dead_letters() == []
