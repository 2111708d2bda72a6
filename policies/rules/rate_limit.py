"""Built-in ``rate_limit``: at most ``max_changes`` mutating changes per identity per ``window``.

The count comes from a callable the engine is given (the store's ledger), so the engine stays
pure. No callable, or one that fails, is a deny: the limit can't be checked, so it holds.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orchestrator.state import Effect
from policies.durations import parse_duration
from policies.rules.base import BuiltinRule, EvalInputs, Finding

__all__ = ["RateLimitRule"]


class RateLimitConfig(BaseModel):
    """``max_changes`` per ``window`` (a duration: ``1h``, ``15m``)."""

    model_config = ConfigDict(extra="forbid")

    max_changes: int = Field(ge=1)
    window: int = 3600

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: object) -> int:
        return parse_duration(value)


class RateLimitRule(BuiltinRule):
    """Fires when the identity already made ``max_changes`` changes within the window."""

    builtin = "rate_limit"
    Config = RateLimitConfig
    effects = (Effect.DENY, Effect.REQUIRE_APPROVAL)

    def check(self, inputs: EvalInputs) -> Finding | None:
        """Asks ``inputs.recent_changes`` for the count (mutating changes only)."""
        ctx = inputs.ctx
        if not ctx.change.mutating:
            return None
        window: int = self.config.window
        if inputs.recent_changes is None:
            return self.finding(Effect.DENY, "policy engine unavailable: no change counter to check the rate limit")
        try:
            count = int(inputs.recent_changes(ctx.actor.id, window))
        except Exception as exc:  # noqa: BLE001 — any failure of the store means: can't check, so deny
            return self.finding(Effect.DENY, f"policy engine unavailable: change counter failed: {exc}")
        if count < self.config.max_changes:
            return None
        message = (
            f"{ctx.actor.id} made {count} changes in the last {_human(window)}; "
            f"the limit is {self.config.max_changes}"
        )
        return self.finding(self.effect, f"{self.description} — {message}" if self.description else message)


def _human(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
