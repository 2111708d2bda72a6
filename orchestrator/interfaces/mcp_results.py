"""What MCP tool calls answer: plans, outcomes of confirmed changes, and errors with stable codes.

A run's view (:meth:`~orchestrator.service.OrchestratorService.submit`) becomes the structured
content an agent reads: the plan as steps (before → after), the policy verdict, the changes
applied, "awaiting approval: run R" with where to approve, or a :class:`ToolFailure` carrying
``{"code", "message", "hint", "details"}``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ToolFailure", "failure", "outcome", "plan_out", "verdict"]


class ToolFailure(Exception):
    """A tool call that ends in an error: ``error`` is ``{"code", "message", "hint", "details"}``."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = {"code": error.get("code", "internal_error"), "message": error.get("message", ""),
                      "hint": error.get("hint", ""), "details": error.get("details") or {}}

    @classmethod
    def of(cls, code: str, message: str, hint: str = "", **details: Any) -> ToolFailure:
        """A failure from its parts."""
        return cls({"code": code, "message": message, "hint": hint, "details": details})


def plan_out(view: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's plan as steps: action, target, params, risk, environment, before, after."""
    steps = (view.get("plan") or {}).get("steps", [])
    return [{"action": s["call"]["action"], "target": s["call"].get("target"), "params": s["call"].get("params"),
             "risk": s.get("risk"), "environment": s.get("environment"), "before": s.get("before"),
             "after": s.get("expected"), **({"undo_of": s["undo_of"]} if s.get("undo_of") else {})} for s in steps]


def verdict(view: dict[str, Any]) -> dict[str, Any]:
    """The policy verdict of a run: effect, reasons, approvers, four-eyes."""
    decision = view.get("decision") or {}
    return {"effect": decision.get("effect"), "reasons": decision.get("reasons", []),
            "approvers": decision.get("approvers", []), "four_eyes": decision.get("four_eyes", False)}


def failure(view: dict[str, Any]) -> ToolFailure:
    """The error a finished-but-not-applied run ends with."""
    status = view["status"]
    parsed = view.get("parsed") or {}
    if view.get("error"):
        err = dict(view["error"])
        err["details"] = {**(err.get("details") or {}), "run_id": view["run_id"]}
        return ToolFailure(err)
    if status in ("clarify", "refuse"):
        if parsed.get("errors"):
            return ToolFailure.of("validation_failed", parsed.get("message") or "invalid params",
                                  "fix the value and call again", errors=parsed["errors"], run_id=view["run_id"])
        code = "not_understood" if status == "clarify" else "refused"
        hint = ("closest actions: " + ", ".join(parsed["candidates"])) if parsed.get("candidates") else \
            "see the sophia://catalog resource for what can be done"
        return ToolFailure.of(code, parsed.get("message") or status, hint, run_id=view["run_id"])
    if status == "denied" or (view.get("decision") or {}).get("effect") == "deny":
        reasons = "; ".join(r.get("message", r.get("rule", "")) for r in (view.get("decision") or {})
                            .get("reasons", []))
        return ToolFailure.of("policy_denied", f"policy denied this change: {reasons}".rstrip(": "),
                              "see sophia_explain for the rules that fired", run_id=view["run_id"],
                              policy=verdict(view))
    return ToolFailure.of("not_applied", f"run {view['run_id']} ended {status}", "see sophia_history",
                          run_id=view["run_id"], status=status)


def outcome(view: dict[str, Any]) -> dict[str, Any]:
    """A run after its change was confirmed: applied, awaiting approval, or the error it ended with."""
    run_id, status = view["run_id"], view["status"]
    if status == "applied":
        changes = [{"change_id": c["id"], "action": c["action"], "target": c["target"], "status": c["status"],
                    "before": c.get("before"), "after": c.get("after"), "reversible": c.get("reversible")}
                   for c in view.get("changes", [])]
        return {"status": "applied", "run_id": run_id, "changes": changes,
                "undo": "sophia_undo with change_id (or the last change on the platform)"}
    if status == "awaiting_approval":
        ask = view.get("awaiting") or (view.get("result") or {}).get("awaiting") or {}
        return {"status": "awaiting_approval", "run_id": run_id,
                "message": f"awaiting approval: run {run_id}",
                "approve_with": {"cli": f"sophia-iac approve {run_id}", "rest": f"POST /v1/runs/{run_id}/approve",
                                 "slack": f"/sophia approve run {run_id}"},
                "approvers": ask.get("approvers", []), "expires_at": ask.get("expires_at"),
                "note": "someone other than you must approve; nothing has changed yet"}
    raise failure(view)
