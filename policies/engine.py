"""Policy engine (foundation version): destructive changes need approval, reads and changes pass.

The full engine (CEL rule packs, freezes, tiers, identities) replaces this behind the same
``evaluate`` call. It is fail-closed: any error evaluating a plan yields ``deny``.
"""

from __future__ import annotations

from typing import Any

from orchestrator.state import Decision, Effect, Plan

__all__ = ["PolicyEngine"]


class PolicyEngine:
    """Evaluates a plan for an actor; deny wins over require_approval over allow."""

    def evaluate(self, plan: Plan, *, actor: str, surface: str, context: dict[str, Any] | None = None) -> Decision:
        """The decision for ``plan`` with the reasons that produced it."""
        try:
            destructive = [s for s in plan.steps if s.risk == "destructive"]
            if destructive:
                return Decision(
                    effect=Effect.REQUIRE_APPROVAL,
                    reasons=[{"rule": "destructive-needs-approval",
                              "message": f"{s.call.action} on {s.call.target} is destructive"} for s in destructive],
                    approvers=["approvers"],
                    min_approvals=1,
                    ttl_seconds=3600,
                    four_eyes=True,
                )
            return Decision(effect=Effect.ALLOW, reasons=[{"rule": "default-allow", "message": "no rule objected"}])
        except Exception as exc:  # noqa: BLE001 - fail closed on anything
            return Decision(effect=Effect.DENY, reasons=[{"rule": "engine-error", "message": f"policy engine failed: {exc}"}])
