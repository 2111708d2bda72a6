"""The engine: chain semantics, tiers, plan merging, and failing closed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.state import Decision, Effect
from policies import engine as engine_module
from policies.context import ActorInfo, Freeze
from policies.engine import PolicyEngine, combine, merge_decisions
from policies.loader import load_engine
from policies.rules import Finding, Tier
from tests.policies.policy_helpers import WEDNESDAY, engine_from_text, make_ctx

PACK = """\
pack: t
version: 1
rules:
  - id: ask
    when: "change.risk != 'read'"
    effect: require_approval
    approvers: [a]
    ttl: 2h
  - id: ask-more
    when: "change.target == 'BIG'"
    effect: require_approval
    approvers: [b]
    min_approvals: 2
    ttl: 30m
  - id: no-drop
    when: "change.action.endsWith('.drop')"
    effect: deny
  - id: fine
    when: "true"
    effect: allow
"""


def test_allow_rule_never_overrides_deny_or_approval() -> None:
    """Deny wins over everything; approval over allow; the reasons keep every rule that fired."""
    engine = engine_from_text(PACK)
    drop = engine.evaluate(make_ctx("snowflake.warehouse.drop", "X"))
    assert drop.effect is Effect.DENY
    assert [r["rule"] for r in drop.reasons] == ["ask", "no-drop", "fine"]
    assert drop.approvers == [] and drop.ttl_seconds == 0
    big = engine.evaluate(make_ctx(target="BIG"))
    assert big.effect is Effect.REQUIRE_APPROVAL
    assert (big.approvers, big.min_approvals, big.ttl_seconds) == (["a", "b"], 2, 1800)
    read = engine.evaluate(make_ctx("gong.call.list", None, risk="read"))
    assert read.effect is Effect.ALLOW and [r["rule"] for r in read.reasons] == ["fine"]


def test_viewers_cannot_mutate_even_without_a_roles_rule() -> None:
    """The roles rule is always first in the chain, whatever the pack says."""
    engine = engine_from_text("pack: t\nversion: 1\nrules:\n  - id: always\n    when: 'true'\n    effect: allow\n")
    assert engine.rules[0].id == "roles"
    viewer = ActorInfo(id="v", roles=("viewer",))
    assert engine.evaluate(make_ctx(actor=viewer)).effect is Effect.DENY
    assert engine.evaluate(make_ctx("gong.call.list", None, risk="read", actor=viewer)).effect is Effect.ALLOW


def test_auto_tier_waives_only_non_mandatory_approvals() -> None:
    """`auto` turns ordinary approvals into allow (saying so); four-eyes and mandatory rules hold."""
    findings = [
        Finding("soft", Effect.REQUIRE_APPROVAL, "soft", approvers=("a",), min_approvals=1, ttl_seconds=60),
        Finding("hard", Effect.REQUIRE_APPROVAL, "hard", approvers=("b",), min_approvals=1, ttl_seconds=60,
                mandatory=True),
    ]
    auto = combine(findings, Tier.AUTO)
    assert auto.effect is Effect.REQUIRE_APPROVAL and auto.approvers == ["b"]
    assert "waived" in auto.reasons[0]["message"] and auto.reasons[0]["effect"] == "allow"
    assert combine(findings[:1], Tier.AUTO).effect is Effect.ALLOW
    assert combine(findings[:1], Tier.BALANCED).effect is Effect.REQUIRE_APPROVAL
    deny = [Finding("no", Effect.DENY, "no")]
    assert combine(deny, Tier.AUTO).effect is Effect.DENY


def test_strictest_tier_wins_across_autonomy_rules() -> None:
    """Two autonomy rules: the stricter decides (an actor can't loosen an environment)."""
    engine = engine_from_text("""\
pack: t
version: 1
rules:
  - id: envs
    builtin: autonomy
    config: {default: auto, environments: {prod: manual}}
  - id: people
    builtin: autonomy
    config: {default: auto, actors: {bot: auto, "role:operator": balanced}}
""")
    bot = ActorInfo(id="bot", roles=("admin",))
    assert engine.tier(make_ctx(actor=bot, env="prod")) is Tier.MANUAL
    assert engine.tier(make_ctx(actor=bot, env="dev")) is Tier.AUTO
    assert engine.tier(make_ctx(env="dev")) is Tier.BALANCED
    decision = engine.evaluate(make_ctx(actor=bot, env="prod"))
    assert decision.effect is Effect.REQUIRE_APPROVAL and [r["rule"] for r in decision.reasons] == ["envs"]


def test_plan_decision_merges_steps() -> None:
    """A plan is denied if any step is; reasons say which step."""
    engine = engine_from_text(PACK)
    plan = [make_ctx("snowflake.warehouse.scale", "A"), make_ctx("snowflake.warehouse.drop", "B")]
    decision = engine.evaluate_plan(plan)
    assert decision.effect is Effect.DENY
    assert {"rule": "no-drop", "step": "2"} in [{k: r[k] for k in ("rule", "step")} for r in decision.reasons]
    ok = engine.evaluate_plan([make_ctx(target="A"), make_ctx(target="BIG")])
    assert ok.effect is Effect.REQUIRE_APPROVAL and ok.min_approvals == 2 and ok.ttl_seconds == 1800
    assert merge_decisions([]).effect is Effect.ALLOW
    single = merge_decisions([Decision(effect=Effect.ALLOW, reasons=[{"rule": "x", "message": "m"}])])
    assert single.reasons == [{"rule": "x", "message": "m"}]


def test_failing_rule_denies_and_names_itself() -> None:
    """A rule that raises is a deny with the rule's id, origin and the error."""
    engine = engine_from_text(PACK)

    def boom(inputs: object) -> None:
        raise RuntimeError("disk on fire")

    engine.rules[1].check = boom  # type: ignore[method-assign]
    decision = engine.evaluate(make_ctx())
    assert decision.effect is Effect.DENY
    (bad,) = [r for r in decision.reasons if r["effect"] == "deny"]
    assert bad["rule"] == "ask" and "disk on fire" in bad["message"] and "inline.yaml:" in bad["message"]


def test_engine_failure_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the engine itself breaks, the answer is deny 'policy engine unavailable', never an exception or allow."""
    engine = engine_from_text(PACK)

    def broken(*args: object, **kwargs: object) -> Decision:
        raise RuntimeError("simulated outage")

    monkeypatch.setattr(engine_module, "combine", broken)
    decision = engine.evaluate(make_ctx("gong.call.list", None, risk="read"))
    assert decision.effect is Effect.DENY
    assert decision.reasons[0]["message"].startswith("policy engine unavailable: RuntimeError: simulated outage")
    assert engine.evaluate_plan([make_ctx()]).effect is Effect.DENY


def test_unreachable_change_counter_fails_closed() -> None:
    """The rate limit can't be checked when the store is unreachable: deny, saying why."""

    def unreachable(actor: str, window: int) -> int:
        raise ConnectionError("could not connect to server: Connection refused")

    engine = load_engine("", recent_changes=unreachable)
    decision = engine.evaluate(make_ctx())
    assert decision.effect is Effect.DENY
    (reason,) = decision.reasons
    assert reason["rule"] == "rate-limit"
    assert reason["message"].startswith("policy engine unavailable: change counter failed")
    assert load_engine("").evaluate(make_ctx()).effect is Effect.DENY  # no counter at all
    read = load_engine("", recent_changes=unreachable).evaluate(make_ctx("gong.call.list", None, risk="read"))
    assert read.effect is Effect.ALLOW  # reads still run


def test_counter_is_asked_for_the_identity_and_window() -> None:
    """The engine passes the identity id and the configured window to the counter."""
    calls: list[tuple[str, int]] = []
    engine = load_engine("", recent_changes=lambda actor, window: calls.append((actor, window)) or 0)
    assert engine.evaluate(make_ctx()).effect is Effect.ALLOW
    assert calls == [("alice", 3600)]


def test_expired_freeze_boundary() -> None:
    """A freeze holds strictly before `until`."""
    engine = load_engine("", recent_changes=lambda a, w: 0)
    freeze = Freeze(env="prod", until=WEDNESDAY, reason="r", by="bob")
    assert engine.evaluate(make_ctx(freezes=(freeze,))).effect is Effect.ALLOW
    held = engine.evaluate(make_ctx(freezes=(freeze,), now=WEDNESDAY - timedelta(seconds=1)))
    assert held.effect is Effect.DENY and "frozen until" in held.reasons[0]["message"]
    assert "by bob: r" in held.reasons[0]["message"]


def test_with_counter_keeps_rules_and_environment() -> None:
    """`with_counter` is a cheap copy for the service to attach the store's counter."""
    base = load_engine("")
    copy = base.with_counter(lambda a, w: 0)
    assert copy.rules is base.rules and copy.environments is base.environments
    assert base.recent_changes is None and copy.recent_changes is not None
    assert isinstance(copy, PolicyEngine)


def test_duplicate_rule_ids_rejected_by_engine() -> None:
    """Two rules with one id would make reasons ambiguous."""
    engine = engine_from_text(PACK)
    with pytest.raises(ValueError, match="duplicate rule id ask"):
        PolicyEngine([*engine.rules, engine.rules[1]])
