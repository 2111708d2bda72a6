"""Approvals: the typed ``interrupt()`` payload, the answer, and the rules for judging an answer.

An :class:`ApprovalRequest` is built once, when policy asks for approval (so its expiry is
fixed in graph state, not recomputed when the approve node re-runs on resume). It carries the
run id, the plan's digest, who may decide, the expiry and the allowed answers. An answer is
bound to the digest: if the plan changed, the approval is void; after ``expires_at`` it is
refused; a destructive change can't be approved by its requester; ``min_approvals`` distinct
approvers are needed.

**Principals.** The CLI can name an actor (``--as``); the identity really at the keyboard is the
*principal* (``requester_principal``, ``ApprovalAnswer.principal``; the actor itself when none is
given: API keys and Slack users are their own principals). Four-eyes and "each approver counts
once" compare principals as well as the named identities, so one person naming two actors is
still one pair of eyes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.state import Decision
from policies.identity import Identity

__all__ = ["Answer", "ApprovalAnswer", "ApprovalRequest", "Judgement", "authorize", "judge", "new_request"]

DEFAULT_TTL_SECONDS = 3600


class Answer(StrEnum):
    """What an approver may answer."""

    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"


class ApprovalRequest(BaseModel):
    """The interrupt payload: what is being approved, by whom, until when."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["approval"] = "approval"
    run_id: str
    digest: str
    summary: str = ""
    requester: str
    requester_actor: str = ""
    #: The identity id of who really asked (see the module docstring); empty on older requests.
    requester_principal: str = ""
    approvers: list[str] = Field(default_factory=list)
    min_approvals: int = 1
    four_eyes: bool = False
    requested_at: datetime
    expires_at: datetime
    answers: list[Answer] = Field(default_factory=lambda: list(Answer))
    reasons: list[dict[str, str]] = Field(default_factory=list)
    approvals: list[dict[str, str]] = Field(default_factory=list)

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the request has expired at ``now``."""
        return (now or datetime.now(UTC)) >= self.expires_at


class ApprovalAnswer(BaseModel):
    """One decision on a request, as a surface hands it to the service (and the service to the graph)."""

    model_config = ConfigDict(extra="forbid")

    decision: Answer
    actor: str
    #: Who really answered, when ``actor`` was named for them (the CLI's ``--as``).
    principal: str = ""
    digest: str
    comment: str | None = Field(default=None, max_length=2000)
    answered_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


Outcome = Literal["approved", "pending", "rejected", "changes_requested", "expired", "void", "ignored"]


class Judgement(BaseModel):
    """What an answer amounts to, and why."""

    outcome: Outcome
    problem: str = ""


def new_request(
    *, run_id: str, digest: str, summary: str, requester: Identity, requester_actor: str, decision: Decision,
    now: datetime | None = None, requester_principal: Identity | None = None,
) -> ApprovalRequest:
    """The approval request for a ``require_approval`` decision."""
    now = now or datetime.now(UTC)
    return ApprovalRequest(
        run_id=run_id, digest=digest, summary=summary, requester=requester.id, requester_actor=requester_actor,
        requester_principal=(requester_principal or requester).id,
        approvers=list(decision.approvers), min_approvals=max(1, decision.min_approvals),
        four_eyes=decision.four_eyes, requested_at=now,
        expires_at=now + timedelta(seconds=decision.ttl_seconds or DEFAULT_TTL_SECONDS),
        reasons=[{"rule": r["rule"], "message": r["message"]} for r in decision.reasons],
    )


def authorize(request: ApprovalRequest, decider: Identity, decision: Answer, comment: str | None, *,
              principal: Identity | None = None) -> str | None:
    """Why ``decider`` may not give this answer, or None if they may.

    The requester may always withdraw (reject) their own request. Approving and requesting
    changes take an admin or an approver in one of the request's groups; approving a
    four-eyes request takes someone other than the requester — a different named identity
    *and* a different real principal (``principal``: who named ``decider``; ``decider`` when
    None); each approver, and each principal, counts once.
    """
    real = (principal or decider).id
    asked_by = request.requester_principal or request.requester
    if decision is Answer.REQUEST_CHANGES and not (comment or "").strip():
        return "request_changes needs a comment saying what to change"
    if decision is Answer.REJECT and decider.id == request.requester:
        return None
    if not decider.can_approve(request.approvers):
        groups = ", ".join(request.approvers) or "any"
        roles = ", ".join(r.value for r in decider.roles)
        return f"{decider.id} may not decide this request (needs an approver in: {groups}; has roles: {roles})"
    if decision is Answer.APPROVE:
        if request.four_eyes and decider.id == request.requester:
            return f"{decider.id} requested this change; a destructive change needs approval from someone else"
        if request.four_eyes and real == asked_by:
            return (f"{real} requested this change (as {request.requester}) and is approving it as {decider.id}; "
                    "a destructive change needs approval from someone else, not an actor named with --as")
        if any(a.get("actor") == decider.id or (a.get("principal") or a.get("actor")) == real
               for a in request.approvals):
            return f"{decider.id} already approved this request; it needs {request.min_approvals} different approvers"
    return None


def judge(request: ApprovalRequest, answer: ApprovalAnswer, decider: Identity, *, plan_digest: str,
          now: datetime | None = None, principal: Identity | None = None) -> Judgement:
    """Judge one answer against the request, the plan as it is now, and the clock.

    ``void`` (plan changed) and ``expired`` end the run; ``ignored`` (someone who may not
    decide) leaves it waiting; ``pending`` means an approval was counted and more are needed.
    """
    if answer.digest != request.digest or plan_digest != request.digest:
        return Judgement(outcome="void", problem="the plan changed after approval was requested: the approval is "
                                                 "void; submit the command again for a fresh approval")
    if request.expired(now):
        return Judgement(outcome="expired", problem=f"the approval request expired at "
                                                    f"{request.expires_at:%Y-%m-%d %H:%M:%S} UTC; submit the command "
                                                    f"again")
    problem = authorize(request, decider, answer.decision, answer.comment, principal=principal)
    if problem:
        return Judgement(outcome="ignored", problem=problem)
    if answer.decision is Answer.REJECT:
        return Judgement(outcome="rejected")
    if answer.decision is Answer.REQUEST_CHANGES:
        return Judgement(outcome="changes_requested")
    if len(request.approvals) + 1 >= request.min_approvals:
        return Judgement(outcome="approved")
    return Judgement(outcome="pending")
