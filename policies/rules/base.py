"""What every rule is: a spec read from a pack, and a check that may produce a finding.

A rule either carries a CEL ``when`` and an ``effect`` (:mod:`policies.rules.expression`) or
names a ``builtin`` with its ``config`` (one module each in this package); for a built-in,
``when`` narrows where it applies (``env == 'prod'``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestrator.state import Effect
from policies.context import PolicyContext
from policies.durations import parse_duration
from policies.expressions import Program, compile_expression, make_context

__all__ = [
    "BuiltinRule",
    "EvalInputs",
    "Finding",
    "PackDefaults",
    "RecentChanges",
    "Rule",
    "RuleConfigError",
    "RuleSpec",
]

RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")

#: ``(identity id, window in seconds) -> how many mutating changes it made in that window``.
RecentChanges = Callable[[str, int], int]


class RuleConfigError(ValueError):
    """A rule that can't be built (bad config, bad expression, wrong effect)."""


class PackDefaults(BaseModel):
    """Approval settings a rule inherits when it sets none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approvers: tuple[str, ...] = ("approvers",)
    min_approvals: int = Field(default=1, ge=1, le=10)
    ttl: int = 3600

    @field_validator("ttl", mode="before")
    @classmethod
    def _ttl(cls, value: object) -> int:
        return parse_duration(value)


class RuleSpec(BaseModel):
    """One rule as written in a pack; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str = ""
    when: str | None = None
    effect: Effect | None = None
    approvers: tuple[str, ...] | None = None
    min_approvals: int | None = Field(default=None, ge=1, le=10)
    ttl: int | None = None
    mandatory: bool = False
    builtin: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError("rule id must be lowercase letters, digits, '.', '_' or '-' (max 80)")
        return value

    @field_validator("ttl", mode="before")
    @classmethod
    def _ttl(cls, value: object) -> int | None:
        return None if value is None else parse_duration(value)


@dataclass(frozen=True)
class Finding:
    """A rule that fired: its verdict and why, plus what an approval needs."""

    rule: str
    effect: Effect
    message: str
    approvers: tuple[str, ...] = ()
    min_approvals: int = 0
    ttl_seconds: int = 0
    four_eyes: bool = False
    mandatory: bool = False


@dataclass
class EvalInputs:
    """Per-evaluation scratch space shared by the rules: the CEL context, built once."""

    ctx: PolicyContext
    recent_changes: RecentChanges | None = None
    _cel: Any = field(default=None, repr=False)

    def cel(self) -> Any:
        """The CEL context for this evaluation (built on first use)."""
        if self._cel is None:
            self._cel = make_context(self.ctx.cel_variables())
        return self._cel


class Rule(ABC):
    """A compiled rule. Subclasses implement :meth:`check`; the engine calls :meth:`evaluate`.

    Attributes:
        id: unique across every loaded pack.
        description: shown as the reason when the rule fires.
        origin: ``file:line`` the rule came from.
    """

    builtin: ClassVar[str] = ""

    def __init__(self, spec: RuleSpec, defaults: PackDefaults, origin: str = "") -> None:
        self.spec = spec
        self.id = spec.id
        self.description = spec.description
        self.origin = origin
        self.mandatory = spec.mandatory
        self.approvers: tuple[str, ...] = spec.approvers if spec.approvers is not None else defaults.approvers
        self.min_approvals = spec.min_approvals or defaults.min_approvals
        self.ttl_seconds = spec.ttl if spec.ttl is not None else defaults.ttl
        self.scope: Program | None = None
        if spec.when is not None:
            self.scope = compile_expression(spec.when)

    def in_scope(self, inputs: EvalInputs) -> bool:
        """Whether ``when`` holds (True without one).

        Raises:
            TypeError: the expression returned something other than a boolean.
            Exception: whatever CEL raised; the engine turns it into a deny.
        """
        if self.scope is None:
            return True
        result = self.scope.execute(inputs.cel())
        if not isinstance(result, bool):
            raise TypeError(f"`when` must be true or false, got {type(result).__name__} {result!r}")
        return result

    def finding(self, effect: Effect, message: str = "", *, four_eyes: bool = False) -> Finding:
        """A finding of this rule with its approval settings."""
        approval = effect is Effect.REQUIRE_APPROVAL
        return Finding(
            rule=self.id,
            effect=effect,
            message=message or self.description or self.id,
            approvers=self.approvers if approval else (),
            min_approvals=self.min_approvals if approval else 0,
            ttl_seconds=self.ttl_seconds if approval else 0,
            four_eyes=four_eyes,
            mandatory=self.mandatory or four_eyes,
        )

    def evaluate(self, inputs: EvalInputs) -> Finding | None:
        """:meth:`check` if the rule is in scope."""
        if not self.in_scope(inputs):
            return None
        return self.check(inputs)

    @abstractmethod
    def check(self, inputs: EvalInputs) -> Finding | None:
        """The rule's verdict on ``inputs.ctx``, or None when it has nothing to say."""


class BuiltinRule(Rule):
    """A built-in rule: ``config`` is validated by :attr:`Config`; ``effect`` by :attr:`effects`.

    Attributes:
        Config: the pydantic model for ``config`` (unknown keys are an error).
        effects: the effects the pack may choose; the first is the default.
    """

    Config: ClassVar[type[BaseModel]]
    effects: ClassVar[tuple[Effect, ...]] = (Effect.DENY, Effect.REQUIRE_APPROVAL)

    def __init__(self, spec: RuleSpec, defaults: PackDefaults, origin: str = "") -> None:
        super().__init__(spec, defaults, origin)
        effect = spec.effect or self.effects[0]
        if effect not in self.effects:
            allowed = " or ".join(e.value for e in self.effects)
            raise RuleConfigError(f"builtin {self.builtin} takes effect {allowed}, not {effect.value}")
        self.effect: Effect = effect
        try:
            self.config: Any = self.Config.model_validate(spec.config)
        except ValidationError as exc:
            problems = "; ".join(
                f"config.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise RuleConfigError(problems) from exc
