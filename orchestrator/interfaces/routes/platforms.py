"""``/v1/status`` and ``/v1/actions``: platform health and inventory, and the action catalog."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from orchestrator.interfaces.routes.common import (
    Viewer,
    ctx,
    json_response,
    problems,
)
from orchestrator.interfaces.schemas import ActionOut, PlatformStatusOut

__all__ = ["action_rows", "router"]

router = APIRouter(tags=["platforms"])


@router.get("/v1/status", response_model=list[PlatformStatusOut], operation_id="listStatus",
            summary="Health and inventory of every installed platform", responses=problems())
async def all_status(request: Request, who: Viewer) -> Response:
    """Health and inventory of every installed platform (refreshes the inventory)."""
    return json_response(await ctx(request).host.call(lambda s: s.status(None)))


@router.get("/v1/status/{platform}", response_model=PlatformStatusOut, operation_id="getStatus",
            summary="Health and inventory of one platform", responses=problems(404))
async def platform_status(request: Request, who: Viewer,
                          platform: str = Path(min_length=1, max_length=60)) -> Response:
    """Health and inventory of one platform (refreshes its inventory)."""
    rows = await ctx(request).host.call(lambda s: s.status(platform))
    return json_response(rows[0])


def action_rows(platform: str | None = None) -> list[dict[str, Any]]:
    """Every catalog action (optionally of one platform) as JSON."""
    from adapters.registry import all_specs, known_platforms

    installed = set(known_platforms())
    return [
        {"id": s.id, "platform": s.platform, "summary": s.summary, "target": s.target, "risk": s.risk.value,
         "reversible": s.reversible, "inverse": s.inverse_hint or None,
         "params": s.json_schema().get("properties", {}), "required": s.json_schema().get("required", []),
         "examples": list(s.examples), "installed": s.platform in installed}
        for s in all_specs() if platform in (None, s.platform)
    ]


@router.get("/v1/actions", response_model=list[ActionOut], operation_id="listActions",
            summary="The action catalog", responses=problems())
async def list_actions(who: Viewer, platform: str | None = Query(default=None, max_length=60,
                                                                  description="Only this platform.")) -> Response:
    """Every action with its target, params (JSON schema), risk and inverse."""
    return json_response(await run_in_threadpool(action_rows, platform))
