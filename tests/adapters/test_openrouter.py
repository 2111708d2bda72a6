"""OpenRouter adapter logic on answers captured from Prism serving OpenRouter's contract.

The requests are judged in tests/contract/test_openrouter_contract.py, and the conformance suite
(apply → read back → undo) runs in tests/contract/test_openrouter_conformance.py against Prism plus
a state model. These tests need neither: they take the vendor-shaped answers Prism served and
check, as plain functions, that each reversible action's derived inverse predicts the
before-state again from the prediction, and that plan-time checks refuse what can't work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.ai.openrouter import OpenRouterAdapter, key_state
from adapters.base import State
from adapters.catalog import ActionCall
from adapters.registry import adapter_class, spec_for
from orchestrator.config import Settings
from orchestrator.errors import NotFoundError, ValidationFailedError

#: GET /keys/{hash} → data, as Prism serves OpenRouter's contract.
CAPTURED_KEY: dict[str, Any] = {
    "byok_usage": 17.38,
    "byok_usage_daily": 17.38,
    "byok_usage_monthly": 17.38,
    "byok_usage_weekly": 17.38,
    "created_at": "2025-08-24T10:30:00Z",
    "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000",
    "disabled": False,
    "expires_at": "2027-12-31T23:59:59Z",
    "hash": "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943",
    "include_byok_in_limit": False,
    "label": "Production API Key",
    "limit": 100,
    "limit_remaining": 74.5,
    "limit_reset": "monthly",
    "name": "My Production Key",
    "updated_at": "2025-08-24T15:45:00Z",
    "usage": 25.5,
    "usage_daily": 25.5,
    "usage_monthly": 25.5,
    "usage_weekly": 25.5,
    "workspace_id": "0df9e665-d932-5740-b2c7-b52af166bc11",
}
BEFORE = key_state(CAPTURED_KEY)


@pytest.fixture
def adapter(tmp_path: Path) -> OpenRouterAdapter:
    return OpenRouterAdapter(Settings(home=tmp_path))


def round_trip(
    adapter: OpenRouterAdapter, call: ActionCall, before: State
) -> tuple[State, ActionCall, State]:
    """(prediction, derived inverse, the inverse's prediction from the first prediction)."""
    adapter.precheck(call, before)
    expected = adapter.predict(call, before)
    inverse = spec_for(call.action).derive_inverse(call, before, expected)
    assert inverse is not None, f"{call.action} is reversible"
    inverse = spec_for(inverse.action).call(inverse.target, inverse.params)
    adapter.precheck(inverse, expected)
    return expected, inverse, adapter.predict(inverse, expected)


def test_registered() -> None:
    assert adapter_class("openrouter") is OpenRouterAdapter


def test_key_state_from_the_captured_key() -> None:
    assert BEFORE == {
        "name": "My Production Key",
        "hash": CAPTURED_KEY["hash"],
        "disabled": False,
        "limit_usd": 100.0,
    }
    assert key_state({**CAPTURED_KEY, "limit": None, "disabled": True})["limit_usd"] is None


@pytest.mark.parametrize("limit", [250, "10 dollars", None, 0])
def test_set_limit_round_trips(adapter: OpenRouterAdapter, limit: object) -> None:
    call = spec_for("openrouter.key.set_limit").call("My Production Key", {"limit_usd": limit})
    expected, inverse, restored = round_trip(adapter, call, BEFORE)
    assert expected is not None and expected["limit_usd"] == call.params["limit_usd"]
    assert inverse.params == {"limit_usd": 100.0}
    assert restored == BEFORE


def test_an_unlimited_key_gets_its_limit_removed_again(adapter: OpenRouterAdapter) -> None:
    unlimited = {**BEFORE, "limit_usd": None}
    _, inverse, restored = round_trip(
        adapter, spec_for("openrouter.key.set_limit").call("k", {"limit_usd": 5}), unlimited
    )
    assert inverse.params == {"limit_usd": None} and restored == unlimited


def test_disable_and_enable_round_trip(adapter: OpenRouterAdapter) -> None:
    expected, inverse, restored = round_trip(adapter, spec_for("openrouter.key.disable").call("k"), BEFORE)
    assert expected is not None and expected["disabled"] is True
    assert inverse.action == "openrouter.key.enable" and restored == BEFORE
    off = {**BEFORE, "disabled": True}
    _, inverse, restored = round_trip(adapter, spec_for("openrouter.key.enable").call("k"), off)
    assert inverse.action == "openrouter.key.disable" and restored == off


def test_create_is_undone_by_disabling(adapter: OpenRouterAdapter) -> None:
    """OpenRouter keys are disabled, not deleted, by an undo (the catalog's inverse)."""
    call = spec_for("openrouter.key.create").call("batch-jobs", {"limit_usd": "$50"})
    expected, inverse, restored = round_trip(adapter, call, None)
    assert expected == {"name": "batch-jobs", "disabled": False, "limit_usd": 50.0}
    assert inverse == ActionCall(action="openrouter.key.disable", target="batch-jobs", params={})
    assert restored == {**expected, "disabled": True}


@pytest.mark.parametrize(
    ("action", "target", "before", "message"),
    [
        ("openrouter.key.create", "My Production Key", BEFORE, "already exists"),
        ("openrouter.key.create", "f" * 64, None, "can't look like a key hash"),
        ("openrouter.key.disable", "ghost", None, "key 'ghost' not found"),
        ("openrouter.key.disable", "k", {**BEFORE, "disabled": True}, "already disabled"),
        ("openrouter.key.enable", "k", BEFORE, "is not disabled"),
    ],
)
def test_precheck_refusals(
    adapter: OpenRouterAdapter, action: str, target: str, before: State, message: str
) -> None:
    with pytest.raises((ValidationFailedError, NotFoundError), match=message) as err:
        adapter.precheck(spec_for(action).call(target), before)
    assert isinstance(err.value, NotFoundError) == (before is None and action != "openrouter.key.create")
