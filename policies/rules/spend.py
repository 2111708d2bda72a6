"""Built-in ``spend_cap``: money and GPUs above a threshold need approval (or are refused).

Two measures, either or both: ``limit_usd`` compares a change's ``limit_usd`` param (a key
that is present but null means *no limit*, which is over any cap); ``gpu_instances`` compares
the ``count`` param of the GPU actions (``lambdalabs.instance.launch`` by default). Use the
rule twice for a soft cap (``require_approval``) under a hard one (``deny``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator.state import Effect
from policies.rules.base import BuiltinRule, EvalInputs, Finding

__all__ = ["SpendCapRule"]


class SpendCapConfig(BaseModel):
    """Thresholds: a change *above* them fires."""

    model_config = ConfigDict(extra="forbid")

    limit_usd: float | None = Field(default=None, ge=0)
    gpu_instances: int | None = Field(default=None, ge=0)
    gpu_actions: tuple[str, ...] = ("lambdalabs.instance.launch",)

    @model_validator(mode="after")
    def _some(self) -> SpendCapConfig:
        if self.limit_usd is None and self.gpu_instances is None:
            raise ValueError("set limit_usd, gpu_instances or both")
        return self


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


class SpendCapRule(BuiltinRule):
    """Fires when ``limit_usd`` or a GPU instance count goes over the configured cap."""

    builtin = "spend_cap"
    Config = SpendCapConfig
    effects = (Effect.REQUIRE_APPROVAL, Effect.DENY)

    def check(self, inputs: EvalInputs) -> Finding | None:
        """Compares the change's params with the caps."""
        change = inputs.ctx.change
        if not change.mutating:
            return None
        cap = self.config
        problems: list[str] = []
        if cap.limit_usd is not None and "limit_usd" in change.params:
            raw = change.params["limit_usd"]
            amount = None if raw is None else _number(raw)
            if raw is None:
                problems.append(f"no spend limit (unbounded) is over the ${cap.limit_usd:g} cap")
            elif amount is None or amount > cap.limit_usd:
                problems.append(f"limit_usd {raw} is over the ${cap.limit_usd:g} cap")
        if cap.gpu_instances is not None and change.action in cap.gpu_actions:
            count = _number(change.params.get("count", 1))
            if count is None or count > cap.gpu_instances:
                problems.append(
                    f"{change.params.get('count', 1)} GPU instances is over the cap of {cap.gpu_instances}"
                )
        if not problems:
            return None
        message = "; ".join(problems)
        return self.finding(self.effect, f"{self.description} — {message}" if self.description else message)
