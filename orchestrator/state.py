"""Graph state and the structured models that flow through it.

Graph state holds only plain JSON (``model_dump(mode="json")`` of these models), so every
checkpoint is readable, portable across savers, and free of secrets by construction: params
pass through :func:`adapters.redact.redact_params` before they enter a plan.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from adapters.catalog import ActionCall

__all__ = [
    "Decision",
    "Effect",
    "GraphState",
    "Intent",
    "ParsedCommand",
    "Plan",
    "Request",
    "RunStatus",
    "Step",
    "canonical_json",
    "digest",
]


class Intent(StrEnum):
    """What a command asks for (the built-in intents of CATALOG.md plus ``action``)."""

    ACTION = "action"
    STATUS = "status"
    HISTORY = "history"
    UNDO = "undo"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    APPROVE = "approve"
    REJECT = "reject"
    EXPLAIN = "explain"
    HELP = "help"
    CLARIFY = "clarify"
    REFUSE = "refuse"


MUTATING_INTENTS = frozenset({Intent.ACTION, Intent.UNDO, Intent.FREEZE, Intent.UNFREEZE})


class ParsedCommand(BaseModel):
    """A parser's output, in the shape of the eval format's ``expect`` (DESIGN.md).

    Only the fields that matter for the intent are set; ``actions`` is the ordered plan for
    ``action``. ``message`` carries the question for ``clarify`` and the reason for ``refuse``;
    ``errors`` lists invalid params (``{"field", "message"}``) when a clarify is due to them.
    """

    model_config = ConfigDict(extra="forbid")

    intent: Intent
    actions: list[ActionCall] = Field(default_factory=list)
    platform: str | None = None
    target: str | None = None
    change_id: str | None = None
    since: str | None = None
    environment: str | None = None
    until: str | None = None
    reason: str | None = None
    run_id: str | None = None
    question: str | None = None
    topic: str | None = None
    message: str | None = None
    candidates: list[str] = Field(default_factory=list)
    errors: list[dict[str, str]] = Field(default_factory=list)
    parser: str = "offline"
    confidence: float = 1.0

    def expect_shape(self) -> dict[str, Any]:
        """The eval-format view: intent plus only the fields that are set."""
        data = self.model_dump(mode="json", exclude_defaults=True, exclude={"parser", "confidence"})
        data["intent"] = self.intent.value
        return data


class Step(BaseModel):
    """One planned change: the validated call plus what planning learned about it."""

    seq: int
    call: ActionCall
    risk: str
    reversible: bool
    environment: str = "prod"
    before: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None
    undo_of: str | None = None
    note: str | None = None


class Plan(BaseModel):
    """An ordered list of steps; its digest binds approvals to exactly this plan."""

    steps: list[Step] = Field(default_factory=list)
    summary: str = ""

    @property
    def digest(self) -> str:
        """sha256 over the canonical JSON of the calls (what will be sent, in order)."""
        return digest([s.call.model_dump(mode="json") | {"undo_of": s.undo_of} for s in self.steps])

    @property
    def mutating(self) -> bool:
        """Whether any step changes a platform."""
        return any(s.risk != "read" for s in self.steps)


class Effect(StrEnum):
    """A policy verdict."""

    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"


class Decision(BaseModel):
    """The policy verdict for a plan, with the rules that produced it."""

    effect: Effect
    reasons: list[dict[str, str]] = Field(default_factory=list)
    approvers: list[str] = Field(default_factory=list)
    min_approvals: int = 0
    ttl_seconds: int = 0
    four_eyes: bool = False


class Request(BaseModel):
    """What a surface hands the service: the text and who sent it, from where."""

    text: str
    actor: str = "cli:unknown"
    #: Who really sent it when ``actor`` was named for them (the CLI's ``--as``); empty: ``actor`` itself.
    principal: str = ""
    surface: str = "cli"
    dry_run: bool = False
    confirmed: bool = True
    parser: str | None = None


class RunStatus(StrEnum):
    """Lifecycle of a run (one command)."""

    RECEIVED = "received"
    PLANNED = "planned"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    AWAITING_APPROVAL = "awaiting_approval"
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"
    DENIED = "denied"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    CHANGES_REQUESTED = "changes_requested"
    EXPIRED = "expired"
    DRY_RUN = "dry_run"
    ANSWERED = "answered"


class GraphState(TypedDict, total=False):
    """LangGraph state: plain JSON only (see module docstring)."""

    run_id: str
    request: dict[str, Any]
    parsed: dict[str, Any]
    plan: dict[str, Any]
    decision: dict[str, Any]
    approval: dict[str, Any]
    approval_request: dict[str, Any]
    result: dict[str, Any]
    status: str
    error: dict[str, Any] | None


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: Any) -> str:
    """sha256 hex of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()
