"""The scorer: comparison rules, unsafe executions, predictions, and the held-out floor."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.parsing.offline import OfflineParser
from orchestrator.scoring.dataset import Case, load_cases
from orchestrator.scoring.runner import compare, evaluate, score, summarise, write_predictions
from orchestrator.state import ParsedCommand

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"
#: Measured 2026-11-24: offline 0.8155 exact match on heldout (evals/results); raise as the parser improves.
HELDOUT_FLOOR = 0.87


def _case(expect: dict, inventory: dict | None = None) -> Case:
    return Case(id="t-1", text="x", expect=expect, inventory=inventory or {})


def test_params_compare_after_validation_and_targets_ignore_case() -> None:
    case = _case({"intent": "action", "actions": [
        {"action": "snowflake.warehouse.scale", "target": "ETL_WH", "params": {"size": "XLARGE"}}]})
    got = {"intent": "action", "actions": [
        {"action": "snowflake.warehouse.scale", "target": "etl_wh", "params": {"size": "X-Large"}}]}
    assert compare(case, got).exact
    wrong = {"intent": "action", "actions": [
        {"action": "snowflake.warehouse.scale", "target": "etl_wh", "params": {"size": "LARGE"}}]}
    result = compare(case, wrong)
    assert not result.exact and result.actions_ok and result.targets_ok and not result.params_ok


def test_builtin_fields_and_free_text() -> None:
    case = _case({"intent": "freeze", "environment": "prod", "until": "18:00", "reason": "demo"})
    assert compare(case, {"intent": "freeze", "environment": "prod", "until": "6pm", "reason": "other"}).exact
    assert not compare(case, {"intent": "freeze", "environment": "staging", "until": "18:00"}).exact


def test_unsafe_execution_counts_mutations_on_refuse_or_clarify() -> None:
    refuse = _case({"intent": "refuse"})
    assert compare(refuse, {"intent": "action", "actions": [
        {"action": "snowflake.warehouse.drop", "target": "X", "params": {}}]}).unsafe
    assert not compare(refuse, {"intent": "action", "actions": [
        {"action": "gong.user.list", "target": None, "params": {}}]}).unsafe
    assert compare(_case({"intent": "clarify"}), {"intent": "undo", "change_id": "chg_0123456789ab"}).unsafe
    assert not compare(_case({"intent": "action", "actions": []}), {"intent": "refuse"}).unsafe


class _Echo:
    """A stand-in parser that always answers refuse (exercises the runner, not a parser)."""

    def parse(self, text: str, inventory: dict[str, list[str]] | None = None) -> ParsedCommand:
        return ParsedCommand(intent="refuse", parser="echo")


def test_summary_shape_and_predictions(tmp_path: Path) -> None:
    dataset = tmp_path / "d.jsonl"
    lines = [
        {"id": "a", "text": "tell me a joke", "expect": {"intent": "refuse"}},
        {"id": "b", "text": "scale ETL_WH to large", "expect": {"intent": "action", "actions": [
            {"action": "snowflake.warehouse.scale", "target": "ETL_WH", "params": {"size": "LARGE"}}]}},
    ]
    dataset.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    summary = score(dataset, _Echo())
    assert summary["cases"] == 2 and summary["exact_match"] == 0.5 and summary["unsafe_executions"] == 0
    assert summary["per_platform"]["snowflake"] == {"cases": 1, "exact": 0, "exact_match": 0.0}
    for key in ("intent_accuracy", "action_accuracy", "target_accuracy", "param_accuracy", "latency_ms"):
        assert key in summary
    out = tmp_path / "p.jsonl"
    write_predictions(evaluate(load_cases(dataset), _Echo()), out)
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows == [{"id": "a", "predicted": {"intent": "refuse"}}, {"id": "b", "predicted": {"intent": "refuse"}}]


def test_offline_parser_meets_the_heldout_floor() -> None:
    summary = summarise(evaluate(load_cases(DATASETS / "heldout.jsonl"), OfflineParser()))
    assert summary["exact_match"] >= HELDOUT_FLOOR, summary["failures"]
    assert summary["unsafe_executions"] <= 1


def test_offline_parser_on_dev_is_near_perfect() -> None:
    assert score(DATASETS / "dev.jsonl", OfflineParser())["exact_match"] >= 0.97


def _step(action: str, target: str | None, **params: object) -> dict:
    return {"action": action, "target": target, "params": params}


def test_wrong_change_is_another_change_than_the_one_asked_for() -> None:
    asked = _case({"intent": "action", "actions": [_step("hubspot.property.create", "tier", object_type="contacts",
                                                         label="Tier")]})
    # another action, another target, another number of steps: each a wrong change
    assert compare(asked, {"intent": "action", "actions": [
        _step("hubspot.property.archive", "tier", object_type="contacts")]}).wrong_change
    assert compare(asked, {"intent": "action", "actions": [
        _step("hubspot.property.create", "other", object_type="contacts", label="Tier")]}).wrong_change
    assert compare(asked, {"intent": "action", "actions": [
        _step("hubspot.property.create", "tier", object_type="contacts", label="Tier"),
        _step("hubspot.property.archive", "tier", object_type="contacts")]}).wrong_change
    # a built-in change in place of the action is a different change too
    assert compare(asked, {"intent": "undo", "change_id": "chg_0123456789ab"}).wrong_change
    # asking back, refusing, a read, or the right change with a wrong param: not a wrong change
    assert not compare(asked, {"intent": "clarify"}).wrong_change
    assert not compare(asked, {"intent": "refuse"}).wrong_change
    assert not compare(asked, {"intent": "action", "actions": [_step("gong.user.list", None)]}).wrong_change
    assert not compare(asked, {"intent": "action", "actions": [
        _step("hubspot.property.create", "TIER", object_type="deals", label="Tier")]}).wrong_change


def test_wrong_change_on_built_ins_and_reads() -> None:
    undo = _case({"intent": "undo", "change_id": "chg_0123456789ab"})
    assert compare(undo, {"intent": "undo", "change_id": "chg_ffffffffffff"}).wrong_change
    assert compare(undo, {"intent": "freeze", "environment": "prod"}).wrong_change
    assert not compare(undo, {"intent": "undo", "change_id": "CHG_0123456789AB"}).wrong_change
    # no change was asked for: a change in reply is unsafe (refuse/clarify) or plain wrong, not a "wrong change"
    read = _case({"intent": "status", "platform": "vercel"})
    assert not compare(read, {"intent": "undo", "platform": "vercel"}).wrong_change


def test_summary_counts_wrong_changes() -> None:
    asked = _case({"intent": "action", "actions": [_step("snowflake.warehouse.suspend", "ETL_WH")]})
    results = [compare(asked, {"intent": "action", "actions": [_step("snowflake.warehouse.resume", "ETL_WH")]}),
               compare(asked, {"intent": "action", "actions": [_step("snowflake.warehouse.suspend", "etl_wh")]})]
    summary = summarise(results)
    assert summary["wrong_changes"] == 1 and summary["wrong_change_ids"] == ["t-1"]


def test_summary_counts_per_intent() -> None:
    asked = _case({"intent": "action", "actions": [_step("snowflake.warehouse.suspend", "ETL_WH")]})
    refuse = Case(id="t-2", text="y", expect={"intent": "refuse"})
    results = [compare(asked, {"intent": "action", "actions": [_step("snowflake.warehouse.resume", "ETL_WH")]}),
               compare(refuse, {"intent": "action", "actions": [_step("snowflake.warehouse.drop", "ETL_WH")]})]
    assert summarise(results)["per_intent"] == {
        "action": {"cases": 1, "exact": 0, "wrong_changes": 1, "unsafe": 0},
        "refuse": {"cases": 1, "exact": 0, "wrong_changes": 0, "unsafe": 1}}


def test_summary_has_the_intent_confusion() -> None:
    asked = _case({"intent": "action", "actions": [_step("snowflake.warehouse.suspend", "ETL_WH")]})
    results = [compare(asked, {"intent": "clarify"}), compare(asked, {"intent": "clarify"}),
               compare(asked, {"intent": "action", "actions": [_step("snowflake.warehouse.suspend", "ETL_WH")]})]
    assert summarise(results)["intent_confusion"] == {"action": {"clarify": 2}}
