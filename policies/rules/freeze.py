"""Built-in ``freeze``: while a change freeze holds on an environment, nothing there mutates.

Freezes are set and lifted by the ``freeze`` / ``unfreeze`` commands, kept in the store and
handed to the engine in :attr:`PolicyContext.freezes`. Reads still run.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from orchestrator.state import Effect
from policies.rules.base import BuiltinRule, EvalInputs, Finding

__all__ = ["FreezeRule"]


class FreezeConfig(BaseModel):
    """No settings."""

    model_config = ConfigDict(extra="forbid")


class FreezeRule(BuiltinRule):
    """Deny mutating changes in a frozen environment."""

    builtin = "freeze"
    Config = FreezeConfig
    effects = (Effect.DENY,)

    def check(self, inputs: EvalInputs) -> Finding | None:
        """Fires when any freeze in the context covers ``env`` now."""
        ctx = inputs.ctx
        if not ctx.change.mutating:
            return None
        active = [f for f in ctx.freezes if f.holds(ctx.env, ctx.now)]
        if not active:
            return None
        freeze = max(active, key=lambda f: f.until)
        who = f" by {freeze.by}" if freeze.by else ""
        why = f": {freeze.reason}" if freeze.reason else ""
        scope = "every environment is" if freeze.env == "*" else f"{ctx.env} is"
        until = "someone lifts it" if freeze.until.year >= 9999 else f"{freeze.until:%Y-%m-%d %H:%M %Z}"
        message = f"{scope} frozen until {until}{who}{why}"
        return self.finding(self.effect, message)
