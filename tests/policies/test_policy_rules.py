"""Built-in rules at their edges (the dataset covers the common paths)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.state import Effect
from policies.context import ActorInfo, ChangeInfo, Freeze
from policies.durations import parse_duration
from policies.environments import EnvironmentMap, EnvironmentMapping
from policies.rules.protected import matching_pattern
from tests.policies.policy_helpers import engine_from_text, make_ctx


def _one(body: str) -> str:
    return "pack: t\nversion: 1\nrules:\n" + body


def test_overnight_window_in_a_named_zone() -> None:
    """A 22:00–06:00 Europe/London window: the day it starts counts, and DST is honoured."""
    engine = engine_from_text(_one("""\
  - id: night
    builtin: change_window
    effect: deny
    config:
      tz: Europe/London
      windows: [{days: [fri], start: "22:00", end: "06:00"}]
"""))

    def at(iso: str) -> Effect:
        return engine.evaluate(make_ctx(now=datetime.fromisoformat(iso))).effect

    assert at("2026-11-20T22:30:00+00:00") is Effect.ALLOW   # Fri 22:30 GMT
    assert at("2026-11-21T05:59:00+00:00") is Effect.ALLOW   # Sat 05:59, window began Friday
    assert at("2026-11-21T06:00:00+00:00") is Effect.DENY
    assert at("2026-11-21T22:30:00+00:00") is Effect.DENY    # Sat night: not a window day
    assert at("2026-07-17T21:30:00+00:00") is Effect.ALLOW   # Fri 22:30 BST
    assert at("2026-07-17T22:30:00+01:00") is Effect.ALLOW
    assert at("2026-07-17T20:30:00+00:00") is Effect.DENY    # 21:30 BST


def test_freeze_on_every_environment_and_reads() -> None:
    """`*` freezes all environments; reads pass; the message names the freeze."""
    engine = engine_from_text(_one("  - id: freeze\n    builtin: freeze\n"))
    until = datetime(2026, 11, 18, 18, tzinfo=UTC)
    freezes = (Freeze(env="*", until=until, reason="incident 42", by="root"),)
    decision = engine.evaluate(make_ctx(env="sandbox", freezes=freezes))
    assert decision.effect is Effect.DENY
    assert decision.reasons[0]["message"] == "every environment is frozen until 2026-11-18 18:00 UTC by root: incident 42"
    assert engine.evaluate(make_ctx("gong.call.list", None, risk="read", freezes=freezes)).effect is Effect.ALLOW
    naive = Freeze(env="prod", until=datetime(2026, 11, 18, 18))
    assert naive.until.tzinfo is not None and naive.holds("prod", datetime(2026, 11, 18, 17, tzinfo=UTC))


def test_protected_patterns() -> None:
    """Platform-qualified or bare globs, case-insensitive; first match reported."""
    patterns = ("snowflake:PROD_*", "*-critical")
    assert matching_pattern("snowflake", "prod_db", patterns) == "snowflake:PROD_*"
    assert matching_pattern("github", "prod_db", patterns) is None
    assert matching_pattern("slack", "ops-CRITICAL", patterns) == "*-critical"
    engine = engine_from_text(_one("""\
  - id: guard
    builtin: protected
    config: {patterns: ["snowflake:PROD_*"], allow_roles: [admin]}
"""))
    admin = ActorInfo(id="root", roles=("admin",))
    denied = engine.evaluate(make_ctx(target="PROD_WH"))
    assert denied.effect is Effect.DENY and "only admin may change it" in denied.reasons[0]["message"]
    assert engine.evaluate(make_ctx(target="PROD_WH", actor=admin)).effect is Effect.REQUIRE_APPROVAL
    assert engine.evaluate(make_ctx(target=None)).effect is Effect.ALLOW


def test_spend_cap_custom_gpu_actions_and_bad_numbers() -> None:
    """GPU caps apply to the configured actions; a non-numeric amount counts as over the cap."""
    engine = engine_from_text(_one("""\
  - id: gpus
    builtin: spend_cap
    effect: deny
    config: {gpu_instances: 2, limit_usd: 10, gpu_actions: [acme.gpu.launch]}
"""))
    assert engine.evaluate(make_ctx("acme.gpu.launch", "x", {"count": 3})).effect is Effect.DENY
    assert engine.evaluate(make_ctx("acme.gpu.launch", "x", {})).effect is Effect.ALLOW  # count defaults to 1
    assert engine.evaluate(make_ctx("lambdalabs.instance.launch", "x", {"count": 3})).effect is Effect.ALLOW
    assert engine.evaluate(make_ctx("portkey.budget.set", "w", {"limit_usd": "lots"})).effect is Effect.DENY
    assert engine.evaluate(make_ctx("portkey.budget.set", "w", {"limit_usd": True})).effect is Effect.DENY


def test_rule_scope_narrows_a_builtin() -> None:
    """`when` on a built-in limits where it applies; an erroring scope denies."""
    engine = engine_from_text(_one("""\
  - id: prod-only-cap
    builtin: spend_cap
    when: "env == 'prod'"
    config: {limit_usd: 10}
  - id: broken-scope
    builtin: freeze
    when: "change.params.missing == 1"
"""))
    dev = engine.evaluate(make_ctx("portkey.budget.set", "w", {"limit_usd": 50, "missing": 0}, env="dev"))
    assert dev.effect is Effect.ALLOW
    prod = engine.evaluate(make_ctx("portkey.budget.set", "w", {"limit_usd": 50, "missing": 0}))
    assert prod.effect is Effect.REQUIRE_APPROVAL
    broken = engine.evaluate(make_ctx("portkey.budget.set", "w", {"limit_usd": 5}))
    assert broken.effect is Effect.DENY and broken.reasons[0]["rule"] == "broken-scope"


def test_four_eyes_can_cover_irreversible_changes() -> None:
    """`irreversible: true` extends four-eyes to irreversible change-risk actions."""
    engine = engine_from_text(_one("  - id: fe\n    builtin: four_eyes\n    config: {irreversible: true}\n"))
    decision = engine.evaluate(make_ctx("apollo.contact.add_to_sequence", "a@b.c", reversible=False))
    assert decision.effect is Effect.REQUIRE_APPROVAL and decision.four_eyes
    assert engine.evaluate(make_ctx()).effect is Effect.ALLOW


def test_cel_sees_before_actor_and_run() -> None:
    """Every documented variable is reachable from CEL."""
    engine = engine_from_text(_one("""\
  - id: shrink
    when: >-
      before != null && has(before.size) && before.size == 'XLARGE'
      && actor.groups.exists(g, g == 'platform') && run.steps == 2 && run.surface == 'slack'
      && now.getDayOfWeek() == 3 && actor.source.startsWith('cli:')
    effect: deny
"""))
    hit = make_ctx(before={"size": "XLARGE"}, steps=2, surface="slack")
    assert engine.evaluate(hit).effect is Effect.DENY
    assert engine.evaluate(make_ctx(before=None, steps=2, surface="slack")).effect is Effect.ALLOW


def test_environment_map() -> None:
    """First match wins; a bare platform covers all its resources."""
    envs = EnvironmentMap(
        [EnvironmentMapping(match="snowflake:*_DEV", env="dev"), EnvironmentMapping(match="snow*", env="data")],
        default="prod",
    )
    assert envs.resolve("snowflake", "etl_dev") == "dev"
    assert envs.resolve("snowflake", None) == "data"
    assert envs.resolve("github", "a/b") == "prod"


@pytest.mark.parametrize(("text", "seconds"), [(90, 90), ("90", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172800)])
def test_durations(text: object, seconds: int) -> None:
    """Durations in packs and commands."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "5x", 0, -3, True, 1.5, "1h soon"])
def test_bad_durations(bad: object) -> None:
    """Anything else is an error."""
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_change_info_fills_platform_and_checks_risk() -> None:
    """`platform` comes from the action id; risk is one of three words."""
    assert ChangeInfo(action="github.repo.create", target="a/b").platform == "github"
    with pytest.raises(ValueError):
        ChangeInfo(action="github.repo.create", risk="spicy")
