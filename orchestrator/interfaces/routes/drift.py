"""``/v1/drift``: changes platforms reported that our ledger does not explain; revert one."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

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
from orchestrator.interfaces.schemas import DriftOut, RunOut

__all__ = ["router"]

router = APIRouter(tags=["drift"])


@router.get("/v1/drift", response_model=list[DriftOut], operation_id="listDrift", summary="Recorded drift",
            responses=problems())
async def list_drift(request: Request, who: Viewer,
                     status: Literal["open", "reverting", "reverted", "dismissed"] | None = Query(default=None),
                     platform: str | None = Query(default=None, max_length=60),
                     limit: int = Query(default=50, ge=1, le=500)) -> Response:
    """Drift, newest first."""
    from orchestrator.drift_revert import drift_view, settle_drift
    from state.inbox import Inbox

    store = ctx(request).store

    def rows() -> list[dict[str, object]]:
        return [drift_view(settle_drift(store, d))
                for d in Inbox(store).list_drift(status=status, platform=platform, limit=limit)]

    return json_response(await run_in_threadpool(rows))


@router.post("/v1/drift/{drift_id}/revert", response_model=RunOut, operation_id="revertDrift",
             summary="Undo drift through the pipeline (plan, policy, approval, ledger)",
             responses=_RUN_RESPONSES | problems(404, 409))
async def revert_drift(request: Request, who: Operator, drift_id: str = Path(min_length=1, max_length=40),
                       idempotency_key: str | None = IdempotencyKey) -> Response:
    """Revert one drift record: its stored revert call runs as a structured command."""

    async def work() -> Response:
        view = await ctx(request).host.call(lambda s: s.revert_drift(drift_id, actor=who.actor, surface="api"))
        return run_response(request, view)

    return await idempotent(request, who, idempotency_key, {"drift_id": drift_id}, work)
