"""The policy dataset: command-level change + actor + context → expected decision and rule ids."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from policies.context import ActorInfo, ChangeInfo, Freeze, PolicyContext, RunInfo
from policies.engine import PolicyEngine
from policies.loader import load_engine
from policies.rules import BUILTINS

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "evals" / "datasets" / "policy.jsonl"
PACK_DIRS = (Path(__file__).parent / "packs", ROOT / "policies" / "packs")
DEFAULT_NOW = "2026-11-18T10:30:00Z"
CASES = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()]


def _pack_file(name: str) -> str:
    """A pack by name: the test packs first, then the opt-in packs shipped with sophia-iac."""
    return str(next(d / f"{name}.yaml" for d in PACK_DIRS if (d / f"{name}.yaml").is_file()))


@cache
def _engine(packs: tuple[str, ...]) -> PolicyEngine:
    return load_engine(os.pathsep.join(_pack_file(name) for name in packs))


def _context(case: dict[str, Any], engine: PolicyEngine) -> PolicyContext:
    change = ChangeInfo(**case["change"])
    actor = case["actor"]
    run = case.get("run", {})
    return PolicyContext(
        change=change,
        actor=ActorInfo(id=actor["id"], roles=tuple(actor["roles"]), groups=tuple(actor["groups"])),
        env=case.get("env") or engine.environments.resolve(change.platform, change.target),
        now=datetime.fromisoformat(case.get("now", DEFAULT_NOW)),
        run=RunInfo(id=case["id"], steps=run.get("steps", 1), surface=run.get("surface", "cli")),
        freezes=tuple(Freeze(**f) for f in case.get("freezes", [])),
        before=case.get("before"),
    )


def test_dataset_is_big_enough_and_covers_every_rule_and_tier() -> None:
    """≥ 60 cases; every built-in, every default-pack rule and every tier is exercised."""
    assert len(CASES) >= 60
    fired = Counter(rule for case in CASES for rule in case["expect"]["rules"])
    engine = _engine(tuple(sorted({p for case in CASES for p in case.get("packs", ())})))
    for rule in engine.rules:
        assert fired[rule.id] > 0, f"no case expects rule {rule.id}"
    builtins = {r.builtin for r in engine.rules if getattr(r, "builtin", "") and fired[r.id]}
    assert builtins == set(BUILTINS)
    effects = Counter(case["expect"]["effect"] for case in CASES)
    assert min(effects[e] for e in ("allow", "deny", "require_approval")) >= 10
    tiers = set()
    for case in CASES:
        eng = _engine(tuple(case.get("packs", ())))
        tiers.add(eng.tier(_context(case, eng)).value)
    assert tiers == {"read-only", "manual", "balanced", "auto"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_policy_case(case: dict[str, Any]) -> None:
    """The engine's decision matches the case: effect, rule ids, and approval details if given."""
    base = _engine(tuple(case.get("packs", ())))
    counted = case.get("recent_changes", 0)
    engine = base.with_counter(lambda actor, window: counted)
    decision = engine.evaluate(_context(case, engine))
    expect = case["expect"]
    got_rules = sorted({r["rule"] for r in decision.reasons})
    assert (decision.effect.value, got_rules) == (expect["effect"], expect["rules"]), decision.reasons
    for key in ("approvers", "min_approvals", "ttl_seconds", "four_eyes"):
        if key in expect:
            assert getattr(decision, key) == expect[key], key
    assert all(r["message"] for r in decision.reasons)
