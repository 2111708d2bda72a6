"""The REST API's request and response bodies (they make the OpenAPI document complete).

Responses are built from the service's JSON views; these models describe them. Fields the
pipeline may extend (parsed command, result) are typed as open objects.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

__all__ = [
    "ActionOut",
    "ApprovalIn",
    "ChangeOut",
    "ChangesIn",
    "CommandIn",
    "DecisionOut",
    "DriftOut",
    "HealthOut",
    "PlanOut",
    "PlatformStatusOut",
    "Problem",
    "ReadyOut",
    "RunOut",
    "RunSummaryOut",
    "StepOut",
    "UndoIn",
    "WebhookAck",
]

RunStatusName = Literal[
    "received", "planned", "awaiting_confirmation", "awaiting_approval", "deciding", "applying", "applied",
    "failed", "denied", "rejected", "changes_requested", "expired", "cancelled", "dry_run", "answered", "clarify",
    "refuse",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- requests ----------------------------------------------------------------------------


class CommandIn(BaseModel):
    """A command in plain English."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000, description="What to do, e.g. 'scale ETL_WH to large'.",
                      examples=["create a vector index called docs with 384 dimensions"])
    dry_run: StrictBool = Field(default=False, description="Plan only: show before → after, change nothing.")


class ApprovalIn(BaseModel):
    """An approver's decision note."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2000, description="A note for the requester.")


class ChangesIn(BaseModel):
    """What the requester should change."""

    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=2000, description="What to change before asking again.")


class UndoIn(BaseModel):
    """Options for undoing a change."""

    model_config = ConfigDict(extra="forbid")

    dry_run: StrictBool = Field(default=False, description="Plan the undo only.")


# -- responses ---------------------------------------------------------------------------


class Problem(BaseModel):
    """An error (RFC 9457 problem details) with the stable sophia error code."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable error code: busy, not_found, policy_denied, validation_failed …")
    hint: str = Field(default="", description="What to do next.")
    details: dict[str, Any] = Field(default_factory=dict)
    instance: str | None = None


class ErrorOut(BaseModel):
    """An error recorded on a run."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    hint: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class CallOut(BaseModel):
    """One action call."""

    action: str
    target: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class StepOut(_Open):
    """A planned step with the state before and the state it should leave."""

    seq: int
    call: CallOut
    risk: Literal["read", "change", "destructive"]
    reversible: bool
    environment: str = "prod"
    before: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None
    undo_of: str | None = None
    note: str | None = None


class PlanOut(_Open):
    """The ordered steps; the digest binds approvals to exactly this plan."""

    steps: list[StepOut] = Field(default_factory=list)
    summary: str = ""
    digest: str | None = None


class ReasonOut(BaseModel):
    """A rule that contributed to a decision."""

    rule: str
    message: str


class DecisionOut(_Open):
    """The policy verdict."""

    effect: Literal["allow", "deny", "require_approval"]
    reasons: list[ReasonOut] = Field(default_factory=list)
    approvers: list[str] = Field(default_factory=list)
    min_approvals: int = 0
    ttl_seconds: int = 0
    four_eyes: bool = False


class ChangeOut(_Open):
    """A recorded change (one ledger-backed change record)."""

    id: str
    run_id: str
    seq: int
    platform: str
    action: str
    target: str | None = None
    environment: str
    params: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    inverse: dict[str, Any] | None = None
    reversible: bool
    risk: str
    status: Literal["pending", "applied", "failed", "rolled_back", "needs_reconcile"]
    actor: str
    undo_of: str | None = None
    rolled_back_by: str | None = None
    error: str | None = None
    created_at: str
    updated_at: str


class RunSummaryOut(_Open):
    """A run without its changes."""

    id: str
    created_at: str
    updated_at: str
    text: str
    actor: str
    surface: str
    parser: str | None = None
    status: str
    dry_run: bool
    plan_digest: str | None = None


class RunOut(_Open):
    """A run: the command, its plan and decision, its outcome and the changes it recorded."""

    run_id: str
    created_at: str
    updated_at: str
    text: str
    actor: str
    surface: str
    parser: str | None = None
    parsed: dict[str, Any] | None = None
    plan: PlanOut | None = None
    plan_digest: str | None = None
    decision: DecisionOut | None = None
    status: RunStatusName | str
    dry_run: bool
    error: ErrorOut | None = None
    result: dict[str, Any] | None = None
    changes: list[ChangeOut] = Field(default_factory=list)
    awaiting: dict[str, Any] | None = Field(default=None, description="What the run waits for (approval).")
    approvals: list[dict[str, Any]] = Field(default_factory=list,
                                            description="Answers to its approval request, oldest first.")


class PlatformStatusOut(_Open):
    """Health and inventory of one platform."""

    platform: str
    healthy: bool
    configured: bool = True
    message: str = ""
    inventory: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    checked_at: str | None = None
    drift: list[str] = Field(default_factory=list, description="Drift this check recorded (ids; see /v1/drift).")


class ActionOut(BaseModel):
    """One catalog action."""

    id: str
    platform: str
    summary: str
    target: str
    risk: Literal["read", "change", "destructive"]
    reversible: bool
    inverse: str | None = None
    params: dict[str, Any]
    required: list[str]
    examples: list[str]
    installed: bool


class DriftOut(_Open):
    """A change a platform reported that the ledger does not explain."""

    id: str
    platform: str
    resource_type: str
    name: str
    verb: str
    reported_actor: str | None = None
    observed: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    revert: dict[str, Any] | None = None
    revertible: bool
    revert_note: str = ""
    inbox_id: int | None = None
    status: Literal["open", "reverting", "reverted", "dismissed"] | str
    revert_run_id: str | None = None
    notified: bool
    detected_at: str


class WebhookAck(BaseModel):
    """The answer to a webhook delivery."""

    status: Literal["accepted", "duplicate"]
    platform: str
    delivery_id: str


class HealthOut(BaseModel):
    """Liveness."""

    status: Literal["ok"]


class CheckOut(BaseModel):
    """One readiness check."""

    ok: bool
    detail: str = ""


class ReadyOut(BaseModel):
    """Readiness: the database, the checkpointer and the policy engine."""

    ready: bool
    checks: dict[str, CheckOut]
