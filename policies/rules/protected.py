"""Built-in ``protected``: resources matching a pattern are deny-by-default.

Patterns are globs, case-insensitive, written ``platform:target`` (``snowflake:*_PROD``) or
just ``target`` (any platform). Identities holding one of ``allow_roles`` may still change
them, with an approval; everyone else is refused. Reads are never blocked.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.state import Effect
from policies.expressions import glob_match
from policies.rules.base import BuiltinRule, EvalInputs, Finding

__all__ = ["ProtectedRule", "matching_pattern"]


class ProtectedConfig(BaseModel):
    """``patterns`` (at least one) and the ``allow_roles`` that may change them with approval."""

    model_config = ConfigDict(extra="forbid")

    patterns: tuple[str, ...] = Field(min_length=1)
    allow_roles: tuple[str, ...] = ()


def matching_pattern(platform: str, target: str, patterns: tuple[str, ...]) -> str | None:
    """The first pattern that covers ``platform:target``, or None."""
    for pattern in patterns:
        if ":" in pattern:
            if glob_match(f"{platform}:{target}", pattern):
                return pattern
        elif glob_match(target, pattern):
            return pattern
    return None


class ProtectedRule(BuiltinRule):
    """Deny changes to protected resources (approval only for ``allow_roles``)."""

    builtin = "protected"
    Config = ProtectedConfig
    effects = (Effect.DENY, Effect.REQUIRE_APPROVAL)

    def check(self, inputs: EvalInputs) -> Finding | None:
        """Fires for a mutating change whose target matches a pattern."""
        ctx = inputs.ctx
        change = ctx.change
        if not change.mutating or not change.target:
            return None
        pattern = matching_pattern(change.platform, change.target, self.config.patterns)
        if pattern is None:
            return None
        exempt = bool(set(self.config.allow_roles) & set(ctx.actor.roles))
        effect = Effect.REQUIRE_APPROVAL if exempt else self.effect
        detail = f"{change.resource} is protected (pattern {pattern})"
        if effect is Effect.DENY:
            message = f"{detail}: no one may change it through sophia-iac"
            if self.config.allow_roles:
                message = f"{detail}: only {', '.join(self.config.allow_roles)} may change it, with approval"
        else:
            message = f"{detail}: a change needs approval"
        if self.description:
            message = f"{self.description} — {message}"
        return self.finding(effect, message)
