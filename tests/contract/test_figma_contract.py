"""The Figma adapter against Figma's published OpenAPI contract (figma/rest-api-spec), served by Prism.

Every catalog action runs through ``configure``; every request it sends must carry zero
request-side violations. The contract has no examples, so Prism (static mode) builds each
answer from the schema (``"string"`` for every string); where an action needs a state those
answers can't show (a hook on our team, the created hook read back, the live API's wrapped file
metadata), :func:`overlay` rewrites Prism's answer through the harness's ``edit_json`` (the
request still went to Prism and was validated). Error paths are forced with ``Prefer: code=…``
on operations whose contract declares that status.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from adapters.catalog import ActionCall
from adapters.dev.figma import DESCRIPTION, FigmaAdapter
from adapters.http import PlatformAuthError
from adapters.registry import spec_for
from adapters.specs.figma import ACTIONS
from orchestrator.config import Settings
from orchestrator.errors import ConfigError, NotFoundError, ValidationFailedError

from .common import assert_catalog_covered, pointed_at
from .prism import PrismPool, PrismServer, RecordingTransport, assert_no_request_violations
from .steered import Sleeps

pytestmark = pytest.mark.anyio

SPEC = "openapi.yaml"
PRISM_SPECS = [("figma", SPEC)]
TOKEN = "figd_contract-token-0123456789abcdef"
PASSCODE = "contract-passcode-5b9d41"
TEAM = "1234567890"
KEY = "aBcD1234EfGh"
ENDPOINT = "https://hooks.example.com/figma"

Patch = Callable[[Any], Any]

#: action → (target, params, forced statuses per request in order; None = as served)
CASES: dict[str, tuple[str, dict[str, Any], list[int | None]]] = {
    "figma.webhook.create": (TEAM, {"event_type": "FILE_UPDATE", "endpoint": ENDPOINT}, []),
    "figma.webhook.delete": ("556677", {}, [None, None, 404]),
    "figma.file.get": (KEY, {}, []),
}

#: action → the request that does it (for a read, the read)
REQUEST: dict[str, tuple[str, str]] = {
    "figma.webhook.create": ("POST", "/v2/webhooks"),
    "figma.webhook.delete": ("DELETE", "/v2/webhooks/556677"),
    "figma.file.get": ("GET", f"/v1/files/{KEY}/meta"),
}


def overlay(*rules: tuple[str, str, Patch]) -> Callable[[httpx.Request, Any], Any]:
    """An ``edit_json`` that rewrites Prism's answer to the requests matching a rule."""

    def edit(request: httpx.Request, body: Any) -> Any:
        for method, pattern, patch in rules:
            if request.method == method and re.fullmatch(pattern, request.url.path):
                return patch(body)
        return body

    return edit


def team_hook(hook_id: str, event: str = "FILE_UPDATE", endpoint: str = ENDPOINT, *,
              context: str = "TEAM", context_id: str = TEAM) -> Patch:
    """A WebhookV2 as the live API reads it back (passcode redacted, ``team_id`` deprecated)."""
    return lambda body: {**body, "id": hook_id, "event_type": event, "endpoint": endpoint, "status": "ACTIVE",
                         "context": context, "context_id": context_id, "team_id": "", "passcode": ""}


@pytest.fixture(scope="module")
def server(prism: PrismPool) -> PrismServer:
    (served,) = prism.serve("figma", SPEC)
    return served


@dataclass
class Rig:
    adapter: FigmaAdapter
    transport: RecordingTransport
    sleeps: Sleeps

    def sent(self) -> list[tuple[str, str]]:
        return [(e.request.method, e.request.url.path) for e in self.transport.exchanges]

    def body(self, method: str) -> Any:
        """The JSON body of the last ``method`` request sent."""
        return json.loads([e.request for e in self.transport.exchanges if e.request.method == method][-1].content)


@pytest.fixture
async def rig(server: PrismServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    transport, sleeps = RecordingTransport(), Sleeps()
    with pointed_at(monkeypatch, "figma", server.base_url, TOKEN, SOPHIA_FIGMA_WEBHOOK_SECRET=PASSCODE,
                    SOPHIA_FIGMA_TEAM_IDS=f"{TEAM}, 998877"):
        adapter = FigmaAdapter(Settings(), transport=transport, sleep=sleeps)
        yield Rig(adapter, transport, sleeps)
        await adapter.aclose()
    assert_no_request_violations(transport.exchanges)


def call(action: str, target: str, **params: Any) -> ActionCall:
    return spec_for(f"figma.{action}").call(target, params)


def test_every_catalog_action_has_a_contract_case() -> None:
    assert_catalog_covered(FigmaAdapter, ACTIONS, CASES, REQUEST)


@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(action: str, rig: Rig) -> None:
    target, params, forced = CASES[action]
    rig.transport.forced(*forced)
    result = await rig.adapter.configure(spec_for(action).call(target, params))
    assert assert_no_request_violations(rig.transport.exchanges) >= 2
    assert REQUEST[action] in rig.sent(), rig.sent()
    assert all(e.request.headers["x-figma-token"] == TOKEN for e in rig.transport.exchanges)
    assert result.inverse == spec_for(action).derive_inverse(result.call, result.before, result.after)


async def test_webhook_create_sends_the_passcode_on_the_team_context(rig: Rig) -> None:
    rig.transport.edit_json = overlay(
        ("GET", "/v2/webhooks", lambda body: {"webhooks": []}),
        ("POST", "/v2/webhooks", lambda body: {**body, "id": "900001"}),
        ("GET", "/v2/webhooks/900001", team_hook("900001")),
    )
    result = await rig.adapter.configure(call("webhook.create", TEAM, event_type="file update", endpoint=ENDPOINT))
    listing = rig.transport.exchanges[0].request.url
    assert dict(listing.params) == {"context": "team", "context_id": TEAM}
    assert rig.body("POST") == {"event_type": "FILE_UPDATE", "context": "team", "context_id": TEAM,
                                "endpoint": ENDPOINT, "passcode": PASSCODE, "description": DESCRIPTION}
    assert result.before is None
    assert result.after == {"id": "900001", "team_id": TEAM, "event_type": "FILE_UPDATE", "endpoint": ENDPOINT,
                            "status": "ACTIVE"}
    assert rig.adapter.reached(result.call, result.expected, result.after)
    assert result.inverse == ActionCall(action="figma.webhook.delete", target="900001", params={})
    assert PASSCODE not in repr(result)


async def test_webhook_create_refuses_duplicates_and_ping(rig: Rig) -> None:
    rig.transport.edit_json = overlay(
        ("GET", "/v2/webhooks", lambda body: {"webhooks": [team_hook("42")(body["webhooks"][0])]}),
    )
    with pytest.raises(ValidationFailedError, match="already has a FILE_UPDATE webhook") as err:
        await rig.adapter.configure(call("webhook.create", TEAM, event_type="FILE_UPDATE", endpoint=ENDPOINT))
    assert "(id 42)" in err.value.message
    with pytest.raises(ValidationFailedError, match="PING can't be subscribed"):
        await rig.adapter.configure(call("webhook.create", TEAM, event_type="PING", endpoint=ENDPOINT))
    assert {method for method, _ in rig.sent()} == {"GET"}


async def test_webhook_create_without_a_passcode_is_refused_before_any_change(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOPHIA_FIGMA_WEBHOOK_SECRET")
    with pytest.raises(ConfigError) as err:
        await rig.adapter.configure(call("webhook.create", TEAM, event_type="FILE_UPDATE", endpoint=ENDPOINT))
    assert "SOPHIA_FIGMA_WEBHOOK_SECRET" in err.value.hint
    assert {method for method, _ in rig.sent()} == {"GET"}


async def test_webhook_delete_inverse_recreates_a_team_hook_only(rig: Rig) -> None:
    rig.transport.forced(None, None, 404)
    rig.transport.edit_json = overlay(("GET", "/v2/webhooks/556677", team_hook("556677", "LIBRARY_PUBLISH")))
    result = await rig.adapter.configure(call("webhook.delete", "556677"))
    assert result.before == {"id": "556677", "team_id": TEAM, "event_type": "LIBRARY_PUBLISH",
                             "endpoint": ENDPOINT, "status": "ACTIVE"}
    assert result.after is None
    assert result.inverse == ActionCall(action="figma.webhook.create", target=TEAM,
                                        params={"event_type": "LIBRARY_PUBLISH", "endpoint": ENDPOINT})
    rig.transport.take()
    rig.transport.forced(None, None, 404)
    rig.transport.edit_json = overlay(
        ("GET", "/v2/webhooks/556677", team_hook("556677", context="PROJECT", context_id="31337")),
    )
    project = await rig.adapter.configure(call("webhook.delete", "556677"))
    assert project.before is not None and project.before["team_id"] is None
    assert project.inverse is None, "a project hook has no team to be recreated on"


async def test_file_get_reads_metadata_in_both_shapes(rig: Rig) -> None:
    served = await rig.adapter.configure(call("file.get", KEY))  # the contract's unwrapped fields
    assert served.after is not None and served.after["name"] == "string"
    assert served.after["editor_type"] == "figma" and served.after["last_touched_at"]
    rig.transport.take()
    live = {"file": {"name": "Design System", "folder_name": "Platform", "editorType": "figma",
                     "last_touched_at": "2026-11-20T10:00:00Z", "version": "4021"}}
    rig.transport.edit_json = overlay(("GET", r"/v1/files/\w+/meta", lambda body: live))
    url = f"https://www.figma.com/design/{KEY}/Design-System?node-id=0-1"
    result = await rig.adapter.configure(call("file.get", url))
    assert rig.sent() == [("GET", f"/v1/files/{KEY}/meta")] * 2
    assert result.after == {"file_key": KEY, "name": "Design System", "folder_name": "Platform",
                            "editor_type": "figma", "last_touched_at": "2026-11-20T10:00:00Z", "version": "4021"}
    assert result.inverse is None


@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_only_reads(action: str, rig: Rig) -> None:
    target, params, _ = CASES[action]
    result = await rig.adapter.configure(spec_for(action).call(target, params), dry_run=True)
    assert result.dry_run and result.after is None
    assert rig.sent() and {method for method, _ in rig.sent()} == {"GET"}


async def test_404_names_the_target(rig: Rig) -> None:
    rig.transport.forced(404)
    with pytest.raises(NotFoundError, match=KEY):
        await rig.adapter.configure(call("file.get", KEY))
    rig.transport.forced(404)
    with pytest.raises(NotFoundError, match="webhook 556677"):
        await rig.adapter.configure(call("webhook.delete", "556677"))
    rig.transport.forced(None, 404)  # the hook vanishes between observe and the DELETE
    with pytest.raises(NotFoundError, match="556677"):
        await rig.adapter.configure(call("webhook.delete", "556677"))


async def test_403_is_an_auth_error_naming_the_token(rig: Rig) -> None:
    rig.transport.forced(None, 403)  # observe passes; the POST is refused
    with pytest.raises(PlatformAuthError) as err:
        await rig.adapter.configure(call("webhook.create", TEAM, event_type="FILE_UPDATE", endpoint=ENDPOINT))
    assert "SOPHIA_FIGMA_TOKEN" in err.value.hint
    assert TOKEN not in json.dumps(err.value.to_dict()) and PASSCODE not in json.dumps(err.value.to_dict())


async def test_a_missing_token_fails_before_anything_is_sent(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPHIA_FIGMA_TOKEN")
    with pytest.raises(ConfigError, match="figma"):
        await rig.adapter.configure(call("file.get", KEY))
    assert rig.sent() == []


async def test_429_is_retried(rig: Rig) -> None:
    rig.transport.forced(429)
    result = await rig.adapter.configure(call("file.get", KEY))
    assert [e.response.status_code for e in rig.transport.exchanges] == [429, 200, 200]
    assert len(rig.sleeps.waits) == 1 and result.after is not None


async def test_status_lists_each_teams_webhooks(rig: Rig) -> None:
    rig.transport.edit_json = overlay(
        ("GET", "/v2/webhooks", lambda body: {"webhooks": [team_hook("77")(body["webhooks"][0])]}),
    )
    status = await rig.adapter.get_status()
    assert status.healthy and status.details["teams"] == [TEAM, "998877"]
    assert rig.sent() == [("GET", "/v1/me"), ("GET", "/v2/webhooks"), ("GET", "/v2/webhooks")]
    assert [dict(e.request.url.params)["context_id"] for e in rig.transport.exchanges[1:]] == [TEAM, "998877"]
    assert [h["name"] for h in status.inventory["webhook"]] == ["77", "77"]
    assert status.message == "signed in as string; 2 webhook(s) on 2 team(s)"


async def test_status_with_a_refused_token(rig: Rig) -> None:
    rig.transport.forced(403)
    status = await rig.adapter.get_status()
    assert not status.healthy and status.configured and "SOPHIA_FIGMA_TOKEN" in status.message
