"""Figma webhook deliveries: the echoed passcode, the 400 answer, and nothing in the logs.

Figma signs nothing: each payload carries the passcode the webhook was created with
(developers.figma.com/docs/rest-api/webhooks-security). Payloads here follow the contract's
``WebhookPingPayload`` / ``WebhookFileUpdatePayload`` schemas. The edge path runs through the
real inbox on a SQLite state store.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from adapters.base import WebhookRejectedError, WebhookRequest
from adapters.dev.figma import FigmaAdapter, PasscodeRejectedError, file_key_of, team_of, verify_figma
from adapters.registry import adapter_class
from orchestrator.config import Settings
from orchestrator.errors import NotFoundError, ValidationFailedError

PASSCODE = "figma-passcode-3f9a27c1d0"
WRONG = "not-the-passcode-81bd22e4"


@pytest.fixture
def adapter(monkeypatch: pytest.MonkeyPatch) -> FigmaAdapter:
    monkeypatch.setenv("SOPHIA_FIGMA_WEBHOOK_SECRET", PASSCODE)
    return FigmaAdapter(Settings())


@pytest.fixture
def inbox(tmp_path: Path) -> Any:
    """The real inbox on a fresh SQLite state store."""
    from state.inbox import Inbox
    from state.store import Store

    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.setup()
    return Inbox(store)


def payload(event: str = "FILE_UPDATE", passcode: str | None = PASSCODE, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"event_type": event, "timestamp": "2026-11-24T10:00:00Z", "webhook_id": "556677"}
    if passcode is not None:
        body["passcode"] = passcode
    if event == "FILE_UPDATE":
        body |= {"file_key": "aBcD1234EfGh", "file_name": "Design System"}
    return body | extra


def delivery(body: dict[str, Any] | bytes) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest(headers={"content-type": "application/json"}, body=raw, path="/webhooks/figma")


def handle(adapter: FigmaAdapter, request: WebhookRequest) -> Any:
    return asyncio.run(adapter.handle_webhook(request))


def test_the_registry_knows_the_adapter() -> None:
    cls = adapter_class("figma")
    assert cls is FigmaAdapter and cls.supports_webhooks and cls.stack.value == "dev"
    assert callable(cls.verify_webhook)


def test_right_passcode_is_accepted(adapter: FigmaAdapter) -> None:
    result = handle(adapter, delivery(payload()))
    assert (result.platform, result.event_type) == ("figma", "FILE_UPDATE")
    assert result.summary == "FILE_UPDATE on file aBcD1234EfGh"
    assert result.changes == [], "design edits are not configuration drift"
    assert result.delivery_id.startswith("556677:") and PASSCODE not in result.delivery_id


def test_the_same_delivery_has_the_same_dedup_key(adapter: FigmaAdapter) -> None:
    first = handle(adapter, delivery(payload()))
    # a retry re-serialises the same payload: key order and spacing don't matter
    again = handle(adapter, delivery(json.dumps(payload(), indent=2, sort_keys=True).encode()))
    later = handle(adapter, delivery(payload(timestamp="2026-11-24T10:30:00Z")))
    assert first.delivery_id == again.delivery_id != later.delivery_id


@pytest.mark.parametrize(
    "body",
    [
        payload(passcode=WRONG),
        payload(passcode=PASSCODE + "x"),
        payload(passcode=PASSCODE[:-1]),
        payload(passcode=None),
        payload(passcode=""),
        payload(passcode=12345),  # type: ignore[arg-type]
        b"passcode=" + PASSCODE.encode(),
        b"[]",
    ],
    ids=["wrong", "longer", "shorter", "absent", "empty", "not-a-string", "not-json", "not-an-object"],
)
def test_wrong_or_missing_passcode_is_a_400(adapter: FigmaAdapter, body: dict[str, Any] | bytes) -> None:
    with pytest.raises(PasscodeRejectedError) as err:
        handle(adapter, delivery(body))
    assert isinstance(err.value, WebhookRejectedError) and err.value.code == "webhook_rejected"
    assert err.value.http_status == 400
    assert WebhookRejectedError.http_status == 401, "other senders keep their 401"
    text = json.dumps(err.value.to_dict()) + str(err.value)
    assert PASSCODE not in text and WRONG not in text


def test_ping_is_accepted_and_changes_nothing(adapter: FigmaAdapter) -> None:
    result = handle(adapter, delivery(payload("PING")))
    assert result.event_type == "PING" and result.changes == []
    assert result.summary == "PING from webhook 556677"


def test_the_verified_payload_no_longer_holds_the_passcode() -> None:
    verified = verify_figma(delivery(payload()), PASSCODE)
    assert "passcode" not in verified.payload and verified.payload["file_key"] == "aBcD1234EfGh"


def test_without_a_configured_passcode_nothing_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPHIA_FIGMA_WEBHOOK_SECRET", raising=False)
    with pytest.raises(WebhookRejectedError) as err:
        handle(FigmaAdapter(Settings()), delivery(payload()))
    assert "SOPHIA_FIGMA_WEBHOOK_SECRET" in err.value.hint and err.value.http_status == 401


def test_the_passcode_never_reaches_the_logs(
    adapter: FigmaAdapter, caplog: pytest.LogCaptureFixture, inbox: Any
) -> None:
    from orchestrator.inbox import ingest

    caplog.set_level(logging.DEBUG)
    good = delivery(payload())
    assert not ingest(inbox, "figma", good).duplicate
    assert ingest(inbox, "figma", good).duplicate
    handle(adapter, good)
    handle(adapter, delivery(payload("PING")))
    for bad in (payload(passcode=WRONG), payload(passcode=None)):
        with pytest.raises(PasscodeRejectedError):
            ingest(inbox, "figma", delivery(bad))
        with pytest.raises(PasscodeRejectedError):
            handle(adapter, delivery(bad))
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert logged.count(PASSCODE) == 0 and logged.count(WRONG) == 0
    assert len(inbox.events(platform="figma", limit=10)) == 1, "rejected deliveries are not stored"


def test_targets_are_checked() -> None:
    assert team_of("https://www.figma.com/files/team/998877/all-projects") == "998877"
    assert file_key_of("https://www.figma.com/file/XyZ987LmNoP/Old-Link") == "XyZ987LmNoP"
    assert file_key_of("https://www.figma.com/design/aBcD1234EfGh/x/branch/BrAnCh42/y") == "BrAnCh42"
    for bad in ("acme", "12/34", ""):
        with pytest.raises(ValidationFailedError):
            team_of(bad)
    with pytest.raises(ValidationFailedError):
        file_key_of("../../v1/me")


def test_delete_of_an_absent_hook_and_read_of_an_absent_file_are_refused(adapter: FigmaAdapter) -> None:
    from adapters.registry import spec_for

    with pytest.raises(NotFoundError, match="webhook 1"):
        adapter.precheck(spec_for("figma.webhook.delete").call("1", {}), None)
    with pytest.raises(NotFoundError, match="file aBcD1234EfGh"):
        adapter.precheck(spec_for("figma.file.get").call("aBcD1234EfGh", {}), None)


def test_a_server_without_a_passcode_does_not_take_figma_deliveries(
    monkeypatch: pytest.MonkeyPatch, inbox: Any
) -> None:
    from orchestrator.inbox import ingest

    monkeypatch.delenv("SOPHIA_FIGMA_WEBHOOK_SECRET", raising=False)
    with pytest.raises(NotFoundError) as err:  # 404 at the edge, not a 400 that would stop the hook
        ingest(inbox, "figma", delivery(payload()))
    assert "SOPHIA_FIGMA_WEBHOOK_SECRET" in err.value.hint
