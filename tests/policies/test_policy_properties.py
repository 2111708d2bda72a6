"""Property tests: deny anywhere means deny; no ordering of rules or packs turns a deny into an allow."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import cel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.state import Effect
from policies.context import ActorInfo, ChangeInfo, Freeze, PolicyContext, RunInfo
from policies.engine import PolicyEngine
from policies.expressions import CEL_FUNCTIONS
from policies.loader import DEFAULT_PACK, load_pack
from policies.rules import PackDefaults, RuleSpec, build_rule

#: `when` expressions, some of which error on some inputs (missing params, wrong types).
EXPRESSIONS = [
    "true",
    "false",
    "change.risk == 'destructive'",
    "change.risk != 'read'",
    "env == 'prod'",
    "'admin' in actor.roles",
    "actor.groups.exists(g, g == 'platform')",
    "run.surface == 'slack'",
    "run.steps > 2",
    "glob(change.target, 'PROD_*')",
    "change.target.startsWith('ETL')",
    "now.getHours() < 12",
    "change.params.limit_usd > 100",
    "has(change.params.limit_usd) && change.params.limit_usd > 100",
    "change.params.size == 'LARGE'",
    "change.params.count + 1 > 3",
    "before.size == 'SMALL'",
    "!change.reversible",
]
EFFECTS = [Effect.ALLOW, Effect.DENY, Effect.REQUIRE_APPROVAL]
DEFAULT_RULES = load_pack(DEFAULT_PACK).rules

rule_specs = st.lists(st.tuples(st.sampled_from(EXPRESSIONS), st.sampled_from(EFFECTS)), min_size=1, max_size=8)


@st.composite
def contexts(draw: st.DrawFn) -> PolicyContext:
    """Random but well-formed changes, actors and surroundings."""
    risk = draw(st.sampled_from(["read", "change", "destructive"]))
    params: dict[str, Any] = {}
    if draw(st.booleans()):
        params["limit_usd"] = draw(st.one_of(st.none(), st.integers(0, 10_000), st.floats(0, 10_000)))
    if draw(st.booleans()):
        params["size"] = draw(st.sampled_from(["SMALL", "LARGE", 3]))
    if draw(st.booleans()):
        params["count"] = draw(st.integers(0, 12))
    now = datetime(2026, 11, 16, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
    freezes = ()
    if draw(st.booleans()):
        freezes = (Freeze(env=draw(st.sampled_from(["prod", "dev", "*"])), until=now + timedelta(hours=1)),)
    return PolicyContext(
        change=ChangeInfo(
            action=draw(st.sampled_from(["snowflake.warehouse.scale", "openrouter.key.set_limit",
                                         "lambdalabs.instance.launch", "pinecone.index.delete"])),
            target=draw(st.sampled_from(["ETL_WH", "PROD_DB", "SNOWFLAKE", "general", "x"])),
            params=params,
            risk=risk,
            reversible=draw(st.booleans()),
        ),
        before=draw(st.sampled_from([None, {"size": "SMALL"}, {"other": 1}])),
        actor=ActorInfo(
            id=draw(st.sampled_from(["alice", "bob"])),
            roles=tuple(draw(st.sets(st.sampled_from(["viewer", "operator", "approver", "admin"]), max_size=2))),
            groups=tuple(draw(st.sets(st.sampled_from(["platform", "auditors", "approvers"]), max_size=2))),
        ),
        env=draw(st.sampled_from(["prod", "dev", "staging", "qa"])),
        now=now,
        run=RunInfo(steps=draw(st.integers(1, 8)), surface=draw(st.sampled_from(["cli", "slack", "webhook"]))),
        freezes=freezes,
    )


def _rules(specs: list[tuple[str, Effect]], prefix: str = "r") -> list[Any]:
    return [
        build_rule(RuleSpec(id=f"{prefix}{i}", when=expr, effect=effect), PackDefaults())
        for i, (expr, effect) in enumerate(specs)
    ]


def _oracle_denies(expr: str, effect: Effect, ctx: PolicyContext) -> bool:
    """Independent of the engine: does this one rule, alone, demand a deny?"""
    try:
        result = cel.compile(expr).execute(cel.Context(ctx.cel_variables(), dict(CEL_FUNCTIONS)))
    except Exception:  # noqa: BLE001 — any error must deny
        return True
    if not isinstance(result, bool):
        return True
    return result and effect is Effect.DENY


def _pack_text(name: str, specs: list[tuple[str, Effect]]) -> str:
    lines = [f"pack: {name}", "version: 1", "rules:"]
    for i, (expr, effect) in enumerate(specs):
        lines += [f"  - id: {name}-{i}", f"    when: {json.dumps(expr)}", f"    effect: {effect.value}"]
    return "\n".join(lines) + "\n"


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(specs=rule_specs, ctx=contexts(), with_default=st.booleans())
def test_a_deny_anywhere_is_a_deny(specs: list[tuple[str, Effect]], ctx: PolicyContext, with_default: bool) -> None:
    """If any single rule would deny (or errors), the chain denies — with or without the default pack."""
    rules = _rules(specs)
    chain = [*DEFAULT_RULES, *rules] if with_default else rules
    engine = PolicyEngine(chain, recent_changes=lambda actor, window: 0)
    decision = engine.evaluate(ctx)
    must_deny = any(_oracle_denies(expr, effect, ctx) for expr, effect in specs)
    viewer_mutation = ctx.change.mutating and not ({"operator", "admin"} & set(ctx.actor.roles))
    if must_deny or viewer_mutation:
        assert decision.effect is Effect.DENY, decision.reasons
    if decision.effect is not Effect.DENY and not with_default:
        assert not must_deny


@FAST
@given(specs=rule_specs, ctx=contexts(), data=st.data())
def test_rule_order_does_not_change_the_verdict(specs: list[tuple[str, Effect]], ctx: PolicyContext,
                                                data: st.DataObject) -> None:
    """Any permutation of the chain gives the same effect and the same set of reasons."""
    rules = _rules(specs)
    shuffled = data.draw(st.permutations(rules))
    first = PolicyEngine(rules).evaluate(ctx)
    second = PolicyEngine(shuffled).evaluate(ctx)
    assert first.effect is second.effect
    assert sorted(map(str, first.reasons)) == sorted(map(str, second.reasons))
    assert (first.approvers, first.min_approvals, first.ttl_seconds) == (
        second.approvers, second.min_approvals, second.ttl_seconds)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=rule_specs, b=rule_specs, ctx=contexts())
def test_pack_order_never_turns_a_deny_into_an_allow(a: list[tuple[str, Effect]], b: list[tuple[str, Effect]],
                                                     ctx: PolicyContext) -> None:
    """Two packs loaded A-then-B or B-then-A decide the same; a deny in either stays a deny."""
    pack_a = load_pack("a.yaml", text=_pack_text("a", a))
    pack_b = load_pack("b.yaml", text=_pack_text("b", b))
    assert pack_a.ok and pack_b.ok, (pack_a.problems, pack_b.problems)
    ab = PolicyEngine([*pack_a.rules, *pack_b.rules]).evaluate(ctx)
    ba = PolicyEngine([*pack_b.rules, *pack_a.rules]).evaluate(ctx)
    assert ab.effect is ba.effect
    for pack in (pack_a, pack_b):
        if PolicyEngine(pack.rules).evaluate(ctx).effect is Effect.DENY:
            assert ab.effect is Effect.DENY


@FAST
@given(specs=rule_specs, extra=st.lists(st.sampled_from(EXPRESSIONS), min_size=1, max_size=4), ctx=contexts())
def test_adding_allow_rules_never_loosens(specs: list[tuple[str, Effect]], extra: list[str], ctx: PolicyContext) -> None:
    """Allow rules only add reasons: a deny or an approval can't be talked down by one."""
    base = PolicyEngine(_rules(specs)).evaluate(ctx)
    more = PolicyEngine(_rules(specs) + _rules([(e, Effect.ALLOW) for e in extra], prefix="ok")).evaluate(ctx)
    rank = {Effect.ALLOW: 0, Effect.REQUIRE_APPROVAL: 1, Effect.DENY: 2}
    assert rank[more.effect] >= rank[base.effect]
