"""Rules: the base types, the CEL rule, and the built-ins (one module each).

:data:`BUILTINS` maps the name a pack writes under ``builtin:`` to its class.
"""

from __future__ import annotations

from policies.rules.autonomy import AutonomyRule, Tier
from policies.rules.base import (
    BuiltinRule,
    EvalInputs,
    Finding,
    PackDefaults,
    Rule,
    RuleConfigError,
    RuleSpec,
)
from policies.rules.expression import ExpressionRule
from policies.rules.four_eyes import FourEyesRule
from policies.rules.freeze import FreezeRule
from policies.rules.protected import ProtectedRule
from policies.rules.rate_limit import RateLimitRule
from policies.rules.roles import RolesRule
from policies.rules.spend import SpendCapRule
from policies.rules.windows import ChangeWindowRule

__all__ = [
    "BUILTINS",
    "AutonomyRule",
    "BuiltinRule",
    "EvalInputs",
    "ExpressionRule",
    "Finding",
    "PackDefaults",
    "Rule",
    "RuleConfigError",
    "RuleSpec",
    "Tier",
    "build_rule",
]

BUILTINS: dict[str, type[BuiltinRule]] = {
    cls.builtin: cls
    for cls in (
        RolesRule,
        AutonomyRule,
        FreezeRule,
        ProtectedRule,
        FourEyesRule,
        SpendCapRule,
        RateLimitRule,
        ChangeWindowRule,
    )
}


def build_rule(spec: RuleSpec, defaults: PackDefaults, origin: str = "") -> Rule:
    """Compile ``spec`` into a rule.

    Raises:
        RuleConfigError: unknown builtin, bad config or effect.
        policies.expressions.ExpressionError: ``when`` doesn't compile or names something unknown.
    """
    if spec.builtin is None:
        return ExpressionRule(spec, defaults, origin)
    cls = BUILTINS.get(spec.builtin)
    if cls is None:
        raise RuleConfigError(f"unknown builtin {spec.builtin!r}; known: {', '.join(sorted(BUILTINS))}")
    return cls(spec, defaults, origin)
