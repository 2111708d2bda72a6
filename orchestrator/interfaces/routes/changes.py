"""``/v1/changes``: the recorded changes, and undo."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from orchestrator.errors import ValidationFailedError
from orchestrator.interfaces.routes.common import (
    IdempotencyKey,
    Operator,
    Viewer,
    ctx,
    idempotent,
    json_response,
    problems,
)
from orchestrator.interfaces.routes.runs import _RUN_RESPONSES, run_response
from orchestrator.interfaces.schemas import ChangeOut, RunOut, UndoIn

__all__ = ["router"]

router = APIRouter(tags=["changes"])

#: The shapes ``parse_since`` reads (it still rejects impossible times such as 25:00).
SINCE_PATTERN = r"^(\d{1,2}:\d{2}|\d{1,9}[smhdSMHD]|\d{4}-\d{2}-\d{2}([Tt ][0-9:.+\-Zz]*)?)$"

ChangeStatusName = Literal["pending", "applied", "failed", "rolled_back", "needs_reconcile"]


def check_since(since: str | None) -> None:
    """Refuse a ``since`` the pipeline can't read, with the accepted forms."""
    if since is None:
        return
    from orchestrator.since import parse_since

    try:
        parse_since(since)
    except (OverflowError, ValueError) as exc:
        raise ValidationFailedError(f"can't read the time {since!r}",
                                    hint="use HH:MM (UTC), an ISO timestamp, or 30m / 2h / 1d",
                                    details={"field": "since"}) from exc


@router.get("/v1/changes", response_model=list[ChangeOut], operation_id="listChanges",
            summary="Recorded changes, newest first", responses=problems(404))
async def list_changes(
    request: Request, who: Viewer,
    platform: str | None = Query(default=None, max_length=60, description="Only this platform."),
    target: str | None = Query(default=None, max_length=300, description="Only this resource."),
    since: str | None = Query(default=None, max_length=40, pattern=SINCE_PATTERN,
                              description="HH:MM (UTC), an ISO timestamp, or 30m / 2h / 1d ago."),
    status: Annotated[ChangeStatusName | None, Query(description="Only changes in this status.")] = None,
    limit: int = Query(default=50, ge=1, le=1000),
    before: str | None = Query(default=None, min_length=1, max_length=40,
                               description="Only changes older than this one: pass the last id of a page to get "
                                           "the next (keyset pagination; stable while changes are added)."),
) -> Response:
    """Changes recorded in the ledger, filtered, newest first."""
    check_since(since)
    service = ctx(request).host.service
    rows = await run_in_threadpool(lambda: service.history(platform=platform, target=target, since=since,
                                                           limit=limit, status=status, before=before))
    return json_response(rows)


@router.get("/v1/changes/{change_id}", response_model=ChangeOut, operation_id="getChange", summary="One change",
            responses=problems(404))
async def get_change(request: Request, who: Viewer,
                     change_id: str = Path(min_length=1, max_length=40)) -> Response:
    """One change record."""
    return json_response(await run_in_threadpool(ctx(request).host.service.change, change_id))


@router.post("/v1/changes/{change_id}/undo", response_model=RunOut, operation_id="undoChange",
             summary="Undo a change through the pipeline (a new recorded change that passes policy)",
             responses=_RUN_RESPONSES | problems(404, 409))
async def undo_change(request: Request, who: Operator, body: UndoIn | None = None,
                      change_id: str = Path(min_length=1, max_length=40),
                      idempotency_key: str | None = IdempotencyKey) -> Response:
    """Undo one change. The undo is planned, policy-checked, approved if due, applied and recorded."""
    dry_run = bool(body and body.dry_run)

    async def work() -> Response:
        service = ctx(request).host.service
        await run_in_threadpool(service.change, change_id)  # unknown id → 404 before a run is made
        view = await ctx(request).host.call(lambda s: s.undo(change_id=change_id, actor=who.actor, surface="api",
                                                             confirmed=True, dry_run=dry_run))
        return run_response(request, view)

    return await idempotent(request, who, idempotency_key, {"change_id": change_id, "dry_run": dry_run}, work)
