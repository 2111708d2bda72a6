"""Built-in ``spend_cap``: money and GPUs above a threshold need approval (or are refused).

Three measures, any or all: ``limit_usd`` compares a change's ``limit_usd`` param (a key
that is present but null means *no limit*, which is over any cap); ``gpu_instances`` compares
the ``count`` param of the GPU actions (``lambdalabs.instance.launch`` by default);
``usd_per_hour`` compares what a planned GPU action will cost an hour, ``expected.usd_per_hour``
(the adapter reads the instance type's price when it plans: price × count). A planned GPU action
whose plan carries no hourly price is over the cap (fail closed); a change that was not planned
(``policy explain``, which reads nothing: no ``expected`` at all) is judged on the other measures.
Use the rule twice for a soft cap (``require_approval``) under a hard one (``deny``).
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
    usd_per_hour: float | None = Field(default=None, ge=0)
    gpu_actions: tuple[str, ...] = ("lambdalabs.instance.launch",)

    @model_validator(mode="after")
    def _some(self) -> SpendCapConfig:
        if self.limit_usd is None and self.gpu_instances is None and self.usd_per_hour is None:
            raise ValueError("set limit_usd, gpu_instances, usd_per_hour or several")
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
    """Fires when ``limit_usd``, a GPU instance count or a GPU hourly price goes over the cap."""

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
        if cap.usd_per_hour is not None and change.action in cap.gpu_actions and inputs.ctx.expected is not None:
            hourly = inputs.ctx.expected.get("usd_per_hour")
            amount = None if hourly is None else _number(hourly)
            if amount is None:
                problems.append(f"the plan carries no hourly price to hold to the ${cap.usd_per_hour:g}/h cap")
            elif amount > cap.usd_per_hour:
                problems.append(f"${amount:g}/h is over the ${cap.usd_per_hour:g}/h cap")
        if not problems:
            return None
        message = "; ".join(problems)
        return self.finding(self.effect, f"{self.description} — {message}" if self.description else message)
