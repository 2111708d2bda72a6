"""Built-in ``roles``: only operators and admins may change anything (viewers can't mutate).

The engine always runs this rule first, whether or not a pack lists it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from orchestrator.state import Effect
from policies.identity import may_mutate
from policies.rules.base import BuiltinRule, EvalInputs, Finding

__all__ = ["RolesRule"]


class RolesConfig(BaseModel):
    """No settings."""

    model_config = ConfigDict(extra="forbid")


class RolesRule(BuiltinRule):
    """Deny a mutating change from an identity without the operator or admin role."""

    builtin = "roles"
    Config = RolesConfig
    effects = (Effect.DENY,)

    def check(self, inputs: EvalInputs) -> Finding | None:
        """Fires for a mutating change by a viewer (or an approver who isn't an operator)."""
        ctx = inputs.ctx
        if not ctx.change.mutating or may_mutate(ctx.actor.roles):
            return None
        roles = ", ".join(ctx.actor.roles) or "none"
        return self.finding(
            self.effect, f"{ctx.actor.id} may not change anything (roles: {roles}); ask an operator"
        )
