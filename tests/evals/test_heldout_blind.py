"""Shape checks for the blind held-out dataset ``evals/datasets/heldout_blind.jsonl``.

These tests check the file, not any parser: every case loads in the DESIGN.md format, ids are
unique ``hb-NNN``, every expected action exists in the catalog with params already in their
validated canonical form, built-in fields are well formed, inventories name real platform
resources, and the set covers every catalog platform and every intent.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from adapters.registry import catalog_platforms, spec_for
from adapters.specs._fields import normalize_time
from orchestrator.scoring.dataset import Case, load_cases
from orchestrator.state import Intent, ParsedCommand

__all__: list[str] = []

DATASET = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "heldout_blind.jsonl"
CHANGE_ID = re.compile(r"^chg_[0-9a-f]{12}$")
RUN_ID = re.compile(r"^run_[0-9a-f]{12}$")
#: Fields each non-action intent may carry (CATALOG.md, built-in intents; free text included).
ALLOWED_FIELDS: dict[str, set[str]] = {
    "status": {"platform", "target"},
    "history": {"platform", "target", "since"},
    "undo": {"change_id", "platform", "target", "since"},
    "freeze": {"environment", "until", "reason"},
    "unfreeze": {"environment", "reason"},
    "approve": {"run_id"},
    "reject": {"run_id", "reason"},
    "explain": {"change_id", "question"},
    "help": {"topic"},
    "clarify": {"message", "candidates"},
    "refuse": {"message"},
}


def _cases() -> list[Case]:
    return load_cases(DATASET)


CASES = _cases()


def _ids(case: Case) -> str:
    return case.id


def test_size_and_ids() -> None:
    """150 cases, ids hb-001 … hb-150 in order, none repeated."""
    ids = [c.id for c in CASES]
    assert len(ids) == 150
    assert ids == [f"hb-{n:03d}" for n in range(1, len(ids) + 1)]
    assert len(set(ids)) == len(ids)
    assert len({c.text for c in CASES}) == len(CASES), "a text appears twice"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_expect_is_a_parsed_command(case: Case) -> None:
    """Each ``expect`` is a valid ParsedCommand shape (no unknown fields, known intent)."""
    parsed = ParsedCommand.model_validate(case.expect)
    assert parsed.intent == Intent(case.expect["intent"])
    assert case.text.strip(), "empty text"


@pytest.mark.parametrize("case", [c for c in CASES if c.intent == "action"], ids=_ids)
def test_actions_exist_and_params_are_canonical(case: Case) -> None:
    """Every step names a catalog action, has its target if required, and canonical params."""
    steps: list[dict[str, Any]] = case.expect["actions"]
    assert steps, "an action case needs at least one step"
    assert set(case.expect) == {"intent", "actions"}
    for step in steps:
        assert set(step) == {"action", "target", "params"}
        spec = spec_for(step["action"])  # raises NotFoundError for an unknown action
        if spec.target_required:
            assert isinstance(step["target"], str) and step["target"].strip()
        assert spec.validate_params(step["params"]) == step["params"], "params not in canonical form"
        resource = step["action"].rsplit(".", 1)[0]
        known = case.inventory.get(resource)
        if known is not None:
            assert step["target"].lower() in {k.lower() for k in known}, (
                f"target {step['target']!r} is not in the case's {resource} inventory"
            )


@pytest.mark.parametrize("case", [c for c in CASES if c.intent != "action"], ids=_ids)
def test_builtin_fields(case: Case) -> None:
    """Non-action cases carry only their intent's fields, each well formed."""
    fields = {k: v for k, v in case.expect.items() if k != "intent"}
    assert "actions" not in fields
    assert set(fields) <= ALLOWED_FIELDS[case.intent], f"unexpected fields {set(fields)}"
    if "platform" in fields:
        assert fields["platform"] in catalog_platforms()
    if "target" in fields:
        assert "platform" in fields, "a target needs its platform"
    if "change_id" in fields:
        assert CHANGE_ID.match(fields["change_id"])
        assert fields["change_id"] in case.text
    if "run_id" in fields:
        assert RUN_ID.match(fields["run_id"])
        assert fields["run_id"] in case.text
    for name in ("since", "until"):
        if name in fields:
            assert normalize_time(fields[name]) == fields[name], f"{name} not in canonical time form"
    if case.intent == "undo":
        assert "change_id" in fields or "platform" in fields
    if case.intent in ("freeze", "unfreeze"):
        assert fields.get("environment")
    if case.intent == "freeze":
        assert fields.get("until")
    if case.intent in ("approve", "reject"):
        assert "run_id" in fields
    for candidate in fields.get("candidates", []):
        assert any(candidate in names for names in case.inventory.values())


@pytest.mark.parametrize("case", [c for c in CASES if c.inventory], ids=_ids)
def test_inventory_names_real_resources(case: Case) -> None:
    """Inventory keys are ``platform.resource`` for a catalog platform, with names listed."""
    for key, names in case.inventory.items():
        platform, _, resource = key.partition(".")
        assert platform in catalog_platforms() and resource, key
        assert names and all(isinstance(n, str) and n for n in names)


def test_coverage() -> None:
    """Every catalog platform and every intent appears; several multi-step plans are included."""
    intents = Counter(c.intent for c in CASES)
    assert set(intents) == {i.value for i in Intent}
    platforms = {
        step["action"].split(".", 1)[0] for c in CASES for step in c.expect.get("actions", [])
    }
    assert platforms == set(catalog_platforms())
    multi = [c for c in CASES if len(c.expect.get("actions", [])) > 1]
    assert len(multi) >= 8
    assert intents["refuse"] >= 10 and intents["clarify"] >= 10
