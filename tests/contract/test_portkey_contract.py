"""The Portkey adapter against Portkey's published admin API contract, served by Prism.

Every action runs through ``configure`` and every request it sends must have zero
request-side violations. Prism answers from its canned examples here (the conformance suite,
in test_portkey_conformance.py, adds a state model). What Prism can't do, and what the tests
do instead:

* Portkey's operations declare only ``200``, so ``Prefer: code=401/404/429`` can't be served:
  401 comes from Prism itself when the credential is stripped from a request (its security
  check), 404 from ``Prefer: code=404`` (Prism answers 404 "status not declared"; that one
  exchange is left out of the violation count and the test says so), and 429/5xx are answered
  by the test (``Canned``), with the retried request going to Prism.
* Prism's canned key expired in 2019 (the adapter reads it as disabled) and its create answer's
  ``id`` is not a UUID; ``live_key`` edits those two fields where a test needs an active key
  or a follow-up request on the new id.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.ai.keydrop import SecretDrop
from adapters.ai.portkey import KeyRotationError, PortkeyAdapter
from adapters.catalog import ActionCall
from adapters.http import CircuitOpenError, PlatformAuthError
from adapters.registry import spec_for
from adapters.specs.portkey import ACTIONS
from orchestrator.errors import AdapterError, NotFoundError, ValidationFailedError

from .common import assert_catalog_covered, pointed_at, sent
from .prism import PrismPool, assert_no_request_violations
from .steered import Canned, Sleeps, SteeredTransport

PRISM_SPECS = [("portkey", "openapi.yaml")]
TOKEN = "pk-admin-test-9f8e7d6c5b4a3210"
CANNED_KEY_ID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
NEW_KEY_ID = "183f497a-2a7f-4f47-992e-26213fa863ee"
CANNED_NEW_VALUE = "abssofjosfjs"  # Prism's example value for a created key
KEY = "Development API Key"
CONFIG = "Pplx Cache Test"
WORKSPACE = "Test prod workspace"


def live_key(request: httpx.Request, body: Any) -> Any:
    """Prism's canned key expired in 2019 and its created-key id isn't a UUID: make the key live
    (no expiry) and the new id a UUID, so tests can exercise an active key and its successor."""
    if request.url.path.startswith("/api-keys") and isinstance(body, dict):
        if request.method == "POST" and "key" in body:
            return {**body, "id": NEW_KEY_ID}
        if isinstance(body.get("data"), list):
            return {**body, "data": [{**k, "expires_at": None} for k in body["data"]]}
        if "expires_at" in body:
            return {**body, "expires_at": None}
    return body


#: action → (target, params, edit Prism's answers with live_key?, the mutating requests it must send)
CASES: dict[str, tuple[str, dict[str, Any], bool, list[tuple[str, str]]]] = {
    "portkey.api_key.create": ("support-bot", {}, True, [("POST", "/api-keys/organisation/service")]),
    "portkey.api_key.rotate": (
        KEY,
        {},
        True,
        [("POST", "/api-keys/organisation/service"), ("PUT", f"/api-keys/{CANNED_KEY_ID}")],
    ),
    "portkey.api_key.disable": (KEY, {}, True, [("PUT", f"/api-keys/{CANNED_KEY_ID}")]),
    "portkey.api_key.enable": (KEY, {}, False, [("PUT", f"/api-keys/{CANNED_KEY_ID}")]),
    "portkey.config.update": (
        CONFIG,
        {"fallback": "anthropic, main-258f4d", "retry": 2},
        False,
        [("PUT", "/configs/pc-pplx-c-ca7a87")],
    ),
    "portkey.budget.set": (
        f"workspace:{WORKSPACE}",
        {"limit_usd": "$500"},
        False,
        [("PUT", "/admin/workspaces/test-prod-ws-12345")],
    ),
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prism: PrismPool) -> Iterator[SteeredTransport]:
    (server,) = prism.serve("portkey", "openapi.yaml")
    with pointed_at(monkeypatch, "portkey", server.base_url, TOKEN):
        yield SteeredTransport()


@pytest.fixture
async def adapter(env: SteeredTransport, tmp_path: Path) -> AsyncIterator[PortkeyAdapter]:
    adapter = PortkeyAdapter(transport=env, sleep=Sleeps(), drop=SecretDrop(tmp_path / "drop"))
    async with aclosing(adapter) as a:
        yield a


def _body(env: SteeredTransport, method: str, path: str) -> Any:
    return json.loads(
        next(
            ex for ex in env.exchanges if (ex.request.method, ex.request.url.path) == (method, path)
        ).request.content
    )


# -- every action --------------------------------------------------------------------------


def test_every_catalog_action_has_a_contract_case() -> None:
    assert_catalog_covered(PortkeyAdapter, ACTIONS, CASES)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(
    action: str, adapter: PortkeyAdapter, env: SteeredTransport
) -> None:
    target, params, live, mutations = CASES[action]
    env.edit_json = live_key if live else None
    result = await adapter.configure(ActionCall(action=action, target=target, params=params))
    assert assert_no_request_violations(env.exchanges) >= 2
    order = sent(env.exchanges)
    for mutation in mutations:
        assert mutation in order, order
    for ex in env.exchanges:
        if ex.request.url.path != "/models":
            assert ex.request.headers["x-portkey-api-key"] == TOKEN
        assert ex.request.headers["user-agent"].startswith("sophia-iac/")
    spec = adapter.spec(action)
    assert result.inverse == spec.derive_inverse(result.call, result.before, result.after)
    assert (result.inverse is not None) == spec.reversible


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_nothing_mutating(
    action: str, adapter: PortkeyAdapter, env: SteeredTransport
) -> None:
    target, params, live, _ = CASES[action]
    env.edit_json = live_key if live else None
    result = await adapter.configure(ActionCall(action=action, target=target, params=params), dry_run=True)
    assert result.dry_run and result.after is None and result.expected is not None
    assert {ex.request.method for ex in env.exchanges} == {"GET"}
    assert_no_request_violations(env.exchanges)


# -- request bodies ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_create_sends_name_scopes_and_workspace(
    adapter: PortkeyAdapter, env: SteeredTransport, tmp_path: Path
) -> None:
    env.edit_json = live_key
    call = spec_for("portkey.api_key.create").call(
        "eval-runner", {"workspace": "ws-research", "scopes": "completions.write, logs.view"}
    )
    result = await adapter.configure(call)
    assert _body(env, "POST", "/api-keys/workspace/service") == {
        "name": "eval-runner",
        "scopes": ["completions.write", "logs.view"],
        "workspace_id": "ws-research",
    }
    assert result.after is not None
    ref = result.after["secret_ref"]
    path = Path(ref.removeprefix("file:"))
    assert path.parent == tmp_path / "drop" and path.read_text().strip() == CANNED_NEW_VALUE
    assert path.stat().st_mode & 0o777 == 0o600
    assert CANNED_NEW_VALUE not in json.dumps([result.before, result.expected, result.after])
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_disable_sets_the_expiry_to_now_and_enable_clears_it(
    adapter: PortkeyAdapter, env: SteeredTransport
) -> None:
    env.edit_json = live_key
    result = await adapter.configure(spec_for("portkey.api_key.disable").call(KEY))
    expiry = _body(env, "PUT", f"/api-keys/{CANNED_KEY_ID}")["expires_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", expiry)
    assert result.before == {
        "name": KEY,
        "id": CANNED_KEY_ID,
        "status": "active",
        "expires_at": None,
        "rotated_from": None,
    }
    assert result.inverse == ActionCall(action="portkey.api_key.enable", target=KEY, params={})
    env.take()
    env.edit_json = None  # as served: expired in 2019, i.e. disabled
    await adapter.configure(spec_for("portkey.api_key.enable").call(KEY))
    assert _body(env, "PUT", f"/api-keys/{CANNED_KEY_ID}") == {"expires_at": None}
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_config_update_keeps_the_rest_of_the_config(
    adapter: PortkeyAdapter, env: SteeredTransport
) -> None:
    result = await adapter.configure(
        spec_for("portkey.config.update").call(CONFIG, {"loadbalance": {"main-258f4d": 3, "anthropic": 1}})
    )
    sent = _body(env, "PUT", "/configs/pc-pplx-c-ca7a87")["config"]
    assert sent["cache"] == {"mode": "simple", "max_age": 3600}, "untouched sections are written back"
    assert sent["retry"] == {"attempts": 5, "on_status_codes": [429, 529]}
    assert sent["strategy"] == {"mode": "loadbalance"}
    assert sent["targets"] == [
        {"provider": "openai", "virtual_key": "main-258f4d", "weight": 3.0},  # the existing target, kept
        {"provider": "anthropic", "weight": 1.0},
    ]
    assert result.before is not None and result.before["fallback"] == ["main-258f4d", "azure-test-4110dd"]
    assert result.inverse == ActionCall(
        action="portkey.config.update",
        target=CONFIG,
        params={
            "fallback": ["main-258f4d", "azure-test-4110dd"],
            "loadbalance": None,
            "retry": 5,
            "replace": True,
        },
    )
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_key_budget_keeps_threshold_and_reset(adapter: PortkeyAdapter, env: SteeredTransport) -> None:
    env.edit_json = live_key
    result = await adapter.configure(spec_for("portkey.budget.set").call(f"key:{KEY}", {"limit_usd": 200}))
    assert _body(env, "PUT", f"/api-keys/{CANNED_KEY_ID}") == {
        "usage_limits": {
            "credit_limit": 200,
            "periodic_reset": "monthly",
            "alert_threshold": 8,
            "type": "cost",
        }
    }
    assert result.before is not None and result.before["limit_usd"] == 10.0
    assert result.inverse == ActionCall(
        action="portkey.budget.set", target=f"key:{KEY}", params={"limit_usd": 10.0}
    )
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_fractional_budget_is_refused_before_any_change(
    adapter: PortkeyAdapter, env: SteeredTransport
) -> None:
    with pytest.raises(ValidationFailedError, match="whole dollars"):
        await adapter.configure(
            spec_for("portkey.budget.set").call(f"workspace:{WORKSPACE}", {"limit_usd": 12.5})
        )
    assert {ex.request.method for ex in env.exchanges} == {"GET"}


@pytest.mark.anyio
async def test_bare_budget_target_that_is_both_is_ambiguous(
    adapter: PortkeyAdapter, env: SteeredTransport
) -> None:
    def same_name(request: httpx.Request, body: Any) -> Any:
        """The canned key renamed to the canned workspace's name, so the bare name matches both."""
        body = live_key(request, body)
        if request.url.path == "/api-keys" and isinstance(body, dict):
            return {**body, "data": [{**k, "name": WORKSPACE} for k in body["data"]]}
        return body

    env.edit_json = same_name
    with pytest.raises(ValidationFailedError, match="both a workspace and an API key"):
        await adapter.configure(spec_for("portkey.budget.set").call(WORKSPACE, {"limit_usd": 5}))


# -- verified rotation ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_rotation_verifies_then_disables_the_old_key(
    adapter: PortkeyAdapter, env: SteeredTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env.edit_json = live_key
    result = await adapter.configure(spec_for("portkey.api_key.rotate").call(KEY))
    order = sent(env.exchanges)
    create = order.index(("POST", "/api-keys/organisation/service"))
    verify = order.index(("GET", "/models"))
    disable_old = order.index(("PUT", f"/api-keys/{CANNED_KEY_ID}"))
    assert create < verify < disable_old, order
    assert ("PUT", f"/api-keys/{NEW_KEY_ID}") not in order, "the new key is left alone"
    verify_request = env.exchanges[verify].request
    assert verify_request.headers["x-portkey-api-key"] == CANNED_NEW_VALUE, "verified with the new key"
    clone = _body(env, "POST", "/api-keys/organisation/service")
    assert clone["name"] == KEY and clone["scopes"] == ["completions.write"]
    assert clone["description"].endswith(f"[rotated from {CANNED_KEY_ID}]")
    assert clone["usage_limits"] == {"credit_limit": 10, "periodic_reset": "monthly", "alert_threshold": 8}
    assert result.after is not None
    story = result.after["rotation"]
    assert story | {"secret_ref": None} == {
        "old_key_id": CANNED_KEY_ID,
        "new_key_id": NEW_KEY_ID,
        "verified": True,
        "outcome": "rotated",
        "active_key_id": NEW_KEY_ID,
        "old_key_status": "disabled",
        "secret_ref": None,
    }
    assert Path(story["secret_ref"].removeprefix("file:")).read_text().strip() == CANNED_NEW_VALUE
    assert result.expected == {
        "name": KEY,
        "status": "active",
        "expires_at": None,
        "rotated_from": CANNED_KEY_ID,
    }
    assert result.inverse is None, "a rotation is not undone automatically"
    recorded = json.dumps([result.before, result.expected, result.after]) + caplog.text
    assert CANNED_NEW_VALUE not in recorded and TOKEN not in recorded
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_failed_verification_keeps_the_old_key_and_disables_the_new(
    adapter: PortkeyAdapter, env: SteeredTransport, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env.edit_json = live_key
    # GET /models declares no 401, so the new key is made unacceptable by stripping it from the
    # verify requests: Prism then refuses them itself (its security check answers 401).
    env.steer = lambda request: "strip-auth" if request.url.path == "/models" else None
    with pytest.raises(KeyRotationError) as err:
        await adapter.configure(spec_for("portkey.api_key.rotate").call(KEY))
    order = sent(env.exchanges)
    assert order.count(("GET", "/models")) == 2, "verification is retried once (the key may need a moment)"
    assert [ex.response.status_code for ex in env.exchanges if ex.request.url.path == "/models"] == [401, 401]
    assert ("PUT", f"/api-keys/{NEW_KEY_ID}") in order, "the new key is disabled"
    assert ("PUT", f"/api-keys/{CANNED_KEY_ID}") not in order, "the old key is never touched"
    story = err.value.details["rotation"]
    assert story == {
        "old_key_id": CANNED_KEY_ID,
        "new_key_id": NEW_KEY_ID,
        "verified": False,
        "outcome": "rolled_back",
        "active_key_id": CANNED_KEY_ID,
        "new_key_status": "disabled",
        "secret_ref": None,
        "reason": "the new key failed verification: the gateway refused it (HTTP 401)",
    }
    assert f"key {CANNED_KEY_ID} is still the active key" in err.value.message
    assert not list((tmp_path / "drop").glob("*")), "a key that failed verification is never handed over"
    assert adapter.sleep.waits == [2.0]  # type: ignore[union-attr]
    recorded = json.dumps(err.value.to_dict()) + caplog.text
    assert CANNED_NEW_VALUE not in recorded and TOKEN not in recorded
    assert_no_request_violations(ex for ex in env.exchanges if ex.request.url.path != "/models")


@pytest.mark.anyio
async def test_rotation_rolls_back_when_the_old_key_stays_active(
    adapter: PortkeyAdapter, env: SteeredTransport, tmp_path: Path
) -> None:
    env.edit_json = live_key
    # The platform refuses to disable the old key (the contract declares no error for
    # PUT /api-keys/{id}, so the test answers that one request with a 400); a re-read shows it
    # still active, so the rotation is rolled back.
    old_put = ("PUT", f"/api-keys/{CANNED_KEY_ID}")
    env.steer = lambda request: (
        Canned(400, {"message": "expires_at must be in the future"})
        if (request.method, request.url.path) == old_put
        else None
    )
    with pytest.raises(KeyRotationError, match="rolled back: the old key could not be disabled") as err:
        await adapter.configure(spec_for("portkey.api_key.rotate").call(KEY))
    story = err.value.details["rotation"]
    assert story["verified"] is True and story["outcome"] == "rolled_back"
    assert story["active_key_id"] == CANNED_KEY_ID and story["new_key_status"] == "disabled"
    assert "expires_at must be in the future" in story["reason"]
    assert ("PUT", f"/api-keys/{NEW_KEY_ID}") in sent(env.exchanges)
    assert not list((tmp_path / "drop").glob("*")), "the disabled new key's value is removed"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_rotation_that_cant_settle_says_both_may_be_active(
    adapter: PortkeyAdapter, env: SteeredTransport, tmp_path: Path
) -> None:
    env.edit_json = live_key
    # Disabling the old key hits a 5xx storm (answered by the test: the contract declares no 5xx):
    # the client retries the PUT, the breaker opens, and the old key's state can't be re-read.
    # Nothing is guessed: the error says both keys may be active and where the new value is.
    env.steer = lambda request: Canned(503, {"message": "unavailable"}) if request.method == "PUT" else None
    with pytest.raises(KeyRotationError, match="incomplete") as err:
        await adapter.configure(spec_for("portkey.api_key.rotate").call(KEY))
    story = err.value.details["rotation"]
    assert story["outcome"] == "incomplete" and story["new_key_status"] == "active"
    assert Path(story["secret_ref"].removeprefix("file:")).exists(), "the working new key's value is kept"
    assert CANNED_KEY_ID in err.value.hint


@pytest.mark.anyio
async def test_rotating_a_disabled_key_is_refused(adapter: PortkeyAdapter, env: SteeredTransport) -> None:
    with pytest.raises(ValidationFailedError, match="already disabled"):
        await adapter.configure(spec_for("portkey.api_key.rotate").call(KEY))  # as served: expired
    assert {ex.request.method for ex in env.exchanges} == {"GET"}


# -- forced errors -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_401_names_the_credential_variable(adapter: PortkeyAdapter, env: SteeredTransport) -> None:
    env.steered("strip-auth")  # Prism refuses a request without the admin key (401)
    with pytest.raises(PlatformAuthError) as err:
        await adapter.configure(spec_for("portkey.config.update").call(CONFIG, {"retry": 1}))
    assert "SOPHIA_PORTKEY_TOKEN" in err.value.hint
    assert TOKEN not in json.dumps(err.value.to_dict())
    assert [ex.response.status_code for ex in env.exchanges] == [401]


@pytest.mark.anyio
async def test_404_names_the_target(adapter: PortkeyAdapter, env: SteeredTransport) -> None:
    # GET /configs/{slug} declares no 404; Prism answers one anyway ("status not declared").
    env.steer = lambda request: "prefer:404" if request.url.path.startswith("/configs/") else None
    with pytest.raises(NotFoundError) as err:
        await adapter.configure(spec_for("portkey.config.update").call(CONFIG, {"retry": 1}))
    assert CONFIG in err.value.message and "portkey.config.update" in err.value.message
    assert [ex.request.method for ex in env.exchanges] == ["GET", "GET"]
    assert_no_request_violations(env.exchanges[:1])


@pytest.mark.anyio
async def test_unknown_names_are_not_found_before_any_change(
    adapter: PortkeyAdapter, env: SteeredTransport
) -> None:
    with pytest.raises(NotFoundError, match="API key 'ghost-key' not found"):
        await adapter.configure(spec_for("portkey.api_key.disable").call("ghost-key"))
    with pytest.raises(NotFoundError, match="config 'ghost-config' not found"):
        await adapter.configure(spec_for("portkey.config.update").call("ghost-config", {"retry": 1}))
    assert {ex.request.method for ex in env.exchanges} == {"GET"}
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_429_is_retried_after_retry_after(adapter: PortkeyAdapter, env: SteeredTransport) -> None:
    # The contract declares no 429: the test answers the first PUT itself, then Prism serves.
    env.steer = lambda request: (
        Canned(429, {"message": "rate limit"}, {"Retry-After": "7"})
        if request.method == "PUT" and not env.canned
        else None
    )
    await adapter.configure(spec_for("portkey.config.update").call(CONFIG, {"retry": 3}))
    assert [ex.response.status_code for ex in env.canned] == [429]
    assert ("PUT", "/configs/pc-pplx-c-ca7a87") in sent(env.exchanges)
    assert adapter.sleep.waits == [7.0]  # type: ignore[union-attr]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_5xx_storm_fails_clearly_and_opens_the_breaker(
    adapter: PortkeyAdapter, env: SteeredTransport
) -> None:
    env.steer = lambda request: Canned(502, {"message": "bad gateway"})
    with pytest.raises(AdapterError) as err:
        await adapter.configure(spec_for("portkey.api_key.disable").call(KEY))
    assert "portkey" in err.value.message and "portkey.api_key.disable" in err.value.message
    with pytest.raises(CircuitOpenError):
        await adapter.configure(spec_for("portkey.api_key.enable").call(KEY))
    status = await adapter.get_status()
    assert not status.healthy and status.details["circuit"]["state"] == "open"
    assert not [ex for ex in env.canned if ex.request.method != "GET"], "no change was attempted"


@pytest.mark.anyio
async def test_html_instead_of_json_is_a_clear_error(adapter: PortkeyAdapter, env: SteeredTransport) -> None:
    page = Canned(200, b"<html><body>502 Bad Gateway</body></html>", {"content-type": "text/html"})
    env.steer = lambda request: page
    with pytest.raises(AdapterError, match="unreadable response"):
        await adapter.configure(spec_for("portkey.api_key.disable").call(KEY))


# -- status --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_status_reports_health_inventory_and_breaker(
    adapter: PortkeyAdapter, env: SteeredTransport
) -> None:
    status = await adapter.get_status()
    assert status.healthy and status.configured
    assert status.inventory["api_key"] == [
        {"name": KEY, "id": CANNED_KEY_ID, "status": "disabled", "expires_at": None, "rotated_from": None}
    ]
    assert status.inventory["config"] == [{"name": CONFIG, "slug": "pc-pplx-c-ca7a87", "status": "active"}]
    assert status.inventory["budget"] == [
        {"name": WORKSPACE, "kind": "workspace", "id": "test-prod-ws-12345"}
    ]
    assert status.details["circuit"]["state"] == "closed"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_missing_credential_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, env: SteeredTransport, tmp_path: Path
) -> None:
    monkeypatch.delenv("SOPHIA_PORTKEY_TOKEN")
    adapter = PortkeyAdapter(transport=env, drop=SecretDrop(tmp_path))
    status = await adapter.get_status()
    await adapter.aclose()
    assert not status.configured and "SOPHIA_PORTKEY_TOKEN" in status.message
    assert env.exchanges == []
