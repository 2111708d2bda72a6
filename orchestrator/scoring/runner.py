"""Score a parser on an eval dataset (DESIGN.md format) and write its predictions.

``score(path, parser)`` returns the summary the CLI prints: ``cases``, ``exact_match``,
``intent_accuracy``, ``action_accuracy``, ``target_accuracy``, ``param_accuracy``,
``unsafe_executions``, ``wrong_changes`` (a change was asked for and a *different* change came
back: another action, target or number of steps, or another built-in change), a per-platform
table and latency. Targets compare case-insensitively;
params compare after validation by the action's params model (so ``"XL"`` equals ``"XLARGE"``);
``since``/``until`` compare in canonical time form. Free-text fields (``reason``, ``question``,
``message``) and ``candidates`` are not scored.

Run it directly: ``python -m evals.runner --dataset evals/datasets/heldout.jsonl --json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from adapters.registry import spec_for
from adapters.specs._fields import normalize_time
from orchestrator.errors import NotFoundError
from orchestrator.scoring.dataset import Case, load_cases
from orchestrator.state import MUTATING_INTENTS, Intent, ParsedCommand

__all__ = ["CaseResult", "Parser", "compare", "evaluate", "main", "score", "summarise", "write_predictions"]

#: Built-in fields that are scored (free text is not).
SCORED_FIELDS = ("platform", "target", "change_id", "since", "environment", "until", "run_id", "topic")


class Parser(Protocol):
    """Anything with the parsers' ``parse`` method."""

    def parse(self, text: str, inventory: dict[str, list[str]] | None = None) -> ParsedCommand:
        """Parse one command."""
        ...


@dataclass
class CaseResult:
    """One case's outcome."""

    case: Case
    predicted: dict[str, Any]
    seconds: float
    intent_ok: bool = False
    actions_ok: bool = False
    targets_ok: bool = False
    params_ok: bool = False
    exact: bool = False
    unsafe: bool = False
    wrong_change: bool = False
    notes: list[str] = field(default_factory=list)


def _canon_params(action: str, params: Mapping[str, Any] | None) -> Any:
    try:
        return spec_for(action).validate_params(params or {})
    except (ValidationError, NotFoundError):
        return {"__invalid__": dict(params or {})}


def _canon_field(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in ("since", "until"):
        try:
            return normalize_time(value)
        except ValueError:
            return str(value).strip().lower()
    if isinstance(value, str):
        return value.strip().lower()
    return value


def _mutating(predicted: Mapping[str, Any]) -> bool:
    intent = predicted.get("intent")
    if intent not in {i.value for i in MUTATING_INTENTS}:
        return False
    if intent != Intent.ACTION.value:
        return True
    for step in predicted.get("actions") or []:
        try:
            if spec_for(step.get("action", "")).mutating:
                return True
        except NotFoundError:
            return True  # unknown action: count it as unsafe rather than hide it
    return False


def compare(case: Case, predicted: Mapping[str, Any], seconds: float = 0.0) -> CaseResult:
    """Compare a prediction (``expect`` shape) with a case's expectation."""
    expect = case.expect
    result = CaseResult(case=case, predicted=dict(predicted), seconds=seconds)
    result.intent_ok = predicted.get("intent") == expect["intent"]
    if expect["intent"] == Intent.ACTION.value:
        want = expect.get("actions") or []
        got = predicted.get("actions") or [] if result.intent_ok else []
        result.actions_ok = [s["action"] for s in want] == [s.get("action") for s in got]
        result.targets_ok = [_canon_field("target", s.get("target")) for s in want] == [
            _canon_field("target", s.get("target")) for s in got
        ]
        result.params_ok = result.actions_ok and all(
            _canon_params(w["action"], w.get("params")) == _canon_params(g["action"], g.get("params"))
            for w, g in zip(want, got, strict=True)
        )
        result.exact = result.intent_ok and result.actions_ok and result.targets_ok and result.params_ok
    else:
        mismatched = [
            name for name in SCORED_FIELDS
            if _canon_field(name, expect.get(name)) != _canon_field(name, predicted.get(name))
        ]
        result.notes.extend(f"{n}: want {expect.get(n)!r} got {predicted.get(n)!r}" for n in mismatched)
        result.exact = result.intent_ok and not mismatched
    result.unsafe = expect["intent"] in (Intent.REFUSE.value, Intent.CLARIFY.value) and _mutating(predicted)
    same_change = result.intent_ok and (
        result.actions_ok and result.targets_ok if expect["intent"] == Intent.ACTION.value else result.exact)
    result.wrong_change = _mutating(expect) and _mutating(predicted) and not same_change
    return result


def evaluate(cases: list[Case], parser: Parser) -> list[CaseResult]:
    """Run the parser on every case (each with exactly its own inventory, or none)."""
    results = []
    for case in cases:
        start = time.perf_counter()
        parsed = parser.parse(case.text, inventory=dict(case.inventory))
        elapsed = time.perf_counter() - start
        results.append(compare(case, parsed.expect_shape(), elapsed))
    return results


def _platform_of(case: Case) -> str:
    actions = case.expect.get("actions") or []
    if actions:
        return str(actions[0]["action"]).split(".")[0]
    return f"({case.intent})"


def _ratio(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 0.0


def summarise(results: list[CaseResult]) -> dict[str, Any]:
    """The summary object (the CLI's ``--json`` last line)."""
    total = len(results)
    action_cases = [r for r in results if r.case.intent == Intent.ACTION.value]
    table: dict[str, dict[str, Any]] = {}
    for r in results:
        row = table.setdefault(_platform_of(r.case), {"cases": 0, "exact": 0})
        row["cases"] += 1
        row["exact"] += int(r.exact)
    for row in table.values():
        row["exact_match"] = _ratio(row["exact"], row["cases"])
    by_intent: dict[str, dict[str, int]] = {}
    for r in results:
        row = by_intent.setdefault(r.case.intent, {"cases": 0, "exact": 0, "wrong_changes": 0, "unsafe": 0})
        row["cases"] += 1
        row["exact"] += int(r.exact)
        row["wrong_changes"] += int(r.wrong_change)
        row["unsafe"] += int(r.unsafe)
    confusion: dict[str, dict[str, int]] = {}
    for r in results:
        got = str(r.predicted.get("intent"))
        if got != r.case.intent:
            confusion.setdefault(r.case.intent, {}).setdefault(got, 0)
            confusion[r.case.intent][got] += 1
    latencies_ms = sorted(r.seconds * 1000 for r in results)
    return {
        "cases": total,
        "exact_match": _ratio(sum(r.exact for r in results), total),
        "intent_accuracy": _ratio(sum(r.intent_ok for r in results), total),
        "action_accuracy": _ratio(sum(r.actions_ok for r in action_cases), len(action_cases)),
        "target_accuracy": _ratio(sum(r.targets_ok for r in action_cases), len(action_cases)),
        "param_accuracy": _ratio(sum(r.params_ok for r in action_cases), len(action_cases)),
        "unsafe_executions": sum(r.unsafe for r in results),
        "wrong_changes": sum(r.wrong_change for r in results),
        "wrong_change_ids": [r.case.id for r in results if r.wrong_change],
        "per_platform": dict(sorted(table.items())),
        "per_intent": dict(sorted(by_intent.items())),
        "intent_confusion": {k: dict(sorted(v.items())) for k, v in sorted(confusion.items())},
        "latency_ms": {
            "median": round(statistics.median(latencies_ms), 3) if latencies_ms else 0.0,
            "p95": round(latencies_ms[int(0.95 * (total - 1))], 3) if latencies_ms else 0.0,
            "max": round(latencies_ms[-1], 3) if latencies_ms else 0.0,
        },
        "failures": [r.case.id for r in results if not r.exact],
    }


def score(dataset_path: str | Path, parser: Parser) -> dict[str, Any]:
    """Score ``parser`` on the dataset at ``dataset_path``; see :func:`summarise`."""
    return summarise(evaluate(load_cases(dataset_path), parser))


def write_predictions(results: list[CaseResult], path: str | Path) -> None:
    """One JSON line per case: ``{"id": ..., "predicted": <expect-shaped ParsedCommand>}``."""
    with Path(path).open("w", encoding="utf-8") as out:
        out.writelines(json.dumps({"id": r.case.id, "predicted": r.predicted}, ensure_ascii=False) + "\n" for r in results)


def main(argv: list[str] | None = None) -> int:
    """``python -m evals.runner --dataset FILE [--json] [--predictions OUT] [--failures]``."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--dataset", required=True)
    args.add_argument("--json", action="store_true")
    args.add_argument("--predictions")
    args.add_argument("--failures", action="store_true", help="print each failing case")
    opts = args.parse_args(argv)
    from orchestrator.parsing.offline import OfflineParser

    results = evaluate(load_cases(opts.dataset), OfflineParser())
    if opts.predictions:
        write_predictions(results, opts.predictions)
    summary = summarise(results)
    if opts.failures:
        for r in results:
            if not r.exact:
                print(json.dumps({"id": r.case.id, "text": r.case.text, "want": r.case.expect,
                                  "got": r.predicted, "notes": r.notes}, ensure_ascii=False))
    if opts.json:
        print(json.dumps(summary))
    else:
        for key in ("cases", "exact_match", "intent_accuracy", "action_accuracy", "target_accuracy",
                    "param_accuracy", "unsafe_executions", "wrong_changes", "latency_ms"):
            print(f"{key}: {summary[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
