"""A pack-written rule: a CEL ``when`` and an ``effect``."""

from __future__ import annotations

from policies.rules.base import EvalInputs, Finding, PackDefaults, Rule, RuleConfigError, RuleSpec

__all__ = ["ExpressionRule"]


class ExpressionRule(Rule):
    """Fires with ``effect`` whenever ``when`` is true. ``when`` must be a boolean."""

    def __init__(self, spec: RuleSpec, defaults: PackDefaults, origin: str = "") -> None:
        if spec.when is None:
            raise RuleConfigError("a rule needs `when` (a CEL expression) or `builtin`")
        if spec.effect is None:
            raise RuleConfigError("a rule needs `effect`: allow, deny or require_approval")
        if spec.config:
            raise RuleConfigError("`config` is only for built-in rules")
        super().__init__(spec, defaults, origin)
        self.effect = spec.effect

    def check(self, inputs: EvalInputs) -> Finding | None:
        """In scope means fired (``when`` was already evaluated)."""
        return self.finding(self.effect)
