"""``/v1/commands`` and ``/v1/runs``: submit a command, read a run, decide on one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from orchestrator.errors import NotUnderstoodError, SophiaError, ValidationFailedError
from orchestrator.interfaces.routes.common import (
    Approver,
    IdempotencyKey,
    Operator,
    Viewer,
    ctx,
    idempotent,
    json_response,
    problems,
)
from orchestrator.interfaces.schemas import ApprovalIn, ChangesIn, CommandIn, RunOut, RunSummaryOut
from state.identities import Identity

__all__ = ["router", "run_response"]

router = APIRouter(tags=["runs"])

RunId = Path(min_length=1, max_length=40, description="A run id (`run_…`).")


class RefusedError(SophiaError):
    """The command was refused (e.g. an instruction that is not a request for a change)."""

    code = "refused"
    http_status = 422
    exit_code = 3


def run_response(request: Request, view: dict[str, Any]) -> Response:
    """A run as JSON: 202 while it awaits approval, 200 otherwise; not understood → 422."""
    status = view["status"]
    ctx(request).metrics.runs.labels(view.get("surface", "api"), status).inc()
    if status in ("clarify", "refuse"):
        parsed = view.get("parsed") or {}
        details = {"run_id": view["run_id"], "candidates": parsed.get("candidates", [])}
        if parsed.get("errors"):
            raise ValidationFailedError(parsed.get("message") or "invalid params",
                                        hint="fix the value and send the command again",
                                        details=details | {"errors": parsed["errors"]})
        if status == "refuse":
            raise RefusedError(parsed.get("message") or "refused", hint="ask for a change to a platform",
                               details=details)
        hint = ("closest actions: " + ", ".join(details["candidates"])) if details["candidates"] else \
            "see GET /v1/actions for what can be done"
        raise NotUnderstoodError(parsed.get("message") or "didn't understand that", hint=hint, details=details)
    body = dict(view)
    if body.get("awaiting") is None and status == "awaiting_approval":
        body["awaiting"] = (body.get("result") or {}).get("awaiting")
    return json_response(body, 202 if status in ("awaiting_approval", "awaiting_confirmation") else 200)


_RUN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": RunOut, "description": "The run reached an outcome (see `status`: applied, dry_run, answered, "
          "denied, failed, rejected …)."},
    202: {"model": RunOut, "description": "The run is awaiting approval (`status` = awaiting_approval)."},
}


@router.post("/v1/commands", status_code=200, response_model=RunOut, operation_id="submitCommand",
             summary="Run a command: parse → plan → policy → (approval) → apply → ledger",
             responses=_RUN_RESPONSES | problems(409))
async def submit_command(body: CommandIn, request: Request, who: Operator,
                         idempotency_key: str | None = IdempotencyKey) -> Response:
    """Submit a command in plain English. Returns the run with its plan and policy decision."""
    from orchestrator.state import Request as ServiceRequest

    async def work() -> Response:
        service_request = ServiceRequest(text=body.text, actor=who.actor, surface="api", dry_run=body.dry_run,
                                         confirmed=True)
        view = await ctx(request).host.call(lambda s: s.submit(service_request))
        return run_response(request, view)

    return await idempotent(request, who, idempotency_key, body.model_dump(mode="json"), work)


@router.get("/v1/runs", response_model=list[RunSummaryOut], operation_id="listRuns", summary="Recent runs",
            responses=problems())
async def list_runs(request: Request, who: Viewer, status: str | None = Query(default=None, max_length=40),
                    limit: int = Query(default=50, ge=1, le=500)) -> Response:
    """Recent runs, newest first (optionally only one status)."""
    rows = await run_in_threadpool(lambda: [r.model_dump(mode="json") for r in
                                            ctx(request).store.list_runs(status=status, limit=limit)])
    return json_response(rows)


@router.get("/v1/runs/{run_id}", response_model=RunOut, operation_id="getRun", summary="One run",
            responses=problems(404))
async def get_run(request: Request, who: Viewer, run_id: str = RunId) -> Response:
    """A run with its plan, decision, outcome and changes."""
    view = await run_in_threadpool(ctx(request).host.service.view, run_id)
    if view["status"] in ("awaiting_approval", "awaiting_confirmation"):
        view["awaiting"] = (view.get("result") or {}).get("awaiting")
    return json_response(view)


def _decision_route(verb: str, method: str, summary: str) -> None:
    path = f"/v1/runs/{{run_id}}/{verb}"

    async def decide(request: Request, who: Approver, body: ApprovalIn | None = None, run_id: str = RunId,
                     idempotency_key: str | None = IdempotencyKey) -> Response:
        comment = body.comment if body else None
        return await _decided(request, who, method, run_id, comment, idempotency_key)

    async def ask_for_changes(request: Request, who: Approver, body: ChangesIn, run_id: str = RunId,
                              idempotency_key: str | None = IdempotencyKey) -> Response:
        return await _decided(request, who, method, run_id, body.comment, idempotency_key)

    handler = ask_for_changes if method == "request_changes" else decide
    handler.__doc__ = summary + "."
    router.add_api_route(path, handler, methods=["POST"], response_model=RunOut, summary=summary,
                         operation_id=f"{method.replace('_c', 'C')}Run", responses=_RUN_RESPONSES | problems(404, 409))


async def _decided(request: Request, who: Identity, method: str, run_id: str, comment: str | None,
                   idempotency_key: str | None) -> Response:
    async def work() -> Response:
        view = await ctx(request).host.call(lambda s: getattr(s, method)(run_id, actor=who.actor, comment=comment))
        return run_response(request, view)

    return await idempotent(request, who, idempotency_key, {"run_id": run_id, "comment": comment}, work)


_decision_route("approve", "approve", "Approve a run awaiting approval; it applies at once")
_decision_route("reject", "reject", "Reject a run awaiting approval; nothing changes")
_decision_route("request-changes", "request_changes",
                "Send a run back to its requester with a comment; nothing changes")
