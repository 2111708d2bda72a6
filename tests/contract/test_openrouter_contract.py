"""The OpenRouter adapter against OpenRouter's published OpenAPI contract, served by Prism.

Every action runs through ``configure``; every request it sends must have zero request-side
violations. The key operations declare 401, 404 and 429, so those are forced with
``Prefer: code=…``. Prism answers from its one canned key (``My Production Key``, enabled,
limit $100); the conformance suite, in test_openrouter_conformance.py, adds a state model.
Where a test needs the canned key disabled (to enable it), ``disabled`` edits that one field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.ai.keydrop import SecretDrop
from adapters.ai.openrouter import OpenRouterAdapter
from adapters.catalog import ActionCall
from adapters.http import CircuitOpenError, PlatformAuthError, RateLimitedError
from adapters.registry import spec_for
from adapters.specs.openrouter import ACTIONS
from orchestrator.errors import AdapterError, NotFoundError, ValidationFailedError

from .common import assert_catalog_covered, pointed_at, sent
from .prism import PrismPool, assert_no_request_violations
from .steered import Canned, Sleeps, SteeredTransport

PRISM_SPECS = [("openrouter", "openapi.yaml")]
TOKEN = "or-mgmt-test-5e4d3c2b1a09f8e7"
KEY = "My Production Key"
HASH = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943"
CANNED_VALUE = "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"


def disabled(request: httpx.Request, body: Any) -> Any:
    """Prism's canned key is enabled; tests that enable a key need it disabled."""
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict):
        return {**body, "data": {**data, "disabled": True}}
    if isinstance(data, list):
        return {**body, "data": [{**k, "disabled": True} for k in data]}
    return body


#: action → (target, params, edit, the mutating request and its body)
CASES: dict[str, tuple[str, dict[str, Any], Any, tuple[str, str, dict[str, Any]]]] = {
    "openrouter.key.create": (
        "batch-jobs",
        {"limit_usd": "$50"},
        None,
        ("POST", "/keys", {"name": "batch-jobs", "limit": 50.0}),
    ),
    "openrouter.key.set_limit": (
        KEY,
        {"limit_usd": "250 usd"},
        None,
        ("PATCH", f"/keys/{HASH}", {"limit": 250.0}),
    ),
    "openrouter.key.disable": (KEY, {}, None, ("PATCH", f"/keys/{HASH}", {"disabled": True})),
    "openrouter.key.enable": (HASH, {}, disabled, ("PATCH", f"/keys/{HASH}", {"disabled": False})),
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prism: PrismPool) -> Iterator[SteeredTransport]:
    (server,) = prism.serve("openrouter", "openapi.yaml")
    with pointed_at(monkeypatch, "openrouter", server.base_url, TOKEN):
        yield SteeredTransport()


@pytest.fixture
async def adapter(env: SteeredTransport, tmp_path: Path) -> AsyncIterator[OpenRouterAdapter]:
    adapter = OpenRouterAdapter(transport=env, sleep=Sleeps(), drop=SecretDrop(tmp_path / "drop"))
    async with aclosing(adapter) as a:
        yield a


def test_every_catalog_action_has_a_contract_case() -> None:
    assert_catalog_covered(OpenRouterAdapter, ACTIONS, CASES)


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_speaks_the_contract(
    action: str, adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    target, params, edit, (method, path, body) = CASES[action]
    env.edit_json = edit
    result = await adapter.configure(ActionCall(action=action, target=target, params=params))
    assert assert_no_request_violations(env.exchanges) >= 3, "observe, the change, the read-back"
    mutations = [ex for ex in env.exchanges if ex.request.method != "GET"]
    assert [(ex.request.method, ex.request.url.path) for ex in mutations] == [(method, path)]
    assert json.loads(mutations[0].request.content) == body
    assert sent(env.exchanges)[-1] == ("GET", f"/keys/{HASH}"), "every change is read back"
    for ex in env.exchanges:
        assert ex.request.headers["authorization"] == f"Bearer {TOKEN}"
    spec = adapter.spec(action)
    assert result.inverse == spec.derive_inverse(result.call, result.before, result.after)
    assert result.inverse is not None and result.inverse.action.startswith("openrouter.")


@pytest.mark.anyio
@pytest.mark.parametrize("action", sorted(CASES))
async def test_dry_run_sends_nothing_mutating(
    action: str, adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    target, params, edit, _ = CASES[action]
    env.edit_json = edit
    result = await adapter.configure(ActionCall(action=action, target=target, params=params), dry_run=True)
    assert result.dry_run and result.after is None and result.expected is not None
    assert {ex.request.method for ex in env.exchanges} == {"GET"}
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_create_hands_the_value_to_the_drop_and_records_only_its_reference(
    adapter: OpenRouterAdapter, env: SteeredTransport, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await adapter.configure(spec_for("openrouter.key.create").call("batch-jobs"))
    post = next(ex for ex in env.exchanges if ex.request.method == "POST")
    assert json.loads(post.request.content) == {"name": "batch-jobs"}, "no limit sent when none was asked for"
    assert result.after is not None
    path = Path(result.after["secret_ref"].removeprefix("file:"))
    assert path.parent == tmp_path / "drop" and path.read_text().strip() == CANNED_VALUE
    assert path.stat().st_mode & 0o777 == 0o600
    assert result.expected == {"name": "batch-jobs", "disabled": False, "limit_usd": None}
    assert result.inverse == ActionCall(action="openrouter.key.disable", target="batch-jobs", params={})
    recorded = json.dumps([result.before, result.expected, result.after]) + caplog.text
    assert CANNED_VALUE not in recorded and TOKEN not in recorded
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_removing_the_limit_sends_null_and_the_inverse_restores_it(
    adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    result = await adapter.configure(spec_for("openrouter.key.set_limit").call(KEY, {"limit_usd": None}))
    patch = next(ex for ex in env.exchanges if ex.request.method == "PATCH")
    assert json.loads(patch.request.content) == {"limit": None}
    assert result.before is not None and result.before["limit_usd"] == 100.0
    assert result.inverse == ActionCall(
        action="openrouter.key.set_limit", target=KEY, params={"limit_usd": 100.0}
    )
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_toggles_that_change_nothing_are_refused(
    adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    with pytest.raises(ValidationFailedError, match="is not disabled"):
        await adapter.configure(spec_for("openrouter.key.enable").call(KEY))
    with pytest.raises(ValidationFailedError, match="already exists"):
        await adapter.configure(spec_for("openrouter.key.create").call(KEY))
    assert {ex.request.method for ex in env.exchanges} == {"GET"}


@pytest.mark.anyio
async def test_a_name_shared_by_two_keys_is_refused_with_their_hashes(
    adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    def twins(request: httpx.Request, body: Any) -> Any:
        """Two keys with the canned key's name (Prism serves only one)."""
        if request.url.path == "/keys" and request.url.params.get("offset") == "0":
            twin = {**body["data"][0], "hash": "0" * 64}
            return {**body, "data": [*body["data"], twin]}
        return body

    env.edit_json = twins
    with pytest.raises(ValidationFailedError, match="2 keys are named") as err:
        await adapter.configure(spec_for("openrouter.key.disable").call(KEY))
    assert "hash" in err.value.hint and HASH[:12] in err.value.message


# -- forced errors -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_401_names_the_credential_variable(adapter: OpenRouterAdapter, env: SteeredTransport) -> None:
    env.steered("prefer:401")
    with pytest.raises(PlatformAuthError) as err:
        await adapter.configure(spec_for("openrouter.key.disable").call(KEY))
    assert "SOPHIA_OPENROUTER_TOKEN" in err.value.hint
    assert TOKEN not in json.dumps(err.value.to_dict())
    assert [ex.response.status_code for ex in env.exchanges] == [401]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_404_names_the_target(adapter: OpenRouterAdapter, env: SteeredTransport) -> None:
    env.steered(None, "prefer:404")  # the key is found, then the PATCH finds it gone
    with pytest.raises(NotFoundError) as err:
        await adapter.configure(spec_for("openrouter.key.disable").call(HASH))
    assert HASH in err.value.message and "openrouter.key.disable" in err.value.message
    assert sent(env.exchanges) == [("GET", f"/keys/{HASH}"), ("PATCH", f"/keys/{HASH}")]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_a_missing_hash_is_not_found_before_any_change(
    adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    env.steered("prefer:404")
    with pytest.raises(NotFoundError, match="key '" + "a" * 64 + "' not found"):
        await adapter.configure(spec_for("openrouter.key.set_limit").call("a" * 64, {"limit_usd": 5}))
    assert sent(env.exchanges) == [("GET", "/keys/" + "a" * 64)]


@pytest.mark.anyio
async def test_429_is_retried(adapter: OpenRouterAdapter, env: SteeredTransport) -> None:
    env.steered(None, None, "prefer:429")  # the list twice, then the PATCH is rate-limited once
    await adapter.configure(spec_for("openrouter.key.disable").call(KEY))
    patches = [ex.response.status_code for ex in env.exchanges if ex.request.method == "PATCH"]
    assert patches == [429, 200]
    assert len(adapter.sleep.waits) == 1  # type: ignore[union-attr]  # no Retry-After declared: backoff
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_429_that_persists_is_a_rate_limit_error(
    adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    env.steer = lambda request: "prefer:429"
    with pytest.raises(RateLimitedError) as err:
        await adapter.configure(spec_for("openrouter.key.disable").call(KEY))
    assert "openrouter" in err.value.message and "rate-limiting" in err.value.message
    assert len(env.exchanges) == 4, "the policy's attempt budget"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_5xx_storm_opens_the_breaker_and_status_shows_it(
    adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    env.steer = lambda request: "prefer:500"
    with pytest.raises(AdapterError) as err:
        await adapter.configure(spec_for("openrouter.key.disable").call(KEY))
    assert "openrouter" in err.value.message and "openrouter.key.disable" in err.value.message
    with pytest.raises(CircuitOpenError):
        await adapter.configure(spec_for("openrouter.key.enable").call(KEY))
    status = await adapter.get_status()
    assert not status.healthy and status.details["circuit"]["state"] == "open"
    assert {ex.request.method for ex in env.exchanges} == {"GET"}, "no change was attempted"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_a_create_that_times_out_is_not_sent_twice(
    adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    # POST /keys is not idempotent: after a timeout nobody knows whether the key exists, so the
    # client must not send it again (a second key); the error says so and names the action.
    env.steer = lambda request: "timeout" if request.method == "POST" else None
    with pytest.raises(AdapterError) as err:
        await adapter.configure(spec_for("openrouter.key.create").call("batch-jobs"))
    assert (
        "openrouter timed out (ReadTimeout) during openrouter.key.create on batch-jobs after 1 attempt"
        in (err.value.message)
    )
    assert "may have reached openrouter" in err.value.hint
    assert err.value.details["outcome"] == "unknown", "the executor settles it by read-back"
    assert [ex.request.method for ex in env.canned] == ["POST"], "sent once"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_a_read_that_times_out_is_retried(adapter: OpenRouterAdapter, env: SteeredTransport) -> None:
    env.steered("timeout")
    result = await adapter.configure(spec_for("openrouter.key.disable").call(HASH), dry_run=True)
    assert result.before is not None and len(env.canned) == 1 and len(adapter.sleep.waits) == 1  # type: ignore[union-attr]
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_truncated_json_is_a_clear_error(adapter: OpenRouterAdapter, env: SteeredTransport) -> None:
    cut = Canned(200, b'{"data": {"name": "batch-jo', {"content-type": "application/json"})
    env.steer = lambda request: cut
    with pytest.raises(AdapterError, match="malformed or truncated JSON") as err:
        await adapter.configure(spec_for("openrouter.key.disable").call(HASH))
    assert "openrouter" in err.value.message
    assert {ex.request.method for ex in env.canned} == {"GET"}, "nothing was changed"


# -- status --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_status_reports_keys_and_whether_the_key_can_manage_them(
    adapter: OpenRouterAdapter, env: SteeredTransport
) -> None:
    status = await adapter.get_status()
    assert status.healthy and status.configured
    assert status.inventory == {"key": [{"name": KEY, "hash": HASH, "disabled": False, "limit_usd": 100.0}]}
    assert status.details["management_key"] is False, "Prism's canned /key answer is an ordinary key"
    assert status.details["circuit"]["state"] == "closed"
    assert_no_request_violations(env.exchanges)


@pytest.mark.anyio
async def test_missing_credential_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, env: SteeredTransport, tmp_path: Path
) -> None:
    monkeypatch.delenv("SOPHIA_OPENROUTER_TOKEN")
    adapter = OpenRouterAdapter(transport=env, drop=SecretDrop(tmp_path))
    status = await adapter.get_status()
    await adapter.aclose()
    assert not status.configured and "SOPHIA_OPENROUTER_TOKEN" in status.message
    assert env.exchanges == []
