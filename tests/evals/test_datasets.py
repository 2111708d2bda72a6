"""Every line of the bundled datasets is a valid case in canonical form, and together they cover
the catalog and every built-in intent. The held-out split shares no text with the examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.registry import all_specs, catalog_platforms, spec_for
from adapters.specs._fields import normalize_time
from orchestrator.parsing import extract as ex
from orchestrator.scoring.dataset import Case, load_cases
from orchestrator.state import Intent, ParsedCommand

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"
SPLITS = {"dev": DATASETS / "dev.jsonl", "heldout": DATASETS / "heldout.jsonl"}
FIELDS = set(ParsedCommand.model_fields) - {"parser", "confidence"}


def _all() -> list[tuple[str, Case]]:
    return [(split, case) for split, path in SPLITS.items() for case in load_cases(path)]


ALL = _all()


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_split_size(split: str) -> None:
    assert len(load_cases(SPLITS[split])) >= 160


def test_ids_unique_across_splits() -> None:
    ids = [case.id for _, case in ALL]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("split", "case"), ALL, ids=[c.id for _, c in ALL])
def test_case_is_canonical(split: str, case: Case) -> None:
    expect = case.expect
    assert set(expect) <= FIELDS, f"unknown fields {set(expect) - FIELDS}"
    ParsedCommand.model_validate(expect)
    for key, names in case.inventory.items():
        platform, _, resource = key.partition(".")
        assert platform in catalog_platforms() and resource, key
        assert names and all(isinstance(n, str) and n for n in names)
    intent = Intent(expect["intent"])
    if intent is Intent.ACTION:
        assert expect["actions"], "an action case needs at least one action"
        for step in expect["actions"]:
            assert set(step) == {"action", "target", "params"}
            spec = spec_for(step["action"])
            assert spec.validate_params(step["params"]) == step["params"], "params must be canonical"
            if spec.target_required:
                assert step["target"], f"{spec.id} needs a target"
            else:
                assert step["target"] is None
    else:
        assert "actions" not in expect
    if "platform" in expect:
        assert expect["platform"] in catalog_platforms()
    # ids are kept as the user wrote them (the store settles which record they name), and must be in the text
    if "change_id" in expect:
        assert expect["change_id"] in ex.change_ids(case.text)
    if "run_id" in expect:
        assert expect["run_id"] in ex.run_ids(case.text)
    for key in ("since", "until"):
        if key in expect:
            assert normalize_time(expect[key]) == expect[key], f"{key} must be canonical"
    if intent in (Intent.APPROVE, Intent.REJECT):
        assert "run_id" in expect
    if intent in (Intent.FREEZE, Intent.UNFREEZE):
        assert expect.get("environment")


def test_coverage() -> None:
    actions = {step["action"] for _, c in ALL for step in c.expect.get("actions", [])}
    missing = {s.id for s in all_specs()} - actions
    assert not missing, f"no case for {sorted(missing)}"
    intents = {c.intent for _, c in ALL}
    assert intents == {i.value for i in Intent}
    undo_kinds = {
        ("change_id" in c.expect, "platform" in c.expect, "since" in c.expect)
        for _, c in ALL if c.intent == "undo"
    }
    assert {(True, False, False), (False, True, False), (False, True, True)} <= undo_kinds
    assert any(c.inventory and c.intent == "action" for _, c in ALL), "inventory resolution"
    assert any(c.inventory and c.intent == "clarify" for _, c in ALL), "ambiguous target"
    assert any(len(c.expect.get("actions", [])) > 1 for _, c in ALL), "multi-step plans"
    assert any(c.intent == "refuse" and re.search(r"[\"'].*ignore", c.text, re.IGNORECASE) for _, c in ALL)


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_every_action_in_each_split(split: str) -> None:
    actions = {s["action"] for c in load_cases(SPLITS[split]) for s in c.expect.get("actions", [])}
    waiting = AWAITING_HELDOUT if split == "heldout" else frozenset()
    assert {s.id for s in all_specs()} - waiting <= actions
    assert not waiting & actions, "now in the held-out split: take them off AWAITING_HELDOUT"


#: Actions added after the held-out split was written (issue 14). Helpers may not read or edit
#: held-out files, so their cases must come from someone who has not seen the parser; until then
#: they are named here, and only for the held-out split.
AWAITING_HELDOUT = frozenset({
    "snowflake.schema.create", "snowflake.schema.drop", "snowflake.schema.undrop",
    "snowflake.user.create", "snowflake.user.drop", "snowflake.user.disable", "snowflake.user.enable",
    "snowflake.resource_monitor.create", "snowflake.resource_monitor.set_quota", "snowflake.resource_monitor.drop",
})


def test_heldout_never_copies_examples_or_dev() -> None:
    def norm(text: str) -> str:
        return re.sub(r"\W+", " ", text.lower()).strip()

    seen = {norm(e) for s in all_specs() for e in s.examples}
    seen |= {norm(c.text) for c in load_cases(SPLITS["dev"])}
    copied = [c.id for c in load_cases(SPLITS["heldout"]) if norm(c.text) in seen]
    assert not copied
