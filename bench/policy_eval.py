"""Policy evaluation cost: median µs per change with the default pack, and with 200 rules.

Run from the project root: ``python bench/policy_eval.py [--n 5000]``. The 200-rule chain is
the default pack plus generated CEL rules of the usual shapes (action, target glob, params
with ``has()``, actor groups, env), so every rule's ``when`` is evaluated for every change.
A third line times what check_policy pays per one-step plan: the gate reading active freezes
and the identity's change count from a SQLite store, then the default pack.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.context import ActorInfo, ChangeInfo, PolicyContext, RunInfo
from policies.engine import PolicyEngine
from policies.loader import DEFAULT_PACK, load_pack

SHAPES = [
    "change.action == 'snowflake.warehouse.{i}' && env == 'prod'",
    "glob(change.target, 'TEAM{i}_*') && change.risk != 'read'",
    "has(change.params.limit_usd) && change.params.limit_usd > {i}",
    "actor.groups.exists(g, g == 'team-{i}') && change.platform == 'vercel'",
    "run.steps > {i} && change.risk == 'destructive'",
]


def generated_pack(count: int) -> str:
    """A pack of ``count`` CEL rules cycling through :data:`SHAPES`."""
    lines = ["pack: bench", "version: 1", "rules:"]
    for i in range(count):
        when = SHAPES[i % len(SHAPES)].format(i=i + 1000)
        effect = ("require_approval", "deny", "allow")[i % 3]
        lines += [f"  - id: bench-{i}", f'    when: "{when}"', f"    effect: {effect}"]
    return "\n".join(lines) + "\n"


def median_us(engine: PolicyEngine, ctx: PolicyContext, n: int) -> float:
    """Median wall time of one ``evaluate`` in µs over ``n`` runs (after a warm-up)."""
    for _ in range(200):
        engine.evaluate(ctx)
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        engine.evaluate(ctx)
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def main() -> None:
    """Print the two medians (and the chain lengths)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="evaluations per measurement")
    args = parser.parse_args()
    ctx = PolicyContext(
        change=ChangeInfo(action="snowflake.warehouse.scale", target="ETL_WH", params={"size": "LARGE"}),
        before={"size": "MEDIUM"},
        actor=ActorInfo(id="alice", roles=("operator",), groups=("platform",), source="cli:alice"),
        env="prod",
        now=datetime(2026, 11, 18, 10, 30, tzinfo=UTC),
        run=RunInfo(id="bench", steps=1, surface="cli"),
    )
    counter = lambda actor, window: 3
    default_rules = load_pack(DEFAULT_PACK).rules
    default = PolicyEngine(default_rules, recent_changes=counter)
    extra = load_pack("bench.yaml", text=generated_pack(200 - len(default.rules))).rules
    big = PolicyEngine([*default_rules, *extra], recent_changes=counter)
    assert len(big.rules) == 200, len(big.rules)
    for name, engine in (("default pack", default), ("200 rules", big)):
        decision = engine.evaluate(ctx)
        print(f"{name:>13}: {len(engine.rules):3d} rules, median {median_us(engine, ctx, args.n):7.1f} µs "
              f"per evaluation ({decision.effect.value})")
    print(f"{'gate + SQLite':>13}: {len(default.rules):3d} rules, median {gate_us(max(args.n // 10, 100)):7.1f} µs "
          "per one-step plan (freezes and change count read from the store)")


def gate_us(n: int) -> float:
    """Median µs of ``PolicyGate.decide`` for a one-step plan on a fresh SQLite store."""
    import tempfile

    from adapters.catalog import ActionCall
    from orchestrator.state import Plan, Request, Step
    from policies.gate import PolicyGate
    from policies.identity import load_identities
    from policies.loader import load_engine
    from state.store import Store

    with tempfile.TemporaryDirectory() as home:
        store = Store(f"sqlite:///{home}/state.db")
        store.setup()
        gate = PolicyGate(load_engine(""), load_identities(default_actor="cli:bench"), store)
        plan = Plan(steps=[Step(seq=1, call=ActionCall(action="snowflake.warehouse.scale", target="ETL_WH",
                                                       params={"size": "LARGE"}), risk="change", reversible=True)])
        request = Request(text="", actor="cli:bench")
        for _ in range(20):
            gate.decide(plan, request, "bench")
        samples = []
        for _ in range(n):
            start = time.perf_counter_ns()
            gate.decide(plan, request, "bench")
            samples.append(time.perf_counter_ns() - start)
        store.dispose()
    return statistics.median(samples) / 1000


if __name__ == "__main__":
    main()
