"""Judging approval answers (unit level; the pipeline tests run the same rules through the graph)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.state import Decision, Effect
from policies.approvals import Answer, ApprovalAnswer, ApprovalRequest, authorize, judge, new_request
from policies.identity import Identity, Role
from policies.timeparse import FOREVER, parse_until

NOW = datetime(2026, 11, 18, 10, 30, tzinfo=UTC)
ALICE = Identity(id="alice", roles=(Role.OPERATOR, Role.APPROVER), groups=("approvers",))
BOB = Identity(id="bob", roles=(Role.APPROVER,), groups=("approvers",))
DAVE = Identity(id="dave", roles=(Role.APPROVER,), groups=("approvers",))
CAROL = Identity(id="carol", roles=(Role.APPROVER,), groups=("data-leads",))
ROOT = Identity(id="root", roles=(Role.ADMIN,))


def _request(**decision: object) -> ApprovalRequest:
    fields = {"effect": Effect.REQUIRE_APPROVAL, "approvers": ["approvers"], "min_approvals": 1, "ttl_seconds": 600,
              "four_eyes": True, "reasons": [{"rule": "r", "message": "m", "effect": "require_approval"}]} | decision
    return new_request(run_id="run_1", digest="d" * 64, summary="delete x", requester=ALICE,
                       requester_actor="cli:alice", decision=Decision(**fields), now=NOW)


def _answer(decision: str = "approve", actor: str = "bob", digest: str = "d" * 64, comment: str | None = None
            ) -> ApprovalAnswer:
    return ApprovalAnswer(decision=Answer(decision), actor=actor, digest=digest, comment=comment, answered_at=NOW)


def test_request_fixes_expiry_and_answers() -> None:
    """Expiry is requested_at + ttl; the three answers are offered; reasons drop the effect key."""
    req = _request()
    assert req.expires_at == NOW + timedelta(minutes=10) and req.requester == "alice"
    assert req.answers == [Answer.APPROVE, Answer.REJECT, Answer.REQUEST_CHANGES]
    assert req.reasons == [{"rule": "r", "message": "m"}]
    assert _request(ttl_seconds=0).expires_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("decider", "decision", "comment", "problem"),
    [
        (BOB, "approve", None, None),
        (ROOT, "approve", None, None),
        (ALICE, "approve", None, "someone else"),
        (ALICE, "reject", None, None),
        (CAROL, "approve", None, "needs an approver in: approvers"),
        (CAROL, "reject", None, "may not decide"),
        (BOB, "request_changes", None, "needs a comment"),
        (BOB, "request_changes", "smaller please", None),
    ],
)
def test_who_may_decide(decider: Identity, decision: str, comment: str | None, problem: str | None) -> None:
    """Approver groups, four-eyes, the requester withdrawing, and comments for request_changes."""
    got = authorize(_request(), decider, Answer(decision), comment)
    assert (got is None) if problem is None else (got is not None and problem in got)


def test_requester_may_approve_without_four_eyes() -> None:
    """Self-approval is refused only for four-eyes requests."""
    assert authorize(_request(four_eyes=False), ALICE, Answer.APPROVE, None) is None


def test_judge_outcomes() -> None:
    """void (digest), expired, ignored, rejected, changes_requested, pending, approved."""
    req = _request(min_approvals=2)
    digest = req.digest
    assert judge(req, _answer(digest="e" * 64), BOB, plan_digest=digest, now=NOW).outcome == "void"
    assert judge(req, _answer(), BOB, plan_digest="f" * 64, now=NOW).outcome == "void"
    late = judge(req, _answer(), BOB, plan_digest=digest, now=NOW + timedelta(minutes=10))
    assert late.outcome == "expired" and "expired at 2026-11-18 10:40:00 UTC" in late.problem
    assert judge(req, _answer(), CAROL, plan_digest=digest, now=NOW).outcome == "ignored"
    assert judge(req, _answer("reject"), BOB, plan_digest=digest, now=NOW).outcome == "rejected"
    changes = judge(req, _answer("request_changes", comment="why"), BOB, plan_digest=digest, now=NOW)
    assert changes.outcome == "changes_requested"
    assert judge(req, _answer(), BOB, plan_digest=digest, now=NOW).outcome == "pending"
    second = req.model_copy(update={"approvals": [{"actor": "bob"}]})
    assert judge(second, _answer(), BOB, plan_digest=digest, now=NOW).outcome == "ignored"
    assert judge(second, _answer(actor="dave"), DAVE, plan_digest=digest, now=NOW).outcome == "approved"


def test_answers_are_strict() -> None:
    """Unknown answers and fields are refused (the node ignores them)."""
    with pytest.raises(ValueError):
        ApprovalAnswer.model_validate({"decision": "yolo", "actor": "bob", "digest": "d"})
    with pytest.raises(ValueError):
        ApprovalAnswer.model_validate({"decision": "approve", "actor": "bob", "digest": "d", "force": True})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18:00", datetime(2026, 11, 18, 18, tzinfo=UTC)),
        ("5pm", datetime(2026, 11, 18, 17, tzinfo=UTC)),
        ("09:00", datetime(2026, 11, 19, 9, tzinfo=UTC)),
        ("tomorrow", datetime(2026, 11, 19, tzinfo=UTC)),
        ("friday", datetime(2026, 11, 20, tzinfo=UTC)),
        ("wed", datetime(2026, 11, 25, tzinfo=UTC)),
        ("2h", datetime(2026, 11, 18, 12, 30, tzinfo=UTC)),
        ("until 17:00", datetime(2026, 11, 18, 17, tzinfo=UTC)),
        ("2026-11-20T12:00:00+01:00", datetime(2026, 11, 20, 11, tzinfo=UTC)),
        (None, FOREVER),
    ],
)
def test_parse_until(text: str | None, expected: datetime) -> None:
    """Freeze ends as people write them (UTC; a past time of day means tomorrow)."""
    assert parse_until(text, NOW) == expected


@pytest.mark.parametrize("text", ["soon", "25:00", "13pm", "2020-01-01", "yesterday"])
def test_parse_until_refuses(text: str) -> None:
    """Unreadable or past times are errors."""
    with pytest.raises(ValueError):
        parse_until(text, NOW)
