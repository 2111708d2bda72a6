"""Portkey adapter logic on answers captured from Prism serving Portkey's contract.

The requests are judged in tests/contract/test_portkey_contract.py, and the conformance suite
(apply → read back → undo) runs in tests/contract/test_portkey_conformance.py against Prism plus
a state model. These tests need neither: they take the vendor-shaped answers Prism served and
check, as plain functions, that each reversible action's derived inverse predicts the
before-state again from the prediction, and that plan-time checks refuse what can't work.
"""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.ai.keydrop import SecretDrop
from adapters.ai.portkey import PortkeyAdapter, config_state, key_state, routed_config
from adapters.base import State
from adapters.catalog import ActionCall
from adapters.credentials import SCRUBBER
from adapters.registry import adapter_class, spec_for
from orchestrator.config import Settings
from orchestrator.errors import NotFoundError, ValidationFailedError

#: GET /api-keys → data[0], as Prism serves Portkey's contract.
CAPTURED_KEY: dict[str, Any] = {
    "id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
    "key": "Xk*******S4",
    "name": "Development API Key",
    "description": "API key for development environment",
    "type": "organisation-service",
    "organisation_id": "a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d",
    "workspace_id": "ws-myworkspace",
    "user_id": "c3d4e5f6-a7b8-6c7d-0e1f-2a3b4c5d6e7f",
    "status": "active",
    "created_at": "2023-09-15T10:30:00Z",
    "last_updated_at": "2023-09-15T10:30:00Z",
    "creation_mode": "ui",
    "rate_limits": [{"type": "requests", "unit": "rpm", "value": 100}],
    "usage_limits": {"credit_limit": 10, "periodic_reset": "monthly", "alert_threshold": 8},
    "reset_usage": 0,
    "scopes": ["completions.write"],
    "defaults": {"metadata": {"environment": "development", "team": "backend"}, "config_id": "config-abc"},
    "alert_emails": ["foo@bar.com"],
    "expires_at": "2019-08-24T14:15:22Z",
    "object": "api-key",
}
#: GET /configs/pc-pplx-c-ca7a87 → data.config, as Prism serves it.
CAPTURED_CONFIG: dict[str, Any] = {
    "retry": {"attempts": 5, "on_status_codes": [429, 529]},
    "cache": {"mode": "simple", "max_age": 3600},
    "strategy": {"mode": "fallback"},
    "targets": [
        {"provider": "openai", "virtual_key": "main-258f4d"},
        {"provider": "azure-openai", "virtual_key": "azure-test-4110dd"},
    ],
}
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def adapter(tmp_path: Path) -> PortkeyAdapter:
    return PortkeyAdapter(Settings(home=tmp_path))


def live(**changes: Any) -> dict[str, Any]:
    return {**CAPTURED_KEY, "expires_at": None, **changes}


def comparable(state: State) -> State:
    return None if state is None else {k: v for k, v in state.items() if k != "id"}


def round_trip(
    adapter: PortkeyAdapter, call: ActionCall, before: State
) -> tuple[State, ActionCall | None, State]:
    """(prediction, derived inverse, the inverse's prediction from the first prediction)."""
    spec = spec_for(call.action)
    call = spec.call(call.target, call.params)
    adapter.precheck(call, before)
    expected = adapter.predict(call, before)
    inverse = spec.derive_inverse(call, before, expected)
    if inverse is None:
        return expected, None, None
    inverse = spec_for(inverse.action).call(inverse.target, inverse.params)
    adapter.precheck(inverse, expected)
    return expected, inverse, adapter.predict(inverse, expected)


def test_registered() -> None:
    assert adapter_class("portkey") is PortkeyAdapter


def test_key_state_reads_expiry_as_disabled_and_the_rotation_tag() -> None:
    assert key_state(CAPTURED_KEY, NOW) == {
        "name": "Development API Key",
        "id": CAPTURED_KEY["id"],
        "status": "disabled",
        "expires_at": None,
        "rotated_from": None,
    }
    future = live(
        expires_at="2027-01-01T00:00:00.000Z",
        status="exhausted",
        description="ci key [rotated from 0b7e2d4c-5a6f-4e3d-9c8b-7a6f5e4d3c2b]",
    )
    assert key_state(future, NOW) == {
        "name": "Development API Key",
        "id": CAPTURED_KEY["id"],
        "status": "exhausted",
        "expires_at": "2027-01-01T00:00:00Z",
        "rotated_from": "0b7e2d4c-5a6f-4e3d-9c8b-7a6f5e4d3c2b",
    }


def test_config_state_from_the_captured_body() -> None:
    assert config_state("Pplx Cache Test", "pc-pplx-c-ca7a87", CAPTURED_CONFIG) == {
        "name": "Pplx Cache Test",
        "slug": "pc-pplx-c-ca7a87",
        "fallback": ["main-258f4d", "azure-test-4110dd"],
        "loadbalance": None,
        "retry": 5,
    }


@pytest.mark.parametrize(
    "params",
    [
        {"loadbalance": {"main-258f4d": 3, "anthropic": 1}},
        {"fallback": "anthropic, azure-test-4110dd"},
        {"retry": 0},
        {"fallback": ["openai"], "retry": 1},
    ],
)
def test_config_update_and_its_inverse_round_trip_through_the_body(
    adapter: PortkeyAdapter, params: dict[str, Any]
) -> None:
    before = config_state("Pplx Cache Test", "pc-pplx-c-ca7a87", CAPTURED_CONFIG)
    call = spec_for("portkey.config.update").call("Pplx Cache Test", params)
    expected, inverse, restored = round_trip(adapter, call, before)
    changed = routed_config(copy.deepcopy(CAPTURED_CONFIG), call.params)
    assert config_state("Pplx Cache Test", "pc-pplx-c-ca7a87", changed) == expected, (
        "the body says what predict says"
    )
    assert changed["cache"] == CAPTURED_CONFIG["cache"], "sections the action doesn't own are kept"
    assert inverse is not None and inverse.params["replace"] is True
    back = routed_config(changed, inverse.params)
    assert config_state("Pplx Cache Test", "pc-pplx-c-ca7a87", back) == before == restored
    assert [t.get("virtual_key") for t in back["targets"]] == ["main-258f4d", "azure-test-4110dd"]


def test_config_inverse_removes_a_retry_that_was_not_there(adapter: PortkeyAdapter) -> None:
    body = {k: v for k, v in CAPTURED_CONFIG.items() if k != "retry"}
    before = config_state("c", "c", body)
    call = spec_for("portkey.config.update").call("c", {"retry": 3})
    expected, inverse, restored = round_trip(adapter, call, before)
    assert expected is not None and expected["retry"] == 3 and restored == before
    assert inverse is not None
    assert "retry" not in routed_config(routed_config(body, call.params), inverse.params)


@pytest.mark.parametrize("expiry", [None, "2027-03-01T00:00:00Z"])
def test_disable_then_its_inverse_restores_status_and_expiry(
    adapter: PortkeyAdapter, expiry: str | None
) -> None:
    before = key_state(live(expires_at=expiry), NOW)
    expected, inverse, restored = round_trip(
        adapter, spec_for("portkey.api_key.disable").call("Development API Key"), before
    )
    assert expected is not None and expected["status"] == "disabled" and expected["expires_at"] is None
    assert inverse is not None and inverse.params == ({"expires_at": expiry} if expiry else {})
    assert restored == before


def test_enable_then_disable_round_trip(adapter: PortkeyAdapter) -> None:
    before = key_state(CAPTURED_KEY, NOW)  # expired in 2019: disabled
    expected, inverse, restored = round_trip(
        adapter, spec_for("portkey.api_key.enable").call("Development API Key"), before
    )
    assert expected is not None and expected["status"] == "active" and expected["expires_at"] is None
    assert inverse is not None and inverse.action == "portkey.api_key.disable"
    assert comparable(restored) == comparable(before), "disabled again: the same state"


def test_create_is_undone_by_disabling(adapter: PortkeyAdapter) -> None:
    """Portkey keys are disabled, not deleted, by an undo: the name is free again, the key stays."""
    expected, inverse, restored = round_trip(
        adapter, spec_for("portkey.api_key.create").call("support-bot"), None
    )
    assert expected == {"name": "support-bot", "status": "active", "expires_at": None, "rotated_from": None}
    assert inverse == ActionCall(action="portkey.api_key.disable", target="support-bot", params={})
    assert restored is not None and restored["status"] == "disabled"
    with pytest.raises(ValidationFailedError, match="already exists"):
        adapter.precheck(spec_for("portkey.api_key.create").call("support-bot"), expected)
    adapter.precheck(
        spec_for("portkey.api_key.create").call("support-bot"), restored
    )  # a disabled name is free


def test_budget_round_trip_and_whole_dollars(adapter: PortkeyAdapter) -> None:
    before = {
        "name": "Test prod workspace",
        "kind": "workspace",
        "id": "test-prod-ws-12345",
        "limit_usd": 10.0,
        "limit_type": "cost",
    }
    call = spec_for("portkey.budget.set").call("research", {"limit_usd": "1.5k"})
    expected, inverse, restored = round_trip(adapter, call, before)
    assert expected is not None and expected["limit_usd"] == 1500.0
    assert inverse == ActionCall(action="portkey.budget.set", target="research", params={"limit_usd": 10.0})
    assert restored == before
    for bad in (0.5, 12.25):
        with pytest.raises(ValidationFailedError, match="whole dollars"):
            adapter.precheck(spec_for("portkey.budget.set").call("research", {"limit_usd": bad}), before)
    with pytest.raises(ValidationFailedError, match="tokens usage limit"):
        adapter.precheck(
            spec_for("portkey.budget.set").call("research", {"limit_usd": 5}),
            {**before, "limit_usd": None, "limit_type": "tokens"},
        )


def test_budget_without_a_previous_limit_has_no_inverse(adapter: PortkeyAdapter) -> None:
    before = {"name": "growth", "kind": "workspace", "id": "ws-1", "limit_usd": None, "limit_type": None}
    _, inverse, _ = round_trip(
        adapter, spec_for("portkey.budget.set").call("growth", {"limit_usd": 100}), before
    )
    assert inverse is None


def test_rotate_predicts_a_new_key_replacing_the_old(adapter: PortkeyAdapter) -> None:
    before = key_state(live(), NOW)
    expected, inverse, _ = round_trip(
        adapter, spec_for("portkey.api_key.rotate").call("Development API Key"), before
    )
    assert expected == {
        "name": "Development API Key",
        "status": "active",
        "expires_at": None,
        "rotated_from": CAPTURED_KEY["id"],
    }
    assert inverse is None
    assert adapter.reached(
        spec_for("portkey.api_key.rotate").call("x"),
        expected,
        key_state(
            live(
                id="183f497a-2a7f-4f47-992e-26213fa863ee",
                description=f"d [rotated from {CAPTURED_KEY['id']}]",
            ),
            NOW,
        ),
    )
    assert not adapter.reached(spec_for("portkey.api_key.rotate").call("x"), expected, before), (
        "the old key still active is not a rotation"
    )


@pytest.mark.parametrize(
    ("action", "state", "message"),
    [
        ("portkey.api_key.disable", None, "API key 'thing' not found"),
        ("portkey.api_key.rotate", "disabled", "already disabled"),
        ("portkey.api_key.disable", "disabled", "already disabled"),
        ("portkey.api_key.enable", "active", "is not disabled"),
        ("portkey.config.update", None, "config 'thing' not found"),
        ("portkey.budget.set", None, "workspace or API key 'thing' not found"),
    ],
)
def test_precheck_refusals(adapter: PortkeyAdapter, action: str, state: str | None, message: str) -> None:
    params = (
        {"retry": 1} if action.endswith("config.update") else {"limit_usd": 5} if "budget" in action else {}
    )
    before = None if state is None else {**key_state(live(), NOW), "status": state}
    with pytest.raises((ValidationFailedError, NotFoundError), match=message) as err:
        adapter.precheck(spec_for(action).call("thing", params), before)
    assert isinstance(err.value, NotFoundError) == (state is None), "a missing target is 'not found'"


def test_secret_drop_is_private_and_registers_the_value(tmp_path: Path) -> None:
    drop = SecretDrop(tmp_path / "secrets")
    value = "pk-live-very-secret-value-0001"
    ref = drop.put("portkey", "support bot/../x", "183f497a-2a7f", value)
    path = Path(ref.removeprefix("file:"))
    assert path.parent == tmp_path / "secrets", "names can't climb out of the drop"
    assert path.read_text() == value + "\n"
    assert os.stat(path).st_mode & 0o777 == 0o600 and os.stat(path.parent).st_mode & 0o777 == 0o700
    assert value not in SCRUBBER.scrub(f"oops {value}")
    drop.discard(ref)
    assert not path.exists()
