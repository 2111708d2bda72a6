"""``/healthz`` (the process answers), ``/readyz`` (it can do work), ``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from orchestrator.interfaces.routes.common import ctx
from orchestrator.interfaces.schemas import HealthOut, ReadyOut

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, operation_id="healthz", summary="Liveness")
async def healthz() -> Response:
    """The process is up and its event loop answers."""
    return JSONResponse({"status": "ok"})


def _database(request: Request) -> tuple[bool, str]:
    store = ctx(request).store
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - reported as the check's detail
        return False, str(exc).splitlines()[0][:200]
    return True, store.dialect


def _checkpointer(request: Request) -> tuple[bool, str]:
    """The checkpoint tables exist and answer (read directly: the service loop may be busy)."""
    host = ctx(request).host
    if not host.ready():
        return False, "the service is not running"
    settings = host.settings
    try:
        if settings.is_postgres:
            with ctx(request).store.engine.connect() as conn:
                found = conn.execute(text("SELECT to_regclass('checkpoints') IS NOT NULL")).scalar()
            return bool(found), "postgres" if found else "checkpoints table missing"
        path = settings.home / "checkpoints.db"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            found = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'checkpoints'").fetchone()[0]
        return bool(found), "sqlite" if found else "checkpoints table missing"
    except Exception as exc:  # noqa: BLE001 - reported as the check's detail
        return False, str(exc).splitlines()[0][:200]


def _policy(request: Request) -> tuple[bool, str]:
    """The policy packs and identities loaded (a gate without an engine denies every change)."""
    host = ctx(request).host
    if not host.ready():
        return False, "the service is not running"
    gate = host.service.deps.policy
    if getattr(gate, "engine", None) is None:
        return False, str(getattr(gate, "load_error", None) or "no policy engine")[:200]
    return True, type(gate).__name__


@router.get("/readyz", response_model=ReadyOut, operation_id="readyz", summary="Readiness",
            responses={503: {"model": ReadyOut, "description": "Not ready: see the failing check."}})
async def readyz(request: Request) -> Response:
    """Ready when the database, the checkpointer and the policy engine all answer."""
    results: list[Any] = await asyncio.gather(*(run_in_threadpool(check, request)
                                                for check in (_database, _checkpointer, _policy)))
    checks = {name: {"ok": ok, "detail": detail}
              for name, (ok, detail) in zip(("database", "checkpointer", "policy"), results, strict=True)}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", operation_id="metrics", summary="Prometheus metrics", response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format."}})
async def metrics(request: Request) -> Response:
    """Request, webhook, Slack, run, inbox and process metrics."""
    body, content_type = await run_in_threadpool(ctx(request).metrics.render)
    return Response(body, media_type=content_type)
