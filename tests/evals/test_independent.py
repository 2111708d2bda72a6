"""The independent split ``evals/datasets/independent.jsonl`` (issue 16): its shape, and the floors.

Written by three helpers who never saw the parser, its lexicon, its prompts or the other splits
(each had CATALOG.md, the catalog without examples, the eval format and a fictional company's
inventory). It is frozen: these tests check the file and hold the parsers to their measured
figures; nobody tuning the parser reads its cases, only the per-intent counts the scorer prints.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from adapters.registry import spec_for
from orchestrator.parsing.offline import OfflineParser
from orchestrator.scoring.dataset import load_cases
from orchestrator.scoring.runner import score
from orchestrator.state import Intent

DATASET = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "independent.jsonl"
#: Measured 2026-12-07 before any parser change (evals/results/2026-12-07-independent-offline.json):
#: 0.475 exact, 16 wrong changes, 5 unsafe executions. After ids in any shape: 0.571; out-of-scope refusals: 0.596; plain reads: 0.607; pasted built-ins: 0.617; names, pronouns, titles: 0.625 (wrong changes 14); one change in two clauses, colon names: 0.628; gapping, filler, spoken names: 0.632 (wrong 13); status by kind: 0.636; teams, bug titles, stages: 0.654; more out-of-scope kinds: 0.654.
#: Floors: raise exact, lower the ceilings, never the reverse.
OFFLINE_EXACT_FLOOR = 0.653
OFFLINE_MAX_WRONG_CHANGES = 13
OFFLINE_MAX_UNSAFE = 5


def test_shape_ids_and_catalog() -> None:
    cases = load_cases(DATASET)
    assert len(cases) >= 250
    assert all(re.fullmatch(r"ind-[abc]-\d{3}", c.id) for c in cases)
    for case in cases:
        for step in case.expect.get("actions") or []:
            spec_for(step["action"]).validate_params(step.get("params") or {})


def test_every_intent_and_the_registers_asked_for() -> None:
    cases = load_cases(DATASET)
    intents = Counter(c.intent for c in cases)
    assert set(intents) == {i.value for i in Intent}
    n = len(cases)
    multi = sum(len(c.expect.get("actions") or []) > 1 for c in cases)
    assert 0.08 * n <= multi and 0.08 * n <= intents["clarify"] and 0.08 * n <= intents["refuse"]


def test_offline_parser_holds_its_measured_figures() -> None:
    summary = score(DATASET, OfflineParser())
    assert summary["exact_match"] >= OFFLINE_EXACT_FLOOR, summary["per_intent"]
    assert summary["wrong_changes"] <= OFFLINE_MAX_WRONG_CHANGES, summary["per_intent"]
    assert summary["unsafe_executions"] <= OFFLINE_MAX_UNSAFE, summary["per_intent"]
