"""GPU spend by the hour: the plan's ``expected.usd_per_hour`` against ``spend_cap`` and CEL rules.

A Lambda Labs launch's plan carries the instance type's price × count (read by the adapter from
Lambda's price list: tests/contract/test_lambdalabs_contract.py shows it end to end). Here the
rule's edges: over and under the cap, a planned launch without a price (fail closed), and an
unplanned one (``policy explain`` reads nothing), plus a pack's own CEL rule on ``expected``.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.state import Effect
from policies.context import PolicyContext
from policies.loader import load_engine
from tests.policies.policy_helpers import engine_from_text, make_ctx

LAUNCH = "lambdalabs.instance.launch"


def launch(count: int = 1, usd_per_hour: float | None = 1.29, planned: bool = True) -> PolicyContext:
    """An operator's planned launch in prod; ``usd_per_hour`` None: the plan carries no price."""
    params = {"instance_type": "gpu_1x_a100_sxm4", "region": "us-west-1", "count": count}
    ctx = make_ctx(LAUNCH, "trainer", params)
    if not planned:
        return ctx
    expected: dict[str, Any] = {"name": "trainer", **params}
    if usd_per_hour is not None:
        expected["usd_per_hour"] = usd_per_hour
    return ctx.model_copy(update={"expected": expected})


def rules(decision: Any) -> list[str]:
    return sorted({r["rule"] for r in decision.reasons})


@pytest.mark.parametrize(
    ("ctx", "effect", "fired"),
    [
        (launch(1, 1.29), Effect.ALLOW, ["default-allow"]),
        (launch(1, 23.92), Effect.REQUIRE_APPROVAL, ["spend-review"]),  # one 8x H100: over $20/h
        (launch(1, 20.0), Effect.ALLOW, ["default-allow"]),  # at the cap is not over it
        (launch(8, 8 * 32.0), Effect.DENY, ["spend-hard-cap", "spend-review"]),  # 8 x $32/h
        (launch(1, None), Effect.DENY, ["spend-hard-cap", "spend-review"]),  # planned, no price
        (launch(1, planned=False), Effect.ALLOW, ["default-allow"]),  # explain: nothing read
    ],
)
def test_default_pack_holds_the_hourly_price_to_its_caps(
    ctx: PolicyContext, effect: Effect, fired: list[str]
) -> None:
    decision = load_engine(None).with_counter(lambda actor, window: 0).evaluate(ctx)
    assert decision.effect is effect, decision.reasons
    assert [r for r in rules(decision) if r.startswith("spend") or r == "default-allow"] == fired


def test_the_message_names_the_price_and_the_cap() -> None:
    decision = load_engine(None).with_counter(lambda actor, window: 0).evaluate(launch(2, 47.84))
    (message,) = [r["message"] for r in decision.reasons if r["rule"] == "spend-review"]
    assert "$47.84/h is over the $20/h cap" in message and "2 GPU instances" in message


def test_other_actions_are_not_priced() -> None:
    engine = engine_from_text(
        "pack: t\nversion: 1\nrules:\n  - id: hourly\n    builtin: spend_cap\n    effect: deny\n"
        "    config: {usd_per_hour: 1}\n"
    )
    scale = make_ctx().model_copy(update={"expected": {"size": "LARGE"}})
    assert engine.evaluate(scale).effect is Effect.ALLOW
    assert engine.evaluate(launch(1, 1.29)).effect is Effect.DENY
    assert engine.evaluate(launch(1, 0.75)).effect is Effect.ALLOW


def test_a_cel_rule_can_bound_expected_usd_per_hour() -> None:
    """``expected`` is a CEL variable: a team's own rule over the plan's hourly price."""
    engine = engine_from_text(
        "pack: t\nversion: 1\nrules:\n  - id: gpu-budget\n    effect: deny\n    when: >-\n"
        "      change.action == 'lambdalabs.instance.launch' && expected != null\n"
        "      && has(expected.usd_per_hour) && expected.usd_per_hour > 10.0\n"
    )
    assert engine.evaluate(launch(1, 23.92)).effect is Effect.DENY
    assert engine.evaluate(launch(1, 1.29)).effect is Effect.ALLOW
    assert engine.evaluate(launch(1, planned=False)).effect is Effect.ALLOW
