"""Built-in ``four_eyes``: a destructive change needs approval from someone else.

The approval it asks for is marked ``four_eyes`` (the requester can't approve it) and
``mandatory`` (the ``auto`` tier can't waive it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from orchestrator.state import Effect
from policies.rules.base import BuiltinRule, EvalInputs, Finding

__all__ = ["FourEyesRule"]


class FourEyesConfig(BaseModel):
    """``irreversible``: also ask for irreversible ``change``-risk actions (default false)."""

    model_config = ConfigDict(extra="forbid")

    irreversible: bool = False


class FourEyesRule(BuiltinRule):
    """Destructive → approval by another identity (or deny, if the pack says so)."""

    builtin = "four_eyes"
    Config = FourEyesConfig
    effects = (Effect.REQUIRE_APPROVAL, Effect.DENY)

    def check(self, inputs: EvalInputs) -> Finding | None:
        """Fires for ``destructive`` changes (and irreversible ones if configured)."""
        change = inputs.ctx.change
        destructive = change.risk == "destructive"
        irreversible = self.config.irreversible and change.mutating and not change.reversible
        if not (destructive or irreversible):
            return None
        what = "destructive" if destructive else "irreversible"
        message = f"{change.action} is {what}: it needs approval from someone other than the requester"
        if self.description:
            message = f"{self.description} — {message}"
        return self.finding(self.effect, message, four_eyes=True)
