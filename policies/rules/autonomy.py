"""Built-in ``autonomy``: how much the agent may do alone, per environment and per actor.

Tiers, strictest first: ``read-only`` (no changes), ``manual`` (every change needs approval),
``balanced`` (approval where a rule asks for it), ``auto`` (approvals a rule asks for are
waived, except mandatory ones — four-eyes on destructive changes always holds). The tier
that applies is the strictest of the environment's and every matching actor entry's
(keys: identity id, ``group:NAME``, ``role:NAME``), so the agent never does more than the
invoking actor may.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from orchestrator.state import Effect
from policies.context import PolicyContext
from policies.rules.base import BuiltinRule, EvalInputs, Finding, PackDefaults, RuleConfigError, RuleSpec

__all__ = ["AutonomyRule", "Tier", "strictest"]


class Tier(StrEnum):
    """Autonomy tiers."""

    READ_ONLY = "read-only"
    MANUAL = "manual"
    BALANCED = "balanced"
    AUTO = "auto"


_ORDER = (Tier.READ_ONLY, Tier.MANUAL, Tier.BALANCED, Tier.AUTO)


def strictest(*tiers: Tier) -> Tier:
    """The most restrictive of ``tiers`` (``balanced`` when none)."""
    return min(tiers, key=_ORDER.index) if tiers else Tier.BALANCED


class AutonomyConfig(BaseModel):
    """``default`` tier, per-``environments`` tiers and per-``actors`` tiers."""

    model_config = ConfigDict(extra="forbid")

    default: Tier = Tier.BALANCED
    environments: dict[str, Tier] = {}
    actors: dict[str, Tier] = {}


class AutonomyRule(BuiltinRule):
    """Applies the tier: ``read-only`` denies, ``manual`` asks; the engine waives in ``auto``."""

    builtin = "autonomy"
    Config = AutonomyConfig
    effects = (Effect.DENY, Effect.REQUIRE_APPROVAL)

    def __init__(self, spec: RuleSpec, defaults: PackDefaults, origin: str = "") -> None:
        if spec.effect is not None:
            raise RuleConfigError("builtin autonomy takes no effect: the tier decides")
        super().__init__(spec, defaults, origin)

    def tier(self, ctx: PolicyContext) -> Tier:
        """The tier for this change: strictest of environment and actor entries."""
        cfg = self.config
        tiers = [cfg.environments.get(ctx.env, cfg.default)]
        keys = {ctx.actor.id, *(f"group:{g}" for g in ctx.actor.groups), *(f"role:{r}" for r in ctx.actor.roles)}
        tiers += [tier for key, tier in cfg.actors.items() if key in keys]
        return strictest(*tiers)

    def check(self, inputs: EvalInputs) -> Finding | None:
        """``read-only`` → deny, ``manual`` → require approval (mutating changes only)."""
        ctx = inputs.ctx
        if not ctx.change.mutating:
            return None
        tier = self.tier(ctx)
        if tier is Tier.READ_ONLY:
            return self.finding(Effect.DENY, f"{ctx.env} is read-only for {ctx.actor.id} (autonomy tier)")
        if tier is Tier.MANUAL:
            return self.finding(
                Effect.REQUIRE_APPROVAL, f"manual tier for {ctx.actor.id} in {ctx.env}: every change needs approval"
            )
        return None
