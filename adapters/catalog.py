"""The action catalog: one spec per platform action, declared by each adapter.

An :class:`ActionSpec` is the contract for ``platform.resource.verb``: what its target is,
which params it takes (a Pydantic model that validates and normalises them), how risky it is,
and how its inverse is derived from the recorded before/after state. The same specs feed the
parsers, plan validation, the policy engine, ``sophia-iac actions`` and the eval datasets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import ValidationFailedError

__all__ = [
    "ActionCall",
    "ActionSpec",
    "InverseFn",
    "NoParams",
    "Params",
    "Risk",
    "Stack",
    "check_target",
    "format_validation_error",
    "inverse_same_target",
    "restore_fields",
]

ACTION_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2,3}$")


class Risk(StrEnum):
    """How much an action can hurt: reads, reversible changes, destructive changes."""

    READ = "read"
    CHANGE = "change"
    DESTRUCTIVE = "destructive"


class Stack(StrEnum):
    """The four groups platforms are filed under."""

    DATA = "data"
    DEV = "dev"
    AI = "ai"
    OPS = "ops"


class Params(BaseModel):
    """Base for every action's params model: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class NoParams(Params):
    """Params model for actions that take none."""


class ActionCall(BaseModel):
    """One concrete step: an action id, the resource it acts on, and validated params.

    ``params`` is always the JSON form (``model_dump(mode="json")``) of the action's params
    model, so a call can be stored, hashed and compared as plain data.
    """

    model_config = ConfigDict(frozen=True)

    action: str
    target: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def platform(self) -> str:
        """The platform part of the action id (``snowflake`` for ``snowflake.warehouse.scale``)."""
        return self.action.split(".", 1)[0]


#: Derives the inverse of an applied change from (call, before-state, after-state).
#: Returns None when the change can't be undone from what was recorded.
InverseFn = Callable[[ActionCall, Mapping[str, Any] | None, Mapping[str, Any] | None], ActionCall | None]


@dataclass(frozen=True)
class ActionSpec:
    """The declaration of one catalog action.

    Attributes:
        id: ``platform.resource.verb`` (a fourth segment is allowed: ``hubspot.pipeline.stage.create``).
        summary: one line for ``sophia-iac actions`` and the LLM schema.
        params: the Pydantic model params are validated against.
        risk: read / change / destructive.
        target: what the target names, in words ("warehouse name", "owner/repo").
        inverse: derives the undo step; None means the action is irreversible.
        inverse_hint: how the inverse is derived, in words (shown in docs and plans).
        examples: utterances that should parse to this action (offline parser, docs, evals).
        target_required: False for actions with no resource (``gong.call.list``).
        secret_params: params whose values never reach the ledger, logs or prompts.
    """

    id: str
    summary: str
    params: type[Params] = NoParams
    risk: Risk = Risk.CHANGE
    target: str = "resource name"
    inverse: InverseFn | None = None
    inverse_hint: str = ""
    examples: tuple[str, ...] = ()
    target_required: bool = True
    secret_params: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not ACTION_ID.match(self.id):
            raise ValueError(f"action id {self.id!r} is not platform.resource.verb")
        if self.risk is Risk.DESTRUCTIVE and self.inverse is not None:
            raise ValueError(f"{self.id}: a destructive action has no automatic inverse")
        parts = self.id.split(".")
        # Read on every parse for every action: split once (frozen, so set past __setattr__).
        object.__setattr__(self, "_parts", (parts[0], ".".join(parts[1:-1]), parts[-1]))

    @property
    def platform(self) -> str:
        """``snowflake`` for ``snowflake.warehouse.scale``."""
        return self._parts[0]  # type: ignore[attr-defined,no-any-return]

    @property
    def resource(self) -> str:
        """``warehouse`` for ``snowflake.warehouse.scale`` (``pipeline.stage`` for 4 parts)."""
        return self._parts[1]  # type: ignore[attr-defined,no-any-return]

    @property
    def verb(self) -> str:
        """``scale`` for ``snowflake.warehouse.scale``."""
        return self._parts[2]  # type: ignore[attr-defined,no-any-return]

    @property
    def reversible(self) -> bool:
        """Whether an applied change can be undone automatically."""
        return self.inverse is not None

    @property
    def mutating(self) -> bool:
        """Whether the action changes the platform."""
        return self.risk is not Risk.READ

    def validate_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate and normalise params; return their JSON form.

        Raises:
            pydantic.ValidationError: naming the field and what is allowed.
        """
        model = self.params.model_validate(dict(params or {}))
        return model.model_dump(mode="json")

    def call(self, target: str | None, params: Mapping[str, Any] | None = None) -> ActionCall:
        """Build a validated :class:`ActionCall` for this action.

        Raises:
            pydantic.ValidationError: bad params.
            ValidationFailedError: a target no action may take (see :func:`check_target`).
        """
        check_target(self.id, target)
        return ActionCall(action=self.id, target=target, params=self.validate_params(params))

    def derive_inverse(
        self,
        call: ActionCall,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> ActionCall | None:
        """The undo step for an applied ``call``, or None if it can't be undone."""
        if self.inverse is None:
            return None
        return self.inverse(call, before, after)

    def json_schema(self) -> dict[str, Any]:
        """The params' JSON schema (for the LLM's structured output and the docs)."""
        return self.params.model_json_schema()


#: Line breaks and other control characters; no platform names a resource with them.
_CONTROL = frozenset({"Cc", "Zl", "Zp"})


def check_target(action_id: str, target: str | None) -> None:
    """Refuse a target no action may take, whatever the platform: control characters (CR, LF,
    NUL …) or a dot segment (``.``/``..`` between ``/`` or ``\\``, also percent-encoded such as
    ``%2e%2e``, or as a look-alike such as U+2025). Targets come from command text and LLM output;
    adapters check each path segment again when they build a request (:mod:`adapters.paths`).

    Raises:
        ValidationFailedError: naming the target and what is wrong with it.
    """
    if target is None:
        return
    why = None
    if bad := next((c for c in target if unicodedata.category(c) in _CONTROL), None):
        why = f"it contains the control character U+{ord(bad):04X}"
    else:
        text = unicodedata.normalize("NFKC", target)
        for _ in range(3):
            if any(part.strip() in (".", "..") for part in re.split(r"[/\\]", text)):
                why = "it has a '.' or '..' part"
                break
            text = unquote(text)
    if why:
        shown = target if len(target) <= 60 else target[:57] + "..."
        raise ValidationFailedError(
            f"{action_id}: the target {shown!r} can't be used: {why}",
            hint="name the resource exactly as the platform shows it",
            details={"field": "target", "reason": why},
        )


def inverse_same_target(action_id: str, **fixed: Any) -> InverseFn:
    """Inverse that runs ``action_id`` on the same target with fixed params.

    ``create`` → ``delete``, ``suspend`` → ``resume`` and the like.
    """

    def derive(
        call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> ActionCall | None:
        return ActionCall(action=action_id, target=call.target, params=dict(fixed))

    return derive


def restore_fields(action_id: str, fields: Mapping[str, str], keep: tuple[str, ...] = ()) -> InverseFn:
    """Inverse that sets params back to the before-state.

    Args:
        action_id: the action that sets them (often the same action).
        fields: param name → key in the before-state it is restored from.
        keep: params copied unchanged from the original call (e.g. ``object_type``).
    """

    def derive(
        call: ActionCall, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> ActionCall | None:
        if not before:
            return None
        params = {name: before.get(key) for name, key in fields.items()}
        if any(value is None for value in params.values()):
            return None
        params.update({name: call.params[name] for name in keep if name in call.params})
        return ActionCall(action=action_id, target=call.target, params=params)

    return derive


def format_validation_error(spec_id: str, err: ValidationError, secret: Collection[str] = ()) -> str:
    """One readable line per invalid field: ``dimension: must be <= 16000 (got 100000)``.

    The offending input is quoted except for ``secret`` params (pass ``spec.secret_params``),
    whose values must never reach an error message.
    """
    parts = []
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "params"
        got = problem.get("input")
        hidden = isinstance(got, dict) or (bool(problem["loc"]) and str(problem["loc"][0]) in secret)
        got_text = "" if hidden else f" (got {got!r})"
        parts.append(f"{where}: {problem['msg']}{got_text}")
    return f"{spec_id}: " + "; ".join(parts)
