"""Plan tokens: a change planned in one MCP call is applied in a second call only if nothing moved.

The token is a digest of what the plan would send *and what it saw*: for every step the action,
target, params and the change it undoes (the plan's own digest, which binds approvals) plus the
observed before-state, compared as the executor compares it (:func:`orchestrator.settle.comparable`,
without volatile fields such as row counts), and the identity it was planned for. Applying
re-plans through the pipeline — re-observing every target — and refuses unless the fresh plan
has the same token: a platform changed since planning, other params, or another caller's token
are all refused before anything is applied.
"""

from __future__ import annotations

import hmac
from typing import Any

from orchestrator.errors import ApprovalError

__all__ = ["PREFIX", "PlanChangedError", "check_token", "plan_token"]

PREFIX = "pt1-"


class PlanChangedError(ApprovalError):
    """The plan token doesn't match the plan made now: the platform (or the request) changed since."""

    code = "plan_changed"


def plan_token(plan: dict[str, Any], actor: str) -> str:
    """The token for ``plan`` (a run's plan as JSON) planned for ``actor``."""
    from orchestrator.settle import comparable
    from orchestrator.state import digest

    steps = [{"call": s.get("call"), "undo_of": s.get("undo_of"), "before": comparable(s.get("before"))}
             for s in plan.get("steps", [])]
    return PREFIX + digest({"actor": actor, "plan": plan.get("digest"), "steps": steps})


def check_token(given: str, plan: dict[str, Any], actor: str) -> None:
    """Refuse unless ``given`` is the token of ``plan`` for ``actor``.

    Raises:
        PlanChangedError: naming what to do (plan again).
    """
    fresh = plan_token(plan, actor)
    if not hmac.compare_digest(given.encode(), fresh.encode()):
        raise PlanChangedError(
            "the plan token doesn't match the plan made now: the platform changed since it was planned "
            "(or the arguments differ); nothing was applied",
            hint="call the tool again without plan_token to see the current plan, then apply with its token",
            details={"expected_prefix": PREFIX})
